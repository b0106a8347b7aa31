#include "service/judge/disruption.h"

#include <algorithm>
#include <set>

#include "probes/split.h"
#include "service/judge/partition_rules.h"
#include "service/judge/reasons.h"

namespace isrguard::service {
namespace {

namespace outcome = disruption_outcome;

using probes::contains_id;
using probes::distinct_ids;
using probes::first_occurrence;

// Broker id -> dense slot (the position in Verdict::brokers), so the per-partition passes index flat arrays
// instead of hashing. Ids below kDenseLimit use a direct table; others (rare) a binary search.
class BrokerSlots {
 public:
  static constexpr BrokerId kDenseLimit = 1 << 16;

  explicit BrokerSlots(const std::vector<BrokerHealth>& brokers) {
    BrokerId max_id = -1;
    for (const auto& b : brokers) {
      ids_.push_back(b.id);
      max_id = std::max(max_id, b.id);
    }
    if (max_id >= 0 && max_id < kDenseLimit) {
      dense_.assign(static_cast<std::size_t>(max_id) + 1, -1);
      for (std::size_t i = 0; i < ids_.size(); ++i)
        if (ids_[i] >= 0) dense_[static_cast<std::size_t>(ids_[i])] = static_cast<std::int32_t>(i);
    }
  }
  // -1 when the id is not one of the verdict's brokers.
  std::int32_t slot(BrokerId id) const {
    if (id >= 0 && static_cast<std::size_t>(id) < dense_.size()) return dense_[static_cast<std::size_t>(id)];
    if (!dense_.empty() && id >= 0 && id < kDenseLimit) return -1;
    const auto it = std::lower_bound(ids_.begin(), ids_.end(), id);  // Verdict::brokers is sorted by id
    return it != ids_.end() && *it == id ? static_cast<std::int32_t>(it - ids_.begin()) : -1;
  }
  std::size_t size() const { return ids_.size(); }

 private:
  std::vector<BrokerId> ids_;
  std::vector<std::int32_t> dense_;
};

// Per-slot flags: counted as down (absent from metadata or unresponsive) and, for a set query, member of S.
struct SlotFlags {
  std::vector<char> absent;
  std::vector<char> in_set;
  bool any_absent = false;  // lets the common case (every broker present) skip the per-replica lookup
};

// Absent from metadata, or listed but not answering (brokers_unresponsive: its ISR entries cannot be
// trusted).
bool counted_down(const BrokerHealth& b) { return !b.up || b.unresponsive; }

SlotFlags absent_flags(const Verdict& verdict) {
  SlotFlags f;
  for (const auto& b : verdict.brokers) {
    f.absent.push_back(counted_down(b) ? 1 : 0);
    f.any_absent = f.any_absent || counted_down(b);
  }
  f.in_set.assign(f.absent.size(), 0);
  return f;
}

bool flag(const std::vector<char>& flags, std::int32_t slot) {
  return slot >= 0 && flags[static_cast<std::size_t>(slot)] != 0;
}

enum class Outcome { kOk, kAtMinIsr, kUnderMinIsr, kOffline, kError };

// Per outcome (in enum order): its code and the count it adds to.
struct OutcomeInfo {
  std::string_view code;
  std::int64_t DisruptionCounts::*count;
};
constexpr OutcomeInfo kOutcomes[] = {{outcome::kOk, &DisruptionCounts::ok},
                                     {outcome::kAtMinIsr, &DisruptionCounts::at_min_isr},
                                     {outcome::kUnderMinIsr, &DisruptionCounts::under_min_isr},
                                     {outcome::kOffline, &DisruptionCounts::offline},
                                     {outcome::kError, &DisruptionCounts::error}};
const OutcomeInfo& info(Outcome o) { return kOutcomes[static_cast<std::size_t>(o)]; }

// One partition before any disruption.
struct PartitionBefore {
  bool offline = false;
  bool error = false;
  std::int32_t in_sync = 0;  // distinct ISR ∩ replicas, present in metadata
  std::int32_t min_isr = 0;  // effective
  bool risk = false;         // min ISR risk: its own distinct replicas <= min.insync.replicas (as canRoll)
  bool min_isr_unknown = false;  // its topic's min.insync.replicas was not read (the value is a fallback)
  std::string_view min_isr_source;  // min_isr_source code of its topic's value

  bool already_unhealthy() const { return offline || in_sync < min_isr; }
};

// Whether replica `id` (with `slot`) is a live in-sync replica of `p`.
bool live_in_sync(const PartitionView& p, BrokerId id, std::int32_t slot, const SlotFlags& f) {
  return contains_id(p.isr, id) && !flag(f.absent, slot);
}
bool absent(BrokerId id, const BrokerSlots& slots, const SlotFlags& f) {
  return f.any_absent && flag(f.absent, slots.slot(id));
}

// Partition `p` of topic `t` before any disruption; brokers counted as down (`f`) are not in sync.
PartitionBefore measure_before(const PartitionView& p, const TopicHealth& t, const KafkaVersionBand& band,
                               const BrokerSlots& slots, const SlotFlags& f) {
  PartitionBefore b;
  b.offline = partition_offline(p);
  b.error = partition_metadata_error(p);
  const std::int32_t replicas = distinct_ids(p.replicas);
  b.min_isr = effective_min_isr(t.min_insync_replicas, replicas, band);  // as the verdict, per partition
  b.risk = replicas > 0 && replicas <= t.min_insync_replicas;
  b.min_isr_unknown = t.min_isr_from_default;
  b.min_isr_source = t.min_isr_source;
  if (p.isr_is_replicas() && !f.any_absent) {  // most partitions: every distinct replica is a live ISR member
    b.in_sync = replicas;
    return b;
  }
  for (std::size_t i = 0; i < p.isr.size(); ++i)
    if (first_occurrence(p.isr, i) && contains_id(p.replicas, p.isr[i]) && !absent(p.isr[i], slots, f)) ++b.in_sync;
  return b;
}

// True when no single broker can make the partition block: it keeps a leader and at least min (and at least
// one) in-sync replicas whichever one replica goes. Most partitions of a healthy cluster; lets the per-broker
// pass skip their replicas.
bool survives_any_one(const PartitionBefore& b) {
  return !b.error && !b.offline && b.in_sync - 1 >= std::max(b.min_isr, std::int32_t{1});
}

// What is left after `removed` live in-sync replicas go (see the table in disruption.h).
Outcome outcome_after(const PartitionBefore& b, std::int32_t removed) {
  if (b.error) return Outcome::kError;
  const std::int32_t after = b.in_sync - removed;
  if (b.offline || after <= 0) return Outcome::kOffline;
  if (after < b.min_isr) return Outcome::kUnderMinIsr;
  if (after == b.min_isr) return Outcome::kAtMinIsr;
  return Outcome::kOk;
}

// Would-block before the min ISR risk exemption: S takes an in-sync replica and leaves the partition offline
// or under min ISR; a metadata error blocks any S touching the partition (cannot know).
bool harmful(Outcome o, std::int32_t removed) {
  if (o == Outcome::kError) return true;
  return (o == Outcome::kOffline || o == Outcome::kUnderMinIsr) && removed > 0;
}
bool exempt(const PartitionBefore& b, Outcome o, const DisruptionOptions& opt) {
  return o != Outcome::kError && b.risk && !opt.block_min_isr_risk;
}

// Topics of the verdict (the selected ones) for each snapshot topic, or nullptr when not selected.
const TopicHealth* verdict_topic(const Verdict& v, const std::string& name) {
  auto it = std::lower_bound(v.topics.begin(), v.topics.end(), name,
                             [](const TopicHealth& h, const std::string& n) { return h.name < n; });
  return it != v.topics.end() && it->name == name ? &*it : nullptr;
}

// verdict_topic for the snapshot's topics in order: both lists are sorted by name, so the next verdict topic
// is usually the one (one comparison instead of a search); falls back to the search otherwise.
class TopicCursor {
 public:
  explicit TopicCursor(const Verdict& v) : v_(v) {}
  const TopicHealth* find(const std::string& name) {
    if (next_ < v_.topics.size() && v_.topics[next_].name == name) return &v_.topics[next_++];
    const TopicHealth* t = verdict_topic(v_, name);
    if (t) next_ = static_cast<std::size_t>(t - v_.topics.data()) + 1;
    return t;
  }

 private:
  const Verdict& v_;
  std::size_t next_ = 0;
};

std::optional<std::string> rack_of(const probes::ClusterSnapshot& s, BrokerId id) {
  for (const auto& b : s.brokers)
    if (b.id == id) return b.rack;
  return std::nullopt;
}

// (ISR ∩ replicas) − S − brokers counted as down, in ISR order.
std::vector<BrokerId> isr_after(PartitionView p, const BrokerSlots& slots, const SlotFlags& f) {
  std::vector<BrokerId> out;
  for (std::size_t i = 0; i < p.isr.size(); ++i) {
    const std::int32_t slot = slots.slot(p.isr[i]);
    if (first_occurrence(p.isr, i) && contains_id(p.replicas, p.isr[i]) && !flag(f.absent, slot) &&
        !flag(f.in_set, slot))
      out.push_back(p.isr[i]);
  }
  return out;
}

DisruptedPartition disrupted_partition(const std::string& topic, PartitionView p, const PartitionBefore& b,
                                       const BrokerSlots& slots, const SlotFlags& f, Outcome o,
                                       bool blocking) {
  DisruptedPartition d;
  d.topic = topic;
  d.partition = PartitionInfo::of(p);
  d.isr_after = isr_after(p, slots, f);
  d.min_isr = b.min_isr;
  d.outcome = std::string(info(o).code);
  d.already_unhealthy = b.already_unhealthy();
  d.min_isr_risk = b.risk;
  d.min_isr_source = b.min_isr_source;
  d.blocking = blocking;
  return d;
}

void count_outcome(DisruptionCounts& c, Outcome o) {
  ++c.affected;
  ++(c.*info(o).count);
}

Reason topic_errors(const probes::ClusterSnapshot& snapshot, const Verdict& verdict) {
  Reason r{std::string(reason::kMetadataErrors), 0, "", true};
  for (const auto& t : snapshot.topics) {
    if (t.error.ok() || !verdict_topic(verdict, t.name)) continue;
    if (r.count++ < 3)
      r.detail += std::string(r.detail.empty() ? "" : "; ") + "topic " + t.name + " error=" + t.error.name();
  }
  if (r.count > 3) r.detail += "; ...";
  if (r.count > 0)
    r.detail = std::to_string(r.count) + (r.count == 1 ? " topic" : " topics") +
               " with a metadata error (replicas unknown): " + r.detail;
  return r;
}

// The topics S touches whose min.insync.replicas was not read: what S leaves them cannot be judged (the
// fallback may be below the topic's own value), so the answer is unknown (min_isr_unknown_topics).
class UnknownMinIsr {
 public:
  void add(const TopicHealth& t) {
    if (r_.count++ < 3)
      r_.detail += std::string(r_.detail.empty() ? "" : "; ") + t.name + " (" + t.min_isr_source + " " +
                   std::to_string(t.min_insync_replicas) + ")";
  }
  void report(DisruptionAnswer& a) {
    if (r_.count == 0) return;
    if (r_.count > 3) r_.detail += "; ...";
    r_.detail = std::to_string(r_.count) + (r_.count == 1 ? " topic" : " topics") +
                " with a replica in the set and an unread min.insync.replicas (fallback shown): " + r_.detail;
    a.unknown.push_back(std::move(r_));
  }

 private:
  Reason r_{std::string(reason::kMinIsrUnknownTopics), 0, "", true};
};

// The ids of `ids` the verdict does not know (comma-separated, at most 10 named), or "".
std::string unknown_ids(const std::set<BrokerId>& ids, const Verdict& verdict) {
  std::string out;
  std::size_t n = 0;
  for (BrokerId id : ids) {
    const auto it = std::lower_bound(verdict.brokers.begin(), verdict.brokers.end(), id,
                                     [](const BrokerHealth& b, BrokerId x) { return b.id < x; });
    if (it != verdict.brokers.end() && it->id == id) continue;
    if (n++ < 10) out += (out.empty() ? "" : ",") + std::to_string(id);
  }
  if (n > 10) out += ",... (" + std::to_string(n) + " in all)";
  return out;
}
// The verdict's broker ids (comma-separated, at most 20 named), or "none".
std::string known_ids(const Verdict& verdict) {
  std::string out;
  for (std::size_t i = 0; i < verdict.brokers.size() && i < 20; ++i)
    out += (i ? "," : "") + std::to_string(verdict.brokers[i].id);
  if (verdict.brokers.size() > 20) out += ",...";
  return out.empty() ? "none" : out;
}

std::string join_names(const std::set<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
  return s;
}

// The acknowledgements in force for the outcomes that block: by outcome (offline, under_min_isr, error).
class OutcomeAcks {
 public:
  explicit OutcomeAcks(std::span<const Override> in_force)
      : offline_(acknowledgements_of(in_force, reason::kOfflinePartitions)),
        under_min_isr_(acknowledgements_of(in_force, reason::kUnderMinIsrPartitions)),
        error_(acknowledgements_of(in_force, reason::kMetadataErrors)) {}

  // The entries covering partition `p` of `topic` with outcome `o` after S (empty: it still blocks). The
  // scope is matched on the partition after S: `after` gives its live in-sync replicas (isr_after).
  template <typename After>
  std::vector<Override> covering(Outcome o, const std::string& topic, PartitionView p, After&& after) const {
    const AckScope* scope = o == Outcome::kOffline       ? &offline_
                            : o == Outcome::kUnderMinIsr ? &under_min_isr_
                            : o == Outcome::kError       ? &error_
                                                         : nullptr;
    if (!scope || !scope->any()) return {};
    return service::covering(*scope, topic, p, after());
  }

 private:
  AckScope offline_, under_min_isr_, error_;
};

// Whether an operator fully acknowledged reason `r` (one that would make the answer unknown); only
// acknowledgeable codes can be: never probe_failed, snapshot_stale, override_freeze.
bool acknowledged_unknown(const Reason& r, const Verdict& verdict, std::span<const Override> in_force) {
  return fully_acknowledged(r, verdict, acknowledgements_of(in_force, r.code));
}
// Splits the reasons that make the answer unknown into those still unknown and those acknowledged.
void judge_unknown(DisruptionAnswer& a, std::span<const Reason> reasons, const Verdict& verdict,
                   std::span<const Override> in_force) {
  for (auto& r : unknowable_reasons(reasons))
    (acknowledged_unknown(r, verdict, in_force) ? a.acknowledged_unknown : a.unknown).push_back(std::move(r));
}

// The acknowledgements of `acks` still in force at acks.now (expires > now).
std::vector<Override> in_force_at(const DisruptionAcks& acks) {
  return split_expired(std::vector<Override>(acks.overrides.begin(), acks.overrides.end()), acks.now).active;
}

WallClock::time_point earliest_expiry(const std::vector<Override>& entries) {
  WallClock::time_point t = WallClock::time_point::max();
  for (const auto& o : entries) t = std::min(t, o.expires);
  return t;
}

// The live in-sync replicas of `p` once broker `gone` (one of its replicas) stops: isr_after for S={gone}.
std::vector<BrokerId> isr_without(PartitionView p, BrokerId gone, const BrokerSlots& slots,
                                  const SlotFlags& f) {
  std::vector<BrokerId> after = isr_after(p, slots, f);
  after.erase(std::remove(after.begin(), after.end(), gone), after.end());
  return after;
}

// One partition of the selected topics against S: counted, and listed when blocking, acknowledged or
// already unhealthy.
void judge_against_set(DisruptionAnswer& a, const std::string& topic, const PartitionView& p,
                       const PartitionBefore& b, const BrokerSlots& slots, const SlotFlags& f,
                       const OutcomeAcks& acks, const DisruptionOptions& options) {
  bool touched = false;
  std::int32_t removed = 0;
  for (std::size_t i = 0; i < p.replicas.size(); ++i) {
    const std::int32_t slot = slots.slot(p.replicas[i]);
    if (!first_occurrence(p.replicas, i) || !flag(f.in_set, slot)) continue;
    touched = true;
    if (live_in_sync(p, p.replicas[i], slot, f)) ++removed;
  }
  const auto cap = static_cast<std::int64_t>(options.list_cap);
  const Outcome o = outcome_after(b, removed);
  bool blocking = touched && harmful(o, removed) && !exempt(b, o, options);
  std::vector<Override> acked_by =
      blocking ? acks.covering(o, topic, p, [&] { return isr_after(p, slots, f); }) : std::vector<Override>{};
  if (!acked_by.empty()) blocking = false;
  if (touched) {
    count_outcome(a.counts, o);
    if (harmful(o, removed) && exempt(b, o, options)) ++a.counts.not_blocking_min_isr_risk;
    if (blocking && a.counts.blocking++ < cap)
      a.blocking.push_back(disrupted_partition(topic, p, b, slots, f, o, true));
    if (!acked_by.empty() && a.counts.acknowledged++ < cap) {
      a.acknowledged.push_back(disrupted_partition(topic, p, b, slots, f, o, false));
      a.acknowledged.back().acknowledged_by = acked_by;
    }
  }
  if (b.already_unhealthy() && a.already_unhealthy_total++ < cap) {
    a.already_unhealthy.push_back(disrupted_partition(topic, p, b, slots, f, o, blocking));
    a.already_unhealthy.back().acknowledged_by = std::move(acked_by);
  }
}

}  // namespace

std::vector<Reason> unknowable_reasons(std::span<const Reason> reasons) {
  std::vector<Reason> out;
  for (const auto& r : reasons)
    if (r.code == reason::kProbeFailed || r.code == reason::kSnapshotStale || r.code == reason::kOverrideFreeze ||
        r.code == reason::kBrokersUnresponsive || r.code == reason::kControllerUnknown)
      out.push_back(r);
  return out;
}

std::optional<std::vector<DisruptionTarget>> resolve_disruption(const DisruptionQuery& q,
                                                                const probes::ClusterSnapshot& snapshot,
                                                                const Verdict& verdict, const Policy& policy,
                                                                std::string* error,
                                                                const DisruptionOptions& options) {
  auto fail = [&](std::string message) -> std::optional<std::vector<DisruptionTarget>> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  if (q.empty()) return fail("no brokers to disrupt: give brokers=, fleet= or rack=");
  std::set<BrokerId> ids(q.brokers.begin(), q.brokers.end());

  std::set<std::string> fleets{policy.default_fleet};
  for (const auto& f : policy.fleets) fleets.insert(f.name);
  for (const auto& name : q.fleets) {
    if (!fleets.count(name)) return fail("unknown fleet '" + name + "'; fleets: " + join_names(fleets));
    for (const auto& b : verdict.brokers)
      if (b.fleet == name) ids.insert(b.id);
  }

  std::set<std::string> racks;
  for (const auto& b : snapshot.brokers)
    if (b.rack) racks.insert(*b.rack);
  for (const auto& rack : q.racks) {
    if (racks.empty()) return fail("unknown rack '" + rack + "': no broker reports broker.rack");
    if (!racks.count(rack)) return fail("unknown rack '" + rack + "'; racks: " + join_names(racks));
    for (const auto& b : snapshot.brokers)
      if (b.rack == rack) ids.insert(b.id);
  }
  if (ids.empty()) return fail("the query names no broker (its fleets have no brokers)");
  if (!options.unknown_ids_as_gone)
    if (std::string unknown = unknown_ids(ids, verdict); !unknown.empty())
      return fail("unknown broker id " + unknown +
                  ": not in metadata, not expected (--expected-brokers) and not seen before; known ids: " +
                  known_ids(verdict) + " (--disrupt-unknown-as-gone takes unknown ids as already gone)");

  std::vector<DisruptionTarget> out;
  for (BrokerId id : ids) {
    DisruptionTarget t;
    t.id = id;
    t.rack = rack_of(snapshot, id);
    auto it = std::lower_bound(verdict.brokers.begin(), verdict.brokers.end(), id,
                               [](const BrokerHealth& b, BrokerId x) { return b.id < x; });
    if (it != verdict.brokers.end() && it->id == id) {
      t.known = true;
      t.present = it->up;
      t.fleet = it->fleet;
    } else {
      t.fleet = policy.fleet_of(id, "");
    }
    out.push_back(std::move(t));
  }
  return out;
}

DisruptionAnswer assess_disruption(const probes::ClusterSnapshot& snapshot, const Verdict& verdict,
                                   std::vector<DisruptionTarget> targets, std::span<const Reason> reasons,
                                   const DisruptionAcks& acks, const DisruptionOptions& options) {
  const std::vector<Override> in_force = in_force_at(acks);
  DisruptionAnswer a;
  a.brokers = std::move(targets);
  judge_unknown(a, reasons, verdict, in_force);
  if (Reason errors = topic_errors(snapshot, verdict); errors.count > 0) a.unknown.push_back(std::move(errors));
  for (const auto& b : verdict.brokers) {
    if (!b.up) a.absent_brokers.push_back(b.id);
    if (b.up && b.unresponsive) a.unresponsive_brokers.push_back(b.id);
  }

  const BrokerSlots slots(verdict.brokers);
  SlotFlags f = absent_flags(verdict);
  for (const auto& t : a.brokers)
    if (const std::int32_t s = slots.slot(t.id); s >= 0) f.in_set[static_cast<std::size_t>(s)] = 1;

  const OutcomeAcks outcome_acks(in_force);
  TopicCursor topics(verdict);
  UnknownMinIsr unknown_min_isr;
  for (const auto& topic : snapshot.topics) {
    const TopicHealth* th = topics.find(topic.name);
    if (!th) continue;
    const std::int64_t affected_before = a.counts.affected;
    for (const auto& p : topic.partitions)
      judge_against_set(a, topic.name, p, measure_before(p, *th, verdict.kafka_version, slots, f), slots, f, outcome_acks, options);
    if (th->min_isr_from_default && a.counts.affected > affected_before) unknown_min_isr.add(*th);
  }
  unknown_min_isr.report(a);
  a.safe = a.unknown.empty() && a.counts.blocking == 0;
  return a;
}

namespace {

// The per-broker pass's findings, by broker slot.
struct AloneTally {
  std::vector<std::int64_t> blocking, acknowledged;
  std::vector<std::int64_t> min_isr_unknown;  // BrokerSafety::min_isr_unknown_partitions
  std::vector<WallClock::time_point> until;   // BrokerSafety::acknowledged_until

  explicit AloneTally(std::size_t n)
      : blocking(n, 0), acknowledged(n, 0), min_isr_unknown(n, 0), until(n, WallClock::time_point::max()) {}
  // Adds the findings of another part of the topics.
  void absorb(const AloneTally& o) {
    for (std::size_t k = 0; k < blocking.size(); ++k) {
      blocking[k] += o.blocking[k];
      acknowledged[k] += o.acknowledged[k];
      min_isr_unknown[k] += o.min_isr_unknown[k];
      until[k] = std::min(until[k], o.until[k]);
    }
  }
};

// Partition `p` against each of its replicas alone, as judge_against_set judges it for S = {that replica}.
void judge_alone(AloneTally& t, const std::string& topic, const PartitionView& p,
                 const PartitionBefore& b, const BrokerSlots& slots, const SlotFlags& f,
                 const OutcomeAcks& acks, const DisruptionOptions& options) {
  for (std::size_t i = 0; i < p.replicas.size(); ++i) {
    const std::int32_t slot = slots.slot(p.replicas[i]);
    if (slot < 0 || !first_occurrence(p.replicas, i)) continue;
    const std::int32_t removed = live_in_sync(p, p.replicas[i], slot, f) ? 1 : 0;
    const Outcome o = outcome_after(b, removed);
    if (!harmful(o, removed) || exempt(b, o, options)) continue;
    const auto k = static_cast<std::size_t>(slot);
    const auto by = acks.covering(o, topic, p, [&] { return isr_without(p, p.replicas[i], slots, f); });
    if (by.empty()) {
      ++t.blocking[k];
      continue;
    }
    ++t.acknowledged[k];
    t.until[k] = std::min(t.until[k], earliest_expiry(by));
  }
}

// Partition `p` of a topic whose min ISR is unknown: every broker hosting a replica cannot be judged alone.
void count_unknown(AloneTally& t, const PartitionView& p, const BrokerSlots& slots) {
  for (std::size_t i = 0; i < p.replicas.size(); ++i)
    if (const std::int32_t slot = slots.slot(p.replicas[i]); slot >= 0 && first_occurrence(p.replicas, i))
      ++t.min_isr_unknown[static_cast<std::size_t>(slot)];
}

}  // namespace

std::vector<BrokerSafety> broker_safety(const probes::ClusterSnapshot& snapshot, const Verdict& verdict,
                                        const DisruptionOptions& options, const DisruptionAcks& acks,
                                        std::size_t split_from) {
  const BrokerSlots slots(verdict.brokers);
  const SlotFlags f = absent_flags(verdict);
  const OutcomeAcks outcome_acks(in_force_at(acks));
  // Snapshot topics [begin, end) into `t`.
  auto tally_topics = [&](std::size_t begin, std::size_t end, AloneTally& t) {
    TopicCursor topics(verdict);
    for (std::size_t i = begin; i < end; ++i) {
      const probes::TopicInfo& topic = snapshot.topics[i];
      const TopicHealth* th = topics.find(topic.name);
      if (!th) continue;
      for (const PartitionView p : topic.partitions) {
        const PartitionBefore b = measure_before(p, *th, verdict.kafka_version, slots, f);
        if (b.min_isr_unknown) {
          count_unknown(t, p, slots);
          continue;
        }
        if (survives_any_one(b)) continue;
        judge_alone(t, topic.name, p, b, slots, f, outcome_acks, options);
      }
    }
  };
  const std::size_t n = snapshot.topics.size();
  const std::size_t k = probes::split_topics(snapshot.topics, split_from);
  AloneTally tally(slots.size());
  if (k == n) {
    tally_topics(0, n, tally);
  } else {
    AloneTally later(slots.size());
    probes::run_both([&] { tally_topics(0, k, tally); }, [&] { tally_topics(k, n, later); });
    tally.absorb(later);
  }
  const bool topic_error = topic_errors(snapshot, verdict).count > 0;
  std::vector<BrokerSafety> out;
  for (std::size_t i = 0; i < verdict.brokers.size(); ++i) {
    const BrokerHealth& b = verdict.brokers[i];
    const bool safe = tally.blocking[i] == 0 && tally.min_isr_unknown[i] == 0 && !topic_error;
    out.push_back(BrokerSafety{b.id, b.fleet, b.up ? rack_of(snapshot, b.id) : std::nullopt, b.up, safe,
                               tally.blocking[i], tally.acknowledged[i], tally.until[i],
                               tally.min_isr_unknown[i]});
  }
  return out;
}

bool broker_safe_at(const BrokerSafety& b, const Verdict& verdict, std::span<const Reason> reasons,
                    const DisruptionAcks& acks) {
  if (!b.safe || acks.now >= b.acknowledged_until) return false;
  const std::vector<Override> in_force = in_force_at(acks);
  for (const auto& r : unknowable_reasons(reasons))
    if (!acknowledged_unknown(r, verdict, in_force)) return false;
  return true;
}

// ---- printers (for test failure messages) ----

namespace {
std::ostream& print_ids(std::ostream& os, std::span<const BrokerId> v) {
  os << '[';
  for (std::size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
  return os << ']';
}
}  // namespace

std::ostream& operator<<(std::ostream& os, const DisruptionTarget& t) {
  return os << "Target{" << t.id << " fleet=" << t.fleet << " rack=" << t.rack.value_or("-")
            << " present=" << t.present << " known=" << t.known << '}';
}
std::ostream& operator<<(std::ostream& os, const DisruptedPartition& p) {
  os << "Disrupted{" << p.topic << ' ' << p.partition << " after=";
  print_ids(os, p.isr_after) << " min_isr=" << p.min_isr << ' ' << p.outcome
                             << (p.already_unhealthy ? " already" : "") << (p.min_isr_risk ? " risk" : "") << " source=" << p.min_isr_source
                             << (p.blocking ? " BLOCKING" : "");
  for (const auto& o : p.acknowledged_by) os << " acked:" << o;
  return os << '}';
}
std::ostream& operator<<(std::ostream& os, const DisruptionCounts& c) {
  return os << "Counts{affected=" << c.affected << " offline=" << c.offline
            << " under_min=" << c.under_min_isr << " at_min=" << c.at_min_isr << " ok=" << c.ok
            << " error=" << c.error << " blocking=" << c.blocking
            << " risk_not_blocking=" << c.not_blocking_min_isr_risk << " acknowledged=" << c.acknowledged
            << '}';
}
std::ostream& operator<<(std::ostream& os, const DisruptionAnswer& a) {
  os << "DisruptionAnswer{" << (a.safe ? "safe" : "UNSAFE") << " brokers=[";
  for (const auto& t : a.brokers) os << t << ' ';
  os << "] absent=";
  print_ids(os, a.absent_brokers) << " unknown=[";
  for (const auto& r : a.unknown) os << r << ' ';
  os << "] unresponsive=";
  print_ids(os, a.unresponsive_brokers) << " acknowledged_unknown=[";
  for (const auto& r : a.acknowledged_unknown) os << r << ' ';
  os << "] " << a.counts << " blocking=[";
  for (const auto& p : a.blocking) os << p << ' ';
  os << "] acknowledged=[";
  for (const auto& p : a.acknowledged) os << p << ' ';
  os << "] already=" << a.already_unhealthy_total << '}';
  return os;
}
std::ostream& operator<<(std::ostream& os, const BrokerSafety& b) {
  os << "BrokerSafety{" << b.id << " fleet=" << b.fleet << " rack=" << b.rack.value_or("-") << " up=" << b.up
     << " safe=" << b.safe << " blocking=" << b.blocking_partitions
     << " acknowledged=" << b.acknowledged_partitions << " min_isr_unknown=" << b.min_isr_unknown_partitions;
  if (b.acknowledged_until != WallClock::time_point::max())  // as seconds since the epoch
    os << " until="
       << std::chrono::floor<std::chrono::seconds>(b.acknowledged_until).time_since_epoch().count();
  return os << '}';
}

}  // namespace isrguard::service
