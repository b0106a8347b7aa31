// The memory budget (docs/memory.md): at 200k partitions (30 brokers, RF 3, topics of 100), what isrguard
// keeps between probes — snapshot, history, verdict and the rest of the published state — stays under
// kBudgetPerPartition bytes per partition, and a probe holds at most the previous state plus the snapshot
// being built. Counted, not timed: operator new/delete are replaced in this executable and count the heap
// blocks allocated by the thread being measured (the test thread, where the probe converts librdkafka's
// metadata and the verdict is judged, and the helper threads it starts for large passes, probes/split.h), as
// glibc malloc sizes them (8 bytes of header, 16-byte granules, at least 32 bytes). librdkafka's own memory
// (malloc, its threads) is the floor and is not counted, nor is kafkasim's (its threads).
#include <gtest/gtest.h>

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "probes/rdkafka_source.h"
#include "probes/split.h"
#include "service/judge/disruption.h"
#include "service/judge/history.h"
#include "service/judge/jmx_view.h"
#include "service/runtime/probe_loop.h"
#include "service/judge/verdict.h"
#include "tests/kafkasim/cluster.h"

// ---- the allocator hook -----------------------------------------------------------------------------------

namespace {

// Each block carries a header saying whether it was counted (and its size), so a block freed on another
// thread, or allocated before counting started, is handled right.
struct alignas(16) Header {
  std::size_t size;
  std::size_t counted;
};
static_assert(sizeof(Header) == 16);

thread_local bool t_counting = false;  // the test thread, while a Counting lives
std::atomic<bool> g_counting{false};   // a Counting lives: split helper threads count too

// A helper thread of probes/split.h (named at its start, before it allocates anything).
bool split_helper() {
  char name[16] = {};
  return pthread_getname_np(pthread_self(), name, sizeof name) == 0 &&
         std::strcmp(name, isrguard::probes::kHelperThreadName) == 0;
}
std::atomic<std::int64_t> g_live{0};       // glibc chunk bytes of counted blocks now live
std::atomic<std::int64_t> g_peak{0};       // highest g_live since the last reset_peak()
std::atomic<std::int64_t> g_requested{0};  // requested bytes of counted allocations (never decremented)

std::int64_t chunk_bytes(std::size_t size) {
  const std::size_t chunk = (size + 8 + 15) & ~std::size_t{15};
  return static_cast<std::int64_t>(chunk < 32 ? 32 : chunk);
}

void* allocate(std::size_t size) {
  void* raw = std::malloc(sizeof(Header) + size);
  if (!raw) throw std::bad_alloc();
  auto* h = static_cast<Header*>(raw);
  h->size = size;
  h->counted = t_counting || (g_counting.load(std::memory_order_relaxed) && split_helper()) ? 1 : 0;
  if (h->counted) {
    const std::int64_t live = g_live.fetch_add(chunk_bytes(size)) + chunk_bytes(size);
    std::int64_t peak = g_peak.load();
    while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {
    }
    g_requested.fetch_add(static_cast<std::int64_t>(size));
  }
  return h + 1;
}

void release(void* p) noexcept {
  if (!p) return;
  Header* h = static_cast<Header*>(p) - 1;
  if (h->counted) g_live.fetch_sub(chunk_bytes(h->size));
  std::free(h);
}

}  // namespace

void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return allocate(size);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }

namespace isrguard {
namespace {

// Counts the test thread's allocations while alive.
class Counting {
 public:
  Counting() : live_at_start_(g_live.load()), requested_at_start_(g_requested.load()) {
    g_peak.store(live_at_start_);
    t_counting = true;
    g_counting = true;
  }
  ~Counting() {
    t_counting = false;
    g_counting = false;
  }
  std::int64_t retained() const { return g_live.load() - live_at_start_; }  // allocated and still live
  std::int64_t peak() const { return g_peak.load() - live_at_start_; }      // highest retained so far
  std::int64_t requested() const { return g_requested.load() - requested_at_start_; }

 private:
  const std::int64_t live_at_start_;
  const std::int64_t requested_at_start_;
};

// The budget, bytes per partition (docs/memory.md): snapshot ~32 (RF 3, in sync), history ~14, the rest
// per topic or per broker. Today's layout measures ~50; the per-partition vectors and error strings before
// it cost ~190.
constexpr double kBudgetPerPartition = 64;

constexpr int kTopics = 2000;
constexpr int kPartitionsPerTopic = 100;
constexpr double kPartitions = kTopics * kPartitionsPerTopic;

kafkasim::ClusterSpec large_cluster() {
  std::vector<std::int32_t> ids;
  for (std::int32_t id = 1; id <= 30; ++id) ids.push_back(id);
  kafkasim::ClusterSpec spec = kafkasim::make_cluster(ids);
  spec.broker_defaults = {{"min.insync.replicas", "2"}};
  const auto partitions = kafkasim::round_robin_partitions(kPartitionsPerTopic, 3, ids);
  for (int t = 0; t < kTopics; ++t) {
    char name[32];
    std::snprintf(name, sizeof name, "topic-%05d", t);
    spec.topics.push_back(kafkasim::make_topic(name, partitions));
  }
  return spec;
}

probes::RdKafkaSourceConfig source_config(const kafkasim::Cluster& sim) {
  probes::RdKafkaSourceConfig c;
  c.properties = {{"bootstrap.servers", sim.bootstrap_servers()}};
  c.probe_timeout = std::chrono::seconds(60);  // generous: the machine may be loaded; not what is tested
  c.broker_slow_after = std::chrono::seconds(60);  // likewise (a sanitizer build at 200k answers in > 2 s)
  return c;
}

double per_partition(std::int64_t bytes) { return static_cast<double>(bytes) / kPartitions; }

class MemoryBudget : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sim_ = new kafkasim::Cluster(large_cluster());
    sim_->start();
  }
  static void TearDownTestSuite() {
    delete sim_;
    sim_ = nullptr;
  }
  static kafkasim::Cluster* sim_;
};
kafkasim::Cluster* MemoryBudget::sim_ = nullptr;

// What one probe keeps, by part, through the real conversion path (librdkafka against kafkasim).
TEST_F(MemoryBudget, SnapshotHistoryAndVerdictAt200kPartitionsStayUnderTheBudget) {
  probes::RdKafkaSource source(source_config(*sim_));
  const probes::ProbeResult warm = source.probe();  // connects; fills the min.insync.replicas cache
  ASSERT_TRUE(warm.ok()) << (warm.error ? warm.error->message : "");
  ASSERT_EQ(warm.snapshot->topics.size(), static_cast<std::size_t>(kTopics));

  std::int64_t snapshot_bytes = 0, conversion_peak = 0, history_bytes = 0, verdict_bytes = 0, view_bytes = 0;
  std::size_t reported = 0;
  {
    Counting c;
    const probes::ProbeResult r = source.probe();
    ASSERT_TRUE(r.ok());
    snapshot_bytes = c.retained();
    conversion_peak = c.peak();
    reported = r.snapshot->heap_bytes();
    service::Policy policy = service::Policy::with_defaults();
    policy.broker_slow_after = std::chrono::seconds(60);  // as the source's: timing is not what is tested
    const auto now = service::SteadyClock::now();
    const service::History history = service::advance(service::History{}, *r.snapshot, policy, now);
    history_bytes = c.retained() - snapshot_bytes;
    const service::Verdict verdict = service::judge(*r.snapshot, policy, history, now);
    verdict_bytes = c.retained() - snapshot_bytes - history_bytes;
    EXPECT_TRUE(verdict.healthy()) << verdict;
    EXPECT_EQ(verdict.counts.partitions, static_cast<std::int64_t>(kPartitions));
    const auto view = service::kafka_view(*r.snapshot, policy);
    const auto safety = service::broker_safety(*r.snapshot, verdict, service::DisruptionOptions{});
    view_bytes = c.retained() - snapshot_bytes - history_bytes - verdict_bytes;
  }
  const double total = per_partition(snapshot_bytes + history_bytes + verdict_bytes + view_bytes);
  std::printf(
      "bytes per partition: snapshot %.1f (heap_bytes %.1f), history %.1f, verdict %.1f, "
      "kafka view + broker safety %.1f, total %.1f (budget %.0f); conversion peak %.1f\n",
      per_partition(snapshot_bytes), per_partition(static_cast<std::int64_t>(reported)),
      per_partition(history_bytes), per_partition(verdict_bytes), per_partition(view_bytes), total,
      kBudgetPerPartition, per_partition(conversion_peak));
  EXPECT_LE(total, kBudgetPerPartition);
  // One pass, no intermediate copy: the probe's peak is the snapshot it returns, plus what the admin
  // requests and logging need for a moment (a few bytes per partition at most).
  EXPECT_LE(per_partition(conversion_peak), per_partition(snapshot_bytes) + 4);
}

// heap_bytes() tells the truth: a copy allocates exactly what it reports (requested sizes).
TEST_F(MemoryBudget, SnapshotHeapBytesMatchesWhatACopyAllocates) {
  probes::RdKafkaSource source(source_config(*sim_));
  const probes::ProbeResult r = source.probe();
  ASSERT_TRUE(r.ok());
  Counting c;
  const probes::ClusterSnapshot copy = *r.snapshot;
  EXPECT_EQ(static_cast<std::size_t>(c.requested()), copy.heap_bytes());
  EXPECT_EQ(copy, *r.snapshot);
}

// Serve mode: the probe loop keeps one published state; a steady probe holds at most that state plus the
// snapshot being built (and the next history and verdict), and keeps no more once published.
TEST_F(MemoryBudget, ProbeLoopKeepsOneStateAndBuildsTheNextBesideIt) {
  probes::RdKafkaSource source(source_config(*sim_));
  ASSERT_TRUE(source.probe().ok());  // connected, min.insync.replicas cached: the steady state's probe
  service::ProbeLoop loop(source, service::Policy::with_defaults(),
                          service::GateConfig{std::chrono::seconds(0)}, std::chrono::seconds(600));
  std::int64_t first = 0, second = 0, steady_peak = 0;
  {
    Counting c;
    loop.run_once(service::SteadyClock::now(), std::chrono::system_clock::now());
    first = c.retained();
    const std::int64_t before = c.retained();
    g_peak.store(g_live.load());
    loop.run_once(service::SteadyClock::now(), std::chrono::system_clock::now());
    second = c.retained();
    steady_peak = c.peak() - before;
  }
  ASSERT_TRUE(loop.current()->snapshot);
  const auto snapshot = static_cast<std::int64_t>(loop.current()->snapshot->heap_bytes());
  std::printf(
      "serve state per partition: after probe 1 %.1f, after probe 2 %.1f, steady probe peak "
      "above the state %.1f (snapshot %.1f)\n",
      per_partition(first), per_partition(second), per_partition(steady_peak), per_partition(snapshot));
  EXPECT_LE(per_partition(second), kBudgetPerPartition);
  EXPECT_LE(per_partition(second), per_partition(first) + 1);  // nothing accumulates per probe
  // The next state is built beside the published one (it must stay readable): at most one more state.
  EXPECT_LE(per_partition(steady_peak), per_partition(first) + 4);
}

}  // namespace
}  // namespace isrguard
