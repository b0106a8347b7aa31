// The compact snapshot model (probes/snapshot.h): PartitionTable stores what it is given, shares an ISR equal
// to the replicas, compares by content, and refuses what it cannot store.
#include "probes/snapshot.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "tests/support/builders.h"

namespace isrguard::probes {
namespace {

using testing::partition;

PartitionTable table_of(const std::vector<PartitionInfo>& parts) {
  PartitionTable t;
  for (const auto& p : parts) t.push_back(p);
  return t;
}

std::vector<PartitionInfo> owned(const PartitionTable& t) {
  std::vector<PartitionInfo> out;
  for (const PartitionView p : t) out.push_back(PartitionInfo::of(p));
  return out;
}

TEST(PartitionTable, GivesBackEachPartitionAsStored) {
  const std::vector<PartitionInfo> parts = {
      partition(0, 1, {1, 2, 3}, {1, 2, 3}), partition(1, 2, {2, 3, 1}, {2}),
      partition(2, -1, {3, 1, 2}, {}, {5, "LEADER_NOT_AVAILABLE"}), partition(3, 3, {}, {3, 4})};
  const PartitionTable t = table_of(parts);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(owned(t), parts);
  EXPECT_EQ(PartitionInfo::of(t.at(2)).error, KafkaError{5});
  EXPECT_THROW(t.at(4), std::out_of_range);
}

TEST(PartitionTable, AnIsrEqualToTheReplicasIsStoredOnce) {
  EXPECT_EQ(PartitionTable::ids_needed(std::vector<BrokerId>{1, 2, 3}, std::vector<BrokerId>{1, 2, 3}), 3u);
  EXPECT_EQ(PartitionTable::ids_needed(std::vector<BrokerId>{1, 2, 3}, std::vector<BrokerId>{1, 2}), 5u);
  // Same ids in another order are another list: stored as reported.
  EXPECT_EQ(PartitionTable::ids_needed(std::vector<BrokerId>{1, 2, 3}, std::vector<BrokerId>{3, 2, 1}), 6u);
  PartitionTable in_sync, behind;
  in_sync.reserve(100, 300);
  behind.reserve(100, 500);
  for (int i = 0; i < 100; ++i) {
    in_sync.push_back(partition(i, 1, {1, 2, 3}, {1, 2, 3}));
    behind.push_back(partition(i, 1, {1, 2, 3}, {1, 2}));
  }
  EXPECT_EQ(in_sync.heap_bytes(), 100 * 20 + 300 * sizeof(BrokerId));  // 32 bytes per RF-3 partition
  EXPECT_EQ(behind.heap_bytes(), 100 * 20 + 500 * sizeof(BrokerId));
  EXPECT_EQ(PartitionInfo::of(behind[99]).isr, (std::vector<BrokerId>{1, 2}));
}

TEST(PartitionTable, ComparesByContentNotByLayout) {
  const PartitionInfo a = partition(0, 1, {1, 2, 3}, {1, 2, 3});
  const PartitionInfo b = partition(1, 2, {2, 3, 1}, {2, 3});
  PartitionTable reversed = table_of({b, a});
  EXPECT_NE(reversed, table_of({a, b}));
  reversed.sort_by_id();  // rows move, their ids stay where they were written
  EXPECT_EQ(reversed, table_of({a, b}));
  EXPECT_EQ(owned(reversed), (std::vector<PartitionInfo>{a, b}));
  EXPECT_NE(table_of({a, b}), table_of({a, partition(1, 2, {2, 3, 1}, {2})}));
  EXPECT_NE(table_of({a}), table_of({a, b}));
  EXPECT_NE(table_of({a}), table_of({partition(0, 1, {1, 2, 3}, {1, 2, 3}, {9, "REPLICA_NOT_AVAILABLE"})}));
}

TEST(PartitionTable, RefusesWhatItCannotStore) {
  PartitionTable t;
  const std::vector<BrokerId> too_long(PartitionTable::kMaxListLength + 1, 1);
  EXPECT_THROW(t.push_back(PartitionView{0, 1, too_long, {}, {}}), std::length_error);
  EXPECT_THROW(t.push_back(PartitionView{0, 1, {}, too_long, {}}), std::length_error);
  EXPECT_THROW(t.push_back(PartitionView{0, 1, {}, {}, KafkaError{1 << 16}}), std::out_of_range);
  EXPECT_TRUE(t.empty());
  const std::vector<BrokerId> longest(PartitionTable::kMaxListLength, 1);
  t.push_back(PartitionView{0, 1, longest, longest, KafkaError{-185}});  // librdkafka's __TIMED_OUT
  EXPECT_EQ(t[0].replicas.size(), PartitionTable::kMaxListLength);
  EXPECT_EQ(t[0].error.name(), "_TIMED_OUT");
}

TEST(KafkaError, NamesComeFromLibrdkafkaWhenRendered) {
  EXPECT_TRUE(KafkaError{}.ok());
  EXPECT_EQ(KafkaError{5}.name(), "LEADER_NOT_AVAILABLE");
  EXPECT_EQ(KafkaError{29}.name(), "TOPIC_AUTHORIZATION_FAILED");
  // A test cannot give an error a name the service would never render.
  EXPECT_THROW(static_cast<KafkaError>(testing::Err{5, "NOT_LEADER"}), std::invalid_argument);
}

TEST(ClusterSnapshot, HeapBytesCountsTopicNamesPartitionsAndBrokers) {
  const ClusterSnapshot empty;
  EXPECT_EQ(empty.heap_bytes(), 0u);
  const ClusterSnapshot s =
      testing::SnapshotBuilder()
          .brokers({1, 2, 3})
          .topic(testing::healthy_topic("a-topic-name-longer-than-15", 4, 3, {1, 2, 3}, 2))
          .build();
  const TopicInfo& t = s.topics[0];
  EXPECT_EQ(t.heap_bytes(), t.name.capacity() + 1 + t.partitions.heap_bytes());
  EXPECT_GE(s.heap_bytes(),
            t.heap_bytes() + s.topics.capacity() * sizeof(TopicInfo) + s.brokers.capacity() * sizeof(Broker));
}

}  // namespace
}  // namespace isrguard::probes
