#include "service/judge/overrides.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "service/config/overrides_yaml.h"
#include "service/judge/wall_time.h"
#include "service/runtime/overrides_file.h"
#include "service/runtime/probe_loop.h"
#include "service/judge/reasons.h"
#include "service/views/status_report.h"
#include "tests/support/builders.h"
#include "tests/support/scripted_source.h"

namespace isrguard::service {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::healthy_topic;
using testing::SnapshotBuilder;
using testing::TopicBuilder;

// 2026-11-30T00:00:00Z: every test's "now".
const WallClock::time_point kNow = *parse_rfc3339("2026-11-30T00:00:00Z");
constexpr milliseconds kTtl = hours(24);

std::string ack(const std::string& reason, const std::string& scope_line,
                const std::string& expires = "2026-11-30T06:00:00Z") {
  return "  - action: acknowledge\n    reason: " + reason + "\n" + scope_line + "    expires: " + expires +
         "\n    by: sre\n    why: known\n";
}
const std::string kFreeze =
    "  - action: freeze\n    expires: 2026-11-30T02:00:00Z\n    by: platform\n    why: \"upgrade, CHG-1\"\n";

Override freeze_until(const std::string& t, int line = 2) {
  Override o;
  o.action = OverrideAction::kFreeze;
  o.expires = *parse_rfc3339(t);
  o.by = "platform";
  o.why = "upgrade, CHG-1";
  o.line = line;
  return o;
}
Override ack_of(const std::string& reason, OverrideScope scope,
                const std::string& t = "2026-11-30T06:00:00Z") {
  Override o;
  o.action = OverrideAction::kAcknowledge;
  o.reason = reason;
  o.scope = std::move(scope);
  o.expires = *parse_rfc3339(t);
  o.by = "sre";
  o.why = "known";
  o.line = 2;
  return o;
}

// ---- parsing ----

TEST(OverridesParse, ReadsFreezeAndScopedAcknowledgement) {
  const auto p = parse_overrides(
      "overrides:\n" + kFreeze + ack("brokers_missing", "    brokers: [3, 3, 1]\n"), kNow, kTtl);
  Override a = ack_of("brokers_missing", OverrideScope{{1, 3}, {}, {}});
  a.line = 6;
  EXPECT_EQ(p, (OverridesParse{std::vector<Override>{freeze_until("2026-11-30T02:00:00Z"), a}, ""}));
}

TEST(OverridesParse, ReadsTopicAndPartitionScopes) {
  const auto p = parse_overrides("overrides:\n" + ack("offline_partitions", "    topics: [test-rf1]\n") +
                                     ack("under_replicated_partitions", "    partitions: [my-topic-12]\n"),
                                 kNow, kTtl);
  ASSERT_TRUE(p.overrides) << p;
  EXPECT_EQ(p.overrides->at(0).scope, (OverrideScope{{}, {"test-rf1"}, {}}));
  EXPECT_EQ(p.overrides->at(1).scope, (OverrideScope{{}, {}, {PartitionRef{"my-topic", 12}}}));
}

TEST(OverridesParse, EmptyDocumentsAreValidAndEmpty) {
  for (const char* text : {"", "# nothing\n", "overrides:\n", "overrides: []\n"}) {
    EXPECT_EQ(parse_overrides(text, kNow, kTtl), (OverridesParse{std::vector<Override>{}, ""})) << text;
  }
}

struct InvalidCase {
  std::string name;
  std::string text;
  std::string error;  // exact message
};

class OverridesInvalid : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(OverridesInvalid, GivesAPreciseMessage) {
  const auto p = parse_overrides(GetParam().text, kNow, kTtl);
  EXPECT_EQ(p, (OverridesParse{std::nullopt, GetParam().error}));
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Cases, OverridesInvalid, ::testing::Values(
  InvalidCase{"Syntax", "overrides:\n  - action: freeze\n    expires: [\n",
              "line 4: YAML syntax: end of sequence flow not found"},
  InvalidCase{"NotAMapping", "- 1\n", "line 1: document: must be a mapping with the key 'overrides'"},
  InvalidCase{"UnknownTopKey", "override:\n  - action: freeze\n", "line 1: override: unknown key (only 'overrides')"},
  InvalidCase{"ListNotSequence", "overrides: freeze\n", "line 1: overrides: must be a list of entries"},
  InvalidCase{"EntryNotMapping", "overrides:\n  - freeze\n",
              "line 2: overrides[0]: must be a mapping with action, expires, by, why"},
  InvalidCase{"MissingAction", "overrides:\n  - by: x\n", "line 2: overrides[0].action: required"},
  InvalidCase{"UnknownAction", "overrides:\n  - action: frezze\n",
              "line 2: overrides[0].action: unknown action 'frezze' (freeze, acknowledge)"},
  InvalidCase{"UnknownReason", "overrides:\n" + ack("broker_missing", ""),
              "line 3: overrides[0].reason: unknown reason: 'broker_missing' (one of offline_partitions, "
              "under_replicated_partitions, under_min_isr_partitions, at_min_isr_partitions, brokers_missing, "
              "brokers_unresponsive, brokers_reconnected, controller_unknown, "
              "metadata_errors, min_isr_risk_topics, min_isr_unknown_topics)"},
  InvalidCase{"ProbeFailedCannotBeAcknowledged", "overrides:\n" + ack("probe_failed", ""),
              "line 3: overrides[0].reason: reason cannot be acknowledged: 'probe_failed' (one of "
              "offline_partitions, under_replicated_partitions, under_min_isr_partitions, at_min_isr_partitions, "
              "brokers_missing, brokers_unresponsive, brokers_reconnected, controller_unknown, metadata_errors, "
              "min_isr_risk_topics, min_isr_unknown_topics)"},
  InvalidCase{"UnresponsiveByTopic", "overrides:\n" + ack("brokers_unresponsive", "    topics: [orders]\n"),
              "line 4: overrides[0].topics: reason brokers_unresponsive cannot be scoped by topics "
              "(brokers_unresponsive takes brokers)"},
  InvalidCase{"MissingReason", "overrides:\n  - action: acknowledge\n    expires: 2026-11-30T06:00:00Z\n",
              "line 2: overrides[0].reason: required"},
  InvalidCase{"MissingBy", "overrides:\n  - action: freeze\n    expires: 2026-11-30T06:00:00Z\n    why: w\n",
              "line 2: overrides[0].by: required"},
  InvalidCase{"EmptyWhy", "overrides:\n  - action: freeze\n    expires: 2026-11-30T06:00:00Z\n    by: x\n    why: \"  \"\n",
              "line 5: overrides[0].why: must not be empty"},
  InvalidCase{"MissingExpires", "overrides:\n  - action: freeze\n    by: x\n    why: w\n",
              "line 2: overrides[0].expires: required"},
  InvalidCase{"MalformedExpires", "overrides:\n  - action: freeze\n    expires: tomorrow\n    by: x\n    why: w\n",
              "line 3: overrides[0].expires: not an RFC 3339 time (e.g. 2026-12-01T06:00:00Z): 'tomorrow'"},
  InvalidCase{"ImpossibleDate", "overrides:\n  - action: freeze\n    expires: 2026-11-31T06:00:00Z\n    by: x\n    why: w\n",
              "line 3: overrides[0].expires: not an RFC 3339 time (e.g. 2026-12-01T06:00:00Z): '2026-11-31T06:00:00Z'"},
  InvalidCase{"ExpiresInThePast", "overrides:\n  - action: freeze\n    expires: 2026-11-29T23:59:59Z\n    by: x\n    why: w\n",
              "line 3: overrides[0].expires: 2026-11-29T23:59:59Z is in the past; remove expired entries"},
  InvalidCase{"TtlTooLong", "overrides:\n  - action: freeze\n    expires: 2026-12-01T00:00:01Z\n    by: x\n    why: w\n",
              "line 3: overrides[0].expires: 2026-12-01T00:00:01Z is more than the allowed 24h0m ahead "
              "(--max-override-ttl)"},
  InvalidCase{"TypoedScopeKeyWouldWidenTheScope", "overrides:\n" + ack("brokers_missing", "    broker: [3]\n"),
              "line 4: overrides[0].broker: unknown key for acknowledge (action, brokers, by, expires, partitions, "
              "reason, topics, why)"},
  InvalidCase{"FreezeTakesNoScope", "overrides:\n  - action: freeze\n    brokers: [3]\n",
              "line 3: overrides[0].brokers: unknown key for freeze (action, by, expires, why)"},
  InvalidCase{"DuplicateKey", "overrides:\n  - action: freeze\n    by: a\n    by: b\n",
              "line 4: overrides[0].by: given twice"},
  InvalidCase{"EmptyScopeList", "overrides:\n" + ack("brokers_missing", "    brokers: []\n"),
              "line 4: overrides[0].brokers: empty list; omit the field to acknowledge the whole reason"},
  InvalidCase{"BadBrokerId", "overrides:\n" + ack("brokers_missing", "    brokers: [3, x]\n"),
              "line 4: overrides[0].brokers[1]: not a broker id (a non-negative integer): 'x'"},
  InvalidCase{"ScopeDoesNotFitReason", "overrides:\n" + ack("brokers_missing", "    topics: [orders]\n"),
              "line 4: overrides[0].topics: reason brokers_missing cannot be scoped by topics "
              "(brokers_missing takes brokers)"},
  InvalidCase{"TwoScopes", "overrides:\n" + ack("offline_partitions", "    brokers: [3]\n    topics: [a]\n"),
              "line 5: overrides[0].topics: use one of brokers, topics, partitions per entry (write two entries)"},
  InvalidCase{"BadTopicName", "overrides:\n" + ack("offline_partitions", "    topics: [\"a b\"]\n"),
              "line 4: overrides[0].topics[0]: not a topic name (1-249 of a-z A-Z 0-9 . _ -): 'a b'"},
  InvalidCase{"BadPartition", "overrides:\n" + ack("offline_partitions", "    partitions: [orders]\n"),
              "line 4: overrides[0].partitions[0]: not a partition written topic-N (e.g. orders-3): 'orders'"},
  InvalidCase{"SecondEntryInvalidSpoilsTheFile", "overrides:\n" + kFreeze + "  - action: thaw\n",
              "line 6: overrides[1].action: unknown action 'thaw' (freeze, acknowledge)"}),
  [](const auto& info) { return info.param.name; });
// clang-format on

TEST(OverridesParse, TooManyEntriesIsAnError) {
  std::string text = "overrides:\n";
  for (std::size_t i = 0; i <= kMaxOverrides; ++i) text += kFreeze;
  EXPECT_EQ(parse_overrides(text, kNow, kTtl).error, "line 2: overrides: more than 64 entries");
}

TEST(OverridesParse, Rfc3339Forms) {
  EXPECT_EQ(parse_rfc3339("2026-11-30T02:00:00+02:00"), parse_rfc3339("2026-11-30T00:00:00Z"));
  EXPECT_EQ(*parse_rfc3339("2026-11-30T00:00:00.250Z") - kNow, milliseconds(250));
  for (const char* bad : {"2026-11-30", "2026-11-30T00:00:00", "2026-13-01T00:00:00Z", "2026-11-30T24:00:00Z",
                          "2026-11-30T00:00:00Zjunk", "2026-11-30T00:00:00+0200"})
    EXPECT_EQ(parse_rfc3339(bad), std::nullopt) << bad;
}

// ---- applying: scoping ----

Policy policy123() {
  Policy p = Policy::with_defaults();
  p.expected_brokers = {1, 2, 3, 4};
  p.compile();
  return p;
}

// Brokers 3 and (optionally) 4 lost; "orders" lost replica 3 on two partitions; "test" has RF1 on broker 3.
Verdict lost(bool also_4, std::size_t list_cap = 128) {
  auto b = SnapshotBuilder().brokers(also_4 ? std::vector<BrokerId>{1, 2} : std::vector<BrokerId>{1, 2, 4});
  TopicBuilder orders("orders");
  orders.min_isr(2).p(1, {1, 2, 3}, {1, 2}).p(2, {2, 3, 1}, {2, 1});
  if (also_4) orders.p(1, {1, 4, 2}, {1, 2});
  b.topic(orders).topic(TopicBuilder("test").min_isr(1).p(-1, {3}, {3}, {5, "LEADER_NOT_AVAILABLE"}));
  Policy p = policy123();
  p.list_cap = list_cap;
  return judge(b.build(), p);
}

const Reason* find(const std::vector<Reason>& rs, std::string_view code) {
  for (const auto& r : rs)
    if (r.code == code) return &r;
  return nullptr;
}
std::vector<std::string> gating(const std::vector<Reason>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs)
    if (r.gating) out.push_back(r.code);
  return out;
}

TEST(OverridesApply, AcknowledgedBrokerStopsGatingButAnotherBrokerStillGates) {
  const std::vector<Override> acks = {ack_of("brokers_missing", OverrideScope{{3}, {}, {}})};
  const Verdict one = lost(false);
  const auto after_one = apply_overrides(one.reasons, &one, acks, kNow);
  ASSERT_NE(find(after_one, reason::kBrokersMissing), nullptr);
  EXPECT_FALSE(find(after_one, reason::kBrokersMissing)->gating);
  EXPECT_EQ(
      find(after_one, reason::kBrokersMissing)->detail.rfind("acknowledged by sre: 1 broker missing", 0), 0u)
      << find(after_one, reason::kBrokersMissing)->detail;

  const Verdict two = lost(true);
  const auto after_two = apply_overrides(two.reasons, &two, acks, kNow);
  EXPECT_TRUE(find(after_two, reason::kBrokersMissing)->gating);
  EXPECT_NE(find(after_two, reason::kBrokersMissing)->detail.find("1 of 2 acknowledged by sre"),
            std::string::npos);
}

TEST(OverridesApply, BrokerScopeOnPartitionReasonsCoversOnlyPartitionsExplainedByThoseBrokers) {
  const std::vector<Override> acks = {ack_of("under_replicated_partitions", OverrideScope{{3}, {}, {}}),
                                      ack_of("offline_partitions", OverrideScope{{3}, {}, {}})};
  const Verdict one = lost(false);
  EXPECT_EQ(gating(apply_overrides(one.reasons, &one, acks, kNow)),
            (std::vector<std::string>{"brokers_missing"}))
      << one;
  // With broker 4 gone too, orders-2 (replica 4 out of sync) is not explained by broker 3.
  const Verdict two = lost(true);
  EXPECT_EQ(gating(apply_overrides(two.reasons, &two, acks, kNow)),
            (std::vector<std::string>{"under_replicated_partitions", "brokers_missing"}));
}

TEST(OverridesApply, TopicScopeCoversOnlyThatTopic) {
  const Verdict v = lost(false);
  const auto test_only =
      apply_overrides(v.reasons, &v, {ack_of("offline_partitions", {{}, {"test"}, {}})}, kNow);
  EXPECT_FALSE(find(test_only, reason::kOfflinePartitions)->gating);
  const auto other =
      apply_overrides(v.reasons, &v, {ack_of("offline_partitions", {{}, {"orders"}, {}})}, kNow);
  EXPECT_TRUE(find(other, reason::kOfflinePartitions)->gating);
  const auto urp =
      apply_overrides(v.reasons, &v, {ack_of("under_replicated_partitions", {{}, {"test"}, {}})}, kNow);
  EXPECT_TRUE(find(urp, reason::kUnderReplicatedPartitions)->gating);
}

TEST(OverridesApply, PartitionScopeNeedsEveryAffectedPartition) {
  const Verdict v = lost(false);
  const auto some = apply_overrides(
      v.reasons, &v, {ack_of("under_replicated_partitions", {{}, {}, {PartitionRef{"orders", 0}}})}, kNow);
  EXPECT_TRUE(find(some, reason::kUnderReplicatedPartitions)->gating);
  const auto all = apply_overrides(v.reasons, &v,
                                   {ack_of("under_replicated_partitions",
                                           {{}, {}, {PartitionRef{"orders", 0}, PartitionRef{"orders", 1}}})},
                                   kNow);
  EXPECT_FALSE(find(all, reason::kUnderReplicatedPartitions)->gating);
}

TEST(OverridesApply, ACappedPartitionListNeverOpensTheGateForABrokerOrPartitionScope) {
  const Verdict capped = lost(false, /*list_cap=*/1);
  ASSERT_LT(capped.unhealthy_partitions.size(), static_cast<std::size_t>(capped.unhealthy_partitions_total));
  const auto by_broker =
      apply_overrides(capped.reasons, &capped, {ack_of("under_replicated_partitions", {{3}, {}, {}})}, kNow);
  EXPECT_TRUE(find(by_broker, reason::kUnderReplicatedPartitions)->gating);
  EXPECT_NE(find(by_broker, reason::kUnderReplicatedPartitions)->detail.find("capped"), std::string::npos);
  // A topic scope is proven from the uncapped per-topic counts.
  const auto by_topic = apply_overrides(capped.reasons, &capped,
                                        {ack_of("under_replicated_partitions", {{}, {"orders"}, {}})}, kNow);
  EXPECT_FALSE(find(by_topic, reason::kUnderReplicatedPartitions)->gating);
}

TEST(OverridesApply, WholeReasonAcknowledgementAndNoVerdict) {
  const Verdict v = lost(true);
  const auto whole = apply_overrides(v.reasons, &v, {ack_of("brokers_missing", {})}, kNow);
  EXPECT_FALSE(find(whole, reason::kBrokersMissing)->gating);
  // Nothing can be proven without a verdict: reasons unchanged.
  EXPECT_EQ(apply_overrides(v.reasons, nullptr, {ack_of("brokers_missing", {})}, kNow), v.reasons);
}

// Broker scope on brokers_unresponsive: every unresponsive broker must be named (before, only an unscoped
// entry could cover it, though the parser accepted a scope).
TEST(OverridesApply, UnresponsiveBrokersAreCoveredByBrokerScope) {
  Verdict v = lost(false);
  v.brokers[0].unresponsive = true;  // broker 1
  v.brokers[1].unresponsive = true;  // broker 2
  v.reasons = {Reason{std::string(reason::kBrokersUnresponsive), 2, "2 brokers not answering", true}};
  EXPECT_EQ(gating(apply_overrides(v.reasons, &v,
                                   {ack_of("brokers_unresponsive", OverrideScope{{1, 2}, {}, {}})}, kNow)),
            std::vector<std::string>{});
  const auto partly =
      apply_overrides(v.reasons, &v, {ack_of("brokers_unresponsive", OverrideScope{{1}, {}, {}})}, kNow);
  EXPECT_EQ(gating(partly), std::vector<std::string>{"brokers_unresponsive"});
  EXPECT_NE(partly[0].detail.find("1 of 2 acknowledged by sre"), std::string::npos) << partly[0].detail;
}

TEST(OverridesApply, ProbeFailedIsNeverAcknowledged) {
  const std::vector<Reason> rs = {Reason{"probe_failed", 1, "timeout", true}};
  Override o = ack_of("probe_failed", {});  // cannot come from the parser; apply must refuse it anyway
  const Verdict v = lost(false);
  EXPECT_EQ(apply_overrides(rs, &v, {o}, kNow), rs);
}

TEST(OverridesApply, FreezeAddsAGatingReasonEvenWhenHealthy) {
  const auto rs = apply_overrides({}, nullptr, {freeze_until("2026-11-30T02:00:00Z")}, kNow);
  EXPECT_EQ(rs, (std::vector<Reason>{
                    Reason{"override_freeze", 1, "frozen by platform (upgrade, CHG-1), 2h0m left", true}}));
}

// ---- expiry with an injected clock ----

TEST(OverridesExpiry, SplitsAtNow) {
  const std::vector<Override> all = {freeze_until("2026-11-30T02:00:00Z"),
                                     ack_of("brokers_missing", {{3}, {}, {}}, "2026-11-30T06:00:00Z")};
  EXPECT_EQ(split_expired(all, kNow), (OverridesAt{all, {}}));
  EXPECT_EQ(split_expired(all, kNow + hours(2)), (OverridesAt{{all[1]}, {all[0]}}));
  EXPECT_EQ(split_expired(all, kNow + hours(7)), (OverridesAt{{}, all}));
}

TEST(OverridesFile, ExpiredEntriesAreReportedAndIgnored) {
  OverridesFile f("/overrides.yaml", kTtl);
  const std::string text = "overrides:\n" + kFreeze;
  EXPECT_EQ(f.offer(FileRead{text, ""}, kNow).active.size(), 1u);
  const auto& later = f.offer(FileRead{text, ""}, kNow + hours(3));
  EXPECT_TRUE(later.active.empty());
  EXPECT_EQ(later.expired, (std::vector<Override>{freeze_until("2026-11-30T02:00:00Z")}));
  EXPECT_TRUE(later.valid);  // the same content is not re-parsed, so its past expiry is not an error
}

// ---- entries whose expiry has passed when the file is (re-)read ----

// An isrguard restart re-reads a file that still holds a naturally expired entry (an old acknowledgement):
// the still-valid freeze in the same file must stay in force.
TEST(OverridesFile, RestartWithAnExpiredEntryKeepsTheValidFreeze) {
  OverridesFile f("/overrides.yaml", kTtl);
  const std::string text = "overrides:\n" +
                           ack("brokers_missing", "    brokers: [3]\n", "2026-11-29T18:00:00Z") +
                           "  - action: freeze\n    expires: 2026-11-30T02:00:00Z\n    by: platform\n"
                           "    why: \"upgrade, CHG-1\"\n";
  const auto& s = f.offer(FileRead{text, ""}, kNow);
  EXPECT_TRUE(s.valid) << s.error;
  EXPECT_EQ(s.active, (std::vector<Override>{freeze_until("2026-11-30T02:00:00Z", 8)}));
  EXPECT_EQ(s.expired,
            (std::vector<Override>{ack_of("brokers_missing", {{3}, {}, {}}, "2026-11-29T18:00:00Z")}));
  EXPECT_EQ(s.loaded_at, kNow);
  EXPECT_EQ(s.reload_errors, 0u);
}

// An entry that expired while loaded stays merely expired when the file is re-read for another edit.
TEST(OverridesFile, AnEntryThatExpiredWhileLoadedDoesNotInvalidateALaterEdit) {
  OverridesFile f("/overrides.yaml", kTtl);
  f.offer(FileRead{"overrides:\n" + kFreeze, ""}, kNow);
  const std::string edited =
      "overrides:\n" + kFreeze + ack("brokers_missing", "    brokers: [3]\n", "2026-11-30T06:00:00Z");
  const auto& s = f.offer(FileRead{edited, ""}, kNow + hours(3));  // the freeze expired at 02:00
  EXPECT_TRUE(s.valid) << s.error;
  Override acknowledged = ack_of("brokers_missing", {{3}, {}, {}});
  acknowledged.line = 6;
  EXPECT_EQ(s.active, (std::vector<Override>{acknowledged}));
  EXPECT_EQ(s.expired, (std::vector<Override>{freeze_until("2026-11-30T02:00:00Z")}));
}

TEST(OverridesFile, ANewEntryWithAPastExpiryAtRuntimeIsAnErrorAndKeepsTheLastValidSet) {
  OverridesFile f("/overrides.yaml", kTtl);
  f.offer(FileRead{"overrides:\n" + kFreeze, ""}, kNow);
  const std::string typo =
      "overrides:\n" + kFreeze + ack("brokers_missing", "    brokers: [3]\n", "2026-11-29T06:00:00Z");
  const auto& s = f.offer(FileRead{typo, ""}, kNow + minutes(1));
  EXPECT_FALSE(s.valid);
  EXPECT_EQ(s.error,
            "line 9: overrides[1].expires: 2026-11-29T06:00:00Z is in the past; remove expired entries");
  EXPECT_EQ(s.active, (std::vector<Override>{freeze_until("2026-11-30T02:00:00Z")}));
  EXPECT_EQ(s.reload_errors, 1u);
}

// A valid set that is empty is still a valid set: a new past entry is a typo.
TEST(OverridesFile, APastEntryAfterAnEmptyValidSetIsAnError) {
  OverridesFile f("/overrides.yaml", kTtl);
  f.offer(FileRead{"overrides: []\n", ""}, kNow);
  const auto& s = f.offer(FileRead{"overrides:\n" + kFreeze, ""}, kNow + hours(3));
  EXPECT_FALSE(s.valid);
  EXPECT_TRUE(s.active.empty());
  EXPECT_TRUE(s.expired.empty());
}

// Before any valid set, an invalid file followed by a fix with an expired entry: start-up rules still apply.
TEST(OverridesFile, PastEntriesAreToleratedUntilAValidSetIsLoaded) {
  OverridesFile f("/overrides.yaml", kTtl);
  EXPECT_FALSE(f.offer(FileRead{"overrides: [\n", ""}, kNow).valid);
  const std::string fixed = "overrides:\n" + ack("brokers_missing", "", "2026-11-29T06:00:00Z") + kFreeze;
  const auto& s = f.offer(FileRead{fixed, ""}, kNow + seconds(5));
  EXPECT_TRUE(s.valid) << s.error;
  EXPECT_EQ(s.active.size(), 1u);
  EXPECT_EQ(s.expired.size(), 1u);
}

TEST(OverridesParse, PastExpiryIsToleratedOnlyForTheGivenEntriesOrAtStartUp) {
  const std::string text = "overrides:\n" + kFreeze;
  const auto later = kNow + hours(3);
  EXPECT_FALSE(parse_overrides(text, later, kTtl).overrides);  // strict by default
  EXPECT_EQ(parse_overrides(text, later, kTtl, PastExpiry{true, {}}).overrides,
            (std::vector<Override>{freeze_until("2026-11-30T02:00:00Z")}));
  // Known from the last valid set, whatever line it sat on there.
  EXPECT_TRUE(parse_overrides(text, later, kTtl, PastExpiry{false, {freeze_until("2026-11-30T02:00:00Z", 7)}})
                  .overrides);
  // A different entry (another author) is new.
  Override other = freeze_until("2026-11-30T02:00:00Z");
  other.by = "someone-else";
  EXPECT_FALSE(parse_overrides(text, later, kTtl, PastExpiry{false, {other}}).overrides);
}

// ---- the "invalid file keeps the last valid set" rule ----

TEST(OverridesFile, InvalidFileKeepsTheLastValidSetAndCountsOnce) {
  OverridesFile f("/overrides.yaml", kTtl);
  const std::string good = "overrides:\n" + kFreeze;
  f.offer(FileRead{good, ""}, kNow);
  const auto& bad = f.offer(FileRead{"overrides:\n  - action: thaw\n", ""}, kNow + seconds(5));
  EXPECT_FALSE(bad.valid);
  EXPECT_EQ(bad.error, "line 2: overrides[0].action: unknown action 'thaw' (freeze, acknowledge)");
  EXPECT_EQ(bad.active, (std::vector<Override>{freeze_until("2026-11-30T02:00:00Z")}));
  EXPECT_EQ(bad.loaded_at, kNow);
  f.offer(FileRead{"overrides:\n  - action: thaw\n", ""}, kNow + seconds(10));  // same content: not recounted
  EXPECT_EQ(f.status().reload_errors, 1u);
  const auto& unreadable =
      f.offer(FileRead{std::nullopt, "cannot read /overrides.yaml: gone"}, kNow + seconds(15));
  EXPECT_EQ(unreadable.reload_errors, 2u);
  EXPECT_EQ(unreadable.active.size(), 1u);
  const auto& fixed = f.offer(FileRead{"overrides: []\n", ""}, kNow + seconds(20));
  EXPECT_TRUE(fixed.valid);
  EXPECT_TRUE(fixed.active.empty());
}

TEST(OverridesFile, InvalidBeforeAnyValidFileMeansNoOverrides) {
  OverridesFile f("/overrides.yaml", kTtl);
  const auto& s = f.offer(FileRead{"overrides: [\n", ""}, kNow);
  EXPECT_FALSE(s.valid);
  EXPECT_TRUE(s.active.empty());
  EXPECT_EQ(s.loaded_at, std::nullopt);
}

TEST(OverridesFile, ReadsTheFileAndBoundsItsSize) {
  const auto dir = std::filesystem::temp_directory_path() / ("isrguard-ov-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "o.yaml").string();
  std::ofstream(path) << "overrides: []\n";
  EXPECT_EQ(read_text_file(path), (FileRead{"overrides: []\n", ""}));
  EXPECT_EQ(read_text_file(path, 4).error, path + " is larger than 4 bytes");
  EXPECT_EQ(read_text_file((dir / "none").string()).error,
            "cannot read " + (dir / "none").string() + ": No such file or directory");
  std::filesystem::remove_all(dir);
}

// ---- the probe loop applies them ----

// A probe loop reading its overrides from o.yaml in a private temporary directory (removed at the end).
struct LoopWithFile {
  std::filesystem::path dir;
  std::string path;
  testing::ScriptedSource source;
  ProbeLoop loop;

  LoopWithFile(const std::string& tag, Policy policy)
      : dir(std::filesystem::temp_directory_path() / ("isrguard-" + tag + "-" + std::to_string(::getpid()))),
        path((dir / "o.yaml").string()),
        loop(source, std::move(policy), GateConfig{seconds(0)}, seconds(60)) {
    std::filesystem::create_directories(dir);
    loop.use_overrides(std::make_unique<OverridesFile>(path, kTtl));
  }
  ~LoopWithFile() { std::filesystem::remove_all(dir); }
  void write(const std::string& text) const { std::ofstream(path) << text; }
};

TEST(OverridesLoop, FreezeClosesAHealthyGateAndAcknowledgementOpensIt) {
  Policy p = Policy::with_defaults();
  p.expected_brokers = {1, 2, 3};
  p.compile();
  LoopWithFile f("ovl", p);
  f.source.set(
      testing::ok(SnapshotBuilder().brokers({1, 2}).topic(healthy_topic("t", 2, 2, {1, 2}, 1)).build()));
  ProbeLoop& loop = f.loop;
  const auto t0 = SteadyClock::now();
  const auto wall = std::chrono::system_clock::now();
  auto write = [&](const std::string& text) { f.write(text); };

  write("overrides:\n" + ack("brokers_missing", "    brokers: [3]\n", format_time(wall + hours(1))));
  loop.run_once(t0, wall);
  EXPECT_TRUE(loop.current()->gate.ready) << loop.current()->gate;

  write("overrides:\n  - action: freeze\n    expires: " + format_time(wall + hours(1)) +
        "\n    by: p\n    why: w\n");
  loop.run_once(t0 + seconds(1), wall + seconds(1));
  EXPECT_FALSE(loop.current()->gate.ready);
  EXPECT_EQ(loop.current()->gate.blocking, (std::vector<std::string>{"brokers_missing", "override_freeze"}));

  write("overrides: [");  // broken: the freeze stays
  loop.run_once(t0 + seconds(2), wall + seconds(2));
  EXPECT_EQ(loop.current()->gate.blocking, (std::vector<std::string>{"brokers_missing", "override_freeze"}));
  const Reason* invalid = find(loop.current()->reasons, reason::kOverridesInvalid);
  ASSERT_NE(invalid, nullptr);
  EXPECT_FALSE(invalid->gating);
}

// Each broker alone is judged with the acknowledgements of the same poll, and judged again when they change
// even while the probe fails (the published per-broker answer never rests on a set no longer in force).
TEST(OverridesLoop, PerBrokerSafetyFollowsTheAcknowledgementsInForce) {
  Policy p = Policy::with_defaults();
  p.compile();
  LoopWithFile f("ovb", p);
  testing::ScriptedSource& source = f.source;
  // Broker 3 out of sync: broker 1 or 2 alone would leave t-0 under min ISR.
  source.set(testing::ok(SnapshotBuilder()
                             .brokers({1, 2, 3})
                             .topic(TopicBuilder("t").min_isr(2).p(1, {1, 2, 3}, {1, 2}))
                             .build()));
  ProbeLoop& loop = f.loop;
  const auto t0 = SteadyClock::now();
  const auto wall = std::chrono::system_clock::now();
  auto write = [&](const std::string& text) { f.write(text); };
  auto broker1 = [&] {
    const auto s = loop.current();
    const BrokerSafety& b = s->broker_safety->front();
    EXPECT_EQ(b.id, 1);
    return std::make_pair(
        broker_safe_now(*s, b, readiness_at(*s, t0, seconds(60), p).reasons, wall + seconds(3)),
        b.acknowledged_partitions);
  };

  write("overrides: []\n");
  loop.run_once(t0, wall);
  EXPECT_EQ(broker1(), std::make_pair(false, std::int64_t{0}));
  write("overrides:\n" + ack("under_min_isr_partitions", "    topics: [t]\n", format_time(wall + hours(1))));
  loop.run_once(t0 + seconds(1), wall + seconds(1));
  EXPECT_EQ(broker1(), std::make_pair(true, std::int64_t{1}));

  source.set(testing::fail("transport"));
  write("overrides: []\n");
  loop.run_once(t0 + seconds(2), wall + seconds(2));
  EXPECT_EQ(broker1(), std::make_pair(false, std::int64_t{0}));
}

}  // namespace
}  // namespace isrguard::service
