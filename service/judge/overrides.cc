#include "service/judge/overrides.h"

#include <algorithm>
#include <map>
#include <set>

#include "service/judge/reasons.h"
#include "service/judge/wall_time.h"

namespace isrguard::service {
namespace {

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

std::string_view to_string(ScopeKind k) {
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

// Mirrors `cover`: broker reasons are proven per broker, the topic reports per topic, the partition reasons
// per partition (by topic, partition or the brokers that explain it); any other reason only as a whole.
std::vector<ScopeKind> scopes_for(std::string_view code) {
  if (!acknowledgeable(code)) return {};
  if (code == reason::kBrokersMissing || code == reason::kBrokersUnresponsive) return {ScopeKind::kBrokers};
  if (code == reason::kMinIsrRiskTopics || code == reason::kMinIsrUnknownTopics) return {ScopeKind::kTopics};
  if (partition_reason(code)) return {ScopeKind::kBrokers, ScopeKind::kTopics, ScopeKind::kPartitions};
  return {};
}

bool same_entry(const Override& a, const Override& b) {
  Override moved = a;
  moved.line = b.line;
  return moved == b;
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
