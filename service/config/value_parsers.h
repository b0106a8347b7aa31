#pragma once

// The value syntaxes of the flags, as pure functions of text: durations, broker id lists and ranges, fleet
// rules, comma-separated lists, and their formatting back for Config::describe(). No CLI11, no I/O: config.cc
// calls these while it validates, and the HTTP layer parses ?brokers= with the same parse_id_list.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "service/judge/policy.h"

namespace isrguard::service {

// `s` without leading and trailing blanks (space, tab, CR, LF).
std::string trim_blanks(const std::string& s);

// "250ms", "5s", "2m", "1h" -> milliseconds; nullopt when malformed, negative or over 2^40 ms (~34 years):
// the bound keeps a duration plus a clock reading, or a sum of a few durations, inside the clocks'
// nanoseconds (which end in 2262).
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);
// Milliseconds as the flags write them: "5s" when whole seconds, else "250ms".
std::string format_duration(std::chrono::milliseconds d);

// At most this many --expected-brokers ids. Each expected broker is tracked, listed in /v1/status and
// exported as per-broker series even while missing, so the count bounds memory and output size. Real clusters
// have hundreds of brokers at most.
inline constexpr std::size_t kMaxExpectedBrokers = 2000;

using IdRanges = std::vector<std::pair<BrokerId, BrokerId>>;  // inclusive, sorted, non-overlapping
// "1-3,7,10-12" -> {{1,3},{7,7},{10,12}} (overlapping or adjacent ranges merged); nullopt when malformed:
// blank text, an empty item (including a trailing comma), a negative id, lo > hi.
std::optional<IdRanges> parse_id_ranges(const std::string& text);
// Any inclusive ranges -> sorted, non-overlapping ranges covering the same ids (overlapping or adjacent merged).
IdRanges merge_ranges(IdRanges ranges);
// Number of ids the ranges cover.
std::uint64_t id_count(const IdRanges& ranges);
// "1-3,7,10-12" -> {1,2,3,7,10,11,12}; nullopt when malformed or more than kMaxExpectedBrokers ids.
std::optional<std::vector<BrokerId>> parse_id_list(const std::string& text);
// The ids of merged ranges, ascending; nullopt when they cover more than kMaxExpectedBrokers ids (the ranges
// are counted before anything is expanded, so a huge range costs nothing).
std::optional<std::vector<BrokerId>> expand_ids(const IdRanges& ranges);
// parse_id_ranges for a query string (?brokers=), where nothing but a clean id is accepted: every item is
// `ID` or `ID-ID`, each ID canonical decimal digits (no blanks, sign, leading zero or any other byte, such
// as a NUL a percent-decoder produced from %00). Blank text or an empty item is malformed, as in the flags.
std::optional<IdRanges> parse_query_id_ranges(const std::string& text);
// Sorted unique ids -> ranges of consecutive ids.
IdRanges ranges_of(const std::vector<BrokerId>& ids);
// {{1,3},{7,7}} -> "1-3,7".
std::string format_id_ranges(const IdRanges& ranges);

// NAME=ids:LIST or NAME=host:REGEX -> FleetRule (the regex is not compiled here); nullopt when malformed.
std::optional<FleetRule> parse_fleet(const std::string& spec);

// "a,b,c" with every item non-blank; the trimmed items, or nullopt.
std::optional<std::vector<std::string>> split_list(const std::string& text);

}  // namespace isrguard::service
