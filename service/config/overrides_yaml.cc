#include "service/config/overrides_yaml.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "service/judge/reasons.h"

namespace isrguard::service {
namespace {

// A parse problem: which line and which field, so an on-call engineer can find it in the ConfigMap.
struct ParseError {
  std::string text;
};

[[noreturn]] void fail(const YAML::Node& at, const std::string& field, const std::string& problem) {
  const int line = at.Mark().is_null() ? 0 : at.Mark().line + 1;
  throw ParseError{(line > 0 ? "line " + std::to_string(line) + ": " : std::string()) + field + ": " +
                   problem};
}

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

template <typename T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::chrono::sys_time<std::chrono::milliseconds>> rfc3339_ms(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  auto num = [&](std::size_t pos, std::size_t len) -> std::optional<int> {
    if (pos + len > s.size()) return std::nullopt;
    for (std::size_t i = pos; i < pos + len; ++i)
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
    return parse_number<int>(s.substr(pos, len));
  };
  auto at = [&](std::size_t pos, std::string_view chars) {
    return pos < s.size() && chars.find(s[pos]) != std::string_view::npos;
  };
  const auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), sec = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !sec || !at(4, "-") || !at(7, "-") || !at(10, "Tt") || !at(13, ":") ||
      !at(16, ":"))
    return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(*y), std::chrono::month(static_cast<unsigned>(*mo)),
                                        std::chrono::day(static_cast<unsigned>(*d))};
  if (!ymd.ok() || *h > 23 || *mi > 59 || *sec > 60) return std::nullopt;
  std::size_t pos = 19;
  std::chrono::milliseconds frac{0};
  if (at(pos, ".")) {
    std::size_t end = pos + 1;
    while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
    if (end == pos + 1) return std::nullopt;
    const std::string digits = std::string(s.substr(pos + 1, std::min<std::size_t>(end - pos - 1, 3))) + "00";
    frac = std::chrono::milliseconds(*parse_number<int>(digits.substr(0, 3)));
    pos = end;
  }
  std::chrono::minutes offset{0};
  if (at(pos, "Zz") && pos + 1 == s.size()) {
  } else if (at(pos, "+-") && pos + 6 == s.size() && at(pos + 3, ":")) {
    const auto oh = num(pos + 1, 2), om = num(pos + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
    offset = std::chrono::hours(*oh) + std::chrono::minutes(*om);
    if (s[pos] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  const auto t = std::chrono::sys_days(ymd) + std::chrono::hours(*h) + std::chrono::minutes(*mi) +
                 std::chrono::seconds(*sec) + frac - offset;
  return std::chrono::sys_time<std::chrono::milliseconds>(t);
}

std::string scalar(const YAML::Node& n, const std::string& field) {
  if (!n.IsScalar()) fail(n, field, "must be a single value");
  std::string s = trim(n.Scalar());
  if (s.empty()) fail(n, field, "must not be empty");
  if (s.size() > kMaxTextField) fail(n, field, "longer than " + std::to_string(kMaxTextField) + " bytes");
  return s;
}

// Kafka's own rule for topic names: 1-249 of [a-zA-Z0-9._-].
bool valid_topic(std::string_view t) {
  return !t.empty() && t.size() <= 249 && std::all_of(t.begin(), t.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

template <typename T, typename Parse>
std::vector<T> list(const YAML::Node& n, const std::string& field, Parse&& parse_item) {
  if (!n.IsSequence()) fail(n, field, "must be a list, e.g. [1, 2]");
  if (n.size() == 0) fail(n, field, "empty list; omit the field to acknowledge the whole reason");
  if (n.size() > kMaxScopeItems) fail(n, field, "more than " + std::to_string(kMaxScopeItems) + " items");
  std::set<T> out;
  for (std::size_t i = 0; i < n.size(); ++i)
    out.insert(parse_item(n[i], field + "[" + std::to_string(i) + "]"));
  return {out.begin(), out.end()};
}

BrokerId broker_id(const YAML::Node& n, const std::string& field) {
  const auto v = parse_number<BrokerId>(scalar(n, field));
  if (!v || *v < 0) fail(n, field, "not a broker id (a non-negative integer): '" + n.Scalar() + "'");
  return *v;
}

std::string topic_name(const YAML::Node& n, const std::string& field) {
  std::string t = scalar(n, field);
  if (!valid_topic(t)) fail(n, field, "not a topic name (1-249 of a-z A-Z 0-9 . _ -): '" + t + "'");
  return t;
}

PartitionRef partition_ref(const YAML::Node& n, const std::string& field) {
  const std::string s = scalar(n, field);
  const auto dash = s.rfind('-');
  const auto id = dash == std::string::npos ? std::nullopt : parse_number<std::int32_t>(s.substr(dash + 1));
  if (!id || *id < 0 || !valid_topic(s.substr(0, dash)))
    fail(n, field, "not a partition written topic-N (e.g. orders-3): '" + s + "'");
  return PartitionRef{s.substr(0, dash), *id};
}

// "brokers, topics" / "no scope" for messages.
std::string scope_names(const std::vector<ScopeKind>& kinds) {
  std::string out;
  for (ScopeKind k : kinds) out += (out.empty() ? "" : ", ") + std::string(to_string(k));
  return out;
}

void parse_scope(const YAML::Node& entry, const std::string& at, Override& o) {
  const auto allowed = scopes_for(o.reason);
  int given = 0;
  for (ScopeKind k : {ScopeKind::kBrokers, ScopeKind::kTopics, ScopeKind::kPartitions}) {
    const std::string key(to_string(k));
    const YAML::Node n = entry[key];
    if (!n) continue;
    const std::string field = at + "." + key;
    if (allowed.empty())
      fail(n, field,
           "reason " + o.reason + " cannot be scoped by " + key + " (" + o.reason +
               " takes no scope: omit brokers, topics and partitions to acknowledge the whole reason)");
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      fail(n, field,
           "reason " + o.reason + " cannot be scoped by " + key + " (" + o.reason + " takes " +
               scope_names(allowed) + ")");
    if (++given > 1) fail(n, field, "use one of brokers, topics, partitions per entry (write two entries)");
    if (k == ScopeKind::kBrokers) o.scope.brokers = list<BrokerId>(n, field, broker_id);
    if (k == ScopeKind::kTopics) o.scope.topics = list<std::string>(n, field, topic_name);
    if (k == ScopeKind::kPartitions) o.scope.partitions = list<PartitionRef>(n, field, partition_ref);
  }
}

void check_keys(const YAML::Node& entry, const std::string& at, OverrideAction action) {
  static const std::set<std::string> kFreezeKeys = {"action", "expires", "by", "why"};
  static const std::set<std::string> kAckKeys = {"action",     "reason",  "brokers", "topics",
                                                 "partitions", "expires", "by",      "why"};
  const auto& keys = action == OverrideAction::kFreeze ? kFreezeKeys : kAckKeys;
  std::set<std::string> seen;
  for (const auto& kv : entry) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (!seen.insert(key).second) fail(kv.first, at + "." + key, "given twice");
    if (keys.count(key) == 0) {
      std::string known;
      for (const auto& k : keys) known += (known.empty() ? "" : ", ") + k;
      fail(kv.first, at + "." + key,
           "unknown key for " + std::string(to_string(action)) + " (" + known + ")");
    }
  }
}

const YAML::Node required(const YAML::Node& entry, const char* key, const std::string& at) {
  const YAML::Node n = entry[key];
  if (!n || n.IsNull()) fail(entry, at + "." + key, "required");
  return n;
}

// Compared in milliseconds over the 4-digit years RFC 3339 allows (no overflow: +-10^4 years is far inside
// an int64 of milliseconds); converted to WallClock (nanoseconds, ending in 2262) only once it is in range.
void parse_expiry(const YAML::Node& entry, const std::string& at, WallClock::time_point now,
                  std::chrono::milliseconds max_ttl, Override& o) {
  const YAML::Node n = required(entry, "expires", at);
  const std::string field = at + ".expires";
  const std::string text = scalar(n, field);
  const auto t = rfc3339_ms(text);
  if (!t) fail(n, field, "not an RFC 3339 time (e.g. 2026-12-01T06:00:00Z): '" + text + "'");
  if (*t - std::chrono::floor<std::chrono::milliseconds>(now) > max_ttl)
    fail(n, field,
         text + " is more than the allowed " +
             duration_text(std::chrono::duration_cast<std::chrono::seconds>(max_ttl)) +
             " ahead (--max-override-ttl)");
  // Reached only with a --max-override-ttl of centuries; WallClock cannot hold these times.
  if (*t > std::chrono::floor<std::chrono::milliseconds>(WallClock::time_point::max()))
    fail(n, field, text + " is beyond the latest time isrguard can hold (2262-04-11)");
  if (*t < std::chrono::sys_time<std::chrono::milliseconds>{})
    fail(n, field, text + " is before 1970; remove expired entries");
  o.expires = std::chrono::time_point_cast<WallClock::duration>(*t);
}

Override parse_entry(const YAML::Node& entry, std::size_t index, WallClock::time_point now,
                     std::chrono::milliseconds max_ttl, const PastExpiry& tolerate) {
  const std::string at = "overrides[" + std::to_string(index) + "]";
  if (!entry.IsMap()) fail(entry, at, "must be a mapping with action, expires, by, why");
  Override o;
  o.line = entry.Mark().is_null() ? 0 : entry.Mark().line + 1;
  const std::string action = scalar(required(entry, "action", at), at + ".action");
  if (action == "freeze") {
    o.action = OverrideAction::kFreeze;
  } else if (action == "acknowledge") {
    o.action = OverrideAction::kAcknowledge;
  } else {
    fail(entry["action"], at + ".action", "unknown action '" + action + "' (freeze, acknowledge)");
  }
  check_keys(entry, at, o.action);
  if (o.action == OverrideAction::kAcknowledge) {
    const YAML::Node r = required(entry, "reason", at);
    o.reason = scalar(r, at + ".reason");
    if (!acknowledgeable(o.reason)) {
      std::string known;
      for (auto code : reason::kAll)
        if (acknowledgeable(code)) known += (known.empty() ? "" : ", ") + std::string(code);
      fail(r, at + ".reason",
           (reason::is_known(o.reason) ? "reason cannot be acknowledged: '" : "unknown reason: '") +
               o.reason + "' (one of " + known + ")");
    }
    parse_scope(entry, at, o);
  }
  parse_expiry(entry, at, now, max_ttl, o);
  o.by = scalar(required(entry, "by", at), at + ".by");
  o.why = scalar(required(entry, "why", at), at + ".why");
  // Checked once the whole entry is known: whether it is tolerated depends on all of it.
  if (o.expires <= now && !tolerate.allows(o))
    fail(entry["expires"], at + ".expires",
         trim(entry["expires"].Scalar()) + " is in the past; remove expired entries");
  return o;
}

// Duplicate keys anywhere make the file invalid: yaml-cpp keeps the first silently while other YAML tools
// keep the last, so one file would mean different overrides to different readers. Keys are compared as
// text ("1" and 1 are the same key). The walk is bounded: aliases can make a small file a huge tree.
constexpr std::size_t kMaxYamlNodes = 100'000;
constexpr int kMaxYamlDepth = 32;

void reject_duplicate_keys(const YAML::Node& n, const std::string& at, int depth, std::size_t& visited) {
  if (++visited > kMaxYamlNodes)
    fail(n, "document", "more than " + std::to_string(kMaxYamlNodes) + " YAML nodes (aliases?)");
  if (depth > kMaxYamlDepth) fail(n, at, "nested deeper than " + std::to_string(kMaxYamlDepth) + " levels");
  if (n.IsSequence()) {
    std::size_t i = 0;
    for (const auto& item : n) reject_duplicate_keys(item, at + "[" + std::to_string(i++) + "]", depth + 1, visited);
    return;
  }
  if (!n.IsMap()) return;
  std::set<std::string> seen;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) fail(kv.first, at.empty() ? "document" : at, "a key must be a plain value");
    const std::string field = at.empty() ? kv.first.Scalar() : at + "." + kv.first.Scalar();
    if (!seen.insert(kv.first.Scalar()).second) fail(kv.first, field, "given twice");
    reject_duplicate_keys(kv.second, field, depth + 1, visited);
  }
}

std::vector<Override> parse_document(const YAML::Node& root, WallClock::time_point now,
                                     std::chrono::milliseconds max_ttl, const PastExpiry& tolerate) {
  if (!root || root.IsNull()) return {};
  if (!root.IsMap()) fail(root, "document", "must be a mapping with the key 'overrides'");
  std::size_t visited = 0;
  reject_duplicate_keys(root, "", 0, visited);
  for (const auto& kv : root) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (key != "overrides") fail(kv.first, key, "unknown key (only 'overrides')");
  }
  const YAML::Node list_node = root["overrides"];
  if (!list_node || list_node.IsNull()) return {};
  if (!list_node.IsSequence()) fail(list_node, "overrides", "must be a list of entries");
  if (list_node.size() > kMaxOverrides)
    fail(list_node, "overrides", "more than " + std::to_string(kMaxOverrides) + " entries");
  std::vector<Override> out;
  for (std::size_t i = 0; i < list_node.size(); ++i)
    out.push_back(parse_entry(list_node[i], i, now, max_ttl, tolerate));
  return out;
}

}  // namespace

std::optional<WallClock::time_point> parse_rfc3339(std::string_view s) {
  const auto t = rfc3339_ms(s);
  using std::chrono::milliseconds;
  const auto lo = std::chrono::ceil<milliseconds>(WallClock::time_point::min());
  const auto hi = std::chrono::floor<milliseconds>(WallClock::time_point::max());
  if (!t || *t < lo || *t > hi) return std::nullopt;
  return std::chrono::time_point_cast<WallClock::duration>(*t);
}

bool PastExpiry::allows(const Override& o) const {
  return any || std::any_of(known.begin(), known.end(), [&](const Override& k) { return same_entry(k, o); });
}

OverridesParse parse_overrides(std::string_view text, WallClock::time_point now,
                               std::chrono::milliseconds max_ttl, const PastExpiry& tolerate) {
  OverridesParse out;
  try {
    out.overrides = parse_document(YAML::Load(std::string(text)), now, max_ttl, tolerate);
  } catch (const ParseError& e) {
    out.error = e.text;
  } catch (const YAML::Exception& e) {
    out.error = (e.mark.is_null() ? std::string() : "line " + std::to_string(e.mark.line + 1) + ": ") +
                "YAML syntax: " + e.msg;
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const OverridesParse& p) {
  if (!p.overrides) return os << "OverridesParse{error: " << p.error << '}';
  os << "OverridesParse{";
  for (const auto& o : *p.overrides) os << o << ' ';
  return os << '}';
}

}  // namespace isrguard::service
