#include "tests/fuzz/fuzz_targets.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "service/config/config.h"
#include "service/views/http_api.h"
#include "service/runtime/probe_loop.h"
#include "tests/support/builders.h"
#include "tests/support/scripted_source.h"

namespace isrguard::fuzz {
namespace {

using namespace isrguard::service;
using std::chrono::seconds;

// Reads the input front to back; past the end every read yields 0 / "".
class Bytes {
 public:
  Bytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return at_ >= size_; }
  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  // A string of up to `max` bytes, length from the input.
  std::string text(std::size_t max) {
    const std::size_t wanted = byte() % (max + 1);  // read before measuring what is left
    const std::size_t n = std::min(wanted, size_ - std::min(at_, size_));
    std::string s(reinterpret_cast<const char*>(data_ + at_), n);
    at_ += n;
    return s;
  }
  template <std::size_t N>
  std::string pick(const char* const (&options)[N]) {
    const std::uint8_t b = byte();
    return b < N * 8 ? options[b % N] : text(24);  // mostly known words, sometimes raw bytes
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

// One ProbeLoop over a cluster that lost broker 3 (every state a partition can be in), built once.
struct ApiWorld {
  ApiWorld() {
    policy = Policy::with_defaults();
    policy.expected_brokers = {1, 2, 3};
    policy.list_cap = 5;
    policy.compile();
    loop = std::make_unique<ProbeLoop>(source, policy, GateConfig{seconds(0)}, seconds(60));
    using testing::TopicBuilder;
    source.set(testing::ok(testing::SnapshotBuilder()
                               .brokers({1, 2})
                               .topic(TopicBuilder("orders").min_isr(2).p(0, {1, 2, 3}, {1, 2}).p(1, {3, 1, 2}, {3}))
                               .topic(TopicBuilder("z\xC3\xBCrich").p(0, {1, 2}, {1, 2}))
                               .build()));
    loop->run_once(t0, wall0);
    api = std::make_unique<Api>(*loop, policy, ApiOptions{});
  }
  const SteadyClock::time_point t0 = SteadyClock::now();
  const std::chrono::system_clock::time_point wall0 = std::chrono::system_clock::time_point(seconds(1'800'000'000));
  testing::ScriptedSource source;
  Policy policy;
  std::unique_ptr<ProbeLoop> loop;
  std::unique_ptr<Api> api;
};

}  // namespace

std::string http_api_one(const std::uint8_t* data, std::size_t size) {
  static const ApiWorld world;
  static const char* const kMethods[] = {"GET", "HEAD", "POST", "OPTIONS", "DELETE"};
  static const char* const kPaths[] = {"/livez", "/readyz", "/v1/status", "/v1/partitions", "/metrics", "/"};
  static const char* const kKeys[] = {"verbose", "topic", "limit", "state"};
  static const char* const kValues[] = {"", "0", "1", "true", "false", "offline", "under_replicated,offline",
                                        "orders", "10000", "10001", "-1", "18446744073709551616", ","};
  Bytes in(data, size);
  HttpRequest request;
  request.method = in.pick(kMethods);
  request.path = in.pick(kPaths);
  for (int i = 0; i < 6 && !in.empty(); ++i) request.params.emplace(in.pick(kKeys), in.pick(kValues));
  const int age = in.byte();  // seconds since the probe: crosses the 60 s staleness bound
  HttpResponse r;
  try {
    r = world.api->handle(request, world.t0 + seconds(age), world.wall0 + seconds(age));
  } catch (const std::exception& e) {
    return std::string("exception: ") + e.what();
  }
  if (r.status != 200 && r.status != 400 && r.status != 404 && r.status != 405 && r.status != 503)
    return "unexpected status " + std::to_string(r.status);
  if (r.content_type == "application/json" && !nlohmann::json::accept(r.body)) return "invalid JSON: " + r.body;
  if (r.body.empty()) return "empty body";
  return "";
}

std::string config_one(const std::uint8_t* data, std::size_t size) {
  static const char* const kFlags[] = {
      "--bootstrap-servers", "--kafka-config", "--mock-brokers", "--poll-interval", "--probe-timeout",
      "--config-refresh-interval", "--stale-after", "--recovery-hold", "--expected-brokers", "--fleet",
      "--topic-include", "--topic-exclude", "--gate-on", "--gate-on-at-min-isr", "--default-min-isr",
      "--list-cap", "--http-address", "--http-port", "--http-threads", "--http-timeout",
      "--http-max-connections", "--health-port", "--metrics-partition-cap", "--log-level", "--output", "--once"};
  static const char* const kValues[] = {"0", "1", "-1", "65536", "5s", "0ms", "100ms", "99999999h", "1-3,5",
                                        "3-1", "ec2=ids:1-3", "k8s=", "([", ".*", "offline_partitions",
                                        "json", "", "9223372036854775808", "0.0.0.0", "1e3"};
  Bytes in(data, size);
  std::vector<std::string> args = {"isrguard"};
  for (int i = 0; i < 12 && !in.empty(); ++i) {
    args.push_back(in.pick(kFlags));
    if (in.byte() % 4) args.push_back(in.pick(kValues));
  }
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  ParseOutcome out;
  try {
    out = parse_config(static_cast<int>(argv.size()), argv.data());
  } catch (const std::exception& e) {
    return std::string("exception: ") + e.what();
  }
  if (!out.exit_now && !out.config && out.errors.empty()) return "invalid without a reason";
  if (out.config && !out.errors.empty()) return "valid with errors";
  if (out.config) {
    const Config& c = *out.config;
    if (c.http_port < 0 || c.http_port > 65535 || c.health_port < 0 || c.health_port > 65535)
      return "port out of range accepted";
    if (c.http_max_connections < 1 || c.http_max_connections > 65536) return "connection cap out of range";
    if (c.health_port != 0 && c.health_port == c.http_port) return "health port equals http port";
  }
  return "";
}

}  // namespace isrguard::fuzz
