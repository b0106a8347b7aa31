#include "service/judge/overrides.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "service/judge/reasons.h"
#include "service/judge/wall_time.h"

namespace isrguard::service {
namespace {

// ---- parsing ----

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

enum class ScopeKind { kBrokers, kTopics, kPartitions };

// Which scopes make sense for a reason: brokers_missing and brokers_unresponsive are about brokers; the
// partition reasons can be scoped by topic, partition or by broker (the brokers that explain the problem);
// the topic reports by topic.
std::vector<ScopeKind> scopes_for(std::string_view reason) {
  if (reason == reason::kBrokersMissing || reason == reason::kBrokersUnresponsive)
    return {ScopeKind::kBrokers};
  if (reason == reason::kMinIsrRiskTopics || reason == reason::kMinIsrUnknownTopics)
    return {ScopeKind::kTopics};
  return {ScopeKind::kBrokers, ScopeKind::kTopics, ScopeKind::kPartitions};
}

const char* scope_key(ScopeKind k) {
  switch (k) {
    case ScopeKind::kBrokers:
      return "brokers";
    case ScopeKind::kTopics:
      return "topics";
    case ScopeKind::kPartitions:
      return "partitions";
  }
  return "";
}

void parse_scope(const YAML::Node& entry, const std::string& at, Override& o) {
  const auto allowed = scopes_for(o.reason);
  int given = 0;
  for (ScopeKind k : {ScopeKind::kBrokers, ScopeKind::kTopics, ScopeKind::kPartitions}) {
    const YAML::Node n = entry[scope_key(k)];
    if (!n) continue;
    const std::string field = at + "." + scope_key(k);
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
      fail(n, field, "reason " + o.reason + " cannot be scoped by " + scope_key(k));
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

void parse_expiry(const YAML::Node& entry, const std::string& at, WallClock::time_point now,
                  std::chrono::milliseconds max_ttl, Override& o) {
  const YAML::Node n = required(entry, "expires", at);
  const std::string field = at + ".expires";
  const std::string text = scalar(n, field);
  const auto t = parse_rfc3339(text);
  if (!t) fail(n, field, "not an RFC 3339 time (e.g. 2026-12-01T06:00:00Z): '" + text + "'");
  if (*t - now > max_ttl)
    fail(n, field,
         text + " is more than the allowed " +
             duration_text(std::chrono::duration_cast<std::chrono::seconds>(max_ttl)) +
             " ahead (--max-override-ttl)");
  o.expires = *t;
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

std::vector<Override> parse_document(const YAML::Node& root, WallClock::time_point now,
                                     std::chrono::milliseconds max_ttl, const PastExpiry& tolerate) {
  if (!root || root.IsNull()) return {};
  if (!root.IsMap()) fail(root, "document", "must be a mapping with the key 'overrides'");
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

// ---- applying ----

std::string ids_text(const std::vector<BrokerId>& v) {
  std::string s;
  for (auto id : v) s += (s.empty() ? "" : ",") + std::to_string(id);
  return "[" + s + "]";
}

// How much of a reason the acknowledgements cover: `covered` items proven in scope out of the reason's count.
struct Coverage {
  std::int64_t covered = 0;
  bool unprovable = false;  // a broker/partition scope could not be checked (capped partition list)
};

bool broker_up(const Verdict& v, BrokerId id) {
  return std::any_of(v.brokers.begin(), v.brokers.end(),
                     [&](const BrokerHealth& b) { return b.id == id && b.up; });
}

// The in-sync replicas of `p` that are present in metadata (what `covering` calls live).
std::vector<BrokerId> live_isr(probes::PartitionView p, const Verdict& v) {
  std::vector<BrokerId> out;
  for (BrokerId r : p.isr)
    if (broker_up(v, r)) out.push_back(r);
  return out;
}

// A partition's problem is explained by brokers B when the replicas that are not live in-sync replicas are
// not none and all in B (e.g. every partition that lost only broker 3). `hits` gets the brokers of B used.
bool explained_by(probes::PartitionView p, std::span<const BrokerId> live, const std::set<BrokerId>& b,
                  std::set<BrokerId>* hits) {
  if (b.empty()) return false;
  bool any = false;
  for (BrokerId r : p.replicas) {
    if (probes::contains_id(live, r)) continue;
    if (b.count(r) == 0) return false;
    if (hits) hits->insert(r);
    any = true;
  }
  return any;
}

// Per-topic count of a partition reason (uncapped), and the per-partition state it corresponds to.
struct PartitionReason {
  std::string_view state;
  std::int64_t TopicHealth::*per_topic;
};
std::optional<PartitionReason> partition_reason(std::string_view code) {
  if (code == reason::kOfflinePartitions) return PartitionReason{pstate::kOffline, &TopicHealth::offline};
  if (code == reason::kUnderReplicatedPartitions)
    return PartitionReason{pstate::kUnderReplicated, &TopicHealth::under_replicated};
  if (code == reason::kUnderMinIsrPartitions)
    return PartitionReason{pstate::kUnderMinIsr, &TopicHealth::under_min_isr};
  if (code == reason::kAtMinIsrPartitions)
    return PartitionReason{pstate::kAtMinIsr, &TopicHealth::at_min_isr};
  if (code == reason::kMetadataErrors) return PartitionReason{pstate::kError, &TopicHealth::errors};
  return std::nullopt;
}

Coverage cover_partitions(const Reason& r, const Verdict& v, const AckScope& a, const PartitionReason& pr) {
  Coverage c;
  // The per-partition list proves the whole set only when it is complete and holds every affected item
  // (topic-level metadata errors, for one, are not partitions).
  std::int64_t listed = 0, in_scope = 0;
  for (const auto& p : v.unhealthy_partitions) {
    if (!p.has(pr.state)) continue;
    ++listed;
    if (!covering(a, p.topic, p.partition, live_isr(p.partition, v)).empty()) ++in_scope;
  }
  const bool complete =
      static_cast<std::int64_t>(v.unhealthy_partitions.size()) == v.unhealthy_partitions_total;
  if (complete && listed == r.count) {
    c.covered = in_scope;
    return c;
  }
  // Otherwise only topic scopes can be proven, from the uncapped per-topic counts.
  for (const auto& t : v.topics)
    if (a.topics.count(t.name) > 0) c.covered += t.*(pr.per_topic);
  c.unprovable = c.covered < r.count && (!a.brokers.empty() || !a.partitions.empty());
  return c;
}

Coverage cover(const Reason& r, const Verdict& v, const AckScope& a) {
  Coverage c;
  if (a.whole) {
    c.covered = r.count;
    return c;
  }
  if (r.code == reason::kBrokersMissing || r.code == reason::kBrokersUnresponsive) {
    const bool missing_reason = r.code == reason::kBrokersMissing;
    std::int64_t affected = 0;
    for (const auto& b : v.brokers) {
      if (missing_reason ? b.up : !b.unresponsive) continue;
      ++affected;
      if (a.brokers.count(b.id) > 0) ++c.covered;
    }
    if (affected != r.count) c.covered = 0;  // the verdict does not match the reason: prove nothing
    return c;
  }
  if (r.code == reason::kMinIsrRiskTopics || r.code == reason::kMinIsrUnknownTopics) {
    const bool risk = r.code == reason::kMinIsrRiskTopics;
    std::int64_t affected = 0;
    for (const auto& t : v.topics) {
      if (!(risk ? t.min_isr_risk : t.min_isr_from_default)) continue;
      ++affected;
      if (a.topics.count(t.name) > 0) ++c.covered;
    }
    if (affected != r.count) c.covered = 0;
    return c;
  }
  if (auto pr = partition_reason(r.code)) return cover_partitions(r, v, a, *pr);
  return c;
}

Reason acknowledged(Reason r, const Verdict& v, const AckScope& a) {
  const Coverage c = cover(r, v, a);
  if (c.covered >= r.count) {
    r.detail = "acknowledged by " + a.authors() + ": " + r.detail;
    r.gating = false;
  } else if (c.covered > 0) {
    r.detail += " (" + std::to_string(c.covered) + " of " + std::to_string(r.count) + " acknowledged by " +
                a.authors() + "; the rest still gates)";
  } else if (c.unprovable) {
    r.detail += " (acknowledged by " + a.authors() +
                " but the partition list is capped, so the scope cannot be checked: still gating)";
  }
  return r;
}

Reason freeze_reason(const std::vector<Override>& active, WallClock::time_point now) {
  Reason r{std::string(reason::kOverrideFreeze), 0, "", true};  // a freeze gates whatever the policy says
  for (const auto& o : active) {
    if (o.action != OverrideAction::kFreeze) continue;
    ++r.count;
    r.detail += (r.detail.empty() ? "frozen by " : "; frozen by ") + o.by + " (" + o.why + "), " +
                duration_text(std::chrono::duration_cast<std::chrono::seconds>(o.expires - now)) + " left";
  }
  return r;
}

}  // namespace

std::string_view to_string(OverrideAction a) {
  return a == OverrideAction::kFreeze ? "freeze" : "acknowledge";
}

bool acknowledgeable(std::string_view code) {
  return reason::is_known(code) && code != reason::kProbeFailed && code != reason::kSnapshotStale &&
         code != reason::kOverrideFreeze && code != reason::kOverridesInvalid;
}

std::optional<WallClock::time_point> parse_rfc3339(std::string_view s) {
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
  return std::chrono::time_point_cast<WallClock::duration>(t);
}

bool same_entry(const Override& a, const Override& b) {
  Override moved = a;
  moved.line = b.line;
  return moved == b;
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

OverridesAt split_expired(const std::vector<Override>& all, WallClock::time_point now) {
  OverridesAt out;
  for (const auto& o : all) (o.expires > now ? out.active : out.expired).push_back(o);
  return out;
}

std::vector<Reason> apply_overrides(const std::vector<Reason>& reasons, const Verdict* verdict,
                                    const std::vector<Override>& active, WallClock::time_point now) {
  std::vector<Reason> out;
  out.reserve(reasons.size() + 1);
  for (const auto& r : reasons) {
    const AckScope a = acknowledgements_of(active, r.code);
    out.push_back(verdict && a.any() ? acknowledged(r, *verdict, a) : r);
  }
  const Reason freeze = freeze_reason(active, now);
  if (freeze.count > 0) out.push_back(freeze);
  return out;
}

std::string AckScope::authors() const {
  std::vector<std::string> seen;
  std::string s;
  for (const auto& o : entries) {
    if (std::find(seen.begin(), seen.end(), o.by) != seen.end()) continue;
    seen.push_back(o.by);
    s += (s.empty() ? "" : ", ") + o.by;
  }
  return s;
}

AckScope acknowledgements_of(std::span<const Override> active, std::string_view code) {
  AckScope a;
  if (!acknowledgeable(code)) return a;
  for (const auto& o : active) {
    if (o.action != OverrideAction::kAcknowledge || o.reason != code) continue;
    a.whole = a.whole || o.scope.whole();
    a.brokers.insert(o.scope.brokers.begin(), o.scope.brokers.end());
    a.topics.insert(o.scope.topics.begin(), o.scope.topics.end());
    a.partitions.insert(o.scope.partitions.begin(), o.scope.partitions.end());
    a.entries.push_back(o);
  }
  return a;
}

std::vector<Override> covering(const AckScope& a, std::string_view topic, probes::PartitionView p,
                               std::span<const BrokerId> live) {
  std::set<BrokerId> hits;
  const PartitionRef ref{std::string(topic), p.id};
  const bool by_brokers = explained_by(p, live, a.brokers, &hits);
  if (!a.whole && a.topics.count(topic) == 0 && a.partitions.count(ref) == 0 && !by_brokers) return {};
  // The entries that contributed: whole, naming the topic or partition, or naming a broker that explains it.
  std::vector<Override> out;
  for (const auto& o : a.entries) {
    const auto& sc = o.scope;
    const bool names_broker = by_brokers && std::any_of(sc.brokers.begin(), sc.brokers.end(),
                                                        [&](BrokerId b) { return hits.count(b) > 0; });
    if (sc.whole() || std::binary_search(sc.topics.begin(), sc.topics.end(), topic) ||
        std::binary_search(sc.partitions.begin(), sc.partitions.end(), ref) || names_broker)
      out.push_back(o);
  }
  return out;
}

bool fully_acknowledged(const Reason& r, const Verdict& verdict, const AckScope& scope) {
  return scope.any() && cover(r, verdict, scope).covered >= r.count;
}

std::string duration_text(std::chrono::seconds s) {
  if (s.count() < 0) s = std::chrono::seconds(0);
  const auto h = std::chrono::duration_cast<std::chrono::hours>(s);
  const auto m = std::chrono::duration_cast<std::chrono::minutes>(s - h);
  const auto sec = s - h - m;
  if (h.count() > 0) return std::to_string(h.count()) + "h" + std::to_string(m.count()) + "m";
  if (m.count() > 0) return std::to_string(m.count()) + "m" + std::to_string(sec.count()) + "s";
  return std::to_string(sec.count()) + "s";
}

std::string scope_text(const OverrideScope& s) {
  if (!s.brokers.empty()) return "brokers=" + ids_text(s.brokers);
  std::string items;
  for (const auto& t : s.topics) items += (items.empty() ? "" : ",") + t;
  for (const auto& p : s.partitions)
    items += (items.empty() ? "" : ",") + p.topic + "-" + std::to_string(p.partition);
  if (!s.topics.empty()) return "topics=[" + items + "]";
  if (!s.partitions.empty()) return "partitions=[" + items + "]";
  return "all";
}

std::string describe(const Override& o, WallClock::time_point now) {
  std::string s(to_string(o.action));
  if (o.action == OverrideAction::kAcknowledge) s += " " + o.reason + " " + scope_text(o.scope);
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(o.expires - now);
  s += " by " + o.by + " until " + format_time(o.expires) + " (" +
       (left.count() > 0 ? duration_text(left) + " left" : std::string("expired")) + "): " + o.why;
  return s;
}

std::ostream& operator<<(std::ostream& os, const Override& o) {
  return os << "Override{line " << o.line << ": " << describe(o, WallClock::time_point{}) << '}';
}
std::ostream& operator<<(std::ostream& os, const OverridesParse& p) {
  if (!p.overrides) return os << "OverridesParse{error: " << p.error << '}';
  os << "OverridesParse{";
  for (const auto& o : *p.overrides) os << o << ' ';
  return os << '}';
}
std::ostream& operator<<(std::ostream& os, const OverridesAt& a) {
  os << "OverridesAt{active=[";
  for (const auto& o : a.active) os << o << ' ';
  os << "] expired=[";
  for (const auto& o : a.expired) os << o << ' ';
  return os << "]}";
}

std::ostream& operator<<(std::ostream& os, const OverridesStatus& s) {
  os << "OverridesStatus{" << (s.path.empty() ? "<none>" : s.path)
     << (s.valid ? " valid" : " INVALID: " + s.error) << " reload_errors=" << s.reload_errors << " active=[";
  for (const auto& o : s.active) os << o << ' ';
  os << "] expired=[";
  for (const auto& o : s.expired) os << o << ' ';
  return os << "]}";
}

}  // namespace isrguard::service
