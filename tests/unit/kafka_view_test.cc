// The kafka_* facts follow Apache Kafka 3.8.0's own gauge definitions (service/judge/jmx_view.h), not isrguard's
// judgement: each test names the Kafka rule it pins and, where isrguard judges differently, shows both.
#include "service/judge/jmx_view.h"

#include <gtest/gtest.h>

#include "service/runtime/probe_loop.h"
#include "service/judge/verdict.h"
#include "tests/support/builders.h"
#include "tests/support/scripted_source.h"

namespace isrguard::service {
namespace {

using testing::healthy_topic;
using testing::SnapshotBuilder;
using testing::TopicBuilder;

Policy policy_with(std::string exclude = "") {
  Policy p = Policy::with_defaults();
  p.topic_exclude = std::move(exclude);
  p.fleets = {FleetRule{"ec2", {{1, 2}}, ""}};
  p.compile();
  return p;
}

KafkaBrokerGauges gauges(probes::BrokerId id, std::string fleet, std::int64_t leaders,
                         std::int64_t partitions, std::int64_t urp, std::int64_t under_min,
                         std::int64_t at_min) {
  return KafkaBrokerGauges{id, std::move(fleet), leaders, partitions, urp, under_min, at_min};
}

// Partition.isAtMinIsr: ISR size == min(min.insync.replicas, replicas), whether or not anything is degraded.
TEST(KafkaView, AtMinIsrCountsFullyReplicatedPartitionsWhoseReplicaCountIsTheMinIsr) {
  const auto s = SnapshotBuilder()
                     .brokers({1, 2})
                     .topic(healthy_topic("rf2-min2", 2, 2, {1, 2}, 2))  // ISR 2 == min(2, 2)
                     .topic(healthy_topic("rf2-min3", 2, 2, {1, 2}, 3))  // ISR 2 == min(3, 2)
                     .topic(healthy_topic("rf2-min1", 2, 2, {1, 2}, 1))  // ISR 2 > 1: not at min
                     .kafka_version("3.7-IV4")
                     .build();
  const KafkaView v = kafka_view(s, policy_with());
  EXPECT_EQ(v.brokers, (std::vector<KafkaBrokerGauges>{gauges(1, "ec2", 3, 6, 0, 0, 2),
                                                       gauges(2, "ec2", 3, 6, 0, 0, 2)}));
  // isrguard's own judgement: at min ISR only while degraded, so nothing here.
  EXPECT_EQ(judge(s, policy_with()).counts.at_min_isr, 0);
}

// Partition.isUnderMinIsr (3.7+): ISR size < min(min.insync.replicas, this partition's assigned replicas,
// ones being added included).
TEST(KafkaView, UnderMinIsrUsesThePartitionsOwnReplicaCount) {
  const auto s = SnapshotBuilder()
                     .brokers({1, 2})
                     .topic(TopicBuilder("moving")
                                .min_isr(2)
                                .p(1, {1}, {1})
                                .p(2, {2}, {2})
                                .p(1, {1, 2}, {1}))  // RF 1 -> 2 under way: min(2, 2) = 2 > ISR 1
                     .kafka_version("3.7-IV4")
                     .build();
  const KafkaView v = kafka_view(s, policy_with());
  // Broker 1 leads partitions 0 and 2; partition 0 (ISR 1 == min(2, 1)) is at min ISR, partition 2 under it.
  // Partition 2 is not under-replicated: Kafka's replication factor leaves out the replica being added.
  EXPECT_EQ(v.brokers.at(0), gauges(1, "ec2", 2, 2, 0, 1, 1));
  // The verdict follows Kafka per partition too (partition 2: min(2, 2) = 2 > ISR 1).
  EXPECT_EQ(judge(s, policy_with()).counts.under_min_isr, 1);
}

// ReplicaManager.UnderReplicatedPartitions: led partitions whose ISR is smaller than the replication factor;
// a partition without leader counts on no broker.
TEST(KafkaView, UnderReplicatedCountsOnTheLeaderOnly) {
  const auto s =
      SnapshotBuilder()
          .brokers({1, 2, 3})
          .topic(
              TopicBuilder("t").min_isr(2).p(1, {1, 2, 3}, {1, 2}).p(2, {2, 3, 1}, {2}).p(-1, {3, 1, 2}, {3}))
          .build();
  const KafkaView v = kafka_view(s, policy_with());
  EXPECT_EQ(v.brokers,
            (std::vector<KafkaBrokerGauges>{gauges(1, "ec2", 1, 3, 1, 0, 1), gauges(2, "ec2", 1, 3, 1, 1, 0),
                                            gauges(3, "default", 0, 3, 0, 0, 0)}));
}

// JMX has no series for a broker that is down: a broker absent from metadata gets no gauges, even when it
// still leads or hosts partitions in the metadata.
TEST(KafkaView, BrokersAbsentFromMetadataHaveNoGauges) {
  const auto s = SnapshotBuilder()
                     .brokers({1, 2})
                     .topic(TopicBuilder("t").min_isr(1).p(3, {3, 1}, {3}).p(1, {1, 3}, {1}))
                     .build();
  const KafkaView v = kafka_view(s, policy_with());
  EXPECT_EQ(v.brokers, (std::vector<KafkaBrokerGauges>{gauges(1, "ec2", 1, 2, 1, 0, 1),
                                                       gauges(2, "ec2", 0, 0, 0, 0, 0)}));
}

// KafkaController gauges cover the whole cluster: --topic-exclude / --topic-include do not apply, and an
// offline partition's leader (none) is not its preferred replica.
TEST(KafkaView, ControllerGaugesCountEveryTopic) {
  const auto s = SnapshotBuilder()
                     .brokers({1, 2})
                     .topic(healthy_topic("__consumer_offsets", 4, 2, {1, 2}, 1))
                     .topic(TopicBuilder("ignored").min_isr(1).p(-1, {1, 2}, {}).p(1, {2, 1}, {1, 2}))
                     .topic(TopicBuilder("kept").min_isr(1).p(-1, {2}, {}))
                     .build();
  const Policy p = policy_with("ignored");
  const KafkaView v = kafka_view(s, p);
  EXPECT_EQ(v.global_topics, 3);
  EXPECT_EQ(v.global_partitions, 7);
  EXPECT_EQ(v.offline_partitions, 2);
  EXPECT_EQ(v.preferred_replica_imbalance, 3);  // the two offline ones and ignored-1 (led by 1, prefers 2)
  EXPECT_EQ(v.brokers.at(0).leader_count, 3);   // 2 of __consumer_offsets + ignored-1
  const Verdict verdict = judge(s, p);
  EXPECT_EQ(verdict.counts.offline, 1);  // isrguard's own count is over the selected topics
}

// The mode comes from the per-broker check: process.roles exists only in KRaft.
TEST(KafkaView, ModeFromProcessRoles) {
  EXPECT_EQ(kafka_mode(SnapshotBuilder().brokers({1, 2}).zookeeper().build()), KafkaMode::kZooKeeper);
  EXPECT_EQ(kafka_mode(SnapshotBuilder().brokers({1, 2}).kraft().build()), KafkaMode::kKRaft);
  EXPECT_EQ(kafka_mode(SnapshotBuilder().brokers({1, 2}).kraft("broker,controller").build()), KafkaMode::kKRaft);
  // Not checked (a source without the per-broker check), one broker without an answer, an answer with an
  // error (e.g. not authorised), or no broker at all: unknown.
  EXPECT_EQ(kafka_mode(SnapshotBuilder().brokers({1, 2}).build()), KafkaMode::kUnknown);
  auto s = SnapshotBuilder().brokers({1, 2}).zookeeper().build();
  s.broker_responses[1].answered = false;
  EXPECT_EQ(kafka_mode(s), KafkaMode::kUnknown);
  s = SnapshotBuilder().brokers({1, 2}).zookeeper().build();
  s.broker_responses[0].error = "CLUSTER_AUTHORIZATION_FAILED";
  EXPECT_EQ(kafka_mode(s), KafkaMode::kUnknown);
  EXPECT_EQ(kafka_mode(SnapshotBuilder().zookeeper().build()), KafkaMode::kUnknown);
}

// ActiveControllerCount: in ZooKeeper mode metadata names the controller broker; in KRaft it names a random
// live broker, so there is no active controller to report (the quorum leader is not in broker metadata).
TEST(KafkaView, ActiveControllerOnlyInZooKeeperMode) {
  EXPECT_EQ(kafka_view(SnapshotBuilder().brokers({1, 2}).zookeeper().controller(2).build(), policy_with())
                .active_controller,
            2);
  EXPECT_EQ(
      kafka_view(SnapshotBuilder().brokers({1, 2}).kraft().controller(2).build(), policy_with()).active_controller,
      -1);
  EXPECT_EQ(
      kafka_view(SnapshotBuilder().brokers({1, 2}).controller(2).build(), policy_with()).active_controller,
      -1);  // process.roles not read: unknown mode, no claim
}

// ---- UnderReplicatedPartitions during reassignments: the verdict's per-partition history baselines ----
// Kafka counts a led partition under-replicated when ISR < replicas - replicas being added. Metadata does not
// say which are being added; the kafka_* gauges read them from the same baselines the verdict uses
// (service/judge/history.h, classify_partition in service/judge/partition_rules.h), so both agree. Driven through the probe loop, which owns the
// history: "the cluster looked like A, then like B".

using Ids = std::vector<BrokerId>;

// The published state after one probe per snapshot, 5 s apart.
std::shared_ptr<const PublishedState> after_probes(const std::vector<probes::ClusterSnapshot>& snapshots) {
  testing::ScriptedSource src;
  for (const auto& s : snapshots) src.push(testing::ok(s));
  const Policy policy = policy_with();
  ProbeLoop loop(src, policy, GateConfig{std::chrono::seconds(0)}, std::chrono::seconds(60));
  const SteadyClock::time_point t0 = SteadyClock::time_point{} + std::chrono::hours(1);
  const auto w0 = std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 50);
  for (std::size_t i = 0; i < snapshots.size(); ++i)
    loop.run_once(t0 + std::chrono::seconds(5 * i), w0 + std::chrono::seconds(5 * i));
  return loop.current();
}

std::int64_t kafka_urp(const KafkaView& v) {
  std::int64_t n = 0;
  for (const auto& b : v.brokers) n += b.under_replicated;
  return n;
}

probes::TopicInfo uniform_topic(const std::string& name, int partitions, const Ids& replicas, const Ids& isr) {
  TopicBuilder t(name);
  t.min_isr(2);
  for (int i = 0; i < partitions; ++i) t.p(isr.front(), replicas, isr);
  return t.build();
}

probes::ClusterSnapshot six_brokers(probes::TopicInfo topic) {
  return SnapshotBuilder().brokers({1, 2, 3, 4, 5, 6}).topic(std::move(topic)).build();
}

// A whole-topic move 1,2,3 -> 4,5,6: every partition lists 6 replicas with the original 3 in sync, so the
// usual-count rule (usual = 6) called every one under-replicated for the whole move.
TEST(KafkaView, WholeTopicMoveIsNotUnderReplicatedAsInTheVerdict) {
  const auto state = after_probes({six_brokers(uniform_topic("orders", 3, {1, 2, 3}, {1, 2, 3})),
                                   six_brokers(uniform_topic("orders", 3, {4, 5, 6, 1, 2, 3}, {1, 2, 3}))});
  EXPECT_EQ(state->verdict->counts.under_replicated, 0) << *state->verdict;
  EXPECT_EQ(kafka_urp(*state->kafka), 0) << *state->kafka;
  EXPECT_EQ(state->kafka->brokers.at(0), gauges(1, "ec2", 3, 3, 0, 0, 0));
}

// A one-partition topic being moved: its only partition sets the usual count.
TEST(KafkaView, SinglePartitionTopicMoveIsNotUnderReplicatedAsInTheVerdict) {
  const auto state = after_probes({six_brokers(uniform_topic("solo", 1, {1, 2, 3}, {1, 2, 3})),
                                   six_brokers(uniform_topic("solo", 1, {1, 2, 3, 4}, {1, 2, 3}))});
  EXPECT_EQ(state->verdict->counts.under_replicated, 0) << *state->verdict;
  EXPECT_EQ(kafka_urp(*state->kafka), 0) << *state->kafka;
}

// An RF-3 topic with one partition assigned 4 replicas, all 4 once in sync (nothing is being added): when the
// 4th falls out, Kafka counts it (ISR 3 < 4 - 0); the usual-count rule took it for a reassignment.
TEST(KafkaView, FourReplicaPartitionWithThreeInSyncInAnRf3TopicIsUnderReplicated) {
  auto with_p0 = [](const Ids& isr) {
    return six_brokers(
        TopicBuilder("orders").min_isr(2).p(1, {1, 2, 3, 4}, isr).p(2, {2, 3, 1}, {2, 3, 1}).p(3, {3, 1, 2}, {3, 1, 2}));
  };
  const auto state = after_probes({with_p0({1, 2, 3, 4}), with_p0({1, 2, 3})});
  EXPECT_EQ(state->verdict->counts.under_replicated, 1) << *state->verdict;
  EXPECT_EQ(kafka_urp(*state->kafka), 1) << *state->kafka;
  EXPECT_EQ(state->kafka->brokers.at(0).under_replicated, 1) << *state->kafka;  // its leader
}

// With no history (the move was under way before isrguard started) both fall back to the usual-count rule.
TEST(KafkaView, WithoutHistoryAMidMovePartitionUsesTheUsualCountRuleAsInTheVerdict) {
  const auto topic = TopicBuilder("orders")
                         .min_isr(2)
                         .p(1, {1, 2, 3}, {1, 2, 3})
                         .p(2, {2, 3, 1}, {2, 3, 1})
                         .p(3, {3, 1, 2, 4}, {3, 1, 2})  // predates us: taken as adding 4
                         .build();
  const auto state = after_probes({six_brokers(topic)});
  EXPECT_EQ(state->verdict->counts.under_replicated, 0) << *state->verdict;
  EXPECT_EQ(state->verdict->counts.reassigning, 1) << *state->verdict;
  EXPECT_EQ(kafka_urp(*state->kafka), 0) << *state->kafka;
}

}  // namespace
}  // namespace isrguard::service
