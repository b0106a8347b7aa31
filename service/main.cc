// isrguard entry point. Wiring only: parse config, build the source, loop and HTTP server, run until
// signalled.
//
// Threads: main (waits for a signal), the probe loop (the only one touching Kafka), HTTP workers (read the
// loop's published state). SIGTERM/SIGINT are blocked everywhere and taken by sigwait in main, so shutdown
// is ordinary code: stop HTTP, stop the loop, join; whole sequence bounded by kShutdownBudget.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <thread>

#include "probes/rdkafka_source.h"
#include "service/config.h"
#include "service/http_server.h"
#include "service/overrides_file.h"
#include "service/probe_loop.h"
#include "service/status_json.h"

namespace {

using namespace isrguard;
using namespace isrguard::service;

constexpr auto kShutdownBudget = std::chrono::milliseconds(1800);
// Descriptors besides HTTP connections: Kafka sockets (one or two per broker), logs, epoll, pipes.
constexpr std::size_t kReservedFiles = 256;

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
  s.mock_brokers = c.mock_brokers;
  return s;
}

std::unique_ptr<OverridesFile> overrides_file(const Config& c) {
  if (c.overrides_file.empty()) return nullptr;
  return std::make_unique<OverridesFile>(c.overrides_file, c.max_override_ttl);
}

// isrguard --check-overrides FILE: for CI of the ConfigMap and for on-call before applying it.
int check_overrides(const Config& c) {
  const auto now = std::chrono::system_clock::now();
  const FileRead read = read_text_file(c.check_overrides);
  const OverridesParse parsed = read.text ? parse_overrides(*read.text, now, c.max_override_ttl)
                                          : OverridesParse{std::nullopt, read.error};
  if (!parsed.overrides) {
    std::cerr << "isrguard: " << c.check_overrides << ": invalid: " << parsed.error << "\n";
    return 2;
  }
  std::cout << overrides_text(c.check_overrides, *parsed.overrides, now);
  return 0;
}

int run_once(const Config& c, probes::MetadataSource& source) {
  ProbeLoop loop(source, c.policy, GateConfig{std::chrono::milliseconds(0)}, c.stale_after);
  loop.use_overrides(overrides_file(c));
  loop.run_once(SteadyClock::now(), std::chrono::system_clock::now());
  auto state = loop.current();
  if (c.output == OutputFormat::kJson) {
    std::cout << once_json(*state, c).dump(2) << "\n";
  } else {
    std::cout << once_table(*state, c);
  }
  if (!state->snapshot) return 2;  // could not probe at all
  // Healthy = nothing gates after the overrides (a freeze is unhealthy, an acknowledged reason is not).
  const bool gated = std::any_of(state->reasons.begin(), state->reasons.end(), [](const Reason& r) { return r.gating; });
  return gated || state->last_error ? 1 : 0;
}

int serve(const Config& c, probes::MetadataSource& source) {
  ProbeLoop loop(source, c.policy, c.gate, c.stale_after);
  loop.use_overrides(overrides_file(c));
  // Every connection is a descriptor: the default soft limit (often 1024) would cap connections below
  // --http-max-connections and fail accept() for the probe listener too.
  const std::size_t open_files = raise_open_files_limit();
  if (open_files < c.http_max_connections + 64 + kReservedFiles) {
    spdlog::warn("open files limit {} is below --http-max-connections {} + health 64 + {} reserved",
                 open_files, c.http_max_connections, kReservedFiles);
  }
  HttpServer health(loop, HttpOptions::health_from_config(c));
  HttpServer server(loop, HttpOptions::from_config(c));
  const int health_port = health.start();  // both throw on bind failure (start-up error)
  const int port = server.start();
  spdlog::info("isrguard {} ({}) listening on {}:{} (probes on port {}); probing every {}ms (timeout {}ms), "
               "recovery hold {}ms",
               ISRGUARD_VERSION, ISRGUARD_COMMIT, c.http_address, port, health_port, c.poll_interval.count(),
               c.probe_timeout.count(), c.gate.recovery_hold.count());

  auto loop_done = std::async(std::launch::async, [&] { loop.run(c.poll_interval); });

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int sig = 0;
  sigwait(&signals, &sig);
  const auto deadline = SteadyClock::now() + kShutdownBudget;
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server.stop();
  health.stop();
  loop.stop();
  if (loop_done.wait_until(deadline) != std::future_status::ready) {
    // A probe is still waiting on Kafka (bounded by --probe-timeout). Nothing is left to flush: leave now
    // rather than outlive the 2 s shutdown budget.
    spdlog::warn("probe still in flight at shutdown; exiting without waiting for it");
    spdlog::shutdown();
    std::_Exit(0);
  }
  spdlog::info("stopped");
  return 0;
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

  // Block the shutdown signals before any thread starts, so they all inherit the mask and only sigwait sees
  // them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    probes::RdKafkaSource source(source_config(config));
    if (config.once) return run_once(config, source);
    return serve(config, source);
  } catch (const std::invalid_argument& e) {  // the Kafka client refused the configuration
    spdlog::error("start-up failed: {}", e.what());
    return config_error({e.what()}, config.once, config.output);
  } catch (const std::exception& e) {
    spdlog::error("start-up failed: {}", e.what());
    std::cerr << "isrguard: " << e.what() << "\n";
    return 2;
  }
}
