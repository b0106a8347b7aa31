// Verdicts that depend on what earlier snapshots showed: reassignments judged against each partition's last
// fully-in-sync replica set, and brokers remembered after they vanish. Driven through the probe loop, which
// owns the history, so these read as "the cluster looked like A, then like B".
#include <gtest/gtest.h>

#include "service/probe_loop.h"
#include "service/reasons.h"
#include "tests/support/builders.h"
#include "tests/support/scripted_source.h"

namespace isrguard::service {
namespace {

using std::chrono::seconds;
using testing::healthy_topic;
using testing::SnapshotBuilder;
using testing::TopicBuilder;
using Ids = std::vector<BrokerId>;

const SteadyClock::time_point t0 = SteadyClock::time_point{} + std::chrono::hours(1);
const auto w0 = std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 50);

Policy no_expectation() {
  Policy p = Policy::with_defaults();
  p.compile();
  return p;
}

// Runs the loop over `snapshots`, one probe each, 5 s apart; returns the last verdict.
Verdict after(const std::vector<probes::ClusterSnapshot>& snapshots, const Policy& policy = no_expectation()) {
  testing::ScriptedSource src;
  for (const auto& s : snapshots) src.push(testing::ok(s));
  ProbeLoop loop(src, policy, GateConfig{seconds(0)}, seconds(60));
  for (std::size_t i = 0; i < snapshots.size(); ++i)
    loop.run_once(t0 + seconds(5 * i), w0 + seconds(5 * i));
  return *loop.current()->verdict;
}

// A topic whose every partition has `replicas` and `isr`.
probes::TopicInfo topic(const std::string& name, int partitions, const Ids& replicas, const Ids& isr) {
  TopicBuilder t(name);
  t.min_isr(2);
  for (int i = 0; i < partitions; ++i) t.p(isr.front(), replicas, isr);
  return t.build();
}

probes::ClusterSnapshot cluster(std::vector<probes::TopicInfo> topics, const Ids& brokers = {1, 2, 3, 4, 5, 6}) {
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
  auto s = SnapshotBuilder().brokers({1, 2}).topic(TopicBuilder("t").min_isr(3).p(1, {1, 2}, {1, 2})).build();
  const Verdict v = after({s});
  EXPECT_TRUE(v.healthy()) << v;
  EXPECT_EQ(v.counts.under_min_isr, 0) << v;
  EXPECT_EQ(v.counts.at_min_isr, 0) << v;
  ASSERT_EQ(v.reasons.size(), 1u) << v;
  EXPECT_EQ(v.reasons[0].code, "min_isr_risk_topics");
}

}  // namespace
}  // namespace isrguard::service
