// The eviction webhook's decision latency (arrival -> AdmissionReview answer, in process: no TLS, no socket)
// at a cluster size, with a cached view (the last probe is within --webhook-fresh-within: the judgement only)
// and with a fresh probe (--webhook-fresh-within 0: every decision asks the loop to probe now, through
// librdkafka against kafkasim on loopback, and waits for it). Prints a Markdown table with p50, p99 and max.
// Informational: run by scripts/bench (docs/benchmarks.md), never by ctest.
//
// usage: webhook_bench [--partitions N] [--cached-runs N] [--fresh-runs N]
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "probes/rdkafka_source.h"
#include "service/runtime/eviction_webhook.h"
#include "service/runtime/probe_loop.h"
#include "tests/kafkasim/cluster.h"

namespace {

using namespace isrguard;
using Clock = std::chrono::steady_clock;

struct Args {
  int partitions = 200000;
  int cached_runs = 2000;
  int fresh_runs = 50;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (v <= 0) {
      std::fprintf(stderr, "webhook_bench: %s needs a positive integer\n", argv[i]);
      std::exit(2);
    }
    if (flag == "--partitions") a.partitions = v;
    else if (flag == "--cached-runs") a.cached_runs = v;
    else if (flag == "--fresh-runs") a.fresh_runs = v;
    else {
      std::fprintf(stderr, "usage: webhook_bench [--partitions N] [--cached-runs N] [--fresh-runs N]\n");
      std::exit(2);
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "usage: webhook_bench [--partitions N] [--cached-runs N] [--fresh-runs N]\n");
    std::exit(2);
  }
  return a;
}

// 6 brokers (pods kafka-1..kafka-6), RF 3, topics of 100 partitions alternately on {1,2,3} and {4,5,6},
// min.insync.replicas 2; broker 6 down and out of every ISR. Evicting kafka-4 (shares partitions with 6) is
// denied, kafka-1 allowed; both after a full pass over the partitions.
kafkasim::ClusterSpec cluster(int partitions) {
  kafkasim::ClusterSpec spec = kafkasim::make_cluster({1, 2, 3, 4, 5, 6});
  spec.broker_defaults["min.insync.replicas"] = "2";
  for (int t = 0; t * 100 < partitions; ++t) {
    const std::vector<std::int32_t> on = t % 2 ? std::vector<std::int32_t>{4, 5, 6} : std::vector<std::int32_t>{1, 2, 3};
    spec.topics.push_back(
        kafkasim::make_topic("topic-" + std::to_string(t), kafkasim::round_robin_partitions(100, 3, on)));
  }
  return spec;
}

std::string review(int n, const std::string& pod) {
  return nlohmann::json{
      {"apiVersion", "admission.k8s.io/v1"},
      {"kind", "AdmissionReview"},
      {"request",
       {{"uid", "u" + std::to_string(n)},
        {"kind", {{"group", "policy"}, {"version", "v1"}, {"kind", "Eviction"}}},
        {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
        {"subResource", "eviction"},
        {"name", pod},
        {"namespace", "kafka"},
        {"operation", "CREATE"},
        {"object", {{"apiVersion", "policy/v1"}, {"kind", "Eviction"}, {"metadata", {{"name", pod}}}}},
        {"dryRun", true}}}}
      .dump();
}

struct Row {
  std::string view;
  std::string answer;  // "allowed (kafka-1)" / "denied (kafka-4)"
  std::vector<double> ms;
  int wrong = 0;  // answers other than the expected one
};

// `runs` dry-run evictions alternating kafka-4 (expected denied: ~2/3 of the partitions on {4,5,6} would
// block) and kafka-1 (expected allowed); one row per pod.
std::pair<Row, Row> measure(service::ProbeLoop& loop, std::chrono::milliseconds fresh_within, int runs,
                            const std::string& view) {
  service::EvictionWebhookOptions o;
  o.rules = {service::BrokerPodRule{"kafka", "kafka-", 0}};
  o.fresh_within = fresh_within;
  o.timeout = std::chrono::seconds(60);
  service::EvictionWebhook webhook(loop, o);
  Row allowed{view, "allowed (kafka-1)", {}, 0};
  Row denied{view, "denied (kafka-4)", {}, 0};
  for (int i = 0; i < runs; ++i) {
    Row& row = i % 2 ? allowed : denied;
    const std::string body = review(i, i % 2 ? "kafka-1" : "kafka-4");
    const auto t0 = Clock::now();
    const auto r = webhook.handle(body);
    row.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    const bool was_allowed = r.body.find("\"allowed\":true") != std::string::npos;
    if (was_allowed != (&row == &allowed)) ++row.wrong;
  }
  std::sort(allowed.ms.begin(), allowed.ms.end());
  std::sort(denied.ms.begin(), denied.ms.end());
  return {allowed, denied};
}

double pct(const std::vector<double>& sorted, double p) {
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  spdlog::set_level(spdlog::level::off);
  kafkasim::Cluster sim(cluster(args.partitions));
  sim.start();
  sim.broker_down(6);
  sim.remove_from_isrs(6);
  sim.elect_leaders();
  probes::RdKafkaSourceConfig c;
  c.properties = {{"bootstrap.servers", sim.bootstrap_servers()}};
  c.probe_timeout = std::chrono::seconds(60);
  probes::RdKafkaSource source(c);
  auto policy = service::Policy::with_defaults();
  policy.compile();
  service::ProbeLoop loop(source, policy, service::GateConfig{}, std::chrono::minutes(10));
  std::thread probing([&] { loop.run(std::chrono::hours(1)); });  // probes once, then only when asked
  loop.await_state([](const service::PublishedState& s) { return s.verdict != nullptr; },
                   service::SteadyClock::now() + std::chrono::minutes(2));
  const auto [cached_allowed, cached_denied] =
      measure(loop, std::chrono::hours(1), args.cached_runs, "cached (fresh-within 1h)");
  const auto [fresh_allowed, fresh_denied] =
      measure(loop, std::chrono::milliseconds(0), args.fresh_runs, "fresh probe (fresh-within 0)");
  loop.stop();
  probing.join();
  std::printf("| partitions | view | answer | decisions | p50 ms | p99 ms | max ms |\n");
  std::printf("|---:|---|---|---:|---:|---:|---:|\n");
  int wrong = 0;
  for (const Row* r : {&cached_allowed, &cached_denied, &fresh_allowed, &fresh_denied}) {
    std::printf("| %d | %s | %s | %zu | %.2f | %.2f | %.2f |\n", args.partitions, r->view.c_str(),
                r->answer.c_str(), r->ms.size(), pct(r->ms, 0.5), pct(r->ms, 0.99), r->ms.back());
    wrong += r->wrong;
  }
  if (wrong) std::fprintf(stderr, "webhook_bench: %d answers were not the expected ones\n", wrong);
  return wrong ? 1 : 0;
}
