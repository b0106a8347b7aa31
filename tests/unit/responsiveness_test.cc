// brokers_unresponsive and controller_unknown: judge() over the per-broker check and the controller id.
#include "service/judge/responsiveness.h"

#include <gtest/gtest.h>

#include "service/judge/reasons.h"
#include "service/judge/verdict.h"
#include "tests/support/builders.h"

namespace isrguard::service {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using testing::healthy_topic;
using testing::SnapshotBuilder;

Policy slow_after(milliseconds limit) {
  Policy p = Policy::with_defaults();
  p.broker_slow_after = limit;
  p.compile();
  return p;
}

SnapshotBuilder three_brokers() {
  SnapshotBuilder b;
  b.brokers({1, 2, 3}).topic(healthy_topic("orders", 3, 3, {1, 2, 3}, 2));
  return b;
}

const Reason* find(const Verdict& v, std::string_view code) {
  for (const auto& r : v.reasons)
    if (r.code == code) return &r;
  return nullptr;
}

TEST(Responsiveness, AllAnsweringQuicklyIsHealthy) {
  const auto s =
      three_brokers().response(1, milliseconds(5)).response(2, milliseconds(9)).response(3, milliseconds(2000));
  const Verdict v = judge(s.build(), slow_after(milliseconds(2000)));
  EXPECT_TRUE(v.reasons.empty()) << v;  // exactly at the limit is not slower than it
  EXPECT_EQ(v.brokers.at(2).response, (probes::BrokerResponse{3, true, microseconds(2000000), ""}));
  EXPECT_FALSE(v.brokers.at(2).unresponsive);
}

TEST(Responsiveness, HungBrokerIsNamedAndClosesTheGate) {
  const auto s = three_brokers()
                     .response(1, milliseconds(5))
                     .response(2, milliseconds(1500), false, "no answer within the probe timeout")
                     .response(3, milliseconds(7));
  const Verdict v = judge(s.build(), slow_after(milliseconds(2000)));
  ASSERT_EQ(v.reasons.size(), 1u) << v;
  EXPECT_EQ(v.reasons[0],
            (Reason{"brokers_unresponsive", 1,
                    "1 broker not answering within 2000ms: broker 2 (no answer within the probe timeout after "
                    "1500ms)",
                    true}));
  EXPECT_FALSE(v.healthy());
  EXPECT_TRUE(v.brokers.at(1).unresponsive);
  EXPECT_FALSE(v.brokers.at(0).unresponsive);
}

TEST(Responsiveness, SlowerThanTheLimitIsUnresponsiveBelowItIsNot) {
  const auto s =
      three_brokers().response(1, milliseconds(2001)).response(2, milliseconds(1999)).response(3, milliseconds(12000));
  const Verdict v = judge(s.build(), slow_after(milliseconds(2000)));
  const Reason* r = find(v, reason::kBrokersUnresponsive);
  ASSERT_NE(r, nullptr) << v;
  EXPECT_EQ(r->count, 2);
  EXPECT_EQ(r->detail,
            "2 brokers not answering within 2000ms: broker 1 (answered in 2001ms, slower than the limit); broker 3 "
            "(answered in 12000ms, slower than the limit)");
  // A longer limit accepts the 2 s broker but not the 12 s one.
  EXPECT_EQ(find(judge(s.build(), slow_after(milliseconds(5000))), reason::kBrokersUnresponsive)->count, 1);
}

TEST(Responsiveness, AnAnswerCarryingAnErrorStillCountsAsAnswered) {
  const auto s = three_brokers()
                     .response(1, milliseconds(3), true, "CLUSTER_AUTHORIZATION_FAILED")
                     .response(2, milliseconds(3))
                     .response(3, milliseconds(3));
  EXPECT_TRUE(judge(s.build(), slow_after(milliseconds(2000))).reasons.empty());
}

TEST(Responsiveness, DetailNamesAtMostThreeBrokersButCountsAll) {
  auto b = SnapshotBuilder().brokers({1, 2, 3, 4, 5});
  for (BrokerId id : {1, 2, 3, 4, 5}) b.response(id, milliseconds(100), false, "timed out");
  const Verdict v = judge(b.build(), slow_after(milliseconds(2000)));  // find() points into it
  const Reason* r = find(v, reason::kBrokersUnresponsive);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->count, 5);
  EXPECT_NE(r->detail.find("broker 3 ("), std::string::npos) << r->detail;
  EXPECT_EQ(r->detail.find("broker 4 ("), std::string::npos) << r->detail;
  EXPECT_EQ(r->detail.substr(r->detail.size() - 5), "; ...");
}

TEST(Responsiveness, NotGatingWhenLeftOutOfTheGatingSet) {
  Policy p = slow_after(milliseconds(2000));
  p.gating_reasons.erase(std::string(reason::kBrokersUnresponsive));
  const auto s = three_brokers().response(1, milliseconds(9000));
  const Verdict v = judge(s.build(), p);
  ASSERT_NE(find(v, reason::kBrokersUnresponsive), nullptr);
  EXPECT_FALSE(find(v, reason::kBrokersUnresponsive)->gating);
  EXPECT_TRUE(v.healthy());
}

TEST(Responsiveness, ABrokerThatDroppedItsConnectionSinceTheLastProbeIsARecentFailure) {
  auto snap = three_brokers()
                  .response(1, milliseconds(5))
                  .response(2, milliseconds(5))
                  .response(3, milliseconds(5))
                  .build();
  snap.broker_responses[1].disconnects = 2;
  const Verdict v = judge(snap, slow_after(milliseconds(2000)));
  ASSERT_EQ(v.reasons.size(), 1u) << v;
  EXPECT_EQ(v.reasons[0], (Reason{"brokers_reconnected", 1,
                                  "1 broker dropped its connection since the previous probe: broker 2 (2 dropped)",
                                  true}));
}

TEST(Responsiveness, ControllerMinusOneIsReportedAndGates) {
  const Verdict v = judge(three_brokers().controller(-1).build(), slow_after(milliseconds(2000)));
  ASSERT_EQ(v.reasons.size(), 1u) << v;
  EXPECT_EQ(v.reasons[0], (Reason{"controller_unknown", 1, "metadata names no controller (controller id -1)", true}));
}

TEST(Responsiveness, ReasonsStayInCanonicalOrder) {
  // A missing expected broker (brokers_missing) comes before brokers_unresponsive, which comes before
  // controller_unknown and min_isr_unknown_topics.
  Policy p = slow_after(milliseconds(2000));
  p.expected_brokers = {1, 2, 3, 4};
  auto s = three_brokers().controller(-1).response(2, milliseconds(5000));
  auto snap = s.build();
  snap.topics[0].min_insync_replicas.reset();
  std::vector<std::string> codes;
  for (const auto& r : judge(snap, p).reasons) codes.push_back(r.code);
  EXPECT_EQ(codes, (std::vector<std::string>{"brokers_missing", "brokers_unresponsive", "controller_unknown",
                                             "min_isr_unknown_topics"}));
}

}  // namespace
}  // namespace isrguard::service
