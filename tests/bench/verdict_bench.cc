// Cost of judging a snapshot, by cluster size: the probe loop does this once per poll.
#include <benchmark/benchmark.h>

#include "service/verdict.h"
#include "tests/support/builders.h"

namespace {

using namespace isrguard;

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

void BM_Judge(benchmark::State& state) {
  const auto snapshot = cluster(static_cast<int>(state.range(0)));
  auto policy = service::Policy::with_defaults();
  policy.compile();
  for (auto _ : state) benchmark::DoNotOptimize(service::judge(snapshot, policy));
  state.counters["partitions"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_Judge)->Arg(1000)->Arg(10000)->Arg(100000)->Arg(200000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
