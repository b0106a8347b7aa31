#pragma once

// The operator overrides file (YAML, normally a mounted ConfigMap) -> the entries the rules of
// service/judge/overrides.h apply. Pure: the text and the time are passed in (the file is read and reloaded
// by service/runtime/overrides_file.h). yaml-cpp is included only in overrides_yaml.cc.

#include <chrono>
#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "service/judge/overrides.h"

namespace isrguard::service {

// Limits on the file's content (the file size itself is bounded by the reader).
inline constexpr std::size_t kMaxOverrides = 64;
inline constexpr std::size_t kMaxScopeItems = 1000;  // per list
inline constexpr std::size_t kMaxTextField = 1024;   // by / why / names, in bytes

struct OverridesParse {
  std::optional<std::vector<Override>> overrides;  // set when the whole file is valid (may be empty)
  std::string error;                               // otherwise: "line L: overrides[i].field: problem"

  bool operator==(const OverridesParse&) const = default;
};

// Which entries may carry an expiry that has already passed without making the file invalid; they are
// parsed as usual and split_expired then reports them as expired. The default tolerates none.
struct PastExpiry {
  bool any = false;  // every such entry: no valid set has been loaded yet (start-up)
  std::vector<Override>
      known;  // these entries (by same_entry): the last valid set, they expired while loaded
  bool allows(const Override& o) const;
};

// Parses the file's text. Every entry must be valid for the file to be: an unknown action/reason/key,
// a missing by/why/expires, an expiry more than `max_ttl` ahead of `now`, an expiry at or before `now`
// that `tolerate` does not allow (a new entry with a past expiry is an operator's typo), or a scope that
// does not fit the reason makes the whole file invalid (the caller then keeps its last valid set).
// An empty document, `overrides:` and `overrides: []` are valid and empty.
OverridesParse parse_overrides(std::string_view text, WallClock::time_point now,
                               std::chrono::milliseconds max_ttl, const PastExpiry& tolerate = {});

// RFC 3339 ("2026-12-01T06:00:00Z", "...T06:00:00.5+02:00") -> time point; nullopt when malformed.
std::optional<WallClock::time_point> parse_rfc3339(std::string_view text);

std::ostream& operator<<(std::ostream& os, const OverridesParse& p);

}  // namespace isrguard::service
