#include "service/judge/disruption.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "service/config/overrides_yaml.h"
#include "service/judge/overrides.h"
#include "service/judge/reasons.h"
#include "service/views/state.h"
#include "tests/support/builders.h"

namespace isrguard::service {
namespace {

using testing::healthy_topic;
using testing::SnapshotBuilder;
using testing::TopicBuilder;
using Ids = std::vector<BrokerId>;

// The wall time the questions are asked at; acknowledgements expire relative to it.
const WallClock::time_point kNow = *parse_rfc3339("2026-11-30T00:00:00Z");

Override ack(std::string reason, OverrideScope scope,
             WallClock::time_point expires = kNow + std::chrono::hours(1)) {
  Override o;
  o.action = OverrideAction::kAcknowledge;
  o.reason = std::move(reason);
  o.scope = std::move(scope);
  o.expires = expires;
  o.by = "sre";
  o.why = "known (INC-1)";
  o.line = 2;
  return o;
}
OverrideScope topics(std::vector<std::string> t) { return OverrideScope{{}, std::move(t), {}}; }
OverrideScope brokers_scope(Ids b) { return OverrideScope{std::move(b), {}, {}}; }

Policy policy(Ids expected = {}) {
  Policy p = Policy::with_defaults();
  p.expected_brokers = std::move(expected);
  p.fleets = {FleetRule{"ec2", {{1, 3}}, ""}, FleetRule{"k8s", {{101, 103}}, ""}};
  p.compile();
  return p;
}

// Everything a test needs to ask one question: snapshot, its verdict, and the answer for a query.
struct Cluster {
  probes::ClusterSnapshot snapshot;
  Policy pol = policy();
  Verdict verdict = judge(snapshot, pol);

  explicit Cluster(probes::ClusterSnapshot s, Policy p = policy())
      : snapshot(std::move(s)), pol(std::move(p)), verdict(judge(snapshot, pol)) {}

  DisruptionAnswer ask(DisruptionQuery q, DisruptionOptions o = {}, std::vector<Reason> reasons = {},
                       const std::vector<Override>& acks = {}, WallClock::time_point now = kNow) const {
    std::string error;
    auto targets = resolve_disruption(q, snapshot, verdict, pol, &error, o);
    EXPECT_TRUE(targets) << error;
    return assess_disruption(snapshot, verdict, targets.value_or(std::vector<DisruptionTarget>{}), reasons,
                             DisruptionAcks{acks, now}, o);
  }
  // The set `ids` with the acknowledgements `acks` in force at `now`.
  DisruptionAnswer acked(Ids ids, const std::vector<Override>& acks, std::vector<Reason> reasons = {},
                         WallClock::time_point now = kNow) const {
    return ask({std::move(ids), {}, {}}, {}, std::move(reasons), acks, now);
  }
  DisruptionAnswer brokers(Ids ids, DisruptionOptions o = {}) const { return ask({std::move(ids), {}, {}}, o); }
  std::string error_for(DisruptionQuery q) const {
    std::string error;
    EXPECT_FALSE(resolve_disruption(q, snapshot, verdict, pol, &error));
    return error;
  }
};

// Six brokers in three zones, two per zone; RF 3 round-robin over 1..6 puts one replica in each zone.
probes::ClusterSnapshot three_zones(probes::TopicInfo extra = {}) {
  SnapshotBuilder b;
  b.racked(1, "zone-a").racked(2, "zone-b").racked(3, "zone-c").racked(4, "zone-a").racked(5, "zone-b").racked(
      6, "zone-c");
  b.topic(healthy_topic("orders", 12, 3, {1, 2, 3, 4, 5, 6}, 2));
  if (!extra.name.empty()) b.topic(std::move(extra));
  return b.build();
}

std::string first_blocking(const DisruptionAnswer& a) {
  if (a.blocking.empty()) return "";
  return a.blocking.front().topic + "-" + std::to_string(a.blocking.front().partition.id) + " " +
         a.blocking.front().outcome;
}

// ---- the acceptance table: which sets are safe ----

struct SafetyRow {
  const char* name;
  DisruptionQuery query;
  bool safe;
  std::int64_t blocking;
};

class HealthyThreeZones : public ::testing::TestWithParam<SafetyRow> {};

TEST_P(HealthyThreeZones, Safety) {
  const auto& row = GetParam();
  const Cluster c(three_zones());
  const auto a = c.ask(row.query);
  EXPECT_EQ(a.safe, row.safe) << row.name << " " << a;
  EXPECT_EQ(a.counts.blocking, row.blocking) << row.name << " " << a;
}

INSTANTIATE_TEST_SUITE_P(
    Rf3Min2, HealthyThreeZones,
    ::testing::Values(SafetyRow{"broker_1", {{1}, {}, {}}, true, 0},
                      SafetyRow{"broker_6", {{6}, {}, {}}, true, 0},
                      SafetyRow{"zone_a", {{}, {}, {"zone-a"}}, true, 0},
                      SafetyRow{"zone_b", {{}, {}, {"zone-b"}}, true, 0},
                      SafetyRow{"zone_c", {{}, {}, {"zone-c"}}, true, 0},
                      // Two zones take two of three in-sync replicas of every partition.
                      SafetyRow{"zones_a_and_b", {{}, {}, {"zone-a", "zone-b"}}, false, 12},
                      SafetyRow{"two_adjacent_brokers", {{1, 2}, {}, {}}, false, 4},
                      // 1 and 4 share zone-a and never a partition.
                      SafetyRow{"zone_a_by_ids", {{1, 4}, {}, {}}, true, 0},
                      SafetyRow{"ids_and_zone_union", {{2}, {}, {"zone-a"}}, false, 6}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Disruption, HealthyEveryBrokerAloneIsSafe) {
  const Cluster c(three_zones());
  for (const auto& b : broker_safety(c.snapshot, c.verdict, {})) {
    EXPECT_TRUE(b.safe) << b;
    EXPECT_EQ(b.blocking_partitions, 0) << b;
  }
}

TEST(Disruption, TwoZonesAnswerListsOutcomesAndIsrAfter) {
  const Cluster c(three_zones());
  const auto a = c.ask({{}, {}, {"zone-a", "zone-b"}});
  EXPECT_EQ(a.counts, (DisruptionCounts{.affected = 12, .under_min_isr = 12, .blocking = 12}));
  ASSERT_EQ(a.blocking.size(), 12u);
  // orders-0 replicas [1,2,3]: zones a and b take 1 and 2.
  EXPECT_EQ(a.blocking[0], (DisruptedPartition{"orders",
                                               testing::partition(0, 1, {1, 2, 3}, {1, 2, 3}),
                                               {3},
                                               2,
                                               "under_min_isr",
                                               false,
                                               false,
                                               "topic",
                                               true,
                                               {}}));
  EXPECT_EQ(a.brokers.size(), 4u);
  EXPECT_EQ(a.brokers[0], (DisruptionTarget{1, "ec2", "zone-a", true, true}));
}

// ---- one follower out of sync: exactly the other in-sync members of that partition are unsafe ----

TEST(Disruption, OneFollowerOutOfSyncBlocksExactlyTheOtherIsrMembers) {
  auto s = three_zones();
  // orders-0 replicas [1,2,3]: 3 fell behind
  testing::edit_partition(s.topics[0], 0, [](auto& p) { p.isr = {1, 2}; });
  const Cluster c(s);
  for (const auto& b : broker_safety(c.snapshot, c.verdict, {})) {
    const bool other_isr_member = b.id == 1 || b.id == 2;
    EXPECT_EQ(b.safe, !other_isr_member) << b;
    EXPECT_EQ(b.blocking_partitions, other_isr_member ? 1 : 0) << b;
  }
  const auto a = c.brokers({1});
  EXPECT_FALSE(a.safe);
  ASSERT_EQ(a.blocking.size(), 1u) << a;
  EXPECT_EQ(first_blocking(a), "orders-0 under_min_isr");
  EXPECT_EQ(a.blocking[0].isr_after, (Ids{2}));
  // The out-of-sync follower itself may go: orders-0 stays at min ISR, as do its five other partitions.
  const auto lagging = c.brokers({3});
  EXPECT_TRUE(lagging.safe) << lagging;
  EXPECT_EQ(lagging.counts, (DisruptionCounts{.affected = 6, .at_min_isr = 6}));
}

// ---- min ISR risk topics: reported, not blocking by default; blocking with the flag ----

struct RiskRow {
  const char* name;
  probes::TopicInfo topic;
  Ids disrupt;
  std::string outcome;
};

class MinIsrRisk : public ::testing::TestWithParam<RiskRow> {};

TEST_P(MinIsrRisk, ReportedNotBlockingUnlessFlagged) {
  const auto& row = GetParam();
  const Cluster c(three_zones(row.topic));
  const auto a = c.brokers(row.disrupt);
  EXPECT_TRUE(a.safe) << a;
  EXPECT_EQ(a.counts.not_blocking_min_isr_risk, 1) << a;
  const auto flagged = c.brokers(row.disrupt, DisruptionOptions{.block_min_isr_risk = true});
  EXPECT_FALSE(flagged.safe) << flagged;
  ASSERT_EQ(flagged.blocking.size(), 1u) << flagged;
  EXPECT_EQ(flagged.blocking[0].topic, row.topic.name);
  EXPECT_EQ(flagged.blocking[0].outcome, row.outcome);
  EXPECT_TRUE(flagged.blocking[0].min_isr_risk);
  // The per-broker pass follows the same flag.
  const auto alone = broker_safety(c.snapshot, c.verdict, {});
  const auto alone_flagged = broker_safety(c.snapshot, c.verdict, DisruptionOptions{.block_min_isr_risk = true});
  const auto idx = static_cast<std::size_t>(row.disrupt.front() - 1);  // brokers 1..6 in slots 0..5
  EXPECT_TRUE(alone[idx].safe) << alone[idx];
  EXPECT_FALSE(alone_flagged[idx].safe) << alone_flagged[idx];
}

INSTANTIATE_TEST_SUITE_P(
    Topics, MinIsrRisk,
    ::testing::Values(RiskRow{"rf1", TopicBuilder("audit-log").min_isr(1).p(4, {4}, {4}), {4}, "offline"},
                      RiskRow{"rf_equals_min_isr", TopicBuilder("ledger").min_isr(3).p(5, {5, 6, 1}, {5, 6, 1}),
                              {6}, "under_min_isr"},
                      RiskRow{"min_isr_above_rf", TopicBuilder("tiny").min_isr(3).p(2, {2, 3}, {2, 3}), {3},
                              "under_min_isr"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- reassignment: the usual replica set counts, as in the verdict ----

TEST(Disruption, ReassigningPartitionCountsTheUsualReplicaSet) {
  // 1,2,3 -> 4,5,6 in progress: six replicas, the targets not in sync yet; min ISR 2 of the usual 3.
  auto s = three_zones(TopicBuilder("moving")
                           .min_isr(2)
                           .p(1, {1, 2, 3}, {1, 2, 3})
                           .p(2, {2, 3, 4}, {2, 3, 4})
                           .p(1, {1, 2, 3, 4, 5, 6}, {1, 2, 3}));
  const Cluster c(s);
  ASSERT_EQ(c.verdict.counts.reassigning, 1);
  // The targets are not in sync: taking them changes nothing for the moving partition.
  const auto targets = c.ask({{4, 5, 6}, {}, {}});
  for (const auto& p : targets.blocking) EXPECT_NE(p.topic, "moving") << p;
  // Two of the three in-sync sources leave one: under min ISR 2 (not min(2, 6 replicas)).
  const auto sources = c.brokers({1, 2});
  bool moving_blocks = false;
  for (const auto& p : sources.blocking) moving_blocks |= p.topic == "moving" && p.partition.id == 2;
  EXPECT_TRUE(moving_blocks) << sources;
  // One source: at min ISR, fine.
  const auto one = c.brokers({1});
  for (const auto& p : one.blocking) EXPECT_NE(p.topic, "moving") << p;
}

// ---- brokers absent from metadata ----

TEST(Disruption, BrokerAlreadyMissingCountsAsDownEvenWhileTheIsrStillNamesIt) {
  auto s = three_zones();
  s.brokers.erase(s.brokers.begin() + 2);  // broker 3 gone; orders ISRs not shrunk yet
  const Cluster c(s, policy({1, 2, 3, 4, 5, 6}));
  const auto a = c.brokers({1});
  EXPECT_FALSE(a.safe);
  EXPECT_EQ(a.absent_brokers, Ids{3});
  // Round robin over 1..6: 1 and 3 share orders-0 and orders-6 ([1,2,3]); with 3 down, 1 leaves only 2.
  EXPECT_EQ(a.counts.blocking, 2) << a;
  ASSERT_EQ(a.blocking.size(), 2u) << a;
  EXPECT_EQ(a.blocking[0].isr_after, Ids{2});
  // Broker 6 shares no partition with 3 (3 sits in [1,2,3], [2,3,4], [3,4,5]): safe.
  EXPECT_TRUE(c.brokers({6}).safe) << c.brokers({6});
  EXPECT_FALSE(c.brokers({4}).safe);
  // Asking about the missing broker itself: it is already down; what is left is at min ISR.
  const auto missing = c.brokers({3});
  EXPECT_TRUE(missing.safe) << missing;
  ASSERT_EQ(missing.brokers.size(), 1u) << missing;
  EXPECT_EQ(missing.brokers[0], (DisruptionTarget{3, "ec2", std::nullopt, false, true}));
}

TEST(Disruption, AnUnknownIdTakenAsGoneIsReportedAndChangesNothing) {
  const Cluster c(three_zones());
  const auto with_ghost = c.brokers({1, 99}, DisruptionOptions{.unknown_ids_as_gone = true});
  ASSERT_EQ(with_ghost.brokers.size(), 2u);
  EXPECT_EQ(with_ghost.brokers[1], (DisruptionTarget{99, "default", std::nullopt, false, false}));
  auto alone = c.brokers({1});
  EXPECT_EQ(with_ghost.safe, alone.safe);
  EXPECT_EQ(with_ghost.counts, alone.counts);
}

// An id that is not in metadata, not expected and not remembered (a typo in a lifecycle hook) must not be
// answered safe: the question is refused unless --disrupt-unknown-as-gone.
TEST(Disruption, AnUnknownBrokerIdIsAnError) {
  const Cluster c(three_zones());
  EXPECT_EQ(c.error_for({{1, 99}, {}, {}}),
            "unknown broker id 99: not in metadata, not expected (--expected-brokers) and not seen before; "
            "known ids: 1,2,3,4,5,6 (--disrupt-unknown-as-gone takes unknown ids as already gone)");
  EXPECT_EQ(c.error_for({{99}, {"ec2"}, {}}).substr(0, 24), "unknown broker id 99: no");
  // Expected but absent: known, answered (see FleetResolvesToItsBrokersIncludingMissingOnes).
  const Cluster expected(three_zones(), policy({1, 2, 3, 4, 5, 6, 7}));
  EXPECT_TRUE(expected.brokers({7}).safe);
}

// ---- already unhealthy partitions ----

TEST(Disruption, AlreadyUnderMinIsrBlocksOnlyWhenTheSetTakesAnInSyncReplica) {
  auto s = three_zones();
  // orders-0 [1,2,3] already under min ISR
  testing::edit_partition(s.topics[0], 0, [](auto& p) { p.isr = {1}; });
  const Cluster c(s);
  const auto follower = c.brokers({2});
  EXPECT_TRUE(follower.safe) << follower;
  EXPECT_EQ(follower.already_unhealthy_total, 1);
  ASSERT_EQ(follower.already_unhealthy.size(), 1u);
  EXPECT_FALSE(follower.already_unhealthy[0].blocking);
  EXPECT_EQ(follower.already_unhealthy[0].outcome, "under_min_isr");
  // Unrelated broker: still listed as already unhealthy, not blocking.
  EXPECT_TRUE(c.brokers({5}).safe);
  EXPECT_EQ(c.brokers({5}).already_unhealthy_total, 1);
  const auto last = c.brokers({1});
  EXPECT_FALSE(last.safe);
  EXPECT_EQ(first_blocking(last), "orders-0 offline");
  ASSERT_EQ(last.already_unhealthy.size(), 1u) << last;
  EXPECT_TRUE(last.already_unhealthy[0].blocking);
}

TEST(Disruption, AlreadyOfflinePartitionBlocksOnlyItsInSyncReplica) {
  // Leaderless, one stale in-sync replica left (it could be elected back): do not take it away.
  const Cluster c(three_zones(TopicBuilder("stuck").min_isr(2).p(-1, {4, 5, 6}, {5}, {5, "LEADER_NOT_AVAILABLE"})));
  EXPECT_TRUE(c.brokers({4}).safe);
  const auto a = c.brokers({5});
  EXPECT_FALSE(a.safe);
  EXPECT_EQ(first_blocking(a), "stuck-0 offline");
}

// ---- cannot know: unsafe whatever the partitions say ----

TEST(Disruption, ProbeFailureStalenessAndTopicErrorsMakeTheAnswerUnknown) {
  const Cluster c(three_zones());
  const Reason failed{std::string(reason::kProbeFailed), 1, "timeout: ...", true};
  const Reason stale{std::string(reason::kSnapshotStale), 1, "old", true};
  const Reason urp{std::string(reason::kUnderReplicatedPartitions), 3, "...", true};
  for (const auto& r : {failed, stale}) {
    const auto a = c.ask({{1}, {}, {}}, {}, {urp, r});
    EXPECT_FALSE(a.safe) << r;
    EXPECT_EQ(a.unknown, std::vector<Reason>{r});
  }
  EXPECT_TRUE(c.ask({{1}, {}, {}}, {}, {urp}).safe);  // other gate reasons do not matter here

  auto s = three_zones(TopicBuilder("broken").min_isr(2).error(3, "UNKNOWN_TOPIC_OR_PART"));
  const Cluster errors(s);
  const auto a = errors.brokers({1});
  EXPECT_FALSE(a.safe);
  ASSERT_EQ(a.unknown.size(), 1u);
  EXPECT_EQ(a.unknown[0].code, "metadata_errors");
  for (const auto& b : broker_safety(errors.snapshot, errors.verdict, {})) EXPECT_FALSE(b.safe) << b;
}

// An operator freeze (override_freeze) makes every answer unsafe; an unanswered broker or no controller means
// the metadata cannot be trusted (a hung leader keeps its ISR) or leadership cannot move: unknown too.
TEST(Disruption, FreezeUnresponsiveBrokersAndNoControllerMakeTheAnswerUnknown) {
  const Cluster c(three_zones());
  for (const auto code : {reason::kOverrideFreeze, reason::kBrokersUnresponsive, reason::kControllerUnknown}) {
    const Reason r{std::string(code), 1, "...", true};
    const auto a = c.ask({{1}, {}, {}}, {}, {r});
    EXPECT_FALSE(a.safe) << r;
    EXPECT_EQ(a.unknown, std::vector<Reason>{r});
    const auto alone = broker_safety(c.snapshot, c.verdict, {});
    ASSERT_FALSE(alone.empty());
    EXPECT_FALSE(broker_safe_at(alone[0], c.verdict, std::vector<Reason>{r}, {})) << r;
  }
}

TEST(Disruption, PartitionMetadataErrorBlocksTheBrokersHostingIt) {
  const Cluster c(three_zones(TopicBuilder("odd").min_isr(2).p(4, {4, 5, 6}, {4, 5, 6}, {3, "UNKNOWN_TOPIC_OR_PART"})));
  EXPECT_EQ(first_blocking(c.brokers({6})), "odd-0 error");
  EXPECT_TRUE(c.brokers({1}).safe);
}

// The second angle on a partition metadata error: the per-broker pass blocks exactly its hosts, a set
// mixing a host with others blocks, and neither the min ISR risk exemption nor a risk-sized replica set
// lets it through (the replicas cannot be trusted).
TEST(Disruption, PartitionMetadataErrorBlocksItsHostsInEveryPassAndIsNeverExempt) {
  const Cluster c(three_zones(TopicBuilder("odd").min_isr(3).p(4, {4, 5, 6}, {4, 5, 6}, {3, "UNKNOWN_TOPIC_OR_PART"})));
  const auto alone = broker_safety(c.snapshot, c.verdict, {});
  ASSERT_EQ(alone.size(), 6u);
  for (const auto& b : alone) EXPECT_EQ(b.safe, b.id < 4) << b;
  const auto mixed = c.brokers({1, 4});  // 1 and 4 share no orders partition
  EXPECT_FALSE(mixed.safe) << mixed;
  ASSERT_EQ(mixed.blocking.size(), 1u) << mixed;
  EXPECT_EQ(mixed.blocking[0].outcome, "error");
  EXPECT_TRUE(mixed.blocking[0].min_isr_risk);  // RF 3 = min ISR 3, and still blocking
  EXPECT_EQ(mixed.counts.not_blocking_min_isr_risk, 0) << mixed;
}

// ---- min.insync.replicas unknown (topic DescribeConfigs refused): the answer cannot be known ----

// Topic "secret" (RF 3 on 1,2,3) whose min.insync.replicas could not be read; broker 4 hosts none of it.
probes::ClusterSnapshot unread_min_isr(std::optional<std::int32_t> broker_default = std::nullopt) {
  SnapshotBuilder b;
  b.brokers({1, 2, 3, 4});
  if (broker_default) b.broker_min_isr(*broker_default);
  b.topic(TopicBuilder("secret").no_min_isr().p(1, {1, 2, 3}, {1, 2, 3}).p(2, {2, 3, 1}, {2, 3, 1}));
  b.topic(healthy_topic("known", 4, 2, {1, 2, 3, 4}, 1));
  return b.build();
}

TEST(DisruptionMinIsrUnknown, ASetTouchingTheTopicIsUnknownNotSafe) {
  const Cluster c(unread_min_isr());
  const auto two = c.brokers({1, 2});
  EXPECT_FALSE(two.safe) << two;
  EXPECT_EQ(two.unknown,
            (std::vector<Reason>{{"min_isr_unknown_topics", 1,
                                  "1 topic with a replica in the set and an unread min.insync.replicas (fallback "
                                  "shown): secret (flag_default 1)",
                                  true}}));
  EXPECT_FALSE(c.brokers({3}).safe);
  // Broker 4 hosts none of it: its answer does not depend on that topic.
  EXPECT_TRUE(c.brokers({4}).safe) << c.brokers({4});
  const auto alone = broker_safety(c.snapshot, c.verdict, {});
  ASSERT_EQ(alone.size(), 4u);
  for (const auto& b : alone) EXPECT_EQ(b.safe, b.id == 4) << b;
  EXPECT_EQ(alone[0].min_isr_unknown_partitions, 2) << alone[0];
}

// The brokers' own min.insync.replicas (the per-broker DescribeConfigs) is the fallback before
// --default-min-isr, and says where it came from; the answer stays unknown (the topic may override it).
TEST(DisruptionMinIsrUnknown, TheBrokerDefaultIsTheFallbackAndTheAnswerStaysUnknown) {
  const Cluster c(unread_min_isr(2));
  ASSERT_EQ(c.verdict.topics.size(), 2u);
  EXPECT_EQ(c.verdict.topics[1].name, "secret");
  EXPECT_EQ(c.verdict.topics[1].min_insync_replicas, 2);
  EXPECT_EQ(c.verdict.topics[1].min_isr_source, "broker_default");
  EXPECT_EQ(c.verdict.topics[0].min_isr_source, "topic");
  const auto a = c.brokers({1});
  EXPECT_FALSE(a.safe) << a;
  ASSERT_EQ(a.unknown.size(), 1u) << a;
  EXPECT_NE(a.unknown[0].detail.find("secret (broker_default 2)"), std::string::npos) << a.unknown[0];
  EXPECT_EQ(Cluster(unread_min_isr()).verdict.topics[1].min_isr_source, "flag_default");
}

// ---- the min ISR risk exemption is per partition, from its own replicas (Strimzi's canRoll) ----

TEST(DisruptionMinIsrRisk, ARiskTopicsRf3PartitionAtMinIsrStillBlocks) {
  // Mid-way RF 2 -> 3 with min.insync.replicas 2: the usual count 2 makes the topic a risk, but its RF 3
  // partition [1,2,3] with ISR [1,2] is at min ISR: stopping 1 or 2 leaves it under.
  const Cluster c(SnapshotBuilder()
                      .brokers({1, 2, 3})
                      .topic(TopicBuilder("migrating")
                                 .min_isr(2)
                                 .p(1, {1, 2}, {1, 2})
                                 .p(2, {2, 3}, {2, 3})
                                 .p(3, {3, 1}, {3, 1})
                                 .p(1, {1, 2, 3}, {1, 2}))
                      .build());
  const auto a = c.brokers({1});
  EXPECT_FALSE(a.safe) << a;
  ASSERT_EQ(a.blocking.size(), 1u) << a;
  EXPECT_EQ(first_blocking(a), "migrating-3 under_min_isr");
  EXPECT_FALSE(a.blocking[0].min_isr_risk);
  EXPECT_EQ(a.counts.not_blocking_min_isr_risk, 2) << a;  // [1,2] and [3,1]: 1 of 2 left, RF 2 exempt
  const auto alone = broker_safety(c.snapshot, c.verdict, {});
  ASSERT_EQ(alone.size(), 3u);
  EXPECT_FALSE(alone[0].safe) << alone[0];
  EXPECT_FALSE(alone[1].safe) << alone[1];
  EXPECT_TRUE(alone[2].safe) << alone[2];  // 3 is not in the RF 3 partition's ISR
}

TEST(DisruptionMinIsrRisk, AnRf2PartitionOfAnRf3TopicIsExemptUnlessFlagged) {
  const Cluster c(SnapshotBuilder()
                      .brokers({1, 2, 3})
                      .topic(TopicBuilder("odd")
                                 .min_isr(2)
                                 .p(1, {1, 2, 3}, {1, 2, 3})
                                 .p(2, {2, 3, 1}, {2, 3, 1})
                                 .p(1, {1, 2}, {1, 2}))
                      .build());
  const auto a = c.brokers({1});
  EXPECT_TRUE(a.safe) << a;
  EXPECT_EQ(a.counts.not_blocking_min_isr_risk, 1) << a;
  const auto flagged = c.brokers({1}, DisruptionOptions{.block_min_isr_risk = true});
  EXPECT_FALSE(flagged.safe) << flagged;
  ASSERT_EQ(flagged.blocking.size(), 1u) << flagged;
  EXPECT_EQ(first_blocking(flagged), "odd-2 under_min_isr");
  EXPECT_TRUE(flagged.blocking[0].min_isr_risk);
  const auto alone = broker_safety(c.snapshot, c.verdict, {});
  const auto alone_flagged = broker_safety(c.snapshot, c.verdict, DisruptionOptions{.block_min_isr_risk = true});
  ASSERT_EQ(alone.size(), 3u);
  ASSERT_EQ(alone_flagged.size(), 3u);
  EXPECT_TRUE(alone[0].safe) << alone[0];
  EXPECT_FALSE(alone_flagged[0].safe) << alone_flagged[0];
  EXPECT_TRUE(alone_flagged[2].safe) << alone_flagged[2];
}

// ---- resolving the query ----

TEST(Disruption, EmptyQueryIsAnError) {
  const Cluster c(three_zones());
  EXPECT_EQ(c.error_for({}), "no brokers to disrupt: give brokers=, fleet= or rack=");
}

TEST(Disruption, UnknownFleetAndRackAreErrorsNamingTheKnownOnes) {
  const Cluster c(three_zones());
  EXPECT_EQ(c.error_for({{}, {"gke"}, {}}), "unknown fleet 'gke'; fleets: default,ec2,k8s");
  EXPECT_EQ(c.error_for({{}, {}, {"zone-x"}}), "unknown rack 'zone-x'; racks: zone-a,zone-b,zone-c");
  const Cluster unracked(SnapshotBuilder().brokers({1, 2, 3}).topic(healthy_topic("t", 3, 3, {1, 2, 3}, 2)).build());
  EXPECT_EQ(unracked.error_for({{}, {}, {"zone-a"}}), "unknown rack 'zone-a': no broker reports broker.rack");
  // A configured fleet without brokers resolves to nothing.
  EXPECT_EQ(c.error_for({{}, {"k8s"}, {}}), "the query names no broker (its fleets have no brokers)");
}

TEST(Disruption, FleetResolvesToItsBrokersIncludingMissingOnes) {
  auto s = SnapshotBuilder().brokers({1, 2, 3, 101, 103}).topic(healthy_topic("t", 6, 3, {1, 2, 3, 101, 103}, 2)).build();
  const Cluster c(s, policy({1, 2, 3, 101, 102, 103}));
  const auto a = c.ask({{}, {"k8s"}, {}});
  ASSERT_EQ(a.brokers.size(), 3u);
  EXPECT_EQ(a.brokers[1], (DisruptionTarget{102, "k8s", std::nullopt, false, true}));
  EXPECT_EQ(a.absent_brokers, Ids{102});
}

// ---- the per-broker pass agrees with asking about each broker alone ----

TEST(Disruption, PerBrokerPassMatchesTheSetAnswerForEveryBroker) {
  auto s = three_zones(TopicBuilder("mixed")
                           .min_isr(2)
                           .p(1, {1, 2, 3}, {1, 2})
                           .p(2, {2, 4, 6}, {2})
                           .p(-1, {3, 5}, {})
                           .p(4, {4, 5, 6, 1}, {4, 5})
                           .p(6, {6, 1, 2}, {6, 1, 2, 3}));
  s.brokers.erase(s.brokers.begin() + 4);  // broker 5 missing
  const Cluster c(s, policy({1, 2, 3, 4, 5, 6}));
  for (const auto& b : broker_safety(c.snapshot, c.verdict, {})) {
    const auto a = c.brokers({b.id});
    EXPECT_EQ(b.safe, a.safe) << b << " vs " << a;
    EXPECT_EQ(b.blocking_partitions, a.counts.blocking) << b << " vs " << a;
  }
}

TEST(Disruption, ListsAreCappedCountsStayTrue) {
  const Cluster c(three_zones());
  const auto a = c.ask({{}, {}, {"zone-a", "zone-b"}}, DisruptionOptions{.list_cap = 2});
  EXPECT_EQ(a.blocking.size(), 2u);
  EXPECT_EQ(a.counts.blocking, 12);
}

// ---- operator acknowledgements (service/judge/overrides.h) ----

// Broker 3 of three_zones is gone (expected): orders-0 and orders-6 ([1,2,3]) keep [1,2], at min ISR.
// Broker 1 would leave them [2]: under min ISR, blocking, unless the operator acknowledged exactly that.
Cluster without_broker_3() {
  auto s = three_zones();
  s.brokers.erase(s.brokers.begin() + 2);
  return Cluster(s, policy({1, 2, 3, 4, 5, 6}));
}

TEST(DisruptionAcks, AnAcknowledgementCoveringThePartitionsLetsTheSetProceed) {
  const Cluster c = without_broker_3();
  ASSERT_FALSE(c.brokers({1}).safe);
  const auto a = c.acked({1}, {ack("under_min_isr_partitions", topics({"orders"}))});
  EXPECT_TRUE(a.safe) << a;
  // Physical truth unchanged: the same outcomes, the partitions listed as acknowledged, not dropped.
  EXPECT_EQ(a.counts,
            (DisruptionCounts{.affected = 6, .under_min_isr = 2, .at_min_isr = 4, .acknowledged = 2}))
      << a;
  EXPECT_TRUE(a.blocking.empty());
  ASSERT_EQ(a.acknowledged.size(), 2u);
  EXPECT_EQ(a.acknowledged[0].topic, "orders");
  EXPECT_EQ(a.acknowledged[0].partition.id, 0);
  EXPECT_EQ(a.acknowledged[0].outcome, "under_min_isr");
  EXPECT_EQ(a.acknowledged[0].isr_after, Ids{2});
  EXPECT_FALSE(a.acknowledged[0].blocking);
  EXPECT_EQ(a.acknowledged[0].acknowledged_by,
            (std::vector<Override>{ack("under_min_isr_partitions", topics({"orders"}))}));
}

TEST(DisruptionAcks, AnAcknowledgementOutsideTheScopeChangesNothing) {
  const Cluster c = without_broker_3();
  const auto unacked = c.brokers({1});
  for (const auto& scope : {topics({"payments"}), OverrideScope{{}, {}, {PartitionRef{"orders", 1}}},
                            // Broker scope: the replicas out of the ISR after S (1 and the missing 3) must
                            // all be named; {3} alone does not explain what taking broker 1 does.
                            brokers_scope({3}), brokers_scope({1, 2})}) {
    const auto a = c.acked({1}, {ack("under_min_isr_partitions", scope)});
    EXPECT_FALSE(a.safe) << scope_text(scope) << " " << a;
    EXPECT_EQ(a.counts.blocking, 2) << scope_text(scope);
    EXPECT_EQ(a.counts.acknowledged, 0) << scope_text(scope);
    EXPECT_EQ(a.blocking, unacked.blocking) << scope_text(scope);
  }
  EXPECT_TRUE(c.acked({1}, {ack("under_min_isr_partitions", brokers_scope({1, 3}))}).safe);
  // One of the two partitions named: the other still blocks.
  const auto one =
      c.acked({1}, {ack("under_min_isr_partitions", OverrideScope{{}, {}, {PartitionRef{"orders", 0}}})});
  EXPECT_FALSE(one.safe);
  EXPECT_EQ(one.counts.blocking, 1);
  EXPECT_EQ(one.counts.acknowledged, 1);
  EXPECT_EQ(first_blocking(one), "orders-6 under_min_isr");
}

TEST(DisruptionAcks, AnAcknowledgementOfAWeakerOutcomeDoesNotCoverAWorseOne) {
  const Cluster c = without_broker_3();
  // {1,2} takes both live in-sync replicas of orders-0 / orders-6: offline.
  const auto a = c.acked({1, 2}, {ack("under_min_isr_partitions", topics({"orders"})),
                                  ack("at_min_isr_partitions", topics({"orders"})),
                                  ack("under_replicated_partitions", topics({"orders"}))});
  EXPECT_FALSE(a.safe) << a;
  EXPECT_EQ(first_blocking(a), "orders-0 offline");
  EXPECT_EQ(a.counts.offline, 2);
  EXPECT_EQ(a.counts.blocking, 2);
  // The under-min-ISR ones of that set (other partitions of broker 1 or 2 with 3) are acknowledged.
  for (const auto& p : a.acknowledged) EXPECT_EQ(p.outcome, "under_min_isr") << p;
  // Nor does an offline acknowledgement cover under min ISR: the code must be the outcome's own.
  EXPECT_FALSE(c.acked({1}, {ack("offline_partitions", topics({"orders"}))}).safe);
  EXPECT_TRUE(c.acked({1, 2}, {ack("under_min_isr_partitions", topics({"orders"})),
                               ack("offline_partitions", topics({"orders"}))})
                  .safe);
}

TEST(DisruptionAcks, AnExpiredAcknowledgementIsIgnored) {
  const Cluster c = without_broker_3();
  const auto expires = kNow + std::chrono::minutes(10);
  const std::vector<Override> acks = {ack("under_min_isr_partitions", topics({"orders"}), expires)};
  EXPECT_TRUE(c.acked({1}, acks, {}, expires - std::chrono::seconds(1)).safe);
  EXPECT_FALSE(c.acked({1}, acks, {}, expires).safe);
  EXPECT_FALSE(c.acked({1}, acks, {}, expires + std::chrono::hours(1)).safe);
}

// brokers_unresponsive acknowledged for every unresponsive broker: the answer is no longer unknown, and those
// brokers count as down exactly like absent ones.
TEST(DisruptionAcks, AnAcknowledgedUnresponsiveBrokerCountsAsDown) {
  Cluster c(three_zones());
  c.verdict.brokers[2].unresponsive = true;  // broker 3 hung: metadata still lists it in every ISR
  const Reason hung{std::string(reason::kBrokersUnresponsive), 1, "1 broker not answering: 3", true};
  ASSERT_EQ(c.acked({1}, {}, {hung}).unknown, std::vector<Reason>{hung});
  for (const auto& scope : {brokers_scope({4}), topics({"orders"})})
    EXPECT_EQ(c.acked({1}, {ack("brokers_unresponsive", scope)}, {hung}).unknown, std::vector<Reason>{hung})
        << scope_text(scope);

  const std::vector<Override> acks = {ack("brokers_unresponsive", brokers_scope({3}))};
  const auto a = c.acked({1}, acks, {hung});
  EXPECT_TRUE(a.unknown.empty()) << a;
  ASSERT_EQ(a.acknowledged_unknown.size(), 1u);
  EXPECT_EQ(a.acknowledged_unknown[0].code, "brokers_unresponsive");
  EXPECT_EQ(a.unresponsive_brokers, Ids{3});
  // As with broker 3 absent: 1 and 3 share orders-0 and orders-6.
  EXPECT_FALSE(a.safe);
  EXPECT_EQ(a.counts.blocking, 2) << a;
  ASSERT_EQ(a.blocking.size(), 2u) << a;
  EXPECT_EQ(a.blocking[0].isr_after, Ids{2});
  EXPECT_EQ(a.blocking, without_broker_3().brokers({1}).blocking);
  EXPECT_TRUE(c.acked({6}, acks, {hung}).safe) << c.acked({6}, acks, {hung});
}

// ---- each broker alone (broker_safety / broker_safe_at) with acknowledgements ----

// The per-broker answer at read time `now` for broker `id`, computed at the poll `polled`.
bool alone(const Cluster& c, BrokerId id, const std::vector<Override>& acks, std::vector<Reason> reasons = {},
           WallClock::time_point now = kNow, WallClock::time_point polled = kNow) {
  for (const auto& b : broker_safety(c.snapshot, c.verdict, {}, DisruptionAcks{acks, polled}))
    if (b.id == id) return broker_safe_at(b, c.verdict, reasons, DisruptionAcks{acks, now});
  ADD_FAILURE() << "no broker " << id;
  return false;
}

TEST(BrokerSafetyAcks, EachBrokerAloneAnswersAsTheSetQueryWithTheSameAcknowledgements) {
  const Cluster c = without_broker_3();
  const std::vector<std::vector<Override>> cases = {
      {},
      {ack("under_min_isr_partitions", topics({"orders"}))},
      {ack("under_min_isr_partitions", brokers_scope({1, 3}))},
      {ack("under_min_isr_partitions", brokers_scope({3}))},
      {ack("under_min_isr_partitions", OverrideScope{{}, {}, {PartitionRef{"orders", 0}}})},
      {ack("offline_partitions", topics({"orders"}))},
      // Union of two entries: 1 and the missing 3 named by different entries.
      {ack("under_min_isr_partitions", brokers_scope({1})),
       ack("under_min_isr_partitions", brokers_scope({3}))},
  };
  bool some_acknowledged = false;
  for (const auto& acks : cases) {
    for (const auto& b : broker_safety(c.snapshot, c.verdict, {}, DisruptionAcks{acks, kNow})) {
      const auto a = c.acked({b.id}, acks);
      EXPECT_EQ(broker_safe_at(b, c.verdict, {}, DisruptionAcks{acks, kNow}), a.safe) << b << " vs " << a;
      EXPECT_EQ(b.blocking_partitions, a.counts.blocking) << b << " vs " << a;
      EXPECT_EQ(b.acknowledged_partitions, a.counts.acknowledged) << b << " vs " << a;
      some_acknowledged = some_acknowledged || a.counts.acknowledged > 0;
    }
  }
  EXPECT_TRUE(some_acknowledged);
  EXPECT_TRUE(alone(c, 1, {ack("under_min_isr_partitions", topics({"orders"}))}));
}

// brokers_unresponsive and controller_unknown: unknown unless acknowledged at read time, as for the set.
TEST(BrokerSafetyAcks, AcknowledgedUnknownReasonsAreJudgedAtReadTime) {
  Cluster c(three_zones());
  c.verdict.brokers[2].unresponsive = true;
  const Reason hung{std::string(reason::kBrokersUnresponsive), 1, "1 broker not answering: 3", true};
  const auto expires = kNow + std::chrono::minutes(10);
  const std::vector<Override> acks = {ack("brokers_unresponsive", brokers_scope({3}), expires)};
  for (const BrokerId id : {1, 6}) {
    EXPECT_FALSE(alone(c, id, {}, {hung}));
    EXPECT_EQ(alone(c, id, acks, {hung}), c.acked({id}, acks, {hung}).safe) << id;
    EXPECT_FALSE(alone(c, id, acks, {hung}, expires)) << id;
    EXPECT_EQ(alone(c, id, acks, {hung}, expires), c.acked({id}, acks, {hung}, expires).safe) << id;
  }
  EXPECT_TRUE(alone(c, 6, acks, {hung}));
}

// An acknowledgement expiring between two polls: the answer computed at the poll is not "safe" any more once
// it has expired, exactly when the set query stops being safe. Fail closed when a second entry would still
// cover the partition: unsafe from the first expiry until the next poll recomputes.
TEST(BrokerSafetyAcks, AnAcknowledgementExpiringAfterThePollEndsTheSafeAnswer) {
  const Cluster c = without_broker_3();
  const auto expires = kNow + std::chrono::minutes(10);
  const std::vector<Override> acks = {ack("under_min_isr_partitions", topics({"orders"}), expires)};
  for (const auto read : {kNow, expires - std::chrono::seconds(1), expires, expires + std::chrono::hours(1)})
    EXPECT_EQ(alone(c, 1, acks, {}, read), c.acked({1}, acks, {}, read).safe) << (read - kNow).count();
  EXPECT_FALSE(alone(c, 1, acks, {}, expires));

  const std::vector<Override> overlapping = {
      acks[0], ack("under_min_isr_partitions", brokers_scope({1, 3}), expires + std::chrono::hours(1))};
  EXPECT_TRUE(alone(c, 1, overlapping, {}, expires - std::chrono::seconds(1)));
  EXPECT_FALSE(alone(c, 1, overlapping, {}, expires));          // until the next poll
  EXPECT_TRUE(alone(c, 1, overlapping, {}, expires, expires));  // the next poll
  EXPECT_TRUE(c.acked({1}, overlapping, {}, expires).safe);
}

// Whatever the file says (the parser already refuses these codes), no acknowledgement makes a failing probe,
// a stale snapshot or a freeze knowable.
TEST(DisruptionAcks, ProbeFailedStaleAndFreezeAreNeverAcknowledged) {
  const Cluster c(three_zones());
  for (const auto code : {reason::kProbeFailed, reason::kSnapshotStale, reason::kOverrideFreeze}) {
    const Reason r{std::string(code), 1, "...", true};
    const auto a = c.acked({1}, {ack(std::string(code), {})}, {r});
    EXPECT_FALSE(a.safe) << r;
    EXPECT_EQ(a.unknown, std::vector<Reason>{r});
  }
}

}  // namespace
}  // namespace isrguard::service
