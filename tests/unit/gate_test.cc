#include "service/judge/gate.h"

#include <gtest/gtest.h>

namespace isrguard::service {
namespace {

using std::chrono::seconds;
const SteadyClock::time_point t0{};
const std::vector<std::string> kHealthy{};
const std::vector<std::string> kUrp{"under_replicated_partitions"};

Gate gate30() { return Gate(GateConfig{seconds(30)}); }

TEST(Gate, NotReadyBeforeFirstObservation) {
  Gate g = gate30();
  EXPECT_EQ(g.status().state, GateState::kInitializing);
  EXPECT_FALSE(g.status().ready);
}

TEST(Gate, FirstHealthyObservationStillWaitsForTheHold) {
  Gate g = gate30();
  EXPECT_EQ(g.observe(kHealthy, t0).state, GateState::kRecovering);
  EXPECT_FALSE(g.observe(kHealthy, t0 + seconds(29)).ready);
  EXPECT_TRUE(g.observe(kHealthy, t0 + seconds(30)).ready);
}

// The worked example in gate.h, row by row.
TEST(Gate, WorkedExample) {
  struct Step {
    int at;
    std::vector<std::string> codes;
    GateState want;
    bool ready;
  };
  const std::vector<Step> steps = {
      {0, kHealthy, GateState::kRecovering, false}, {30, kHealthy, GateState::kOpen, true},
      {41, kUrp, GateState::kClosed, false},        {50, kHealthy, GateState::kRecovering, false},
      {62, kUrp, GateState::kClosed, false},        {70, kHealthy, GateState::kRecovering, false},
      {99, kHealthy, GateState::kRecovering, false}, {100, kHealthy, GateState::kOpen, true},
  };
  Gate g = gate30();
  for (const auto& s : steps) {
    GateStatus st = g.observe(s.codes, t0 + seconds(s.at));
    EXPECT_EQ(st.state, s.want) << "t=" << s.at;
    EXPECT_EQ(st.ready, s.ready) << "t=" << s.at;
  }
  EXPECT_EQ(g.status().transitions, 7u);
}

TEST(Gate, ClosesImmediatelyAndReportsBlockingCodes) {
  Gate g = gate30();
  g.observe(kHealthy, t0);
  g.observe(kHealthy, t0 + seconds(30));
  bool changed = false;
  GateStatus st = g.observe({"probe_failed"}, t0 + seconds(31), &changed);
  EXPECT_TRUE(changed);
  GateStatus want;
  want.state = GateState::kClosed;
  want.ready = false;
  want.since = t0 + seconds(31);
  want.healthy_since = t0;
  want.transitions = 3;
  want.blocking = {"probe_failed"};
  EXPECT_EQ(st, want);
}

TEST(Gate, NoTransitionReportedWhileStateHolds) {
  Gate g = gate30();
  bool changed = true;
  g.observe(kUrp, t0, &changed);
  EXPECT_TRUE(changed);
  g.observe(kUrp, t0 + seconds(5), &changed);
  EXPECT_FALSE(changed);
  EXPECT_EQ(g.status().since, t0);
}

TEST(Gate, HoldRemainingCountsDown) {
  Gate g = gate30();
  g.observe(kUrp, t0);
  g.observe(kHealthy, t0 + seconds(10));
  EXPECT_EQ(g.observe(kHealthy, t0 + seconds(22)).hold_remaining, std::chrono::milliseconds(18000));
}

TEST(Gate, ZeroHoldOpensAtOnce) {
  Gate g(GateConfig{std::chrono::milliseconds(0)});
  EXPECT_TRUE(g.observe(kHealthy, t0).ready);
}

}  // namespace
}  // namespace isrguard::service
