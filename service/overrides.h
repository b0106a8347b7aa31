#pragma once

// Operator overrides: a freeze (close the gate whatever the health) or an acknowledgement (stop one reason
// from gating, within a scope), each with a mandatory expiry, author and justification. Read from a YAML
// file (normally a mounted ConfigMap; see service/overrides_file.h for the reloading).
//
// Pure functions over value types: parse_overrides(text, now, max_ttl) and apply_overrides(reasons, verdict,
// active, now). yaml-cpp is included only in overrides.cc.
//
// Fail closed: an acknowledgement removes a reason's gating only when every affected item is PROVEN to be
// inside its scope. The verdict lists unhealthy partitions up to Policy::list_cap; when that list is capped,
// broker and partition scopes cannot be checked and the reason keeps gating (topic scopes are checked
// against the uncapped per-topic counts).

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "service/verdict.h"

namespace isrguard::service {

using WallClock = std::chrono::system_clock;

enum class OverrideAction { kFreeze, kAcknowledge };
std::string_view to_string(OverrideAction a);  // "freeze", "acknowledge"

struct PartitionRef {
  std::string topic;
  std::int32_t partition = 0;
  bool operator==(const PartitionRef&) const = default;
  auto operator<=>(const PartitionRef&) const = default;
};

// At most one of the three lists is set; all empty = the whole reason.
struct OverrideScope {
  std::vector<BrokerId> brokers;        // sorted, unique
  std::vector<std::string> topics;      // exact names, sorted, unique
  std::vector<PartitionRef> partitions;  // written "topic-N" in the file; sorted, unique

  bool whole() const { return brokers.empty() && topics.empty() && partitions.empty(); }
  bool operator==(const OverrideScope&) const = default;
};

struct Override {
  OverrideAction action = OverrideAction::kFreeze;
  std::string reason;  // acknowledge: the reason code; freeze: empty
  OverrideScope scope;
  WallClock::time_point expires{};
  std::string by;
  std::string why;
  int line = 0;  // 1-based line of the entry in the file (for messages)

  bool operator==(const Override&) const = default;
};

// Limits on the file's content (the file size itself is bounded by the reader).
inline constexpr std::size_t kMaxOverrides = 64;
inline constexpr std::size_t kMaxScopeItems = 1000;  // per list
inline constexpr std::size_t kMaxTextField = 1024;   // by / why / names, in bytes

struct OverridesParse {
  std::optional<std::vector<Override>> overrides;  // set when the whole file is valid (may be empty)
  std::string error;                               // otherwise: "line L: overrides[i].field: problem"

  bool operator==(const OverridesParse&) const = default;
};

// Parses the file's text. Every entry must be valid for the file to be: an unknown action/reason/key,
// a missing by/why/expires, an expiry in the past or more than `max_ttl` ahead of `now`, or a scope that
// does not fit the reason makes the whole file invalid (the caller then keeps its last valid set).
// An empty document, `overrides:` and `overrides: []` are valid and empty.
OverridesParse parse_overrides(std::string_view text, WallClock::time_point now,
                               std::chrono::milliseconds max_ttl);

// RFC 3339 ("2026-12-01T06:00:00Z", "...T06:00:00.5+02:00") -> time point; nullopt when malformed.
std::optional<WallClock::time_point> parse_rfc3339(std::string_view text);

// Codes an acknowledgement may name (probe_failed, snapshot_stale and the override reasons may not: an
// acknowledgement must never open the gate on data we do not have).
bool acknowledgeable(std::string_view reason_code);

// Entries still in force at `now` (expires > now) and those that are not, in file order.
struct OverridesAt {
  std::vector<Override> active;
  std::vector<Override> expired;
  bool operator==(const OverridesAt&) const = default;
};
OverridesAt split_expired(const std::vector<Override>& all, WallClock::time_point now);

// The reasons after the active overrides: each acknowledged reason whose affected items are all proven to
// be in scope stays listed but stops gating (its detail says who acknowledged it); a partly covered reason
// keeps gating and says how much was acknowledged; a freeze adds the gating reason override_freeze.
// `verdict` is the verdict the reasons came from (null before the first good probe: nothing can be
// proven then, so acknowledgements change nothing).
std::vector<Reason> apply_overrides(const std::vector<Reason>& reasons, const Verdict* verdict,
                                    const std::vector<Override>& active, WallClock::time_point now);

// One human line: "acknowledge brokers_missing brokers=[3] by sre until 2026-11-30T18:00:00Z (2h5m left):
// why". `now` gives the time left.
std::string describe(const Override& o, WallClock::time_point now);
std::string scope_text(const OverrideScope& s);  // "brokers=[3]", "topics=[a,b]", "all"
std::string duration_text(std::chrono::seconds s);  // "2h5m", "45s"

std::ostream& operator<<(std::ostream& os, const Override& o);
std::ostream& operator<<(std::ostream& os, const OverridesParse& p);
std::ostream& operator<<(std::ostream& os, const OverridesAt& a);

}  // namespace isrguard::service
