// The overrides file read as a hostile or careless operator writes it (issue 22): expiries far in the future
// or past, duplicate keys, scopes that can never match, files that are not regular files; and the rules'
// cases a mutation pass showed untested.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "service/config/config.h"
#include "service/config/overrides_yaml.h"
#include "service/config/value_parsers.h"
#include "service/judge/overrides.h"
#include "service/judge/reasons.h"
#include "service/runtime/overrides_file.h"

namespace isrguard::service {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

const WallClock::time_point kNow = *parse_rfc3339("2026-11-30T00:00:00Z");
constexpr milliseconds kTtl = hours(24);
const PastExpiry kStartUp{true, {}};  // as at start-up and in --check-overrides: past entries tolerated

std::string freeze_expiring(const std::string& expires) {
  return "overrides:\n  - action: freeze\n    expires: " + expires + "\n    by: x\n    why: w\n";
}

// ---- item 2: no time arithmetic overflows ----

struct ExpiryCase {
  std::string expires;
  milliseconds max_ttl;
  std::string error;  // "" = valid
};

class OverridesExpiryRange : public ::testing::TestWithParam<ExpiryCase> {};

TEST_P(OverridesExpiryRange, IsJudgedWithoutOverflow) {
  const auto& c = GetParam();
  const auto p = parse_overrides(freeze_expiring(c.expires), kNow, c.max_ttl, kStartUp);
  if (c.error.empty()) {
    ASSERT_TRUE(p.overrides) << p;
    ASSERT_EQ(p.overrides->size(), 1u);
    EXPECT_EQ(p.overrides->at(0).expires, *parse_rfc3339(c.expires));
  } else {
    EXPECT_EQ(p, (OverridesParse{std::nullopt, "line 3: overrides[0].expires: " + c.error}));
  }
}

const std::string kTooFar = " is more than the allowed 24h0m ahead (--max-override-ttl)";
constexpr milliseconds kCenturies = milliseconds::max();

// clang-format off
INSTANTIATE_TEST_SUITE_P(Table, OverridesExpiryRange, ::testing::Values(
  ExpiryCase{"2026-11-30T23:59:59Z", kTtl, ""},
  ExpiryCase{"2026-12-01T00:00:00Z", kTtl, ""},                                   // exactly the max TTL
  ExpiryCase{"2026-12-01T00:00:00.001Z", kTtl, "2026-12-01T00:00:00.001Z" + kTooFar},
  ExpiryCase{"9999-12-31T23:59:59Z", kTtl, "9999-12-31T23:59:59Z" + kTooFar},   // "forever": was read as 1816
  ExpiryCase{"2611-06-21T00:34:34Z", kTtl, "2611-06-21T00:34:34Z" + kTooFar},   // was read as an hour from now
  ExpiryCase{"2262-04-11T23:47:16Z", kTtl, "2262-04-11T23:47:16Z" + kTooFar},   // the last representable second
  ExpiryCase{"2262-04-11T23:47:17Z", kTtl, "2262-04-11T23:47:17Z" + kTooFar},
  ExpiryCase{"2262-04-11T23:47:16Z", kCenturies, ""},
  ExpiryCase{"2262-04-11T23:47:17Z", kCenturies,
             "2262-04-11T23:47:17Z is beyond the latest time isrguard can hold (2262-04-11)"},
  ExpiryCase{"9999-12-31T23:59:59+23:59", kCenturies,
             "9999-12-31T23:59:59+23:59 is beyond the latest time isrguard can hold (2262-04-11)"},
  ExpiryCase{"1970-01-01T00:00:00Z", kTtl, ""},                                   // past, tolerated at start-up
  ExpiryCase{"1969-12-31T23:59:59Z", kTtl, "1969-12-31T23:59:59Z is before 1970; remove expired entries"},
  ExpiryCase{"0000-01-01T00:00:00Z", kTtl, "0000-01-01T00:00:00Z is before 1970; remove expired entries"},
  ExpiryCase{"0000-01-01T00:00:00-23:59", kCenturies,
             "0000-01-01T00:00:00-23:59 is before 1970; remove expired entries"}),
  [](const auto& info) { return "Row" + std::to_string(info.index); });
// clang-format on

TEST(OverridesExpiryRange, Rfc3339IsNulloptOutsideTheClocksRange) {
  EXPECT_EQ(parse_rfc3339("2262-04-11T23:47:16.854Z")->time_since_epoch(),
            std::chrono::nanoseconds(9'223'372'036'854'000'000));
  EXPECT_EQ(parse_rfc3339("1677-09-21T00:12:43.146Z")->time_since_epoch(),
            std::chrono::nanoseconds(-9'223'372'036'854'000'000));
  for (const char* beyond : {"2262-04-11T23:47:16.855Z", "2611-06-21T00:34:34Z", "9999-12-31T23:59:59Z",
                             "1677-09-21T00:12:43.145Z", "0000-01-01T00:00:00Z"})
    EXPECT_EQ(parse_rfc3339(beyond), std::nullopt) << beyond;
}

// Every duration a flag, an environment variable or an HTTP parameter takes goes through parse_duration:
// whatever it accepts stays far from overflowing when added to a clock reading in nanoseconds.
TEST(DurationRange, AcceptsNothingThatCouldOverflowAClock) {
  const milliseconds cap(std::int64_t{1} << 40);  // parse_duration's bound, ~34 years
  const auto headroom = std::chrono::floor<milliseconds>(WallClock::time_point::max()) -
                        std::chrono::floor<milliseconds>(*parse_rfc3339("2200-01-01T00:00:00Z"));
  EXPECT_LT(cap, headroom);
  // Sums of a few durations (3 x --config-refresh-interval is the min ISR max age) on a steady clock reading.
  EXPECT_LT(4 * cap, std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::duration::max()));
  struct Unit {
    const char* suffix;
    std::int64_t ms;
  };
  for (const Unit u : {Unit{"ms", 1}, Unit{"s", 1000}, Unit{"m", 60'000}, Unit{"h", 3'600'000}}) {
    const std::int64_t largest = cap.count() / u.ms;
    EXPECT_EQ(parse_duration(std::to_string(largest) + u.suffix), milliseconds(largest * u.ms)) << u.suffix;
    EXPECT_EQ(parse_duration(std::to_string(largest + 1) + u.suffix), std::nullopt) << u.suffix;
    for (const std::string huge : {"9999999999999", "9223372036854775807", "9223372036854775808",
                                   "18446744073709551617", "99999999999999999999999999"})
      EXPECT_EQ(parse_duration(huge + u.suffix), std::nullopt) << huge << u.suffix;
    EXPECT_EQ(parse_duration("-1" + std::string(u.suffix)), std::nullopt) << u.suffix;
    EXPECT_EQ(parse_duration("0" + std::string(u.suffix)), milliseconds(0)) << u.suffix;
  }
  EXPECT_EQ(parse_duration("9999999999h"), std::nullopt);  // the issue's --poll-interval
}

// Seeded fuzz over the expiry's fields (any 4-digit year, offsets either way): whatever is accepted lies in
// [1970, now + max TTL], and the same text read alone gives the same time.
TEST(OverridesExpiryRange, RandomExpiriesAreAcceptedOnlyInsideTheWindow) {
  std::mt19937_64 rng(22);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto two = [](int v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    const int year = i % 4 == 0 ? pick(2026, 2027) : pick(0, 9999);
    char y[8];
    std::snprintf(y, sizeof y, "%04d", year);
    std::string t = std::string(y) + "-" + two(pick(1, 12)) + "-" + two(pick(1, 28)) + "T" + two(pick(0, 23)) +
                    ":" + two(pick(0, 59)) + ":" + two(pick(0, 59));
    t += pick(0, 2) == 0 ? std::string("Z") : (pick(0, 1) ? "+" : "-") + two(pick(0, 23)) + ":" + two(pick(0, 59));
    const milliseconds ttl = pick(0, 3) == 0 ? kCenturies : kTtl;
    const auto p = parse_overrides(freeze_expiring(t), kNow, ttl, kStartUp);
    if (!p.overrides) continue;
    ++accepted;
    const auto e = p.overrides->at(0).expires;
    EXPECT_GE(e, WallClock::time_point{}) << t;
    if (ttl == kTtl) {
      EXPECT_LE(e - kNow, kTtl) << t;
    }
    EXPECT_EQ(parse_rfc3339(t), e) << t;
  }
  EXPECT_GT(accepted, 0);
}

// Flags and their environment variables: a duration too large for the clock is a clear error, never a wrap.
TEST(DurationRange, HugeFlagAndEnvironmentDurationsAreErrors) {
  const std::vector<std::pair<std::string, std::string>> flags = {
      {"--poll-interval", "ISRGUARD_POLL_INTERVAL"},
      {"--max-override-ttl", "ISRGUARD_MAX_OVERRIDE_TTL"},
      {"--wait-safe", "ISRGUARD_WAIT_SAFE"},
  };
  for (const auto& [flag, env] : flags)
    for (const std::string value : {"9999999999h", "9223372036854775808ms", "-1h"}) {
      std::vector<const char*> argv{"isrguard", "--bootstrap-servers", "k:9092", flag.c_str(), value.c_str()};
      const auto by_flag = parse_config(static_cast<int>(argv.size()), argv.data());
      EXPECT_FALSE(by_flag.config) << flag << " " << value;
      EXPECT_TRUE(std::any_of(by_flag.errors.begin(), by_flag.errors.end(),
                              [&](const std::string& e) { return e.rfind(flag + ": '" + value, 0) == 0; }))
          << flag << " " << value;
      setenv(env.c_str(), value.c_str(), 1);
      const char* bare[] = {"isrguard", "--bootstrap-servers", "k:9092"};
      const auto by_env = parse_config(3, bare);
      unsetenv(env.c_str());
      EXPECT_FALSE(by_env.config) << env << "=" << value;
    }
}

// In serve, a far expiry arriving in an edit keeps the last valid set (the freeze stays in force).
TEST(OverridesExpiryRange, AFarExpiryInAnEditKeepsTheLastValidSet) {
  OverridesFile f("/overrides.yaml", kTtl);
  ASSERT_TRUE(f.offer(FileRead{freeze_expiring("2026-11-30T06:00:00Z"), ""}, kNow).valid);
  const auto& s = f.offer(FileRead{freeze_expiring("9999-12-31T23:59:59Z"), ""}, kNow);
  EXPECT_FALSE(s.valid);
  EXPECT_EQ(s.error, "line 3: overrides[0].expires: 9999-12-31T23:59:59Z" + kTooFar);
  ASSERT_EQ(s.active.size(), 1u);
  EXPECT_EQ(s.active[0].expires, *parse_rfc3339("2026-11-30T06:00:00Z"));
}

// ---- item 4: duplicate keys anywhere ----

class OverridesDuplicateKeys : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(OverridesDuplicateKeys, MakeTheFileInvalidWithTheLine) {
  EXPECT_EQ(parse_overrides(GetParam().first, kNow, kTtl),
            (OverridesParse{std::nullopt, GetParam().second}));
}

const std::string kFreezeEntry =
    "  - action: freeze\n    expires: 2026-11-30T02:00:00Z\n    by: platform\n    why: upgrade\n";

// clang-format off
INSTANTIATE_TEST_SUITE_P(Table, OverridesDuplicateKeys, ::testing::Values(
  std::pair{"overrides:\n" + kFreezeEntry + "overrides:\n",                     // the second, empty, list
            std::string("line 6: overrides: given twice")},
  std::pair{"overrides: []\noverrides:\n" + kFreezeEntry,
            std::string("line 2: overrides: given twice")},
  std::pair{"overrides:\n" + kFreezeEntry + "\"overrides\": []\n",             // quoted, the same key
            std::string("line 6: overrides: given twice")},
  std::pair{"overrides:\n" + kFreezeEntry + "  - action: freeze\n    expires: 2026-11-30T02:00:00Z\n"
                "    by: a\n    why: w\n    why: v\n",
            std::string("line 10: overrides[1].why: given twice")},
  std::pair{"overrides:\n  - action: acknowledge\n    reason: brokers_missing\n    reason: offline_partitions\n",
            std::string("line 4: overrides[0].reason: given twice")},
  std::pair{"overrides:\n  - {action: freeze, by: a, by: a}\n",
            std::string("line 2: overrides[0].by: given twice")},
  std::pair{"overrides:\n  - action: acknowledge\n    reason: offline_partitions\n    topics: [{a: 1, a: 2}]\n",
            std::string("line 4: overrides[0].topics[0].a: given twice")}),
  [](const auto& info) { return "Row" + std::to_string(info.index); });
// clang-format on

TEST(OverridesDuplicateKeys, AnAliasBombIsBoundedNotWalked) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", " : "") + prev;
    text += "]\n";
  }
  const auto p = parse_overrides(text, kNow, kTtl);
  EXPECT_FALSE(p.overrides);
  EXPECT_NE(p.error.find("more than 100000 YAML nodes"), std::string::npos) << p.error;
}

// ---- item 11: scopes that can never match ----

std::string ack_with(std::string_view reason, std::string_view scope_key, std::string_view items) {
  return "overrides:\n  - action: acknowledge\n    reason: " + std::string(reason) + "\n    " +
         std::string(scope_key) + ": [" + std::string(items) + "]\n    expires: 2026-11-30T06:00:00Z\n"
         "    by: sre\n    why: known\n";
}

TEST(OverridesScopes, AReasonThatTakesNoScopeRejectsEveryScope) {
  EXPECT_EQ(parse_overrides(ack_with("brokers_reconnected", "brokers", "3"), kNow, kTtl).error,
            "line 4: overrides[0].brokers: reason brokers_reconnected cannot be scoped by brokers "
            "(brokers_reconnected takes no scope: omit brokers, topics and partitions to acknowledge the whole "
            "reason)");
  EXPECT_EQ(parse_overrides(ack_with("controller_unknown", "topics", "x"), kNow, kTtl).error,
            "line 4: overrides[0].topics: reason controller_unknown cannot be scoped by topics "
            "(controller_unknown takes no scope: omit brokers, topics and partitions to acknowledge the whole "
            "reason)");
  EXPECT_EQ(parse_overrides(ack_with("min_isr_risk_topics", "brokers", "1"), kNow, kTtl).error,
            "line 4: overrides[0].brokers: reason min_isr_risk_topics cannot be scoped by brokers "
            "(min_isr_risk_topics takes topics)");
}

// Every acknowledgeable reason x every scope: accepted exactly when scopes_for says so.
TEST(OverridesScopes, TheFileAcceptsExactlyTheScopesTheRulesCanProve) {
  const std::pair<ScopeKind, const char*> kinds[] = {
      {ScopeKind::kBrokers, "3"}, {ScopeKind::kTopics, "orders"}, {ScopeKind::kPartitions, "orders-1"}};
  int accepted = 0;
  for (auto reason : reason::kAll) {
    if (!acknowledgeable(reason)) continue;
    const auto allowed = scopes_for(reason);
    for (const auto& [kind, items] : kinds) {
      const bool takes = std::find(allowed.begin(), allowed.end(), kind) != allowed.end();
      const auto p = parse_overrides(ack_with(reason, to_string(kind), items), kNow, kTtl);
      EXPECT_EQ(p.overrides.has_value(), takes) << reason << " " << to_string(kind) << ": " << p;
      accepted += takes;
    }
  }
  EXPECT_EQ(accepted, 5 * 3 + 2 + 2);  // partition reasons take all three; broker and topic reports one each
}

// The table "Which reasons take which scope" in docs/overrides.md is the code's truth.
TEST(OverridesScopes, TheDocsTableMatchesTheCode) {
  std::ifstream in(std::string(ISRGUARD_SOURCE_DIR) + "/docs/overrides.md");
  ASSERT_TRUE(in);
  std::map<std::string, std::string> documented;  // reason -> "brokers, topics, partitions" / "none"
  bool in_table = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("| reason | scopes it takes |")) in_table = true;
    else if (in_table && !line.starts_with("|")) break;
    else if (in_table && line.starts_with("| `")) {
      const auto end = line.find('`', 3);
      const auto cell = line.substr(line.find('|', end) + 1);
      documented[line.substr(3, end - 3)] = trim_blanks(cell.substr(0, cell.find('|')));
    }
  }
  std::map<std::string, std::string> code;
  for (auto reason : reason::kAll) {
    if (!acknowledgeable(reason)) continue;
    std::string names;
    for (ScopeKind k : scopes_for(reason)) names += (names.empty() ? "" : ", ") + std::string(to_string(k));
    code[std::string(reason)] = names.empty() ? "none (whole reason only)" : names;
  }
  EXPECT_EQ(documented, code);
}

// ---- item 15: cases the mutation pass found untested ----

TEST(OverridesApply, AFreezeAfterAnAcknowledgementStillFreezes) {
  Override ack;
  ack.action = OverrideAction::kAcknowledge;
  ack.reason = "brokers_missing";
  ack.expires = kNow + hours(2);
  ack.by = "sre";
  ack.why = "known";
  Override freeze = ack;
  freeze.action = OverrideAction::kFreeze;
  freeze.reason.clear();
  freeze.by = "platform";
  freeze.why = "upgrade";
  const auto out = apply_overrides({}, nullptr, {ack, ack, freeze}, kNow);
  EXPECT_EQ(out, (std::vector<Reason>{Reason{"override_freeze", 1, "frozen by platform (upgrade), 2h0m left",
                                             true}}));
}

TEST(OverridesParse, AFreezeWithoutWhyIsInvalid) {
  EXPECT_EQ(parse_overrides("overrides:\n  - action: freeze\n    expires: 2026-11-30T06:00:00Z\n    by: x\n",
                            kNow, kTtl),
            (OverridesParse{std::nullopt, "line 2: overrides[0].why: required"}));
  EXPECT_EQ(parse_overrides("overrides:\n  - action: freeze\n    expires: 2026-11-30T06:00:00Z\n    by: x\n"
                            "    why:\n",
                            kNow, kTtl),
            (OverridesParse{std::nullopt, "line 2: overrides[0].why: required"}));
}

// ---- item 8: only regular files are read, and never with a blocking call ----

struct Scratch {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("isrguard-kinds-" + std::to_string(::getpid()));
  Scratch() { std::filesystem::create_directories(dir); }
  ~Scratch() { std::filesystem::remove_all(dir); }
  std::string at(const std::string& name) const { return (dir / name).string(); }
};

TEST(OverridesFileKinds, OnlyRegularFilesAreRead) {
  Scratch s;
  std::ofstream(s.at("regular")) << "overrides: []\n";
  std::filesystem::create_symlink(s.at("regular"), s.at("link"));
  ASSERT_EQ(::mkfifo(s.at("fifo").c_str(), 0600), 0);
  std::filesystem::create_directory(s.at("dir"));
  std::filesystem::create_symlink(s.at("fifo"), s.at("link-to-fifo"));
  // clang-format off
  const std::vector<std::pair<std::string, FileRead>> rows = {
    {s.at("regular"),      FileRead{"overrides: []\n", ""}},
    {s.at("link"),         FileRead{"overrides: []\n", ""}},  // a ConfigMap mount is a symlink chain
    {s.at("fifo"),         FileRead{std::nullopt, s.at("fifo") + " is a FIFO, not a regular file: refused"}},
    {s.at("link-to-fifo"), FileRead{std::nullopt, s.at("link-to-fifo") + " is a FIFO, not a regular file: refused"}},
    {s.at("dir"),          FileRead{std::nullopt, s.at("dir") + " is a directory, not a regular file: refused"}},
    {"/dev/zero",          FileRead{std::nullopt, "/dev/zero is a character device, not a regular file: refused"}},
    {s.at("missing"),      FileRead{std::nullopt, "cannot read " + s.at("missing") + ": No such file or directory"}},
  };
  // clang-format on
  for (const auto& [path, expected] : rows) EXPECT_EQ(read_text_file(path), expected) << path;
}

TEST(OverridesFileKinds, AFifoMakesTheStatusInvalidWithTheReason) {
  Scratch s;
  ASSERT_EQ(::mkfifo(s.at("fifo").c_str(), 0600), 0);
  OverridesFile f(s.at("fifo"), kTtl);
  const OverridesStatus st = f.poll(kNow);
  EXPECT_FALSE(st.valid);
  EXPECT_EQ(st.error, s.at("fifo") + " is a FIFO, not a regular file: refused");
  EXPECT_EQ(st.reload_errors, 1u);
  EXPECT_EQ(f.poll(kNow).reload_errors, 1u);  // the same failure is counted once
}

}  // namespace
}  // namespace isrguard::service
