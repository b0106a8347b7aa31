// Costs by cluster size, per poll (judge; probe through librdkafka against kafkasim) and per request
// (/metrics, /v1/status, /v1/partitions over the cached state). Informational: run by scripts/bench.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include "probes/rdkafka_source.h"
#include "probes/split.h"
#include "service/judge/disruption.h"
#include "service/views/http_api.h"
#include "service/runtime/probe_loop.h"
#include "service/judge/verdict.h"
#include "tests/kafkasim/cluster.h"
#include "tests/support/builders.h"
#include "tests/support/scripted_source.h"

namespace {

using namespace isrguard;

// The probe loop logs gate transitions; keep the benchmark report clean.
const bool kQuiet = (spdlog::set_level(spdlog::level::off), true);

// `partitions` partitions in topics of 50, RF 3 over 30 brokers; every 100th partition lost a replica.
probes::ClusterSnapshot cluster(int partitions) {
  testing::SnapshotBuilder b;
  std::vector<probes::BrokerId> ids;
  for (int i = 1; i <= 30; ++i) ids.push_back(i);
  b.brokers(ids);
  int made = 0;
  for (int t = 0; made < partitions; ++t) {
    testing::TopicBuilder topic("topic-" + std::to_string(t));
    topic.min_isr(2);
    for (int p = 0; p < 50 && made < partitions; ++p, ++made) {
      std::vector<probes::BrokerId> r{ids[made % 30], ids[(made + 1) % 30], ids[(made + 2) % 30]};
      auto isr = r;
      if (made % 100 == 0) isr.pop_back();
      topic.p(r[0], r, isr);
    }
    b.topic(topic);
  }
  return b.build();
}

// The history after two probes of `snapshot` (the steady state: every partition has a baseline).
service::History steady_history(const probes::ClusterSnapshot& snapshot, const service::Policy& policy) {
  const auto now = service::SteadyClock::now();
  return service::advance(service::advance({}, snapshot, policy, now), snapshot, policy, now);
}

// The second argument of the per-partition passes: 1 = one thread, 2 = split in two (probes/split.h) at any
// size. Wall time is what a probe waits; the CPU column counts the calling thread only.
std::size_t split_from(const benchmark::State& state) { return state.range(1) == 2 ? 0 : probes::kNeverSplit; }

// judge() alone, against the steady-state history (the probe loop runs advance() then judge() per probe).
void BM_Judge(benchmark::State& state) {
  const auto snapshot = cluster(static_cast<int>(state.range(0)));
  auto policy = service::Policy::with_defaults();
  policy.compile();
  const auto history = steady_history(snapshot, policy);
  const auto now = service::SteadyClock::now();
  for (auto _ : state)
    benchmark::DoNotOptimize(service::judge(snapshot, policy, history, now, split_from(state)));
  state.counters["partitions"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_Judge)
    ->ArgsProduct({{1000, 10000, 100000, 200000}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// A first snapshot's verdict two ways: advance() from nothing then judge() (serve mode's first probe), and
// judge_first() (--once, which builds no history).
void BM_FirstVerdict(benchmark::State& state) {
  const auto snapshot = cluster(static_cast<int>(state.range(0)));
  auto policy = service::Policy::with_defaults();
  policy.compile();
  const auto now = service::SteadyClock::now();
  for (auto _ : state) {
    if (state.range(2) == 1) {
      benchmark::DoNotOptimize(service::judge_first(snapshot, policy, now, split_from(state)));
    } else {
      const auto history = service::advance({}, snapshot, policy, now, split_from(state));
      benchmark::DoNotOptimize(service::judge(snapshot, policy, history, now, split_from(state)));
    }
  }
  state.counters["partitions"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_FirstVerdict)
    ->ArgsProduct({{200000}, {1, 2}, {0, 1}})
    ->ArgNames({"", "threads", "judge_first"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// advance(): the next history from the previous one and a snapshot; history_bytes = the baselines' slots and
// rows (what grows with partitions; map nodes and topic names come on top, one per topic).
void BM_AdvanceHistory(benchmark::State& state) {
  const auto snapshot = cluster(static_cast<int>(state.range(0)));
  auto policy = service::Policy::with_defaults();
  policy.compile();
  const auto prev = steady_history(snapshot, policy);
  const auto now = service::SteadyClock::now();
  for (auto _ : state) benchmark::DoNotOptimize(service::advance(prev, snapshot, policy, now, split_from(state)));
  std::size_t bytes = 0;
  for (const auto& [name, t] : prev.topics) bytes += t->partitions() * (t->width() * sizeof(probes::BrokerId) + 2);
  state.counters["partitions"] = static_cast<double>(state.range(0));
  state.counters["history_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_AdvanceHistory)->ArgsProduct({{10000, 200000}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

// advance() from nothing: a first probe (--once), where every partition's baseline is written.
void BM_AdvanceHistoryFirst(benchmark::State& state) {
  const auto snapshot = cluster(static_cast<int>(state.range(0)));
  auto policy = service::Policy::with_defaults();
  policy.compile();
  const auto now = service::SteadyClock::now();
  for (auto _ : state) benchmark::DoNotOptimize(service::advance({}, snapshot, policy, now, split_from(state)));
  state.counters["partitions"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_AdvanceHistoryFirst)
    ->ArgsProduct({{200000}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The per-broker disruption pass run after each verdict (service/judge/disruption.h): every broker alone, one
// pass over the partitions. Aim: under 25% of BM_Judge at the same size.
void BM_BrokerSafety(benchmark::State& state) {
  const auto snapshot = cluster(static_cast<int>(state.range(0)));
  auto policy = service::Policy::with_defaults();
  policy.compile();
  const auto verdict = service::judge(snapshot, policy);
  for (auto _ : state)
    benchmark::DoNotOptimize(service::broker_safety(snapshot, verdict, {}, {}, split_from(state)));
  state.counters["partitions"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_BrokerSafety)->ArgsProduct({{10000, 200000}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

// One HTTP request's work (routing + rendering from the published state), without the socket.
void request(benchmark::State& state, const std::string& path,
             std::multimap<std::string, std::string> params) {
  testing::ScriptedSource source;
  source.set(testing::ok(cluster(static_cast<int>(state.range(0)))));
  auto policy = service::Policy::with_defaults();
  policy.compile();
  service::ProbeLoop loop(source, policy, service::GateConfig{}, std::chrono::seconds(60));
  loop.run_once(service::SteadyClock::now(), std::chrono::system_clock::now());
  service::Api api(loop, policy, service::ApiOptions{});
  const service::HttpRequest req{"GET", path, std::move(params)};
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto r = api.handle(req, service::SteadyClock::now(), std::chrono::system_clock::now());
    bytes = r.body.size();
    benchmark::DoNotOptimize(r);
  }
  state.counters["partitions"] = static_cast<double>(state.range(0));
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
void BM_Metrics(benchmark::State& state) { request(state, "/metrics", {}); }
void BM_Status(benchmark::State& state) { request(state, "/v1/status", {}); }
void BM_Readyz(benchmark::State& state) { request(state, "/readyz", {}); }
// Filters every partition of the snapshot (not only the capped unhealthy list).
void BM_PartitionsQuery(benchmark::State& state) {
  request(state, "/v1/partitions", {{"state", "under_replicated"}});
}
// GET /v1/disruption?brokers=7: resolve, one pass over every partition for the set, render.
void BM_DisruptionQuery(benchmark::State& state) { request(state, "/v1/disruption", {{"brokers", "7"}}); }
BENCHMARK(BM_DisruptionQuery)->Arg(10000)->Arg(200000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Readyz)->Arg(200000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Metrics)->Arg(10000)->Arg(200000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Status)->Arg(10000)->Arg(200000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PartitionsQuery)->Arg(10000)->Arg(200000)->Unit(benchmark::kMillisecond);

// A whole probe through the real librdkafka client: all-topics Metadata plus one DescribeConfigs batch
// (refreshed every probe here, the worst case) against kafkasim on loopback. 6 brokers, RF 3, topics of 100.
void BM_ProbeKafkasim(benchmark::State& state) {
  const int partitions = static_cast<int>(state.range(0));
  std::vector<kafkasim::BrokerSpec> brokers;
  for (int32_t id = 1; id <= 6; ++id) brokers.push_back(kafkasim::BrokerSpec{id, "127.0.0.1", 0, {}, {}, {}});
  kafkasim::ClusterSpec spec;
  spec.brokers = brokers;
  for (int t = 0; t * 100 < partitions; ++t)
    spec.topics.push_back(kafkasim::TopicSpec{"topic-" + std::to_string(t),
                                              false,
                                              0,
                                              kafkasim::round_robin_partitions(100, 3, {1, 2, 3, 4, 5, 6}),
                                              {{"min.insync.replicas", "2"}}, 0});
  kafkasim::Cluster sim(std::move(spec));
  sim.start();
  probes::RdKafkaSourceConfig c;
  c.properties = {{"bootstrap.servers", sim.bootstrap_servers()}};
  c.probe_timeout = std::chrono::seconds(60);
  c.min_isr_refresh = std::chrono::milliseconds(1);
  probes::RdKafkaSource source(c);
  source.probe();  // connect and learn the brokers outside the timed loop
  for (auto _ : state) {
    auto r = source.probe();
    if (!r.ok()) state.SkipWithError(r.error->message.c_str());
    benchmark::DoNotOptimize(r);
  }
  state.counters["partitions"] = partitions;
}
BENCHMARK(BM_ProbeKafkasim)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(200000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
