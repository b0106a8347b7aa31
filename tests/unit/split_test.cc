// The passes over every partition run on two threads for large clusters (probes/split.h): advance(),
// judge() and broker_safety() give the same value whether their topics are split or not. The clusters are
// random but seeded (each seed is printed on failure) and hold every case the merge of two halves must get
// right: per-broker counts, capped lists and examples crossing the split, topics excluded, absent and
// missing brokers, errors, offline, shrunk and reassigning partitions, acknowledgements.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "probes/split.h"
#include "service/judge/disruption.h"
#include "service/judge/history.h"
#include "service/judge/verdict.h"
#include "tests/support/builders.h"

namespace isrguard::service {
namespace {

using probes::kNeverSplit;
using probes::PartitionInfo;

const WallClock::time_point kWall = WallClock::time_point{} + std::chrono::hours(500'000);

// Brokers 1-12 present; 13 hosts replicas but is absent; policy expects 1-12 and 14.
probes::ClusterSnapshot random_cluster(std::mt19937& rng, int topics) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  testing::SnapshotBuilder b;
  for (BrokerId id = 1; id <= 12; ++id) b.broker(id);
  b.controller(1).kraft();
  for (int t = 0; t < topics; ++t) {
    testing::TopicBuilder topic("topic-" + std::to_string(1000 + t));
    if (pick(0, 4) > 0) topic.min_isr(pick(1, 3));
    if (pick(0, 30) == 0) topic.error(29, "TOPIC_AUTHORIZATION_FAILED");
    const int partitions = pick(0, 6) == 0 ? pick(0, 2) : pick(1, 40);
    const int rf = pick(1, 4);
    for (int p = 0; p < partitions; ++p) {
      std::vector<BrokerId> replicas;
      while (static_cast<int>(replicas.size()) < rf + (pick(0, 15) == 0 ? 1 : 0)) {
        const BrokerId id = pick(0, 25) == 0 ? 13 : pick(1, 12);
        if (std::find(replicas.begin(), replicas.end(), id) == replicas.end()) replicas.push_back(id);
      }
      std::vector<BrokerId> isr;
      for (BrokerId id : replicas)
        if (pick(0, 9) > 0) isr.push_back(id);
      std::shuffle(isr.begin(), isr.end(), rng);
      BrokerId leader = isr.empty() || pick(0, 20) == 0 ? probes::kNoLeader : isr.front();
      if (leader != probes::kNoLeader && pick(0, 10) == 0) leader = replicas.back();  // not the preferred one
      std::int32_t error = 0;
      if (pick(0, 40) == 0) error = std::vector<std::int32_t>{5, 9, 3}[static_cast<std::size_t>(pick(0, 2))];
      topic.add(PartitionInfo{p, leader, replicas, isr, probes::KafkaError{error}});
    }
    b.topic(topic);
  }
  return b.build();
}

// The next snapshot: some partitions get an extra replica (a reassignment starting), some lose ISR.
probes::ClusterSnapshot later(probes::ClusterSnapshot s, std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (auto& t : s.topics) {
    probes::PartitionTable next;
    for (const auto v : t.partitions) {
      PartitionInfo p = PartitionInfo::of(v);
      if (pick(0, 8) == 0) {
        const BrokerId extra = pick(1, 12);
        if (std::find(p.replicas.begin(), p.replicas.end(), extra) == p.replicas.end()) p.replicas.push_back(extra);
      }
      if (pick(0, 8) == 0 && !p.isr.empty()) p.isr.pop_back();
      next.push_back(p.view());
    }
    t.partitions = std::move(next);
  }
  return s;
}

Policy policy() {
  Policy p = Policy::with_defaults();
  p.expected_brokers = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14};
  p.topic_exclude = "topic-1.*7";  // about one topic in ten
  p.list_cap = 7;                  // the capped list crosses the split
  p.fleets = {FleetRule{"ec2", {{1, 6}}, ""}};
  p.compile();
  return p;
}

Override ack(std::string reason, OverrideScope scope, int hours = 1) {
  Override o;
  o.action = OverrideAction::kAcknowledge;
  o.reason = std::move(reason);
  o.scope = std::move(scope);
  o.expires = kWall + std::chrono::hours(hours);
  o.by = "sre";
  o.why = "test";
  return o;
}

class Split : public ::testing::TestWithParam<unsigned> {};

TEST_P(Split, HistoryVerdictAndBrokerSafetyAreTheSameSplitOrNot) {
  std::mt19937 rng(GetParam());
  const Policy pol = policy();
  const auto first = random_cluster(rng, 60);
  const auto second = later(first, rng);
  const SteadyClock::time_point t0{}, t1 = t0 + std::chrono::seconds(10);

  const History h0 = advance({}, first, pol, t0, kNeverSplit);
  ASSERT_EQ(advance({}, first, pol, t0, 0), h0) << "seed " << GetParam();
  const History h1 = advance(h0, second, pol, t1, kNeverSplit);
  ASSERT_EQ(advance(h0, second, pol, t1, 0), h1) << "seed " << GetParam();

  const Verdict whole = judge(second, pol, h1, t1, kNeverSplit);
  ASSERT_GT(whole.unhealthy_partitions_total, static_cast<std::int64_t>(pol.list_cap));  // the cap matters
  EXPECT_EQ(judge(second, pol, h1, t1, 0), whole) << "seed " << GetParam();

  // Expiring at different times, so the earliest one relied on differs by broker and by half.
  std::vector<Override> acks = {ack("offline_partitions", OverrideScope{{2, 13}, {}, {}}, 3)};
  for (int t = 0; t < 60; t += 3)
    acks.push_back(ack("under_min_isr_partitions", OverrideScope{{}, {"topic-" + std::to_string(1000 + t)}, {}}, 60 - t));
  for (const bool block_risk : {false, true}) {
    const DisruptionOptions options{block_risk, 5};
    const auto safety = broker_safety(second, whole, options, DisruptionAcks{acks, kWall}, kNeverSplit);
    EXPECT_EQ(broker_safety(second, whole, options, DisruptionAcks{acks, kWall}, 0), safety)
        << "seed " << GetParam();
  }
}

// judge_first() is the verdict of advance() from nothing then judge(), without the history, on one thread
// and on two. The random clusters get the first-baseline edge cases on top: more replicas than a baseline
// holds, a replica listed twice, and a partition id beyond the topic's partition count.
TEST_P(Split, FirstVerdictWithoutAHistoryIsTheFirstProbesVerdict) {
  std::mt19937 rng(GetParam());
  const Policy pol = policy();
  auto snap = random_cluster(rng, 60);
  std::vector<BrokerId> seventeen;
  for (BrokerId id = 1; id <= 12; ++id) seventeen.push_back(id);
  for (BrokerId id = 20; id <= 24; ++id) seventeen.push_back(id);
  snap.topics.push_back(testing::TopicBuilder("topic-9000")
                            .min_isr(2)
                            .add(PartitionInfo{0, 1, seventeen, seventeen, {}})
                            .add(PartitionInfo{1, 2, {2, 2, 3}, {2, 3}, {}})
                            .add(PartitionInfo{7, 3, {3, 1, 2}, {3, 1, 2}, {}})
                            .build());
  const SteadyClock::time_point t0{};
  const Verdict expected = judge(snap, pol, advance({}, snap, pol, t0, kNeverSplit), t0, kNeverSplit);
  EXPECT_EQ(judge_first(snap, pol, t0, kNeverSplit), expected) << "seed " << GetParam();
  EXPECT_EQ(judge_first(snap, pol, t0, 0), expected) << "seed " << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Seeds, Split, ::testing::Range(1u, 21u));

// A split only ever puts whole topics on each side: one large topic stays whole (nothing to compare), two
// give a split at the topic boundary with the same verdict.
TEST(Split, TwoTopicsSplitAtTheirBoundary) {
  const auto s = testing::SnapshotBuilder()
                     .brokers({1, 2, 3})
                     .topic(testing::healthy_topic("a", 5, 3, {1, 2, 3}, 2))
                     .topic(testing::healthy_topic("b", 5, 3, {1, 2, 3}, 2))
                     .build();
  EXPECT_EQ(probes::split_topics(s.topics, 0), 1u);
  const Policy pol = Policy::with_defaults();
  EXPECT_EQ(judge(s, pol, advance({}, s, pol, {}, 0), {}, 0), judge(s, pol));
}

}  // namespace
}  // namespace isrguard::service
