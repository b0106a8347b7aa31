#pragma once

// Operator overrides: a freeze (close the gate whatever the health) or an acknowledgement (stop one reason
// from gating, within a scope), each with a mandatory expiry, author and justification. Read from a YAML
// file (normally a mounted ConfigMap): parse_overrides in service/config/overrides_yaml.h reads it, and
// service/runtime/overrides_file.h reloads it.
//
// The rules over the entries read, pure functions over value types: split_expired(all, now),
// apply_overrides(reasons, verdict, active, now), the acknowledgement matching shared with the disruption
// judgement, and the one-line descriptions.
//
// Fail closed: an acknowledgement removes a reason's gating only when every affected item is PROVEN to be
// inside its scope. The verdict lists unhealthy partitions up to Policy::list_cap; when that list is capped,
// broker and partition scopes cannot be checked and the reason keeps gating (topic scopes are checked
// against the uncapped per-topic counts).

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "service/judge/verdict.h"

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
  std::vector<BrokerId> brokers;         // sorted, unique
  std::vector<std::string> topics;       // exact names, sorted, unique
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

// Equal but for the line they sit on (an edit above an entry moves it; it is still the same entry).
bool same_entry(const Override& a, const Override& b);

// The scopes an acknowledgement of a reason may name: exactly those `fully_acknowledged` can prove (the
// table in docs/overrides.md is checked against this). Empty: the reason takes no scope (brokers_reconnected,
// controller_unknown: only the whole reason can be acknowledged), or it cannot be acknowledged at all.
enum class ScopeKind { kBrokers, kTopics, kPartitions };
std::string_view to_string(ScopeKind k);  // "brokers", "topics", "partitions": the file's keys
std::vector<ScopeKind> scopes_for(std::string_view reason_code);

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

// ---- acknowledgement matching: one definition, used by the gate (apply_overrides) and the disruption
// judgement (service/judge/disruption.h) ----

// The active acknowledgements of one reason code, their scopes merged (a union: a partition that lost
// brokers 3 and 4 is explained by one entry naming [3] and another naming [4]).
struct AckScope {
  bool whole = false;  // an entry without scope: the whole reason
  std::set<BrokerId> brokers;
  std::set<std::string, std::less<>> topics;
  std::set<PartitionRef> partitions;
  std::vector<Override> entries;  // the entries merged, file order

  bool any() const { return !entries.empty(); }
  std::string authors() const;  // distinct `by`, file order: "sre, platform"
  bool operator==(const AckScope&) const = default;
};
// Only acknowledge entries of `code` count, and none for a code that cannot be acknowledged.
AckScope acknowledgements_of(std::span<const Override> active, std::string_view code);

// Whether a partition's problem is inside the scope: the whole reason, its topic, the partition itself, or
// brokers that explain it: every replica that is not in `live_isr` (its in-sync replicas that are up) is one
// of the scope's brokers, and there is at least one such replica. Returns the entries that put it in scope
// (empty: not covered).
std::vector<Override> covering(const AckScope& scope, std::string_view topic, probes::PartitionView p,
                               std::span<const BrokerId> live_isr);

// Whether the acknowledgements cover every item of reason `r` as judged against `verdict` (the gate's test
// for `r` to stop gating; see apply_overrides). brokers_missing and brokers_unresponsive are covered by
// broker scopes, the topic reports by topic scopes, the partition reasons as `covering` says.
bool fully_acknowledged(const Reason& r, const Verdict& verdict, const AckScope& scope);

// One human line: "acknowledge brokers_missing brokers=[3] by sre until 2026-11-30T18:00:00Z (2h5m left):
// why". `now` gives the time left.
std::string describe(const Override& o, WallClock::time_point now);
std::string scope_text(const OverrideScope& s);     // "brokers=[3]", "topics=[a,b]", "all"
std::string duration_text(std::chrono::seconds s);  // "2h5m", "45s"

std::ostream& operator<<(std::ostream& os, const Override& o);
std::ostream& operator<<(std::ostream& os, const OverridesAt& a);

// The overrides file as last read (service/runtime/overrides_file.h fills it; views publish it).
struct OverridesStatus {
  std::string path;   // empty = no overrides file configured
  bool valid = true;  // the file's current content is readable and valid
  std::string error;  // why not, with line and field ("line 4: overrides[0].by: required")
  std::uint64_t reload_errors = 0;                 // failed reads or parses since start (per distinct content)
  std::optional<WallClock::time_point> loaded_at;  // when the set in force was read; none before a valid read
  std::vector<Override> active;                    // in force at the last poll, file order
  std::vector<Override> expired;                   // in the set in force but past their expiry
  WallClock::time_point as_of{};                   // wall time of the poll that produced this status

  bool operator==(const OverridesStatus&) const = default;
};
std::ostream& operator<<(std::ostream& os, const OverridesStatus& s);

}  // namespace isrguard::service
