#include "service/runtime/probe_loop.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "service/judge/reasons.h"
#include "service/views/status_report.h"
#include "tests/support/await.h"
#include "tests/support/builders.h"
#include "tests/support/scripted_source.h"

namespace isrguard::service {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::healthy_topic;
using testing::SnapshotBuilder;
using testing::TopicBuilder;

using testing::fail;
using testing::ok;
using testing::ScriptedSource;

probes::ClusterSnapshot healthy() {
  return SnapshotBuilder().brokers({1, 2, 3}).topic(healthy_topic("orders", 3, 3, {1, 2, 3}, 2)).build();
}
probes::ClusterSnapshot broker3_lost() {
  return SnapshotBuilder()
      .brokers({1, 2})
      .topic(TopicBuilder("orders").min_isr(2).p(1, {1, 2, 3}, {1, 2}))
      .build();
}

Policy expect123() {
  Policy p = Policy::with_defaults();
  p.expected_brokers = {1, 2, 3};
  p.compile();
  return p;
}

std::vector<std::string> codes(const std::vector<Reason>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.code);
  return out;
}

const SteadyClock::time_point t0 = SteadyClock::time_point{} + std::chrono::hours(1);
const auto w0 = std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 50);

TEST(ProbeLoop, NotReadyBeforeFirstProbe) {
  ScriptedSource src;
  src.push(ok(healthy()));
  ProbeLoop loop(src, expect123(), GateConfig{seconds(30)}, seconds(60));
  auto st = loop.current();
  EXPECT_EQ(st->gate.state, GateState::kInitializing);
  EXPECT_FALSE(readiness_at(*st, t0, seconds(60), loop.policy()).ready);
}

TEST(ProbeLoop, BeforeTheFirstProbeTheGateHasBeenInitializingSinceConstruction) {
  ScriptedSource src;
  src.push(ok(healthy()));
  const auto before = SteadyClock::now();
  ProbeLoop loop(src, expect123(), GateConfig{seconds(30)}, seconds(60));
  const auto after = SteadyClock::now();
  const auto since = loop.current()->gate.since;  // not the steady clock's epoch (the machine's boot)
  EXPECT_GE(since, before);
  EXPECT_LE(since, after);
}

TEST(ProbeLoop, NeverReadyWithoutASuccessfulProbeEvenWhenProbeFailuresDoNotGate) {
  // A user who drops probe_failed from --gate-on (and snapshot_stale cannot fire without a success) leaves
  // the gate no reason to close; readiness still needs one successful probe.
  ScriptedSource src;
  src.push(fail("transport"));
  Policy p = expect123();
  p.gating_reasons.erase(std::string(reason::kProbeFailed));
  ProbeLoop loop(src, p, GateConfig{seconds(0)}, seconds(20));
  loop.run_once(t0, w0);
  loop.run_once(t0 + seconds(5), w0 + seconds(5));
  auto st = loop.current();
  ASSERT_TRUE(st->gate.ready);  // the gate alone would open: nothing gating
  EXPECT_FALSE(readiness_at(*st, t0 + seconds(5), seconds(20), loop.policy()).ready);
}

TEST(ProbeLoop, HealthyThenHoldThenReady) {
  ScriptedSource src;
  src.push(ok(healthy()));
  ProbeLoop loop(src, expect123(), GateConfig{seconds(30)}, seconds(60));
  loop.run_once(t0, w0);
  EXPECT_FALSE(readiness_at(*loop.current(), t0, seconds(60), loop.policy()).ready);
  loop.run_once(t0 + seconds(30), w0 + seconds(30));
  auto st = loop.current();
  EXPECT_TRUE(readiness_at(*st, t0 + seconds(30), seconds(60), loop.policy()).ready);
  EXPECT_EQ(st->probes_total, 2u);
  EXPECT_EQ(st->probe_duration.count, 2u);
  EXPECT_EQ(st->gate_since_wall, w0 + seconds(30));
}

// The first healthy probe began while brokers were still down and took 5 s to find them back: the cluster
// is known healthy only at its end, so the hold counts from there (it used to count from the start, which
// opened the gate 5 s early).
TEST(ProbeLoop, RecoveryHoldCountsFromTheEndOfTheFirstHealthyProbe) {
  ScriptedSource src;
  probes::ProbeResult slow = ok(healthy());
  slow.duration = seconds(5);
  src.push(slow);
  src.push(ok(healthy()));  // later probes: 3 ms
  ProbeLoop loop(src, expect123(), GateConfig{seconds(30)}, seconds(60));
  loop.run_once(t0, w0);  // ends at t0 + 5 s
  EXPECT_EQ(loop.current()->gate.healthy_since, t0 + seconds(5));
  loop.run_once(t0 + seconds(30), w0 + seconds(30));  // healthy for 25 s only
  EXPECT_EQ(loop.current()->gate.state, GateState::kRecovering);
  EXPECT_FALSE(readiness_at(*loop.current(), t0 + seconds(30), seconds(60), loop.policy()).ready);
  EXPECT_EQ(loop.current()->gate.hold_remaining, milliseconds(4997));
  loop.run_once(t0 + seconds(35), w0 + seconds(35));  // 30 s since the healthy snapshot was known
  EXPECT_EQ(loop.current()->gate.state, GateState::kOpen);
}

TEST(ProbeLoop, ScheduleIsJitteredByUpToAFifthOfTheInterval) {
  EXPECT_EQ(jittered_interval(milliseconds(5000), 0.0), milliseconds(4000));
  EXPECT_EQ(jittered_interval(milliseconds(5000), 0.5), milliseconds(5000));
  EXPECT_EQ(jittered_interval(milliseconds(5000), 1.0), milliseconds(6000));
  EXPECT_EQ(jittered_interval(milliseconds(5000), 7.0), milliseconds(6000));  // out-of-range u is clamped
}

// Records when each probe started (the loop's thread writes, the test reads after stop()).
class TimedSource : public probes::MetadataSource {
 public:
  probes::ProbeResult probe() override {
    std::lock_guard<std::mutex> lock(mu_);
    starts_.push_back(SteadyClock::now());
    return ok(healthy());
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return starts_.size();
  }
  std::vector<milliseconds> gaps() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<milliseconds> out;
    for (std::size_t i = 1; i < starts_.size(); ++i)
      out.push_back(std::chrono::duration_cast<milliseconds>(starts_[i] - starts_[i - 1]));
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<SteadyClock::time_point> starts_;
};

// Runs the loop with u pinned to `u` until 4 probes have started; returns the 3 gaps between their starts.
std::vector<milliseconds> gaps_with_jitter(double u, milliseconds interval) {
  TimedSource src;
  ProbeLoop loop(src, expect123(), GateConfig{seconds(0)}, seconds(60));
  std::thread runner([&] { loop.run(interval, [u] { return u; }); });
  EXPECT_TRUE(testing::await([&] { return src.count() >= 4; }, seconds(30)));
  loop.stop();
  runner.join();
  auto gaps = src.gaps();
  gaps.resize(3);
  return gaps;
}

// run() waits the jittered interval, not the interval: the wait never ends early (a lower bound that load
// cannot break), and with u = 0 it is shorter than the interval (a wake-up later than 50 ms on every one of
// three probes would be needed to hide that).
TEST(ProbeLoop, RunWaitsTheJitteredIntervalFromEachProbesStart) {
  constexpr milliseconds kInterval{250};
  const auto shortest = gaps_with_jitter(0.0, kInterval);
  for (const auto g : shortest) EXPECT_GE(g, milliseconds(200)) << g.count();
  EXPECT_LT(*std::min_element(shortest.begin(), shortest.end()), kInterval) << shortest[0].count();
  for (const auto g : gaps_with_jitter(1.0, kInterval)) EXPECT_GE(g, milliseconds(300)) << g.count();
}

TEST(ProbeLoop, ProbeFailureClosesAtOnceKeepsLastVerdictAndCountsByKind) {
  ScriptedSource src;
  src.push(ok(healthy()));
  src.push(ok(healthy()));
  src.push(fail("transport"));
  ProbeLoop loop(src, expect123(), GateConfig{seconds(0)}, seconds(60));
  loop.run_once(t0, w0);
  loop.run_once(t0 + seconds(5), w0);
  EXPECT_TRUE(loop.current()->gate.ready);
  loop.run_once(t0 + seconds(10), w0 + seconds(10));
  auto st = loop.current();
  EXPECT_FALSE(st->gate.ready);
  EXPECT_EQ(codes(st->reasons), std::vector<std::string>{"probe_failed"});
  EXPECT_EQ(st->reasons[0].detail, "transport: all brokers down");
  EXPECT_EQ(st->probe_failures, (std::map<std::string, std::uint64_t>{{"transport", 1}}));
  ASSERT_TRUE(st->verdict);
  EXPECT_TRUE(st->verdict->healthy());
  EXPECT_EQ(st->last_success, t0 + seconds(5));
}

TEST(ProbeLoop, FailingLongEnoughAlsoReportsStale) {
  ScriptedSource src;
  src.push(ok(healthy()));
  src.push(fail("timeout"));
  ProbeLoop loop(src, expect123(), GateConfig{seconds(0)}, seconds(20));
  loop.run_once(t0, w0);
  loop.run_once(t0 + seconds(21), w0);
  EXPECT_EQ(codes(loop.current()->reasons), (std::vector<std::string>{"probe_failed", "snapshot_stale"}));
}

TEST(ProbeLoop, StaleOnlyWhenOlderThanTheLimitNotAtIt) {
  ScriptedSource src;
  src.push(ok(healthy()));
  src.push(fail("timeout"));
  ProbeLoop loop(src, expect123(), GateConfig{seconds(0)}, seconds(20));
  loop.run_once(t0, w0);
  loop.run_once(t0 + seconds(20), w0);  // exactly stale_after old: the documented limit, not yet stale
  EXPECT_EQ(codes(loop.current()->reasons), (std::vector<std::string>{"probe_failed"}));
}

TEST(ProbeLoop, ReadinessGoesStaleAtReadTimeEvenIfTheLoopIsWedged) {
  ScriptedSource src;
  src.push(ok(healthy()));
  ProbeLoop loop(src, expect123(), GateConfig{seconds(0)}, seconds(20));
  loop.run_once(t0, w0);
  auto st = loop.current();
  EXPECT_TRUE(readiness_at(*st, t0 + seconds(20), seconds(20), loop.policy()).ready);
  Readiness later = readiness_at(*st, t0 + seconds(21), seconds(20), loop.policy());
  EXPECT_FALSE(later.ready);
  EXPECT_EQ(codes(later.reasons), std::vector<std::string>{"snapshot_stale"});
}

TEST(ProbeLoop, BrokerLossThenRecoveryReopensOnlyAfterHold) {
  ScriptedSource src;
  src.push(ok(healthy()));
  src.push(ok(healthy()));
  src.push(ok(broker3_lost()));
  src.push(ok(healthy()));
  ProbeLoop loop(src, expect123(), GateConfig{seconds(30)}, seconds(60));
  loop.run_once(t0, w0);
  loop.run_once(t0 + seconds(30), w0);
  ASSERT_TRUE(loop.current()->gate.ready);
  loop.run_once(t0 + seconds(35), w0);
  auto closed = loop.current();
  EXPECT_FALSE(closed->gate.ready);
  EXPECT_EQ(codes(closed->reasons), (std::vector<std::string>{"under_replicated_partitions",
                                                              "at_min_isr_partitions", "brokers_missing"}));
  loop.run_once(t0 + seconds(40), w0);
  EXPECT_EQ(loop.current()->gate.state, GateState::kRecovering);
  loop.run_once(t0 + seconds(69), w0);
  EXPECT_FALSE(loop.current()->gate.ready);
  loop.run_once(t0 + seconds(70), w0);
  EXPECT_TRUE(loop.current()->gate.ready);
  EXPECT_EQ(loop.current()->gate.transitions, 5u);
}

TEST(ProbeLoop, LivenessFollowsTheHeartbeat) {
  ScriptedSource src;
  src.push(ok(healthy()));
  ProbeLoop loop(src, expect123(), GateConfig{seconds(0)}, seconds(20));
  auto st = loop.current();
  EXPECT_TRUE(alive_at(*st, st->loop_heartbeat + seconds(10), seconds(10)));
  EXPECT_FALSE(alive_at(*st, st->loop_heartbeat + seconds(11), seconds(10)));
}

TEST(ProbeLoop, WithoutTheServeViewsOnceOutputIsUnchangedAndOnlyTheServeViewsAreSkipped) {
  // --once skips the kafka_* view and the /v1/partitions index (publish_serve_views(false)): its JSON and
  // table, exit status and per-broker safety must be what they are with every view computed.
  const auto snapshot = SnapshotBuilder()
                            .brokers({1, 2})
                            .topic(TopicBuilder("orders").min_isr(2).p(0, {1, 2, 3}, {1, 2}).p(1, {2, 3, 1}, {2}))
                            .topic(healthy_topic("audit", 4, 2, {1, 2}, 1))
                            .topic(TopicBuilder("moving").min_isr(1).p(0, {1, 2, 3, 4}, {1, 2}))
                            .build();
  Config config;
  config.policy = expect123();
  auto run = [&](bool serve_views) {
    ScriptedSource src;
    src.push(ok(snapshot));
    auto loop = std::make_unique<ProbeLoop>(src, config.policy, GateConfig{seconds(0)}, seconds(60));
    loop->publish_serve_views(serve_views);
    loop->run_once(t0, w0);
    return loop->current();
  };
  const auto all = run(true);
  const auto once = run(false);
  EXPECT_EQ(once_json(*once, config).dump(2), once_json(*all, config).dump(2));
  EXPECT_EQ(once_table(*once, config), once_table(*all, config));
  EXPECT_EQ(once_healthy(*once), once_healthy(*all));
  EXPECT_FALSE(once_healthy(*once));
  ASSERT_TRUE(once->broker_safety);
  EXPECT_EQ(once->broker_safety->size(), all->broker_safety->size());
  EXPECT_TRUE(all->kafka && all->unhealthy_partitions && !all->unhealthy_partitions->empty());
  EXPECT_FALSE(once->kafka);
  EXPECT_FALSE(once->unhealthy_partitions);
  // Every top-level field --once printed before is still there.
  const auto j = once_json(*once, config);
  for (const char* key : {"healthy", "reasons", "cluster", "counts", "brokers", "fleets", "unhealthy_topics",
                          "unhealthy_partitions", "overrides", "probe", "version"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_TRUE(j["brokers"][0].contains("safe_to_disrupt"));
  EXPECT_GT(j["unhealthy_partitions"]["total"].get<int>(), 0);
}

TEST(ProbeLoop, SingleProbeBuildsNoHistoryYetPrintsTheSameAndRefusesASecondProbe) {
  // --once (single_probe()): the verdict is judge_first's, the history is not built, the serve views are off;
  // the output must be what a serving loop's first probe gives. Partitions mid-move, shrunk and offline, so
  // the first baselines matter.
  const auto snapshot = SnapshotBuilder()
                            .brokers({1, 2, 3})
                            .topic(TopicBuilder("orders").min_isr(2).p(1, {1, 2, 3}, {1, 2}).p(2, {2, 3, 1}, {2}))
                            .topic(healthy_topic("audit", 4, 2, {1, 2}, 1))
                            .topic(TopicBuilder("moving").min_isr(1).p(1, {1, 2, 3, 4}, {1, 2, 3, 4}).p(-1, {3}, {}))
                            .build();
  Config config;
  config.policy = expect123();
  auto run = [&](bool single) {
    ScriptedSource src;
    src.push(ok(snapshot));
    auto loop = std::make_unique<ProbeLoop>(src, config.policy, GateConfig{seconds(0)}, seconds(60));
    if (single) loop->single_probe();
    loop->run_once(t0, w0);
    if (single) {
      src.push(ok(snapshot));
      EXPECT_THROW(loop->run_once(t0 + seconds(1), w0 + seconds(1)), std::logic_error);
    }
    return loop->current();
  };
  const auto serving = run(false);
  const auto once = run(true);
  ASSERT_TRUE(once->verdict);
  EXPECT_EQ(*once->verdict, *serving->verdict);
  EXPECT_EQ(once_json(*once, config).dump(2), once_json(*serving, config).dump(2));
  EXPECT_EQ(once_table(*once, config), once_table(*serving, config));
  EXPECT_EQ(*once->broker_safety, *serving->broker_safety);
  EXPECT_TRUE(serving->history);
  EXPECT_FALSE(once->history);
  EXPECT_FALSE(once->kafka);
  EXPECT_FALSE(once->unhealthy_partitions);
  EXPECT_EQ(once->probes_total, 1u);
}

// A scripted source that also hands the loop's connection-loss listener to the test.
class LossySource : public ScriptedSource {
 public:
  void on_connection_loss(probes::ConnectionListener listener) override { listener_ = std::move(listener); }
  void lose(probes::BrokerId id) {
    ASSERT_TRUE(listener_);
    listener_(probes::ConnectionLoss{id, "broker " + std::to_string(id) + " (h:9092): connection lost"});
  }
  bool listening() const { return static_cast<bool>(listener_); }

 private:
  probes::ConnectionListener listener_;
};

TEST(ProbeLoop, AConnectionLossClosesTheOpenGateAtOnceAndTheNextProbeJudgesIt) {
  LossySource src;
  src.push(ok(healthy()));
  {
    ProbeLoop loop(src, expect123(), GateConfig{seconds(0)}, seconds(60));
    loop.close_on_connection_loss();
    loop.run_once(SteadyClock::now(), w0);
    loop.run_once(SteadyClock::now(), w0);
    ASSERT_TRUE(loop.current()->gate.ready);

    src.lose(2);  // no probe runs: the loss itself publishes
    const auto closed = loop.current();
    EXPECT_FALSE(closed->gate.ready);
    EXPECT_EQ(closed->gate.state, GateState::kClosed);
    EXPECT_EQ(closed->gate.blocking, std::vector<std::string>{"brokers_reconnected"});
    ASSERT_EQ(codes(closed->reasons), std::vector<std::string>{"brokers_reconnected"});
    EXPECT_EQ(closed->reasons[0],
              (Reason{"brokers_reconnected", 1,
                      "connection lost since the last probe: broker 2 (h:9092): connection lost", true}));
    EXPECT_EQ(closed->probes_total, 2u);

    // A probe started after the loss judges it (here: healthy, no drop counted): the event's reason goes,
    // and the gate opens only through the recovery hold (0 here: at once).
    loop.run_once(SteadyClock::now(), w0);
    EXPECT_EQ(codes(loop.current()->reasons), std::vector<std::string>{});
    EXPECT_EQ(loop.current()->gate.state, GateState::kOpen);
    EXPECT_EQ(loop.current()->gate.transitions, closed->gate.transitions + 2);  // closed -> recovering -> open
  }
  EXPECT_FALSE(src.listening());  // the loop detached its listener when destroyed
}

TEST(ProbeLoop, AConnectionLossDuringAProbeKeepsThatProbeFromClearingIt) {
  LossySource src;
  src.push(ok(healthy()));
  ProbeLoop loop(src, expect123(), GateConfig{seconds(30)}, seconds(60));
  loop.close_on_connection_loss();
  const auto started = SteadyClock::now() - seconds(1);  // a probe that began before the loss
  src.lose(3);
  loop.run_once(started, w0);
  EXPECT_EQ(codes(loop.current()->reasons), std::vector<std::string>{"brokers_reconnected"});
  EXPECT_EQ(loop.current()->gate.state, GateState::kClosed);
  loop.run_once(SteadyClock::now(), w0);
  EXPECT_EQ(loop.current()->gate.state, GateState::kRecovering);
}

TEST(ProbeLoop, RunStopsPromptlyWhenStopped) {
  ScriptedSource src;
  src.push(ok(healthy()));
  ProbeLoop loop(src, expect123(), GateConfig{seconds(0)}, seconds(20));
  std::thread t([&] { loop.run(std::chrono::hours(1)); });
  // Wait for the first iteration to publish (no fixed sleep), then stop: run() must not wait out the hour.
  const auto deadline = SteadyClock::now() + seconds(10);
  while (loop.current()->probes_total == 0 && SteadyClock::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(loop.current()->probes_total, 1u);
  loop.stop();
  t.join();
}

}  // namespace
}  // namespace isrguard::service
