// The eviction webhook's pure parts: pod -> broker rules, grants, the decision and its message
// (service/judge/eviction.h), and the AdmissionReview contract (service/views/admission.h).
#include "service/judge/eviction.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "service/judge/reasons.h"
#include "service/views/admission.h"
#include "tests/support/builders.h"

namespace isrguard::service {
namespace {

using testing::healthy_topic;
using testing::SnapshotBuilder;
using Ids = std::vector<BrokerId>;

const WallClock::time_point kNow{std::chrono::hours(500000)};

BrokerPodRule rule(const std::string& text) {
  std::string error;
  auto r = parse_broker_pod_rule(text, &error);
  EXPECT_TRUE(r) << error;
  return r.value_or(BrokerPodRule{});
}

TEST(BrokerPodRule, ParsesNamespacePrefixAndOffset) {
  EXPECT_EQ(rule("kafka/my-cluster-pool-a-"), (BrokerPodRule{"kafka", "my-cluster-pool-a-", 0}));
  EXPECT_EQ(rule("kafka/kafka-+100"), (BrokerPodRule{"kafka", "kafka-", 100}));
  std::string error;
  for (const char* bad : {"kafka", "/kafka-", "kafka/", "kafka/kafka-+x", "kafka/kafka-+", "kafka/kafka-+99999999999"})
    EXPECT_FALSE(parse_broker_pod_rule(bad, &error)) << bad;
  EXPECT_NE(error.find("broker pod rule"), std::string::npos);
}

TEST(BrokerPodRule, MapsOnlyNamesOfTheRule) {
  const std::vector<BrokerPodRule> rules = {rule("kafka/my-cluster-pool-a-"), rule("kafka/sts-+100")};
  EXPECT_EQ(broker_for_pod(rules, "kafka", "my-cluster-pool-a-7"), 7);
  EXPECT_EQ(broker_for_pod(rules, "kafka", "sts-2"), 102);
  EXPECT_EQ(broker_for_pod(rules, "other", "sts-2"), std::nullopt);
  EXPECT_EQ(broker_for_pod(rules, "kafka", "sts-"), std::nullopt);
  EXPECT_EQ(broker_for_pod(rules, "kafka", "sts-2a"), std::nullopt);
  EXPECT_EQ(broker_for_pod(rules, "kafka", "sts--2"), std::nullopt);
  EXPECT_EQ(broker_for_pod(rules, "kafka", "sts-1234567890"), std::nullopt);  // more than 9 digits
  EXPECT_EQ(broker_for_pod(rules, "kafka", "web-0"), std::nullopt);
}

// Brokers 1-6; "left" on {1,2,3}, "right" on {4,5,6}, min ISR 2.
struct Six {
  probes::ClusterSnapshot snapshot;
  Policy policy = Policy::with_defaults();
  Verdict verdict;
  explicit Six(bool broker_2_out = false) {
    SnapshotBuilder b;
    b.brokers({1, 2, 3, 4, 5, 6});
    testing::TopicBuilder left("left");
    left.min_isr(2);
    for (int i = 0; i < 3; ++i) {
      const Ids replicas = {Ids{1, 2, 3}[i % 3], Ids{1, 2, 3}[(i + 1) % 3], Ids{1, 2, 3}[(i + 2) % 3]};
      Ids isr = replicas;
      if (broker_2_out) std::erase(isr, 2);
      left.p(isr.front(), replicas, isr);
    }
    b.topic(left.build());
    b.topic(healthy_topic("right", 3, 3, {4, 5, 6}, 2));
    snapshot = b.build();
    policy.compile();
    verdict = judge(snapshot, policy);
  }
  EvictionDecision decide(BrokerId b, std::span<const EvictionGrant> pending = {},
                          std::vector<Reason> reasons = {}) const {
    EvictionView v{&snapshot, &verdict, &policy, reasons, DisruptionAcks{{}, kNow}, {}, pending};
    return decide_eviction(b, "kafka/kafka-" + std::to_string(b), v);
  }
};

TEST(EvictionDecision, SafeBrokerIsAllowed) {
  const auto d = Six(true).decide(4);
  EXPECT_TRUE(d.allowed) << d;
  EXPECT_EQ(d.reason, "safe");
}

TEST(EvictionDecision, DeniedMessageNamesBrokerPartitionsIsrAndRetry) {
  const auto d = Six(true).decide(1);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "partitions_blocking");
  EXPECT_NE(d.message.find("broker 1 (pod kafka/kafka-1)"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("ISR [1,3] -> [3] (min ISR 2, under_min_isr)"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("retry later"), std::string::npos) << d.message;
}

TEST(EvictionDecision, PendingGrantCountsAsDown) {
  const Six six;
  const std::vector<EvictionGrant> pending = {{5, kNow, false}};
  EXPECT_TRUE(six.decide(4).allowed);
  const auto d = six.decide(4, pending);
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.message.find("5 eviction granted, not back in sync"), std::string::npos) << d.message;
  EXPECT_TRUE(six.decide(1, pending).allowed);  // shares nothing with 5
}

TEST(EvictionDecision, FreezeAndProbeFailureDenyWithTheirCode) {
  const Six six;
  for (std::string_view code : {reason::kOverrideFreeze, reason::kProbeFailed, reason::kSnapshotStale}) {
    const auto d = six.decide(4, {}, {Reason{std::string(code), 1, "detail", true}});
    EXPECT_FALSE(d.allowed) << code;
    EXPECT_EQ(d.reason, code);
    EXPECT_NE(d.message.find("retry later"), std::string::npos);
  }
}

TEST(EvictionGrants, EndWhenSeenDownThenBackInSync) {
  EvictionGrants g(std::chrono::minutes(10));
  ASSERT_TRUE(g.record(1, kNow));
  const Six healthy, out(true);
  g.observe(healthy.verdict, kNow + std::chrono::seconds(1));  // not stopped yet: kept
  ASSERT_EQ(g.pending().size(), 1u);
  g.observe(out.verdict, kNow + std::chrono::seconds(2));  // broker 2 out of sync, not 1: kept, not down
  EXPECT_FALSE(g.pending().front().seen_down);
  SnapshotBuilder b;
  b.brokers({2, 3, 4, 5, 6});
  b.topic(healthy_topic("right", 3, 3, {4, 5, 6}, 2));
  Policy p = Policy::with_defaults();
  p.compile();
  g.observe(judge(b.build(), p), kNow + std::chrono::seconds(3));  // 1 absent: seen down
  EXPECT_TRUE(g.pending().front().seen_down);
  g.observe(healthy.verdict, kNow + std::chrono::seconds(4));  // back, in sync: ended
  EXPECT_TRUE(g.pending().empty());
}

TEST(EvictionGrants, EndAfterTtlAndAreBounded) {
  EvictionGrants g(std::chrono::minutes(10), 2);
  EXPECT_TRUE(g.record(1, kNow));
  EXPECT_TRUE(g.record(2, kNow));
  EXPECT_TRUE(g.record(2, kNow));  // again: restarted, not added
  EXPECT_FALSE(g.record(3, kNow));
  g.observe(Six().verdict, kNow + std::chrono::minutes(10));
  EXPECT_TRUE(g.pending().empty());
}

nlohmann::json review(nlohmann::json request) {
  return {{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", std::move(request)}};
}

TEST(AdmissionReview, ParsesAnEviction) {
  const auto body = review({{"uid", "u1"},
                            {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
                            {"subResource", "eviction"},
                            {"operation", "CREATE"},
                            {"name", "kafka-1"},
                            {"namespace", "kafka"},
                            {"userInfo", {{"username", "admin"}}},
                            {"dryRun", true}})
                        .dump();
  std::string error;
  const auto r = parse_admission_review(body, &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(*r, (AdmissionRequest{"u1", "pods", "eviction", "CREATE", "kafka-1", "kafka", "admin", true}));
  EXPECT_TRUE(r->is_pod_eviction());
}

// kube-apiserver leaves request.dryRun false when the dry run is in the Eviction's deleteOptions (as kubectl drain
// --dry-run=server sends it); the eviction then deletes nothing, so isrguard must record no grant for it.
TEST(AdmissionReview, DryRunInTheEvictionsDeleteOptionsIsADryRun) {
  const auto eviction = [](nlohmann::json delete_options) {
    nlohmann::json object = {{"apiVersion", "policy/v1"}, {"kind", "Eviction"}, {"metadata", {{"name", "kafka-1"}}}};
    if (!delete_options.is_null()) object["deleteOptions"] = std::move(delete_options);
    return review({{"uid", "u"}, {"dryRun", false}, {"object", object}}).dump();
  };
  std::string error;
  const auto dry = parse_admission_review(eviction({{"dryRun", {"All"}}}), &error);
  ASSERT_TRUE(dry) << error;
  EXPECT_TRUE(dry->dry_run);
  for (const auto& options : {nlohmann::json(), nlohmann::json::object(), nlohmann::json{{"dryRun", nullptr}},
                              nlohmann::json{{"dryRun", nlohmann::json::array()}}}) {
    const auto real = parse_admission_review(eviction(options), &error);
    ASSERT_TRUE(real) << error;
    EXPECT_FALSE(real->dry_run) << options;
  }
  EXPECT_FALSE(parse_admission_review(eviction({{"dryRun", "All"}}), &error));
  EXPECT_EQ(error, "request.object.deleteOptions.dryRun must be a list of strings");
  EXPECT_FALSE(parse_admission_review(eviction({{"dryRun", {1}}}), &error));
}

TEST(AdmissionReview, RejectsWhatIsNotAReview) {
  std::string error;
  for (const std::string& bad :
       {std::string("{"), std::string("null"), review({{"uid", ""}}).dump(), review({{"uid", 1}}).dump(),
        review({{"uid", "u"}, {"dryRun", "yes"}}).dump(), std::string(kMaxAdmissionReviewBytes + 1, ' '),
        nlohmann::json{{"apiVersion", "admission.k8s.io/v1beta1"}, {"kind", "AdmissionReview"}}.dump()}) {
    EXPECT_FALSE(parse_admission_review(bad, &error)) << bad.substr(0, 60);
    EXPECT_FALSE(error.empty());
  }
}

TEST(AdmissionReview, AnswerEchoesUidAndDeniesWith429) {
  const auto denied = nlohmann::json::parse(admission_response("u1", false, 429, "why"));
  EXPECT_EQ(denied, (nlohmann::json{{"apiVersion", "admission.k8s.io/v1"},
                                    {"kind", "AdmissionReview"},
                                    {"response",
                                     {{"uid", "u1"},
                                      {"allowed", false},
                                      {"status",
                                       {{"code", 429}, {"message", "why"}, {"reason", "TooManyRequests"},
                                        {"status", "Failure"}}}}}}));
  const auto allowed = nlohmann::json::parse(admission_response("u2", true, 429, ""));
  EXPECT_EQ(allowed["response"], (nlohmann::json{{"uid", "u2"}, {"allowed", true}}));
}

}  // namespace
}  // namespace isrguard::service
