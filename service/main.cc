// isrguard entry point. Wiring only: parse config, build the source, then serve or probe once
// (service/lifecycle.h: signals, exit codes, the bounded shutdown).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "probes/rdkafka_source.h"
#include "service/config.h"
#include "service/lifecycle.h"

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
  s.min_isr_refresh = c.config_refresh;
  s.min_isr_max_age = c.min_isr_max_age();
  s.mock_brokers = c.mock_brokers;
  return s;
}

int finish(const RunOutcome& outcome) {
  if (outcome.exit_immediately) {
    spdlog::shutdown();
    std::cout.flush();
    std::_Exit(outcome.exit_code);
  }
  return outcome.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  ParseOutcome parsed = parse_config(argc, argv);
  if (parsed.exit_now) {
    std::cout << parsed.output;
    return parsed.exit_code;
  }
  if (!parsed.config) {
    for (const auto& e : parsed.errors) std::cerr << "isrguard: " << e << "\n";
    std::cerr << "isrguard: invalid configuration (" << parsed.errors.size() << " problem"
              << (parsed.errors.size() == 1 ? "" : "s") << "); see --help\n";
    return 2;
  }
  const Config& config = *parsed.config;
  setup_logging(config.log_level);

  // Before any thread starts (librdkafka's too), so they all inherit the mask and only sigwait sees them.
  block_process_signals();

  try {
    auto source = std::make_unique<probes::RdKafkaSource>(source_config(config));
    if (config.once) return finish(run_once_cli(config, std::move(source), std::cout));
    return finish(serve(config, std::move(source)));
  } catch (const std::exception& e) {
    spdlog::error("start-up failed: {}", e.what());
    std::cerr << "isrguard: " << e.what() << "\n";
    return 2;
  }
}
