#include "service/judge/verdict.h"

#include <gtest/gtest.h>

#include "service/judge/partition_rules.h"
#include "service/judge/reasons.h"
#include "tests/support/builders.h"

namespace isrguard::service {
namespace {

using testing::healthy_topic;
using testing::partition;
using testing::SnapshotBuilder;
using testing::TopicBuilder;
using States = std::vector<std::string>;

// ---- classify_partition: one row per rule ----

struct ClassifyRow {
  const char* name;
  probes::PartitionInfo p;
  std::int32_t usual;
  std::int32_t min_isr;
  States want;
  std::int32_t want_in_sync;
};

class Classify : public ::testing::TestWithParam<ClassifyRow> {};

TEST_P(Classify, States) {
  const auto& row = GetParam();
  PartitionHealth h = classify_partition("t", row.p, row.usual, row.min_isr);
  EXPECT_EQ(h.states, row.want) << row.name;
  EXPECT_EQ(h.isr_in_replicas, row.want_in_sync) << row.name;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, Classify,
    ::testing::Values(
        ClassifyRow{"fully_in_sync", partition(0, 1, {1, 2, 3}, {1, 2, 3}), 3, 2, {"healthy"}, 3},
        ClassifyRow{"isr_order_irrelevant", partition(0, 1, {1, 2, 3}, {3, 1, 2}), 3, 2, {"healthy"}, 3},
        ClassifyRow{"one_out_of_sync_is_at_min", partition(0, 1, {1, 2, 3}, {1, 2}), 3, 2,
                    {"under_replicated", "at_min_isr"}, 2},
        ClassifyRow{"two_out_of_sync_is_under_min", partition(0, 1, {1, 2, 3}, {1}), 3, 2,
                    {"under_replicated", "under_min_isr"}, 1},
        ClassifyRow{"leader_minus_one_is_offline_only", partition(0, -1, {1, 2, 3}, {}), 3, 2, {"offline"}, 0},
        ClassifyRow{"leader_not_available_error_is_offline", partition(0, 1, {1, 2, 3}, {1}, {5, "LEADER_NOT_AVAILABLE"}),
                    3, 2, {"offline"}, 1},
        ClassifyRow{"replica_not_available_is_judged_by_isr",
                    partition(0, 1, {1, 2, 3}, {1, 2, 3}, {9, "REPLICA_NOT_AVAILABLE"}), 3, 2, {"healthy"}, 3},
        ClassifyRow{"other_error_is_error", partition(0, 1, {1, 2, 3}, {1, 2, 3}, {3, "UNKNOWN_TOPIC_OR_PART"}), 3,
                    2, {"error"}, 3},
        // Reassignment 1,2,3 -> 4,5,6: replicas temporarily 6, new ones not yet in ISR.
        ClassifyRow{"reassigning_with_new_replicas_catching_up", partition(0, 1, {1, 2, 3, 4, 5, 6}, {1, 2, 3}), 3, 2,
                    {"reassigning"}, 3},
        ClassifyRow{"reassigning_but_too_few_in_sync", partition(0, 1, {1, 2, 3, 4}, {1, 2}), 3, 2,
                    {"under_replicated", "at_min_isr", "reassigning"}, 2},
        // ISR may name a replica that was just removed from the assignment: compare as sets.
        ClassifyRow{"isr_superset_of_replicas", partition(0, 1, {1, 2, 3}, {1, 2, 3, 4}), 3, 2, {"healthy"}, 3},
        ClassifyRow{"isr_superset_hides_nothing", partition(0, 1, {1, 2, 3}, {1, 4, 5}), 3, 2,
                    {"under_replicated", "under_min_isr"}, 1},
        ClassifyRow{"rf1_in_sync_is_healthy", partition(0, 7, {7}, {7}), 1, 1, {"healthy"}, 1},
        // min.insync.replicas 3 on RF 2: effective min ISR is 2, full ISR is healthy (reported as a risk).
        ClassifyRow{"min_isr_above_rf_uses_rf", partition(0, 1, {1, 2}, {1, 2}), 2, 2, {"healthy"}, 2},
        ClassifyRow{"min_isr_above_rf_one_lost", partition(0, 1, {1, 2}, {1}), 2, 2,
                    {"under_replicated", "under_min_isr"}, 1}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- classify_partition against a history baseline: the worked example of service/judge/partition_rules.h ----

struct BaselineRow {
  const char* name;
  probes::PartitionInfo p;
  std::vector<BrokerId> baseline;  // ascending; empty = nothing remembered
  BaselineOrigin origin;
  States want;
  std::vector<BrokerId> want_adding;
  std::string want_detail;
};

class ClassifyAgainstBaseline : public ::testing::TestWithParam<BaselineRow> {};

TEST_P(ClassifyAgainstBaseline, StatesAddingAndDetail) {
  const auto& row = GetParam();
  const Baseline base{row.baseline, row.baseline.empty() ? BaselineOrigin::kNone : row.origin};
  // RF-3 topic, min.insync.replicas 2.
  const PartitionHealth h = classify_partition("t", row.p, 3, 2, base);
  EXPECT_EQ(h.states, row.want) << row.name;
  EXPECT_EQ(h.adding, row.want_adding) << row.name;
  EXPECT_EQ(h.detail, row.want_detail) << row.name;
  const bool by_history = !row.baseline.empty() && row.want_detail.find("usual-count") == std::string::npos;
  EXPECT_EQ(h.baseline, by_history ? row.baseline : std::vector<BrokerId>{}) << row.name;
}

constexpr auto kInSync = BaselineOrigin::kInSync;
constexpr auto kCreated = BaselineOrigin::kCreated;

INSTANTIATE_TEST_SUITE_P(
    WorkedExample, ClassifyAgainstBaseline,
    ::testing::Values(
        BaselineRow{"settled", partition(0, 1, {1, 2, 3}, {1, 2, 3}), {1, 2, 3}, kInSync, {"healthy"}, {}, ""},
        BaselineRow{"move_started", partition(0, 1, {4, 5, 6, 1, 2, 3}, {1, 2, 3}), {1, 2, 3}, kInSync,
                    {"reassigning"}, {4, 5, 6}, "reassigning (adding 4,5,6)"},
        BaselineRow{"target_caught_up", partition(0, 1, {4, 5, 6, 1, 2, 3}, {1, 2, 3, 4}), {1, 2, 3}, kInSync,
                    {"reassigning"}, {4, 5, 6}, "reassigning (adding 4,5,6)"},
        BaselineRow{"original_lost_mid_move", partition(0, 1, {4, 5, 6, 1, 2, 3}, {1, 4}), {1, 2, 3}, kInSync,
                    {"under_replicated", "at_min_isr", "reassigning"}, {4, 5, 6}, "reassigning (adding 4,5,6)"},
        BaselineRow{"rf4_partition_in_sync", partition(0, 1, {1, 2, 3, 4}, {1, 2, 3, 4}), {1, 2, 3, 4}, kInSync,
                    {"healthy"}, {}, ""},
        BaselineRow{"rf4_partition_lost_one", partition(0, 1, {1, 2, 3, 4}, {1, 2, 3}), {1, 2, 3, 4}, kInSync,
                    {"under_replicated"}, {}, ""},
        BaselineRow{"rf3_to_4_move", partition(0, 1, {1, 2, 3, 4}, {1, 2, 3}), {1, 2, 3}, kInSync,
                    {"reassigning"}, {4}, "reassigning (adding 4)"},
        BaselineRow{"no_history", partition(0, 1, {1, 2, 3, 4}, {1, 2, 3}), {}, kInSync, {"reassigning"}, {},
                    "no history: usual-count rule (3 replicas)"},
        BaselineRow{"created_with_4", partition(0, 1, {1, 2, 3, 4}, {1, 2, 3}), {1, 2, 3, 4}, kCreated,
                    {"under_replicated"}, {}, ""},
        BaselineRow{"baseline_not_within_replicas", partition(0, 1, {4, 1, 2}, {1, 2}), {1, 2, 3}, kInSync,
                    {"under_replicated", "at_min_isr"}, {}, "history [1,2,3] not within replicas: usual-count rule (3 replicas)"},
        BaselineRow{"no_history_healthy_says_nothing", partition(0, 1, {1, 2, 3}, {1, 2, 3}), {}, kInSync,
                    {"healthy"}, {}, ""},
        BaselineRow{"offline_mid_move", partition(0, -1, {4, 5, 6, 1, 2, 3}, {}), {1, 2, 3}, kInSync,
                    {"offline", "reassigning"}, {4, 5, 6}, "reassigning (adding 4,5,6)"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Verdict, UsualReplicaCountIsMostCommonSmallerOnTies) {
  auto t = TopicBuilder("t").p(1, {1, 2, 3}, {1, 2, 3}).p(1, {1, 2, 3, 4}, {1, 2, 3}).p(2, {2, 3, 1}, {2, 3, 1}).build();
  EXPECT_EQ(usual_replica_count(t), 3);
  auto tie = TopicBuilder("t").p(1, {1, 2}, {1, 2}).p(1, {1, 2, 3}, {1, 2, 3}).build();
  EXPECT_EQ(usual_replica_count(tie), 2);
}

// ---- judge: whole verdicts ----

Policy policy(std::vector<BrokerId> expected = {}) {
  Policy p = Policy::with_defaults();
  p.expected_brokers = std::move(expected);
  p.compile();
  return p;
}

TEST(Verdict, HealthyClusterHasNoReasons) {
  auto s = SnapshotBuilder().brokers({1, 2, 3}).topic(healthy_topic("orders", 6, 3, {1, 2, 3}, 2)).build();
  Verdict v = judge(s, policy({1, 2, 3}));
  EXPECT_TRUE(v.healthy());
  EXPECT_EQ(v.reasons, std::vector<Reason>{});
  Counts want;
  want.topics = 1;
  want.partitions = 6;
  want.brokers_up = 3;
  EXPECT_EQ(v.counts, want);
  EXPECT_EQ(v.unhealthy_partitions_total, 0);
}

TEST(Verdict, BrokerLostShrinksIsrNamesBrokerAndAttributesUrpToLeaders) {
  // Broker 3 died: leadership moved to 1 and 2, ISRs lost 3.
  auto s = SnapshotBuilder()
               .brokers({1, 2})
               .topic(TopicBuilder("orders").min_isr(2).p(1, {1, 2, 3}, {1, 2}).p(2, {2, 3, 1}, {2, 1}).p(1, {3, 1, 2},
                                                                                                           {1, 2}))
               .build();
  Verdict v = judge(s, policy({1, 2, 3}));
  EXPECT_FALSE(v.healthy());
  EXPECT_EQ(v.gating_codes(), (std::vector<std::string>{"under_replicated_partitions", "brokers_missing"}));
  ASSERT_EQ(v.reasons.size(), 3u);
  EXPECT_EQ(v.reasons[0].code, "under_replicated_partitions");
  EXPECT_EQ(v.reasons[0].count, 3);
  EXPECT_EQ(v.reasons[1].code, "at_min_isr_partitions");
  EXPECT_FALSE(v.reasons[1].gating);
  EXPECT_EQ(v.reasons[2], (Reason{"brokers_missing", 1, "1 broker missing: broker 3 (default, expected)", true}));

  ASSERT_EQ(v.brokers.size(), 3u);
  BrokerHealth b1{1, "broker-1.example", 9092, "default", true, true, true, 2, 3, 2, 0, 2, 0, 0, false, std::nullopt, std::nullopt, false};
  BrokerHealth b3{3, "", 0, "default", false, true, false, 0, 3, 0, 0, 0, 3, 1, false, std::nullopt, std::nullopt, false};
  EXPECT_EQ(v.brokers[0], b1);
  EXPECT_EQ(v.brokers[2], b3);
  EXPECT_EQ(v.counts.preferred_replica_imbalance, 1);
  EXPECT_EQ(v.counts.brokers_missing, 1);
}

TEST(Verdict, MissingExpectedBrokerThatLeadsNothingStillCloses) {
  auto s = SnapshotBuilder().brokers({1, 2, 3}).topic(healthy_topic("orders", 3, 3, {1, 2, 3}, 2)).build();
  Verdict v = judge(s, policy({1, 2, 3, 4}));
  EXPECT_EQ(v.reasons, (std::vector<Reason>{{"brokers_missing", 1, "1 broker missing: broker 4 (default, expected)", true}}));
  EXPECT_FALSE(v.healthy());
}

TEST(Verdict, BrokerReferencedByAssignmentButAbsentIsMissingEvenWithoutExpectation) {
  auto s = SnapshotBuilder().brokers({1, 2}).topic(TopicBuilder("t").min_isr(1).p(1, {1, 2, 3}, {1, 2})).build();
  Verdict v = judge(s, policy());
  ASSERT_EQ(v.reasons.size(), 2u);
  EXPECT_EQ(v.reasons[1], (Reason{"brokers_missing", 1, "1 broker missing: broker 3 (default, hosts replicas)", true}));
}

TEST(Verdict, OfflinePartition) {
  auto s = SnapshotBuilder()
               .brokers({1, 2, 3})
               .topic(TopicBuilder("pay").min_isr(2).p(-1, {1, 2, 3}, {}, {5, "LEADER_NOT_AVAILABLE"}).p(2, {2, 3, 1},
                                                                                                          {2, 3, 1}))
               .build();
  Verdict v = judge(s, policy());
  ASSERT_EQ(v.reasons.size(), 1u);
  EXPECT_EQ(v.reasons[0].code, "offline_partitions");
  EXPECT_EQ(v.reasons[0].count, 1);
  EXPECT_TRUE(v.reasons[0].gating);
  EXPECT_EQ(v.counts.offline, 1);
  ASSERT_EQ(v.unhealthy_partitions.size(), 1u);
  EXPECT_EQ(v.unhealthy_partitions[0].states, (States{"offline"}));
}

// A fresh isrguard (no history): the extra replica is taken for a reassignment by the usual-count rule.
TEST(Verdict, ReassignmentStaysHealthy) {
  auto s = SnapshotBuilder()
               .brokers({1, 2, 3, 4})
               .topic(TopicBuilder("t").min_isr(2).p(1, {1, 2, 3, 4}, {1, 2, 3}).p(2, {2, 3, 1}, {2, 3, 1, 4}).p(
                   3, {3, 1, 2}, {3, 1, 2}))
               .build();
  Verdict v = judge(s, policy());
  EXPECT_TRUE(v.healthy()) << v;
  EXPECT_EQ(v.reasons, std::vector<Reason>{});
  EXPECT_EQ(v.counts.reassigning, 1);
  EXPECT_EQ(v.unhealthy_partitions_total, 0);
}

TEST(Verdict, Rf1TopicIsReportedAsRiskNotBlocked) {
  auto s = SnapshotBuilder().brokers({1, 2}).topic(healthy_topic("scratch", 2, 1, {1, 2}, 1)).build();
  Verdict v = judge(s, policy());
  EXPECT_TRUE(v.healthy());
  ASSERT_EQ(v.reasons.size(), 1u);
  EXPECT_EQ(v.reasons[0],
            (Reason{"min_isr_risk_topics", 1, "1 topic with replicas <= min.insync.replicas: scratch replicas=1 "
                                              "min.insync.replicas=1", false}));
}

TEST(Verdict, MinIsrAboveReplicationFactorUsesReplicaCount) {
  // Kafka 3.7+ (effective min ISR); before it min ISR 3 itself (MinIsrAboveReplicationFactorBefore37).
  auto s = SnapshotBuilder().brokers({1, 2}).kafka_version("3.7-IV4").topic(TopicBuilder("t").min_isr(3).p(1, {1, 2}, {1})).build();
  Verdict v = judge(s, policy());
  ASSERT_EQ(v.topics.size(), 1u);
  EXPECT_EQ(v.topics[0].effective_min_isr, 2);
  EXPECT_TRUE(v.topics[0].min_isr_risk);
  EXPECT_EQ(v.counts.under_min_isr, 1);
  EXPECT_EQ(v.gating_codes(), (std::vector<std::string>{"under_replicated_partitions", "under_min_isr_partitions"}));
}

// Before 3.7, and when the version is unknown (the stricter rule), a full ISR of 2 is under min ISR 3: the
// partition rejects acks=all writes.
TEST(Verdict, MinIsrAboveReplicationFactorBefore37OrUnknownIsUnderMinIsr) {
  for (const std::string version : {"3.6-IV2", ""}) {
    SnapshotBuilder b;
    b.brokers({1, 2}).topic(TopicBuilder("t").min_isr(3).p(1, {1, 2}, {1, 2}));
    if (!version.empty()) b.kafka_version(version);
    const Verdict v = judge(b.build(), policy());
    ASSERT_EQ(v.topics.size(), 1u);
    EXPECT_EQ(v.topics[0].effective_min_isr, 3) << version;
    EXPECT_EQ(v.counts.under_min_isr, 1) << version;
    EXPECT_EQ(v.kafka_version.text(), version.empty() ? "unknown" : "3.6");
  }
}

TEST(Verdict, UnreadableMinIsrFallsBackToDefaultAndIsReported) {
  auto s = SnapshotBuilder().brokers({1, 2, 3}).topic(TopicBuilder("t").no_min_isr().p(1, {1, 2, 3}, {1})).build();
  Policy p = policy();
  p.default_min_isr = 2;
  Verdict v = judge(s, p);
  EXPECT_EQ(v.topics[0].min_insync_replicas, 2);
  EXPECT_TRUE(v.topics[0].min_isr_from_default);
  EXPECT_EQ(v.counts.under_min_isr, 1);
  EXPECT_EQ(v.reasons.back().code, "min_isr_unknown_topics");
  EXPECT_FALSE(v.reasons.back().gating);
}

TEST(Verdict, ExcludedTopicsAreIgnored) {
  auto s = SnapshotBuilder()
               .brokers({1, 2, 3})
               .topic(TopicBuilder("__consumer_offsets").min_isr(2).p(1, {1, 2, 3}, {1}))
               .topic(TopicBuilder("scratch.tmp").min_isr(2).p(-1, {1, 2, 3}, {}))
               .topic(healthy_topic("orders", 3, 3, {1, 2, 3}, 2))
               .build();
  Policy p = policy();
  p.topic_exclude = "scratch\\..*|__.*";
  p.compile();
  Verdict v = judge(s, p);
  EXPECT_TRUE(v.healthy()) << v;
  EXPECT_EQ(v.counts.excluded_topics, 2);
  EXPECT_EQ(v.counts.topics, 1);

  // Full match, not search: the exclusion above keeps "myscratch.tmp" and "a__b".
  auto near = SnapshotBuilder()
                  .brokers({1, 2, 3})
                  .topic(TopicBuilder("myscratch.tmp").min_isr(2).p(-1, {1, 2, 3}, {}))
                  .topic(TopicBuilder("a__b").min_isr(2).p(1, {1, 2, 3}, {1, 2, 3}))
                  .build();
  EXPECT_EQ(judge(near, p).counts.topics, 2);
  EXPECT_EQ(judge(near, p).gating_codes(), std::vector<std::string>{"offline_partitions"});

  Policy only = policy();
  only.topic_include = "scratch.*";
  only.compile();
  EXPECT_EQ(judge(s, only).gating_codes(), std::vector<std::string>{"offline_partitions"});
}

TEST(Verdict, TopicFiltersMatchTheWholeNameNotASubstring) {
  auto s = SnapshotBuilder()
               .brokers({1, 2, 3})
               .topic(TopicBuilder("myscratch").min_isr(2).p(-1, {1, 2, 3}, {}))
               .topic(TopicBuilder("scratch").min_isr(2).p(1, {1, 2, 3}, {1, 2, 3}))
               .build();
  Policy p = policy();
  p.topic_exclude = "scratch";  // excludes "scratch" only: "myscratch" is still judged
  p.compile();
  Verdict v = judge(s, p);
  EXPECT_EQ(v.counts.excluded_topics, 1);
  EXPECT_EQ(v.gating_codes(), std::vector<std::string>{"offline_partitions"});

  Policy only = policy();
  only.topic_include = "scratch";  // selects "scratch" only
  only.compile();
  Verdict w = judge(s, only);
  EXPECT_EQ(w.counts.excluded_topics, 1);
  EXPECT_TRUE(w.healthy()) << w;
}

TEST(Verdict, PartitionAndTopicErrorsAreMetadataErrors) {
  auto s = SnapshotBuilder()
               .brokers({1, 2, 3})
               .topic(TopicBuilder("bad").min_isr(1).error(29, "TOPIC_AUTHORIZATION_FAILED"))
               .topic(TopicBuilder("t").min_isr(1).p(1, {1, 2, 3}, {1, 2, 3}, {76, "UNSUPPORTED_COMPRESSION_TYPE"}))
               .build();
  Verdict v = judge(s, policy());
  ASSERT_EQ(v.reasons.size(), 1u);
  EXPECT_EQ(v.reasons[0].code, "metadata_errors");
  EXPECT_EQ(v.reasons[0].count, 2);
  EXPECT_TRUE(v.reasons[0].gating);
}

TEST(Verdict, AtMinIsrGatesOnlyWhenEnabled) {
  auto s = SnapshotBuilder().brokers({1, 2, 3}).topic(TopicBuilder("t").min_isr(2).p(1, {1, 2, 3}, {1, 2})).build();
  Policy p = policy();
  p.gating_reasons = {"at_min_isr_partitions"};
  Verdict v = judge(s, p);
  EXPECT_EQ(v.gating_codes(), std::vector<std::string>{"at_min_isr_partitions"});
}

TEST(Verdict, FleetsByIdAndHostSideBySide) {
  auto s = SnapshotBuilder()
               .broker(1, "ip-10-0-0-1.ec2.internal")
               .broker(101, "kafka-0.kafka-headless.kafka.svc.cluster.local")
               .broker(102, "kafka-1.kafka-headless.kafka.svc")
               .topic(TopicBuilder("t").min_isr(2).p(1, {1, 101, 102}, {1, 101}))
               .build();
  Policy p = policy({1, 2, 101, 102});
  p.fleets = {FleetRule{"ec2", {{1, 30}}, ""}, FleetRule{"k8s", {}, ".*\\.svc(\\..*)?"}};
  p.compile();
  Verdict v = judge(s, p);
  ASSERT_EQ(v.fleets.size(), 2u);
  EXPECT_EQ(v.fleets[0], (FleetHealth{"ec2", 1, 1, 1, 1, 1, 0}));
  EXPECT_EQ(v.fleets[1], (FleetHealth{"k8s", 2, 0, 0, 2, 0, 1}));
  EXPECT_EQ(v.brokers[1].fleet, "ec2");  // broker 2, missing, placed by id
  EXPECT_EQ(v.brokers[3].fleet, "k8s");
}

TEST(Verdict, AHostRuleOnlyTakesHostsItMatches) {
  auto s = SnapshotBuilder()
               .broker(101, "kafka-0.kafka-headless.kafka.svc")
               .broker(102, "ip-10-0-0-2.ec2.internal")
               .topic(TopicBuilder("t").min_isr(1).p(101, {101, 102}, {101, 102}))
               .build();
  Policy p = policy();
  p.fleets = {FleetRule{"k8s", {}, ".*\\.svc(\\..*)?"}};
  p.compile();
  Verdict v = judge(s, p);
  ASSERT_EQ(v.brokers.size(), 2u);
  EXPECT_EQ(v.brokers[0].fleet, "k8s");
  EXPECT_EQ(v.brokers[1].fleet, "default");
}

TEST(Verdict, UnhealthyListIsCappedButCountIsTrue) {
  TopicBuilder t("big");
  t.min_isr(2);
  for (int i = 0; i < 500; ++i) t.p(1, {1, 2, 3}, {1, 2});
  auto s = SnapshotBuilder().brokers({1, 2, 3}).topic(t).build();
  Policy p = policy();
  p.list_cap = 10;
  Verdict v = judge(s, p);
  EXPECT_EQ(v.unhealthy_partitions.size(), 10u);
  EXPECT_EQ(v.unhealthy_partitions_total, 500);
  EXPECT_EQ(v.reasons[0].count, 500);
}

}  // namespace
}  // namespace isrguard::service
