// The process's run-and-stop paths (service/runtime/lifecycle.h) driven in-process: signals are sent to this
// test thread only (pthread_kill), never to the whole test process.
#include "service/runtime/lifecycle.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/await.h"
#include "tests/support/builders.h"
#include "tests/support/scripted_source.h"

namespace isrguard::service {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A latch the test opens at its end so that work a lifecycle function abandoned can finish.
struct Latch {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void release() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return open; });
  }
};

probes::ClusterSnapshot healthy() {
  return testing::SnapshotBuilder()
      .brokers({1, 2, 3})
      .topic(testing::healthy_topic("orders", 3, 3, {1, 2, 3}, 2))
      .build();
}

// Counts probes; optionally throws from a given probe on, blocks in probe() or in its destructor.
class TestSource : public probes::MetadataSource {
 public:
  explicit TestSource(std::shared_ptr<Latch> latch) : latch_(std::move(latch)) {}
  ~TestSource() override {
    if (block_destructor) latch_->wait();
  }
  probes::ProbeResult probe() override {
    const int n = ++probes;
    if (throw_from > 0 && n >= throw_from) throw std::runtime_error("boom in probe " + std::to_string(n));
    if (block_probe) latch_->wait();
    return testing::ok(healthy());
  }
  std::atomic<int> probes{0};
  int throw_from = 0;  // 0 = never
  bool block_probe = false;
  bool block_destructor = false;

 private:
  std::shared_ptr<Latch> latch_;
};

Config test_config() {
  Config c;
  c.mock_brokers = 1;
  c.http_address = "127.0.0.1";
  c.http_port = 0;
  c.health_port = 0;
  c.poll_interval = milliseconds(100);
  c.gate.recovery_hold = milliseconds(0);
  return c;
}

// Sends `sig` to the calling (test) thread once `ready` holds, from a helper thread; gives up after 20 s so
// that a lifecycle function that never notices ends the test by a failure rather than a hang.
class SignalAfter {
 public:
  SignalAfter(int sig, std::function<bool()> ready) : target_(pthread_self()) {
    thread_ = std::thread([this, sig, ready = std::move(ready)] {
      testing::await([&] { return ready() || cancelled_.load(); }, seconds(20));
      if (cancelled_) return;
      sent_at = std::chrono::steady_clock::now();
      sent = true;
      pthread_kill(target_, sig);
    });
  }
  ~SignalAfter() {
    cancelled_ = true;
    thread_.join();
  }
  std::atomic<bool> sent{false};
  std::chrono::steady_clock::time_point sent_at{};

 private:
  pthread_t target_;
  std::atomic<bool> cancelled_{false};
  std::thread thread_;
};

TEST(Lifecycle, ServeExitsNonZeroWhenTheProbeLoopThrows) {
  block_process_signals();  // before any helper thread starts: the helpers inherit the mask
  auto latch = std::make_shared<Latch>();
  auto source = std::make_unique<TestSource>(latch);
  source->throw_from = 2;
  // Watchdog: if serve() never notices the dead loop, SIGTERM ends it with exit 0 and the test fails.
  SignalAfter watchdog(SIGTERM, [] { return false; });
  const RunOutcome outcome = serve(test_config(), std::move(source));
  EXPECT_EQ(outcome, (RunOutcome{kExitLoopDied, false}));
  EXPECT_FALSE(watchdog.sent);
  latch->release();
}

TEST(Lifecycle, ServeStopsOnSigtermWithinTheBudgetEvenWhenTheClientIsSlowToClose) {
  block_process_signals();
  auto latch = std::make_shared<Latch>();
  auto source = std::make_unique<TestSource>(latch);
  source->block_destructor = true;  // like rd_kafka_destroy stuck on a broker
  TestSource* raw = source.get();
  SignalAfter term(SIGTERM, [raw] { return raw->probes.load() >= 2; });
  const milliseconds budget(300);
  const RunOutcome outcome = serve(test_config(), std::move(source), budget);
  const auto took = std::chrono::steady_clock::now() - term.sent_at;
  ASSERT_TRUE(term.sent);
  EXPECT_EQ(outcome, (RunOutcome{0, true}));  // the caller must _Exit: the client is still closing
  // Generous bound for a loaded 2-core machine; without the bounded close this waits for the latch (forever).
  EXPECT_LT(took, budget + seconds(3));
  latch->release();  // the abandoned close finishes now
}

TEST(Lifecycle, ServeStopsCleanlyOnSigint) {
  block_process_signals();
  auto latch = std::make_shared<Latch>();
  auto source = std::make_unique<TestSource>(latch);
  TestSource* raw = source.get();
  SignalAfter interrupt(SIGINT, [raw] { return raw->probes.load() >= 1; });
  EXPECT_EQ(serve(test_config(), std::move(source)), (RunOutcome{0, false}));
  EXPECT_TRUE(interrupt.sent);
}

TEST(Lifecycle, OnceInterruptedBySignalEndsAtOnceWithExitTwoAndPrintsNothing) {
  block_process_signals();
  auto latch = std::make_shared<Latch>();
  auto source = std::make_unique<TestSource>(latch);
  source->block_probe = true;  // a probe waiting on a hung broker
  TestSource* raw = source.get();
  SignalAfter term(SIGTERM, [raw] { return raw->probes.load() >= 1; });
  std::ostringstream out;
  const RunOutcome outcome = run_once_cli(test_config(), std::move(source), out);
  ASSERT_TRUE(term.sent);
  EXPECT_LT(std::chrono::steady_clock::now() - term.sent_at, seconds(3));
  EXPECT_EQ(outcome, (RunOutcome{2, true}));
  EXPECT_EQ(out.str(), "");
  // The abandoned probe stays blocked, as on a hung broker, until the process ends: released, it would go on
  // logging while this test process runs its static destructors (spdlog's registry among them). The real
  // binary _Exits instead (RunOutcome::exit_immediately), so nothing runs after it there.
}

TEST(Lifecycle, OncePrintsTheVerdictAndExitsZeroWhenHealthy) {
  block_process_signals();
  auto latch = std::make_shared<Latch>();
  std::ostringstream out;
  Config c = test_config();
  c.output = OutputFormat::kJson;
  // Exit at once after the answer: tearing down a 1M-partition state costs more than it is worth.
  EXPECT_EQ(run_once_cli(c, std::make_unique<TestSource>(latch), out), (RunOutcome{0, true}));
  EXPECT_NE(out.str().find("\"healthy\": true"), std::string::npos) << out.str();
}

TEST(Lifecycle, OnceWhenTheProbeThrowsExitsTwo) {
  block_process_signals();
  auto latch = std::make_shared<Latch>();
  auto source = std::make_unique<TestSource>(latch);
  source->throw_from = 1;
  std::ostringstream out;
  EXPECT_EQ(run_once_cli(test_config(), std::move(source), out), (RunOutcome{2, false}));
}

}  // namespace
}  // namespace isrguard::service
