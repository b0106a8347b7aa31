// Seeded scenarios: the shipped settings never break the safety property; an unsafe setting does.
#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "tests/sim/runner.h"

namespace isrguard::sim {
namespace {

Settings shipped() { return shipped_settings(ISRGUARD_SOURCE_DIR); }

TEST(SimScenarios, ShippedSettingsNeverGrantAnUnsafeEviction) {
  const Summary s = run_batch(Size::kSmall, 1, ISRGUARD_SIM_SCENARIOS, shipped());
  EXPECT_EQ(s.scenarios, ISRGUARD_SIM_SCENARIOS);
  EXPECT_GT(s.grants, s.scenarios);  // the drains did evict
  EXPECT_EQ(s.violations, 0) << to_string(s);
  EXPECT_EQ(s.stuck, 0) << to_string(s);  // every drain of a cluster without a fault completes
  RecordProperty("summary", to_string(s));
}

// The example of a deliberately unsafe setting: no recovery hold, a 10 s kubelet period with
// failureThreshold 3, brokers Ready 2 s after they start.
TEST(SimScenarios, UnsafeSettingsProduceViolations) {
  Settings s = shipped();
  s.recovery_hold = 0;
  s.kubelet_period = 10000;
  s.failure_threshold = 3;
  s.broker_ready_after = 2000;
  const Summary sum = run_batch(Size::kSmall, 1, 500, s);
  EXPECT_GT(sum.violations, 0) << to_string(sum);
  ASSERT_FALSE(sum.first_details.empty());
  EXPECT_NE(sum.first_details[0].find("seed="), std::string::npos);
}

// Without the isrguard pod in the budget, a broker Ready at registration is evictable before it caught up.
TEST(SimScenarios, WithoutTheGateThePdbAloneIsUnsafe) {
  Settings s = shipped();
  s.gate = false;
  EXPECT_GT(run_batch(Size::kSmall, 1, 300, s).violations, 0);
}

// The safe envelope of docs/safety.md: isrguard's pod leaves the budget (poll x 1.2 + kubelet period x
// failureThreshold + recount after the grant) sooner than a drained broker's replacement can be Ready
// (shutdown + reschedule + start-up), with at least 5 s to spare, for the settings the manifests ship.
TEST(SimScenarios, ShippedSettingsSitInsideTheEnvelopeWithMargin) {
  const Settings s = shipped();
  const Ms detection = s.poll_interval * 6 / 5 + s.kubelet_period * s.failure_threshold + s.controller_lag_max;
  const Ms replacement = s.shutdown_min + s.reschedule_min + s.broker_startup_min;
  EXPECT_LE(detection + 5000, replacement) << "detection " << detection << " ms, replacement " << replacement;
}

TEST(SimScenarios, SameSeedSameTraceByteForByte) {
  for (std::uint64_t seed : {1u, 7u, 99u, 1234u}) {
    const auto spec = make_spec(seed, Size::kSmall);
    const Outcome a = run_scenario(spec, shipped(), true);
    const Outcome b = run_scenario(spec, shipped(), true);
    EXPECT_EQ(a.trace, b.trace);
    EXPECT_FALSE(a.trace.empty());
    EXPECT_EQ(a.completion, b.completion);
  }
  EXPECT_NE(run_scenario(make_spec(1, Size::kSmall), shipped(), true).trace,
            run_scenario(make_spec(2, Size::kSmall), shipped(), true).trace);
}

// The second mechanism (issue 24): isrguard's pods/eviction admission webhook instead of the PDB, deciding
// with decide_eviction on a fresh view, one decision at a time, remembering its grants (docs/safety.md).
Settings webhook() {
  Settings s = shipped();
  s.webhook = true;
  return s;
}

TEST(SimWebhook, ShippedSettingsNeverGrantAnUnsafeEviction) {
  const Summary s = run_batch(Size::kSmall, 1, ISRGUARD_SIM_WEBHOOK_SCENARIOS, webhook());
  EXPECT_EQ(s.scenarios, ISRGUARD_SIM_WEBHOOK_SCENARIOS);
  EXPECT_GT(s.grants, s.scenarios);  // the drains did evict
  EXPECT_EQ(s.violations, 0) << to_string(s);
  EXPECT_EQ(s.stuck, 0) << to_string(s);
  RecordProperty("summary", to_string(s));
}

// Without its memory of grants the webhook admits the next broker before the previous one's shutdown shows
// in a view it still counts as fresh: violations.
TEST(SimWebhook, WithoutGrantMemoryItIsUnsafe) {
  Settings s = webhook();
  s.webhook_grants = false;
  const Summary sum = run_batch(Size::kSmall, 1, 200, s);
  EXPECT_GT(sum.violations, 0) << to_string(sum);
}

// The webhook answers from the true state's view, not from readiness: on the same scenarios it drains
// sooner than the PDB (no wait for isrguard's pod to leave and rejoin the budget).
TEST(SimWebhook, DrainsSoonerThanThePdbOnTheSameScenarios) {
  const Summary pdb = run_batch(Size::kSmall, 1, 100, shipped());
  const Summary hook = run_batch(Size::kSmall, 1, 100, webhook());
  EXPECT_EQ(hook.violations, 0) << to_string(hook);
  EXPECT_LT(hook.mean_completion_s, pdb.mean_completion_s) << to_string(hook) << "\n" << to_string(pdb);
}

TEST(SimWebhook, SameSeedSameTraceByteForByte) {
  for (std::uint64_t seed : {3u, 391u, 1060u}) {
    const auto spec = make_spec(seed, Size::kSmall);
    const Outcome a = run_scenario(spec, webhook(), true);
    EXPECT_EQ(a.trace, run_scenario(spec, webhook(), true).trace);
    EXPECT_NE(a.trace.find("webhook kafka-"), std::string::npos) << a.trace;
  }
}

// The Metadata snapshot built once per model version (the speed of the million) changes nothing: with and
// without the cache every scenario has the same trace (gate changes, eviction answers, wait-safe answers,
// grants) and the same outcome, for small and large clusters and for a setting that produces violations.
TEST(SimScenarios, MetadataCacheChangesNoTrace) {
  Settings unsafe = shipped();
  unsafe.gate = false;
  for (const Settings& base : {shipped(), unsafe}) {
    for (std::uint64_t i = 0; i < 40; ++i) {
      const auto spec = i < 32 ? make_spec(1 + i, Size::kSmall) : make_spec(1000001 + i, Size::kLarge);
      Settings uncached = base;
      uncached.cache_metadata = false;
      const Outcome a = run_scenario(spec, base, true);
      const Outcome b = run_scenario(spec, uncached, true);
      ASSERT_EQ(a.trace, b.trace) << "seed " << spec.seed;
      EXPECT_EQ(a.details, b.details);
      EXPECT_EQ(a.grants, b.grants);
      EXPECT_EQ(a.worst_window, b.worst_window);
    }
  }
}

// A violation is replayable: its seed reproduces it.
TEST(SimScenarios, ViolationsReplayFromTheirSeed) {
  Settings s = shipped();
  s.gate = false;
  for (std::uint64_t seed = 1; seed < 300; ++seed) {
    const Outcome o = run_scenario(make_spec(seed, Size::kSmall), s);
    if (o.violations == 0) continue;
    const Outcome again = run_scenario(make_spec(seed, Size::kSmall), s, true);
    EXPECT_EQ(again.violations, o.violations);
    EXPECT_NE(again.trace.find("violation seed=" + std::to_string(seed)), std::string::npos);
    return;
  }
  FAIL() << "no violation to replay";
}

TEST(SimScenarios, EveryDriverAndFaultIsExercised) {
  std::set<std::pair<Driver, Fault>> seen;
  for (std::uint64_t seed = 1; seed < 2000; ++seed) {
    const auto spec = make_spec(seed, Size::kSmall);
    seen.insert({spec.driver, spec.fault});
  }
  EXPECT_EQ(seen.size(), 5u * 4u);
}

}  // namespace
}  // namespace isrguard::sim
