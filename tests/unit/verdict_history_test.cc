// Verdicts that depend on what earlier snapshots showed: reassignments judged against each partition's last
// fully-in-sync replica set, and brokers remembered after they vanish. Driven through the probe loop, which
// owns the history, so these read as "the cluster looked like A, then like B".
#include <gtest/gtest.h>

#include "service/judge/history.h"
#include "service/runtime/probe_loop.h"
#include "service/judge/reasons.h"
#include "service/views/status_report.h"
#include "tests/support/builders.h"
#include "tests/support/scripted_source.h"

namespace isrguard::service {
namespace {

using std::chrono::seconds;
using testing::healthy_topic;
using testing::SnapshotBuilder;
using testing::TopicBuilder;
using Ids = std::vector<BrokerId>;
using States = std::vector<std::string>;
using Codes = std::vector<std::string>;
using ojson = nlohmann::ordered_json;

const SteadyClock::time_point t0 = SteadyClock::time_point{} + std::chrono::hours(1);
const auto w0 = std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 50);

Policy no_expectation() {
  Policy p = Policy::with_defaults();
  p.compile();
  return p;
}

// Runs the loop over `snapshots`, one probe each, 5 s apart; returns the last published state.
std::shared_ptr<const PublishedState> state_after(const std::vector<probes::ClusterSnapshot>& snapshots,
                                                  const Policy& policy = no_expectation()) {
  testing::ScriptedSource src;
  for (const auto& s : snapshots) src.push(testing::ok(s));
  ProbeLoop loop(src, policy, GateConfig{seconds(0)}, seconds(60));
  for (std::size_t i = 0; i < snapshots.size(); ++i) loop.run_once(t0 + seconds(5 * i), w0 + seconds(5 * i));
  return loop.current();
}
Verdict after(const std::vector<probes::ClusterSnapshot>& snapshots,
              const Policy& policy = no_expectation()) {
  return *state_after(snapshots, policy)->verdict;
}

// A topic whose every partition has `replicas` and `isr`.
probes::TopicInfo topic(const std::string& name, int partitions, const Ids& replicas, const Ids& isr) {
  TopicBuilder t(name);
  t.min_isr(2);
  for (int i = 0; i < partitions; ++i) t.p(isr.front(), replicas, isr);
  return t.build();
}

probes::ClusterSnapshot cluster(std::vector<probes::TopicInfo> topics,
                                const Ids& brokers = {1, 2, 3, 4, 5, 6}) {
  SnapshotBuilder b;
  b.brokers(brokers);
  for (auto& t : topics) b.topic(std::move(t));
  return b.build();
}

// Case 1: every partition of a topic moves 1,2,3 -> 4,5,6. Kafka first widens each assignment to the union
// (6 replicas, the 3 targets not yet in the ISR), so every partition has 6 replicas and the topic's "usual"
// count is 6: the old rule called all of them under-replicated for the whole move.
TEST(VerdictHistory, WholeTopicMoveIsReassigningNotUnderReplicated) {
  const Verdict v = after({cluster({topic("orders", 3, {1, 2, 3}, {1, 2, 3})}),
                           cluster({topic("orders", 3, {4, 5, 6, 1, 2, 3}, {1, 2, 3})})});
  EXPECT_TRUE(v.healthy()) << v;
  EXPECT_EQ(v.counts.reassigning, 3) << v;
  EXPECT_EQ(v.counts.under_replicated, 0) << v;
}

// Case 2: a one-partition topic being moved: its only partition defines the usual count.
TEST(VerdictHistory, SinglePartitionTopicMoveIsReassigningNotUnderReplicated) {
  const Verdict v = after({cluster({topic("solo", 1, {1, 2, 3}, {1, 2, 3})}),
                           cluster({topic("solo", 1, {1, 2, 3, 4}, {1, 2, 3})})});
  EXPECT_TRUE(v.healthy()) << v;
  EXPECT_EQ(v.counts.reassigning, 1) << v;
}

// Case 3: an RF-3 topic with one partition assigned 4 replicas (all 4 were in sync: nothing is being added).
// When the 4th falls out of the ISR, Kafka counts it under-replicated (ISR 3 < 4 replicas - 0 adding); the
// old rule took "more than the usual 3" for a reassignment and said nothing.
TEST(VerdictHistory, ExtraReplicaThatWasInSyncIsUnderReplicatedWhenItFallsOut) {
  auto with_p0 = [](const Ids& isr) {
    TopicBuilder t("orders");
    t.min_isr(2).p(1, {1, 2, 3, 4}, isr).p(2, {2, 3, 1}, {2, 3, 1}).p(3, {3, 1, 2}, {3, 1, 2});
    return cluster({t.build()});
  };
  const Verdict v = after({with_p0({1, 2, 3, 4}), with_p0({1, 2, 3})});
  EXPECT_EQ(v.gating_codes(), std::vector<std::string>{"under_replicated_partitions"}) << v;
  EXPECT_EQ(v.counts.reassigning, 0) << v;
}

// Case 4: the same 4-replica partition, never fully in sync with 4, but seen being created (the topic grew a
// partition while we watched): a new partition is not being reassigned, so nothing is being added and Kafka
// counts it under-replicated.
TEST(VerdictHistory, PartitionCreatedWithAnOutOfSyncExtraReplicaIsUnderReplicated) {
  auto grown = cluster({topic("orders", 3, {1, 2, 3}, {1, 2, 3})});
  grown.topics[0].partitions.push_back(testing::partition(3, 1, {1, 2, 3, 4}, {1, 2, 3}));
  const Verdict v = after({cluster({topic("orders", 3, {1, 2, 3}, {1, 2, 3})}), grown});
  EXPECT_EQ(v.gating_codes(), std::vector<std::string>{"under_replicated_partitions"}) << v;
  EXPECT_EQ(v.counts.under_replicated, 1) << v;
}

// Without --expected-brokers, a broker that hosts no replica of a selected topic used to vanish unnoticed.
TEST(VerdictHistory, BrokerSeenBeforeThatVanishesIsMissing) {
  const auto before = cluster({topic("orders", 3, {1, 2, 3}, {1, 2, 3})}, {1, 2, 3, 4});
  const auto gone = cluster({topic("orders", 3, {1, 2, 3}, {1, 2, 3})}, {1, 2, 3});
  const Verdict v = after({before, gone});
  EXPECT_EQ(v.gating_codes(), std::vector<std::string>{"brokers_missing"}) << v;
  EXPECT_EQ(v.counts.brokers_missing, 1) << v;
}

// Item 13: judge() must pass the effective min ISR (min(min.insync.replicas, replicas)), not the raw setting:
// an RF-2 topic with min.insync.replicas 3 and a full ISR is healthy (reported as a risk, not gating).
TEST(VerdictHistory, FullIsrBelowRawMinInsyncReplicasIsNotUnderMinIsr) {
  auto s = SnapshotBuilder().brokers({1, 2}).kafka_version("3.7-IV4").topic(TopicBuilder("t").min_isr(3).p(1, {1, 2}, {1, 2})).build();
  const Verdict v = after({s});
  EXPECT_TRUE(v.healthy()) << v;
  EXPECT_EQ(v.counts.under_min_isr, 0) << v;
  EXPECT_EQ(v.counts.at_min_isr, 0) << v;
  ASSERT_EQ(v.reasons.size(), 1u) << v;
  EXPECT_EQ(v.reasons[0].code, "min_isr_risk_topics");
}

// ---- reassignments: what the verdict and the views say ----

TEST(VerdictHistory, MoveListsTheReplicasBeingAddedInPartitionsView) {
  const auto st = state_after({cluster({topic("orders", 3, {1, 2, 3}, {1, 2, 3})}),
                               cluster({topic("orders", 3, {4, 5, 6, 1, 2, 3}, {1, 2, 3})})});
  std::string error;
  const auto moving = partitions_json(*st, no_expectation(), PartitionQuery{{"reassigning"}, {}, 10}, &error);
  ASSERT_TRUE(moving) << error;
  EXPECT_EQ((*moving)["total"], 3);
  EXPECT_EQ((*moving)["items"][0]["baseline"], ojson::array({1, 2, 3}));
  EXPECT_EQ((*moving)["items"][0]["adding"], ojson::array({4, 5, 6}));
  EXPECT_EQ((*moving)["items"][0]["detail"], "reassigning (adding 4,5,6)");
  EXPECT_EQ((*moving)["items"][0]["usual_replicas"], 3);
  const auto urp =
      partitions_json(*st, no_expectation(), PartitionQuery{{"under_replicated"}, {}, 10}, &error);
  EXPECT_EQ((*urp)["total"], 0);
}

TEST(VerdictHistory, WholeTopicMoveKeepsTheTopicsSettledReplicaCount) {
  const Verdict v = after({cluster({topic("orders", 3, {1, 2, 3}, {1, 2, 3})}),
                           cluster({topic("orders", 3, {4, 5, 6, 1, 2, 3}, {1, 2, 3})})});
  ASSERT_EQ(v.topics.size(), 1u);
  EXPECT_EQ(v.topics[0].usual_replicas, 3);
  EXPECT_EQ(v.topics[0].effective_min_isr, 2);
  EXPECT_EQ(v.topics[0].reassigning, 3);
}

TEST(VerdictHistory, OriginalReplicaLostDuringMoveIsUnderReplicated) {
  const Verdict v = after({cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})}),
                           cluster({topic("orders", 1, {4, 5, 6, 1, 2, 3}, {1, 2})})});
  EXPECT_EQ(v.gating_codes(), Codes{"under_replicated_partitions"}) << v;
  ASSERT_EQ(v.unhealthy_partitions.size(), 1u);
  const PartitionHealth& p = v.unhealthy_partitions[0];
  EXPECT_EQ(p.states, (States{"under_replicated", "at_min_isr", "reassigning"}));
  EXPECT_EQ(p.baseline, (Ids{1, 2, 3}));
  EXPECT_EQ(p.adding, (Ids{4, 5, 6}));
  EXPECT_EQ(p.detail, "reassigning (adding 4,5,6)");
}

// Kafka keeps a target "adding" until the whole move completes: with 4 caught up and 2 fallen out, the ISR
// (1,3,4) still has the original 3 replicas' worth (6 replicas - 3 adding), so Kafka does not count it.
TEST(VerdictHistory, ATargetThatCaughtUpStillCountsAsAddingAsInKafka) {
  const Verdict v = after({cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})}),
                           cluster({topic("orders", 1, {4, 5, 6, 1, 2, 3}, {1, 3, 4})})});
  EXPECT_TRUE(v.healthy()) << v;
  EXPECT_EQ(v.counts.reassigning, 1);
}

// The move 1,2,3 -> 1,2,4 completed (3 removed) and 4 fell out of the ISR before we saw it in sync: the
// baseline [1,2,3] is no longer within the replicas, so it says nothing about this assignment.
TEST(VerdictHistory, CompletedMoveWhoseNewReplicaFellOutIsUnderReplicated) {
  const Verdict v = after({cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})}),
                           cluster({topic("orders", 1, {4, 1, 2, 3}, {1, 2, 3})}),
                           cluster({topic("orders", 1, {4, 1, 2}, {1, 2})})});
  EXPECT_EQ(v.gating_codes(), Codes{"under_replicated_partitions"}) << v;
  ASSERT_EQ(v.unhealthy_partitions.size(), 1u);
  EXPECT_EQ(v.unhealthy_partitions[0].detail,
            "history [1,2,3] not within replicas: usual-count rule (3 replicas)");
  EXPECT_EQ(v.unhealthy_partitions[0].baseline, Ids{});
}

// Started mid-move: no history, so today's usual-count rule (every partition has 6 replicas: usual 6), and
// the partition says so. Once the partitions are seen in sync the baselines are learned.
TEST(VerdictHistory, WithoutHistoryAMidMoveTopicFallsBackToTheUsualCountRuleAndSaysSo) {
  const auto mid_move = cluster({topic("orders", 3, {4, 5, 6, 1, 2, 3}, {1, 2, 3})});
  const Verdict v = after({mid_move});
  EXPECT_EQ(v.gating_codes(), Codes{"under_replicated_partitions"}) << v;
  ASSERT_EQ(v.unhealthy_partitions.size(), 3u);
  EXPECT_EQ(v.unhealthy_partitions[0].detail, "no history: usual-count rule (6 replicas)");
  EXPECT_EQ(v.unhealthy_partitions[0].adding, Ids{});

  const Verdict learned = after({mid_move, cluster({topic("orders", 3, {4, 5, 6}, {4, 5, 6})}),
                                 cluster({topic("orders", 3, {1, 2, 3, 4, 5, 6}, {4, 5, 6})})});
  EXPECT_TRUE(learned.healthy()) << learned;
  EXPECT_EQ(learned.counts.reassigning, 3);
}

TEST(VerdictHistory, ATopicErrorDoesNotLoseItsBaselines) {
  const auto errored = cluster({TopicBuilder("orders").min_isr(2).error(5, "LEADER_NOT_AVAILABLE").build()});
  const Verdict v = after({cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})}), errored,
                           cluster({topic("orders", 1, {4, 5, 6, 1, 2, 3}, {1, 2, 3})})});
  EXPECT_TRUE(v.healthy()) << v;
}

// ---- brokers remembered ----

TEST(VerdictHistory, VanishedBrokerIsSeenBeforeWithItsTimeGoneUntilForgotten) {
  const Policy p = no_expectation();  // forget after the default 24 h
  const auto up = cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})}, {1, 2, 3, 4});
  const auto down = cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})}, {1, 2, 3});
  History h = advance(History{}, up, p, t0);
  h = advance(h, down, p, t0 + seconds(65));
  Verdict v = judge(down, p, h, t0 + seconds(65));
  EXPECT_EQ(v.reasons,
            (std::vector<Reason>{{"brokers_missing", 1,
                                  "1 broker missing: broker 4 (default, seen before, gone 65s)", true}}));
  ASSERT_EQ(v.brokers.size(), 4u);
  EXPECT_FALSE(v.brokers[3].up);
  EXPECT_FALSE(v.brokers[3].expected);
  EXPECT_TRUE(v.brokers[3].seen_before);
  EXPECT_EQ(v.brokers[3].missing_for, seconds(65));
  EXPECT_FALSE(v.brokers[0].seen_before);
  EXPECT_EQ(v.brokers[0].missing_for, std::nullopt);

  const auto day = std::chrono::hours(24);
  h = advance(h, down, p, t0 + day);  // gone exactly the forget time: still remembered
  EXPECT_EQ(judge(down, p, h, t0 + day).gating_codes(), Codes{"brokers_missing"});
  h = advance(h, down, p, t0 + day + seconds(1));
  v = judge(down, p, h, t0 + day + seconds(1));
  EXPECT_TRUE(v.healthy()) << v;
  EXPECT_EQ(v.brokers.size(), 3u);
}

TEST(VerdictHistory, ABrokerThatComesBackIsUpAgain) {
  const auto up = cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})}, {1, 2, 3, 4});
  const auto down = cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})}, {1, 2, 3});
  const Verdict v = after({up, down, up});
  EXPECT_TRUE(v.healthy()) << v;
  EXPECT_EQ(v.counts.brokers_up, 4);
  EXPECT_FALSE(v.brokers[3].seen_before);
}

TEST(VerdictHistory, WithExpectedBrokersMemoryAddsNoBrokerButTimesTheExpectedOnes) {
  Policy p = no_expectation();
  p.expected_brokers = {1, 2, 3};
  const auto up = cluster({topic("orders", 1, {1, 2, 3}, {1, 2})}, {1, 2, 3, 4});
  const auto down = cluster({topic("orders", 1, {1, 2, 3}, {1, 2})}, {1, 2});
  const Verdict v = after({up, down}, p);
  ASSERT_EQ(v.counts.brokers_missing, 1) << v;
  EXPECT_EQ(v.reasons.back(),
            (Reason{"brokers_missing", 1, "1 broker missing: broker 3 (default, expected, gone 5s)", true}));
  EXPECT_EQ(v.brokers.size(), 3u);  // broker 4: not expected, hosts nothing, not listed
}

TEST(VerdictHistory, ForgetTimeZeroRemembersNoVanishedBroker) {
  Policy p = no_expectation();
  p.forget_missing_brokers_after = std::chrono::milliseconds(0);
  const Verdict v = after({cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})}, {1, 2, 3, 4}),
                           cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})}, {1, 2, 3})},
                          p);
  EXPECT_TRUE(v.healthy()) << v;
}

TEST(VerdictHistory, AVanishedBrokerKeepsItsHostRuleFleet) {
  Policy p = no_expectation();
  p.fleets = {FleetRule{"k8s", {}, ".*\\.svc"}};
  p.compile();
  auto with = [](bool seven) {
    SnapshotBuilder b;
    b.broker(1, "ip-10-0-0-1.ec2.internal");
    if (seven) b.broker(7, "kafka-7.kafka.svc");
    return b.kafka_version("3.7-IV4").topic(topic("orders", 1, {1}, {1})).build();
  };
  const Verdict v = after({with(true), with(false)}, p);
  ASSERT_EQ(v.brokers.size(), 2u);
  EXPECT_EQ(v.brokers[1].fleet, "k8s");
  EXPECT_EQ(v.brokers[1].host, "");
  EXPECT_EQ(v.reasons[0].detail, "1 broker missing: broker 7 (k8s, seen before, gone 5s)");
}

TEST(VerdictHistory, StatusShowsSeenBeforeAndTimeGone) {
  const auto st = state_after({cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})}, {1, 2, 3, 4}),
                               cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})}, {1, 2, 3})});
  const auto now = t0 + seconds(6);
  const auto j = status_json(*st, readiness_at(*st, now, seconds(60), no_expectation()), StatusContext{}, now,
                             w0 + seconds(6));
  ASSERT_EQ(j["brokers"].size(), 4u);
  EXPECT_EQ(j["brokers"][3]["state"], "missing");
  EXPECT_EQ(j["brokers"][3]["seen_before"], true);
  EXPECT_EQ(j["brokers"][3]["missing_for_seconds"], 5.0);
  // Present and never missing: the defaults (false, null) are left out of the entry (docs/api.md).
  EXPECT_FALSE(j["brokers"][0].contains("seen_before")) << j["brokers"][0];
  EXPECT_FALSE(j["brokers"][0].contains("missing_for_seconds")) << j["brokers"][0];
}

// ---- advance(): the history itself, and its bounds ----

Ids ids_of(const Baseline& b) { return Ids(b.replicas.begin(), b.replicas.end()); }

History advance_all(const std::vector<probes::ClusterSnapshot>& snapshots,
                    const Policy& p = no_expectation()) {
  History h;
  for (std::size_t i = 0; i < snapshots.size(); ++i) h = advance(h, snapshots[i], p, t0 + seconds(5 * i));
  return h;
}

TEST(History, RemembersFullyInSyncReplicasSortedAndKeepsThemWhileOutOfSync) {
  History h = advance_all({cluster({topic("orders", 1, {3, 1, 2}, {1, 2, 3})})});
  EXPECT_EQ(ids_of(h.topic("orders")->get(0)), (Ids{1, 2, 3}));
  EXPECT_EQ(h.topic("orders")->get(0).origin, BaselineOrigin::kInSync);
  h = advance(h, cluster({topic("orders", 1, {4, 5, 6, 3, 1, 2}, {1, 2})}), no_expectation(),
              t0 + seconds(5));
  EXPECT_EQ(ids_of(h.topic("orders")->get(0)), (Ids{1, 2, 3}));
  h = advance(h, cluster({topic("orders", 1, {6, 4, 5}, {4, 5, 6})}), no_expectation(), t0 + seconds(10));
  EXPECT_EQ(ids_of(h.topic("orders")->get(0)), (Ids{4, 5, 6}));
}

TEST(History, AnOfflinePartitionTeachesNothing) {
  auto s = cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})});
  testing::edit_partition(s.topics[0], 0, [](auto& p) { p.leader = probes::kNoLeader; });
  EXPECT_FALSE(advance_all({s}).topic("orders")->get(0).known());
}

TEST(History, FirstSnapshotCannotTellAnOutOfSyncPartitionsBaseline) {
  const History h = advance_all({cluster({topic("orders", 1, {1, 2, 3, 4}, {1, 2, 3})})});
  EXPECT_FALSE(h.topic("orders")->get(0).known());
  EXPECT_TRUE(h.primed);
}

TEST(History, PartitionsAndTopicsAppearingLaterAreRememberedAsCreated) {
  const History h = advance_all(
      {cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})}),
       cluster({topic("audit", 1, {1, 2, 3, 4}, {1, 2, 3}), topic("orders", 2, {1, 2, 3, 4}, {1, 2, 3})})});
  EXPECT_EQ(h.topic("orders")->get(0).origin, BaselineOrigin::kInSync);  // kept from the first snapshot
  EXPECT_EQ(ids_of(h.topic("orders")->get(0)), (Ids{1, 2, 3}));
  EXPECT_EQ(h.topic("orders")->get(1).origin, BaselineOrigin::kCreated);
  EXPECT_EQ(ids_of(h.topic("orders")->get(1)), (Ids{1, 2, 3, 4}));
  EXPECT_EQ(h.topic("audit")->get(0).origin, BaselineOrigin::kCreated);
}

TEST(History, DeletedAndExcludedTopicsAndDeletedPartitionsAreNotKept) {
  Policy p = no_expectation();
  p.topic_exclude = "scratch";
  p.compile();
  const History h = advance_all(
      {cluster({topic("gone", 2, {1, 2, 3}, {1, 2, 3}), topic("orders", 3, {1, 2, 3}, {1, 2, 3}),
                topic("scratch", 1, {1, 2, 3}, {1, 2, 3})}),
       cluster({topic("orders", 2, {1, 2, 3}, {1, 2, 3}), topic("scratch", 1, {1, 2, 3}, {1, 2, 3})})},
      p);
  EXPECT_EQ(h.topics.size(), 1u);
  ASSERT_NE(h.topic("orders"), nullptr);
  EXPECT_EQ(h.topic("orders")->partitions(), 2u);
  EXPECT_FALSE(h.topic("orders")->get(2).known());
  EXPECT_EQ(h.topic("scratch"), nullptr);
}

TEST(History, StorageIsAsWideAsTheLargestBaselineAndLargeSetsAreNotRemembered) {
  EXPECT_EQ(advance_all({cluster({topic("orders", 100, {1, 2, 3}, {1, 2, 3})})}).topic("orders")->width(),
            3u);
  Ids many;
  for (BrokerId id = 1; id <= static_cast<BrokerId>(kMaxBaselineReplicas) + 1; ++id) many.push_back(id);
  const History wide = advance_all({cluster({topic("wide", 1, many, many)}, many)});
  EXPECT_FALSE(wide.topic("wide")->get(0).known());
  EXPECT_EQ(wide.topic("wide")->width(), 0u);
}

TEST(History, AnErroredTopicKeepsWhatWasKnownAndItsUnlistedPartitionsAreNotNew) {
  const auto errored = cluster({TopicBuilder("orders").min_isr(2).error(5, "LEADER_NOT_AVAILABLE").build()});
  const History kept = advance_all({cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})}), errored});
  EXPECT_EQ(ids_of(kept.topic("orders")->get(0)), (Ids{1, 2, 3}));
  // Errored since our first snapshot: when it is listed, its partitions may predate us (not "created").
  const History unlisted = advance_all({errored, cluster({topic("orders", 1, {1, 2, 3, 4}, {1, 2, 3})})});
  EXPECT_FALSE(unlisted.topic("orders")->get(0).known());
}

TEST(History, PartitionIdsOutsideTheListedRangeAreNotRemembered) {
  auto s = cluster({topic("orders", 1, {1, 2, 3}, {1, 2, 3})});
  testing::edit_partition(s.topics[0], 0, [](auto& p) { p.id = 7; });
  const History h = advance_all({s});
  EXPECT_FALSE(h.topic("orders")->get(7).known());
  EXPECT_EQ(h.topic("orders")->partitions(), 1u);
}

TEST(History, BrokersAreForgottenOnlyAfterTheForgetTime) {
  Policy p = no_expectation();
  p.forget_missing_brokers_after = seconds(60);
  History h = advance(History{}, cluster({}, {1, 2, 3, 4}), p, t0);
  h = advance(h, cluster({}, {1, 2, 3}), p, t0 + seconds(60));
  ASSERT_EQ(h.brokers.count(4), 1u);  // gone exactly 60 s: kept
  EXPECT_EQ(h.brokers.at(4), (SeenBroker{"broker-4.example", 9092, t0}));
  EXPECT_EQ(h.brokers.at(1).last_seen, t0 + seconds(60));
  h = advance(h, cluster({}, {1, 2, 3}), p, t0 + seconds(61));
  EXPECT_EQ(h.brokers.count(4), 0u);
}

Ids remembered(const History& h) {
  Ids out;
  for (const auto& [id, seen] : h.brokers) out.push_back(id);
  return out;
}

TEST(History, RememberedBrokersAreCappedForgettingThoseGoneLongest) {
  Policy p = no_expectation();
  p.remembered_brokers_cap = 3;
  History h;
  for (BrokerId id = 1; id <= 4; ++id) h = advance(h, cluster({}, {id}), p, t0 + seconds(id));
  EXPECT_EQ(remembered(h), (Ids{2, 3, 4}));
  // More brokers listed at once than the cap: the highest ids are not remembered.
  EXPECT_EQ(remembered(advance(History{}, cluster({}, {1, 2, 3, 4, 5}), p, t0)), (Ids{1, 2, 3}));
}

}  // namespace
}  // namespace isrguard::service
