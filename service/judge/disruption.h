#pragma once

// "May I take broker / fleet / zone X down now?" — the disruption judgement (Strimzi KafkaRoller's canRoll
// semantics), a pure function over the snapshot and its verdict: no clock, no I/O, no threads.
//
// Contract: for a set S of brokers stopped together, every partition with a replica in S is judged by
// what would be left in sync, after = (ISR ∩ replicas) − S − brokers absent from metadata, against the
// verdict's effective min ISR (outcomes: disruption_outcome below). S is unsafe when it takes an in-sync
// replica from a partition that would then be offline or under min ISR, or when isrguard cannot know
// (unknowable_reasons, metadata errors, a touched topic whose min.insync.replicas was not read). Operator
// acknowledgements (service/judge/overrides.h) are matched as the gate matches them and never change these
// facts; min ISR risk partitions (their own replicas <= min.insync.replicas, as Strimzi's canRoll) block
// only with DisruptionOptions::block_min_isr_risk.
//
// Rules and examples: docs/disruption.md.

#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "probes/snapshot.h"
#include "probes/split.h"
#include "service/judge/overrides.h"
#include "service/judge/policy.h"
#include "service/judge/verdict.h"

namespace isrguard::service {

// Outcome codes (stable, used verbatim in JSON).
namespace disruption_outcome {
inline constexpr std::string_view kOffline = "offline";
inline constexpr std::string_view kUnderMinIsr = "under_min_isr";
inline constexpr std::string_view kAtMinIsr = "at_min_isr";
inline constexpr std::string_view kOk = "ok";
inline constexpr std::string_view kError = "error";
}  // namespace disruption_outcome

struct DisruptionOptions {
  bool block_min_isr_risk = false;  // --disruption-block-min-isr-risk
  std::size_t list_cap = 128;  // max partitions listed in blocking / acknowledged / already_unhealthy (counts
                               // stay true)
  // --disrupt-unknown-as-gone: a queried id unknown to the cluster is taken as already gone instead of
  // refusing the question (resolve_disruption).
  bool unknown_ids_as_gone = false;

  bool operator==(const DisruptionOptions&) const = default;
};

// What the caller asked for: ids, fleet names and racks; the set disrupted is their union.
struct DisruptionQuery {
  std::vector<BrokerId> brokers;
  std::vector<std::string> fleets;
  std::vector<std::string> racks;

  bool empty() const { return brokers.empty() && fleets.empty() && racks.empty(); }
  bool operator==(const DisruptionQuery&) const = default;
};

// One broker of the resolved set.
struct DisruptionTarget {
  BrokerId id = 0;
  std::string fleet;
  std::optional<std::string> rack;  // broker.rack; nullopt when not configured or the broker is absent
  bool present = false;             // in the snapshot's metadata
  bool known = false;               // present, expected, or hosting replicas (absent ids are reported)

  bool operator==(const DisruptionTarget&) const = default;
};

// Resolves a query against the cluster: ids as given, every broker of each fleet, every broker whose
// broker.rack matches. Sorted by id, unique. Returns nullopt with `error` set for an empty query, an unknown
// fleet, a rack no broker reports (naming the known racks, or that no broker reports broker.rack at all), a
// set that resolves to no broker, or an id unknown to the cluster (not in metadata, not expected, not seen
// before: a typo must not be answered safe) unless options.unknown_ids_as_gone (then it is kept, reported
// with known = false, and changes nothing).
std::optional<std::vector<DisruptionTarget>> resolve_disruption(const DisruptionQuery& query,
                                                                const probes::ClusterSnapshot& snapshot,
                                                                const Verdict& verdict, const Policy& policy,
                                                                std::string* error,
                                                                const DisruptionOptions& options = {});

// One partition with a replica in S (or already unhealthy), as judged.
struct DisruptedPartition {
  std::string topic;
  PartitionInfo partition;          // an owned copy (listed partitions are capped)
  std::vector<BrokerId> isr_after;  // (ISR ∩ replicas) − S − absent brokers, in ISR order
  std::int32_t min_isr = 0;         // effective min ISR
  std::string outcome;              // disruption_outcome code
  bool already_unhealthy = false;   // offline or under min ISR before S
  bool min_isr_risk = false;        // its own distinct replicas <= min.insync.replicas
  std::string min_isr_source;       // where its topic's min.insync.replicas came from (min_isr_source code)
  bool blocking = false;
  // Would block, but these acknowledgements (of its outcome's reason code) cover it; empty otherwise.
  std::vector<Override> acknowledged_by;

  bool operator==(const DisruptedPartition&) const = default;
};

// Partitions with a replica in S by outcome (true counts, blocking or not).
struct DisruptionCounts {
  std::int64_t affected = 0;  // partitions with a replica in S
  std::int64_t offline = 0;
  std::int64_t under_min_isr = 0;
  std::int64_t at_min_isr = 0;
  std::int64_t ok = 0;
  std::int64_t error = 0;
  std::int64_t blocking = 0;
  std::int64_t not_blocking_min_isr_risk = 0;  // would block, but the partition is a min ISR risk (see above)
  std::int64_t acknowledged = 0;               // would block, but an operator acknowledged it (see above)

  bool operator==(const DisruptionCounts&) const = default;
};

struct DisruptionAnswer {
  bool safe = false;
  std::vector<DisruptionTarget> brokers;
  std::vector<BrokerId> absent_brokers;  // brokers absent from metadata, counted as already down
  // Listed in metadata but not answering (brokers_unresponsive): counted as down too.
  std::vector<BrokerId> unresponsive_brokers;
  // Why isrguard cannot know (probe_failed, snapshot_stale, metadata_errors, min_isr_unknown_topics, ...).
  std::vector<Reason> unknown;
  // Would be in `unknown`, but fully acknowledged by an operator (brokers_unresponsive, controller_unknown).
  std::vector<Reason> acknowledged_unknown;
  DisruptionCounts counts;
  std::vector<DisruptedPartition> blocking;  // capped at DisruptionOptions::list_cap, (topic, id) order
  // Would block, but acknowledged (each with acknowledged_by); capped likewise, counts.acknowledged is true.
  std::vector<DisruptedPartition> acknowledged;
  // Every partition of the selected topics that is already offline or under min ISR (capped), with whether
  // S makes it block.
  std::vector<DisruptedPartition> already_unhealthy;
  std::int64_t already_unhealthy_total = 0;

  bool operator==(const DisruptionAnswer&) const = default;
};

// The operator overrides an answer honours: the set in force (PublishedState::overrides.active, empty before
// any valid overrides file) and the wall time of the question; entries expired by `now` are ignored.
struct DisruptionAcks {
  std::span<const Override> overrides;
  WallClock::time_point now{};
};

// The judgement for the resolved set `targets`. `reasons` are the reasons currently feeding the gate
// (readiness_at(...).reasons): probe_failed and snapshot_stale among them make the answer unknown.
DisruptionAnswer assess_disruption(const probes::ClusterSnapshot& snapshot, const Verdict& verdict,
                                   std::vector<DisruptionTarget> targets, std::span<const Reason> reasons,
                                   const DisruptionAcks& acks, const DisruptionOptions& options);

// Each broker alone: safe_to_disrupt and the number of partitions that block it, for every broker of the
// verdict (present and absent). One pass over the partitions, O(partitions x RF); computed once per probe
// (and again when the acknowledgements in force change), with the acknowledgements in force at `acks.now`
// (the poll's wall time) matched exactly as assess_disruption matches them for the set {id}.
// Probe failure, staleness and the unknowable reasons are not known here, and acknowledgements expire
// between polls: BrokerSafety::safe is the partitions' answer at the poll; readers ask broker_safe_at.
struct BrokerSafety {
  BrokerId id = 0;
  std::string fleet;
  std::optional<std::string> rack;
  bool up = false;
  // No blocking partition (after acknowledgements), no topic-level metadata error, and no replica of a topic
  // whose min.insync.replicas was not read.
  bool safe = false;
  std::int64_t blocking_partitions = 0;
  std::int64_t acknowledged_partitions = 0;  // would block, but covered by an acknowledgement in force
  // `safe` holds only before this wall time: the earliest expiry among the entries covering its
  // acknowledged partitions (max() when it relies on none).
  WallClock::time_point acknowledged_until = WallClock::time_point::max();
  std::int64_t min_isr_unknown_partitions = 0;  // replicas it hosts of topics with an unread min ISR

  bool operator==(const BrokerSafety&) const = default;
};
// Topics of `split_from` partitions or more are assessed on two threads (probes/split.h), with the same result.
std::vector<BrokerSafety> broker_safety(const probes::ClusterSnapshot& snapshot, const Verdict& verdict,
                                        const DisruptionOptions& options, const DisruptionAcks& acks = {},
                                        std::size_t split_from = probes::default_split_from());

// safe_to_disrupt of one broker at read time `acks.now`, as assess_disruption would answer {b.id} then:
// the partitions allowed it at the poll, none of the acknowledgements that allowed it has expired since
// (fail closed: once the earliest of them expires the answer is unsafe until the next poll recomputes it,
// even when another entry still in force would cover the partition), and no reason in `reasons` (those
// feeding the gate now, readiness_at) makes the answer unknown, acknowledgements in force at `acks.now`
// applied as assess_disruption applies them. `verdict` is the one `b` was computed from.
bool broker_safe_at(const BrokerSafety& b, const Verdict& verdict, std::span<const Reason> reasons,
                    const DisruptionAcks& acks);

// The reasons (of those currently feeding the gate) that make every disruption answer unknown: probe_failed
// and snapshot_stale (no current facts), brokers_unresponsive (a hung leader keeps its partitions' ISR in
// metadata, so the facts may be false), controller_unknown (leadership cannot move when a broker goes), and
// override_freeze (an operator froze all voluntary disruption). These ignore acknowledgements;
// assess_disruption and broker_safe_at apply them (see the top of this file).
std::vector<Reason> unknowable_reasons(std::span<const Reason> reasons);

std::ostream& operator<<(std::ostream& os, const DisruptionTarget& t);
std::ostream& operator<<(std::ostream& os, const DisruptedPartition& p);
std::ostream& operator<<(std::ostream& os, const DisruptionCounts& c);
std::ostream& operator<<(std::ostream& os, const DisruptionAnswer& a);
std::ostream& operator<<(std::ostream& os, const BrokerSafety& b);

}  // namespace isrguard::service
