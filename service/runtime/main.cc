// isrguard entry point. Wiring only: parse config, build the source, then serve or probe once
// (service/runtime/lifecycle.h: signals, exit codes, the bounded shutdown).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "probes/rdkafka_source.h"
#include "service/config/config.h"
#include "service/config/overrides_yaml.h"
#include "service/runtime/lifecycle.h"
#include "service/runtime/malloc_tuning.h"
#include "service/runtime/overrides_file.h"
#include "service/views/status_report.h"

namespace {

using namespace isrguard;
using namespace isrguard::service;

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("isrguard");  // stdout stays clean for --once output
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
}

probes::RdKafkaSourceConfig source_config(const Config& c) {
  probes::RdKafkaSourceConfig s;
  s.properties = c.kafka_properties;
  s.probe_timeout = c.probe_timeout;
  s.broker_slow_after = c.policy.broker_slow_after;
  s.min_isr_refresh = c.config_refresh;
  s.min_isr_max_age = c.min_isr_max_age();
  s.mock_brokers = c.mock_brokers;
  return s;
}

// isrguard --check-overrides FILE: for CI of the ConfigMap and for on-call before applying it. Judged as at
// start-up (no last valid set): an entry whose expiry has passed is listed as EXPIRED, not an error (exit 0).
int check_overrides(const Config& c) {
  const auto now = std::chrono::system_clock::now();
  const FileRead read = read_text_file(c.check_overrides);
  const OverridesParse parsed =
      read.text ? parse_overrides(*read.text, now, c.max_override_ttl, PastExpiry{true, {}})
                : OverridesParse{std::nullopt, read.error};
  if (!parsed.overrides) {
    std::cerr << "isrguard: " << c.check_overrides << ": invalid: " << parsed.error << "\n";
    return 2;
  }
  std::cout << overrides_text(c.check_overrides, *parsed.overrides, now);
  return 0;
}

int finish(const RunOutcome& outcome) {
  if (outcome.exit_immediately) {
    spdlog::shutdown();
    std::cout.flush();
    std::_Exit(outcome.exit_code);
  }
  return outcome.exit_code;
}

// Invalid configuration: every problem on stderr; for --once --output json also one JSON error object on
// stdout, so a script reading stdout gets an answer. Returns the exit code (2).
int config_error(const std::vector<std::string>& problems, bool once, OutputFormat output) {
  for (const auto& e : problems) std::cerr << "isrguard: " << e << "\n";
  std::cerr << "isrguard: invalid configuration (" << problems.size() << " problem"
            << (problems.size() == 1 ? "" : "s") << "); see --help\n";
  if (once && output == OutputFormat::kJson) std::cout << config_error_json(problems).dump(2) << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  limit_malloc_arenas();  // before any thread starts
  ParseOutcome parsed = parse_config(argc, argv);
  if (parsed.exit_now) {
    std::cout << parsed.output;
    return parsed.exit_code;
  }
  if (!parsed.config) return config_error(parsed.errors, parsed.once, parsed.once_output);
  const Config& config = *parsed.config;
  if (!config.check_overrides.empty()) return check_overrides(config);
  setup_logging(config.log_level);
  for (const auto& w : parsed.warnings) spdlog::warn("{}", w);

  // Before any thread starts (librdkafka's too), so they all inherit the mask and only sigwait sees them.
  block_process_signals();

  try {
    auto source = std::make_unique<probes::RdKafkaSource>(source_config(config));
    if (config.once && !config.disrupt.empty())
      return finish(run_disruption_cli(config, std::move(source), std::cout));
    if (config.once) return finish(run_once_cli(config, std::move(source), std::cout));
    return finish(serve(config, std::move(source)));
  } catch (const std::invalid_argument& e) {  // the Kafka client refused the configuration
    spdlog::error("start-up failed: {}", e.what());
    return config_error({e.what()}, config.once, config.output);
  } catch (const std::exception& e) {
    spdlog::error("start-up failed: {}", e.what());
    std::cerr << "isrguard: " << e.what() << "\n";
    return 2;
  }
}
