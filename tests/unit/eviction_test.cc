// The eviction webhook's pure parts: pod -> broker rules, grants, the decision and its message
// (service/judge/eviction.h), and the AdmissionReview contract (service/views/admission.h).
#include "service/judge/eviction.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "service/judge/reasons.h"
#include "service/views/admission.h"
#include "service/views/kube_pod.h"
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

using Source = BrokerIdKeyRule::Source;

TEST(BrokerIdKeyRule, ParsesNamespaceAndKey) {
  std::string error;
  EXPECT_EQ(parse_broker_id_key_rule("kafka=isrguard.io/broker-id", Source::kLabel, &error),
            (BrokerIdKeyRule{"kafka", Source::kLabel, "isrguard.io/broker-id"}));
  EXPECT_EQ(parse_broker_id_key_rule("kafka-prod=broker.id", Source::kAnnotation, &error),
            (BrokerIdKeyRule{"kafka-prod", Source::kAnnotation, "broker.id"}));
  for (const char* bad : {"kafka", "=broker.id", "kafka=", " kafka=broker.id", "Kafka=broker.id",
                          "kafka/x=broker.id", "kafka=broker id", "kafka=-broker", "kafka=/broker",
                          "kafka=a/b/c", "kafka=Example.com/x", "kafka=x/", "-kafka=x"}) {
    error.clear();
    EXPECT_FALSE(parse_broker_id_key_rule(bad, Source::kLabel, &error)) << bad;
    EXPECT_NE(error.find("broker id label rule '"), std::string::npos) << bad << ": " << error;
  }
  EXPECT_FALSE(parse_broker_id_key_rule("kafka=" + std::string(64, 'a'), Source::kLabel, &error));
  EXPECT_TRUE(parse_broker_id_key_rule("kafka=" + std::string(63, 'a'), Source::kLabel, &error));
  EXPECT_FALSE(parse_broker_id_key_rule(std::string(64, 'a') + "=x", Source::kLabel, &error));
}

TEST(BrokerIdKeyRule, BrokerIdValuesAreCanonicalNonNegativeInt32) {
  EXPECT_EQ(parse_broker_id_value("0"), 0);
  EXPECT_EQ(parse_broker_id_value("101"), 101);
  EXPECT_EQ(parse_broker_id_value("2147483647"), 2147483647);
  for (const char* bad :
       {"", " ", "-1", "+1", "01", "1 ", " 1", "1.0", "x", "2147483648", "99999999999", "0x10"})
    EXPECT_EQ(parse_broker_id_value(bad), std::nullopt) << "'" << bad << "'";
}

// Annotation values and API server messages go into denial messages: printable ASCII only, capped.
TEST(BrokerIdKeyRule, PrintableExcerptReplacesOtherBytesAndMarksTheCut) {
  EXPECT_EQ(printable_excerpt("broker 7", 64), "broker 7");
  EXPECT_EQ(printable_excerpt(std::string("a\nb\x01\x7f\xc3\xa9"), 64), "a?b????");
  EXPECT_EQ(printable_excerpt("abcdef", 4), "abcd...");
  EXPECT_EQ(printable_excerpt("abcd", 4), "abcd");
  EXPECT_EQ(printable_excerpt("", 4), "");
}

TEST(BrokerIdKeyRule, RuleOfANamespace) {
  const std::vector<BrokerIdKeyRule> rules = {{"kafka", Source::kLabel, "a"},
                                              {"other", Source::kAnnotation, "b"}};
  EXPECT_EQ(broker_id_key_rule_for(rules, "other"), &rules[1]);
  EXPECT_EQ(broker_id_key_rule_for(rules, "kafk"), nullptr);
}

PodLookup found(std::map<std::string, std::string, std::less<>> labels,
                std::map<std::string, std::string, std::less<>> annotations = {}) {
  return {PodLookup::Status::kOk, PodMetadata{std::move(labels), std::move(annotations)}, ""};
}

// The precedence table of docs/deploy.md ("Which pod is which broker"), row by row.
TEST(MapPodByMetadata, KeyPresentDecidesAbsentFallsBackToTheNameAndFailuresDeny) {
  const BrokerIdKeyRule label{"kafka", Source::kLabel, "isrguard.io/broker-id"};
  const BrokerIdKeyRule annotation{"kafka", Source::kAnnotation, "isrguard.io/broker-id"};
  const auto id = [](const PodBroker& b) { return b.broker; };
  EXPECT_EQ(id(map_pod_by_metadata(label, found({{"isrguard.io/broker-id", "7"}}), std::nullopt)), 7);
  EXPECT_EQ(id(map_pod_by_metadata(label, found({{"isrguard.io/broker-id", "7"}}), 7)), 7);
  EXPECT_EQ(id(map_pod_by_metadata(label, found({}), 3)), 3);
  EXPECT_EQ(map_pod_by_metadata(label, found({}), std::nullopt).reason, "not_a_broker");
  EXPECT_FALSE(map_pod_by_metadata(label, found({}), std::nullopt).denied());
  // The annotation rule reads annotations only.
  EXPECT_EQ(map_pod_by_metadata(annotation, found({{"isrguard.io/broker-id", "7"}}), std::nullopt).reason,
            "not_a_broker");
  EXPECT_EQ(id(map_pod_by_metadata(annotation, found({}, {{"isrguard.io/broker-id", "8"}}), std::nullopt)),
            8);
  const PodBroker invalid = map_pod_by_metadata(label, found({{"isrguard.io/broker-id", "seven"}}), 7);
  EXPECT_TRUE(invalid.denied());
  EXPECT_EQ(invalid.reason, "broker_id_invalid");
  const PodBroker conflict = map_pod_by_metadata(label, found({{"isrguard.io/broker-id", "8"}}), 7);
  EXPECT_TRUE(conflict.denied());
  EXPECT_EQ(conflict.reason, "broker_id_conflict");
  const PodBroker shown = map_pod_by_metadata(
      annotation, found({}, {{"isrguard.io/broker-id", std::string("\x01") + std::string(100, 'a')}}),
      std::nullopt);
  EXPECT_EQ(shown.detail.find('\x01'), std::string::npos);
  EXPECT_NE(shown.detail.find("...'"), std::string::npos) << shown.detail;
}

TEST(MapPodByMetadata, EveryFailedReadIsADenialWithItsOwnReasonEvenWhenTheNameMaps) {
  using S = PodLookup::Status;
  const BrokerIdKeyRule label{"kafka", Source::kLabel, "k"};
  const std::vector<std::pair<S, std::string>> rows = {{S::kTimeout, "pod_read_timeout"},
                                                       {S::kFailed, "pod_read_failed"},
                                                       {S::kUnauthorized, "pod_read_unauthorized"},
                                                       {S::kForbidden, "pod_read_forbidden"},
                                                       {S::kNotFound, "pod_not_found"},
                                                       {S::kServerError, "pod_read_server_error"},
                                                       {S::kInvalid, "pod_read_invalid"},
                                                       {S::kTooLarge, "pod_read_too_large"}};
  std::set<std::string> reasons;
  for (const auto& [status, reason] : rows) {
    const PodBroker b = map_pod_by_metadata(label, PodLookup{status, {}, "what failed"}, 3);
    EXPECT_TRUE(b.denied()) << reason;
    EXPECT_EQ(b.reason, reason);
    EXPECT_EQ(b.detail, "what failed");
    reasons.insert(b.reason);
  }
  EXPECT_EQ(reasons.size(), rows.size());
}

TEST(KubePod, ResponsesToLookups) {
  using S = PodLookup::Status;
  const std::string pod = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"b","namespace":"kafka",)"
                          R"("labels":{"k":"1"}}})";
  const PodLookup ok = pod_lookup_from_response(200, pod, "kafka", "b");
  EXPECT_EQ(ok, found({{"k", "1"}}));
  EXPECT_EQ(pod_lookup_from_response(
                200, R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"b","namespace":"kafka"}})",
                "kafka", "b"),
            found({}));
  EXPECT_EQ(pod_lookup_from_response(200, pod, "kafka", "c").status, S::kInvalid);
  EXPECT_EQ(pod_lookup_from_response(200, std::string(kMaxPodBytes + 1, ' '), "kafka", "b").status,
            S::kTooLarge);
  const PodLookup forbidden = pod_lookup_from_response(
      403, R"({"kind":"Status","message":"pods \"b\" is forbidden\n"})", "kafka", "b");
  EXPECT_EQ(forbidden.status, S::kForbidden);
  EXPECT_EQ(forbidden.detail, "GET /api/v1/namespaces/kafka/pods/b: HTTP 403: pods \"b\" is forbidden?");
  EXPECT_EQ(pod_lookup_from_response(502, "<html>", "kafka", "b").detail,
            "GET /api/v1/namespaces/kafka/pods/b: HTTP 502");
  const PodLookup long_message =
      pod_lookup_from_response(500, R"({"message":")" + std::string(1000, 'm') + R"("})", "kafka", "b");
  EXPECT_LT(long_message.detail.size(), kMaxStatusMessageChars + 60);
}

TEST(KubePod, OnlyKubernetesNamesGoIntoThePath) {
  EXPECT_TRUE(is_pod_path_safe("kafka", "kafka-0.x"));
  for (const auto& [ns, name] :
       std::vector<std::pair<std::string, std::string>>{{"kafka", ""},
                                                        {"", "a"},
                                                        {"kafka", "../secrets"},
                                                        {"kafka", "a/b"},
                                                        {"kafka", "a?b"},
                                                        {"kafka", ".."},
                                                        {"kafka", "A"},
                                                        {"kafka", "a%2f"},
                                                        {"kafka", std::string(254, 'a')}})
    EXPECT_FALSE(is_pod_path_safe(ns, name)) << ns << "/" << name;
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
