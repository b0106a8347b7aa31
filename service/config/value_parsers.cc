#include "service/config/value_parsers.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <regex>
#include <sstream>

namespace isrguard::service {
namespace {

std::optional<std::int64_t> parse_int(const std::string& s) {
  std::int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

std::string trim_blanks(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  const std::string t = trim_blanks(text);
  std::size_t i = 0;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
  if (i == 0) return std::nullopt;
  auto n = parse_int(t.substr(0, i));
  if (!n) return std::nullopt;
  const std::string unit = t.substr(i);
  std::int64_t factor = 0;
  if (unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else
    return std::nullopt;
  if (*n > (std::int64_t{1} << 40) / factor) return std::nullopt;  // absurdly long
  return std::chrono::milliseconds(*n * factor);
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::optional<IdRanges> parse_id_ranges(const std::string& text) {
  if (trim_blanks(text).empty() || text.back() == ',' || trim_blanks(text).back() == ',') return std::nullopt;
  IdRanges ranges;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim_blanks(item);
    if (item.empty()) return std::nullopt;
    auto dash = item.find('-', 1);
    auto lo = parse_int(trim_blanks(item.substr(0, dash)));
    auto hi = dash == std::string::npos ? lo : parse_int(trim_blanks(item.substr(dash + 1)));
    if (!lo || !hi || *lo < 0 || *hi < *lo || *hi > 2'147'483'647) return std::nullopt;
    ranges.emplace_back(static_cast<BrokerId>(*lo), static_cast<BrokerId>(*hi));
  }
  return merge_ranges(std::move(ranges));
}

IdRanges merge_ranges(IdRanges ranges) {
  std::sort(ranges.begin(), ranges.end());
  IdRanges merged;
  for (const auto& r : ranges) {
    if (!merged.empty() && std::int64_t{r.first} <= std::int64_t{merged.back().second} + 1)
      merged.back().second = std::max(merged.back().second, r.second);
    else
      merged.push_back(r);
  }
  return merged;
}

std::uint64_t id_count(const IdRanges& ranges) {
  std::uint64_t n = 0;
  for (const auto& [lo, hi] : ranges) n += static_cast<std::uint64_t>(std::int64_t{hi} - lo + 1);
  return n;
}

std::optional<std::vector<BrokerId>> parse_id_list(const std::string& text) {
  const auto ranges = parse_id_ranges(text);
  if (!ranges) return std::nullopt;
  return expand_ids(*ranges);
}

std::optional<std::vector<BrokerId>> expand_ids(const IdRanges& ranges) {
  if (id_count(ranges) > kMaxExpectedBrokers) return std::nullopt;
  std::vector<BrokerId> out;
  for (const auto& [lo, hi] : ranges)
    for (std::int64_t id = lo; id <= hi; ++id) out.push_back(static_cast<BrokerId>(id));
  return out;
}

std::optional<IdRanges> parse_query_id_ranges(const std::string& text) {
  // Each number: one or more digits, no leading zero unless it is "0". parse_id_ranges checks the rest
  // (the range bounds, lo <= hi, at most INT32_MAX).
  std::size_t digits = 0;  // digits of the current number so far
  bool leading_zero = false;
  for (const char ch : text) {
    if (ch >= '0' && ch <= '9') {
      if (leading_zero) return std::nullopt;
      leading_zero = digits == 0 && ch == '0';
      ++digits;
    } else if (ch == ',' || ch == '-') {
      if (digits == 0) return std::nullopt;  // empty item, empty bound, or a sign
      digits = 0;
      leading_zero = false;
    } else {
      return std::nullopt;
    }
  }
  if (digits == 0) return std::nullopt;  // blank text, trailing comma or dash
  return parse_id_ranges(text);
}

IdRanges ranges_of(const std::vector<BrokerId>& ids) {
  IdRanges out;
  for (BrokerId id : ids) {
    if (!out.empty() && std::int64_t{out.back().second} + 1 == id)
      out.back().second = id;
    else
      out.emplace_back(id, id);
  }
  return out;
}

std::string format_id_ranges(const IdRanges& ranges) {
  std::string s;
  for (const auto& [lo, hi] : ranges)
    s += (s.empty() ? "" : ",") +
         (lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi));
  return s;
}

std::optional<FleetRule> parse_fleet(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos) return std::nullopt;
  FleetRule f;
  f.name = trim_blanks(spec.substr(0, eq));
  const std::string rule = spec.substr(eq + 1);
  if (f.name.empty() || !std::regex_match(f.name, std::regex("[A-Za-z0-9_.-]+"))) return std::nullopt;
  if (rule.rfind("ids:", 0) == 0) {
    auto ranges = parse_id_ranges(rule.substr(4));  // ranges, never expanded: any size is cheap
    if (!ranges) return std::nullopt;
    f.id_ranges = std::move(*ranges);
    return f;
  }
  // A regex with blanks at either end never matches a host name: a quoting mistake.
  if (rule.rfind("host:", 0) == 0 && rule.size() > 5 && trim_blanks(rule.substr(5)) == rule.substr(5)) {
    f.host_regex = rule.substr(5);
    return f;
  }
  return std::nullopt;
}

std::optional<std::vector<std::string>> split_list(const std::string& text) {
  if (trim_blanks(text).empty() || trim_blanks(text).back() == ',') return std::nullopt;
  std::vector<std::string> items;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (trim_blanks(item).empty()) return std::nullopt;
    items.push_back(trim_blanks(item));
  }
  return items;
}

}  // namespace isrguard::service
