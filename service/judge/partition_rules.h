#pragma once

// The per-partition rules: one partition (and its topic's usual replica count, effective min ISR and history
// baseline) -> its states. Used by judge() (service/judge/verdict.h) for every partition, by the kafka_*
// gauges (service/judge/jmx_view.h) and by /v1/partitions (service/views/status_report.cc).
// Pure functions over value types: no I/O, no threads.

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "probes/snapshot.h"
#include "service/judge/history.h"
#include "service/judge/reasons.h"
#include "service/judge/verdict_types.h"

namespace isrguard::service {

// Usual replica count of a topic: the most common replica count among its partitions (ties -> smaller), where
// a partition with a usable baseline (see classify_partition) counts its baseline's size, so a topic whose
// every partition is mid-move still has its settled count. Without baselines, a partition with more replicas
// than the usual count is taken to be mid-reassignment (Kafka adds targets before removing sources).
std::int32_t usual_replica_count(const TopicInfo& topic, const TopicBaselines* baselines = nullptr);

// Classify one partition of `topic` (whose usual count and effective min ISR are given) against its history
// baseline. Replicas and ISR are compared as sets; in_sync = |ISR ∩ replicas|.
//  - offline: leader == -1, or error LEADER_NOT_AVAILABLE (5);
//  - the replicas that must be in sync ("wanted"), as Kafka's Partition.isUnderReplicated: ISR < replicas
//    minus the replicas a reassignment is adding. Metadata does not say which are being added, so:
//      * baseline known and within the replicas: adding = replicas beyond the baseline (Kafka keeps the
//        original replicas in the assignment until the move completes, and a target stays "adding" until
//        then even once it is in the ISR); wanted = |baseline|; reassigning while adding is not empty;
//      * otherwise (no history, or a baseline no longer within the replicas: the move completed or was
//        replaced since) the usual-count rule: reassigning when |replicas| > usual_replicas, and then
//        wanted = usual_replicas, else wanted = |replicas|;
//  - under_replicated: in_sync < wanted;
//  - under_min_isr: in_sync < min_isr; at_min_isr: in_sync == min_isr < wanted (not offline);
//  - error: any other partition error than REPLICA_NOT_AVAILABLE (9, judged from the ISR).
// clang-format off
// Worked example: RF-3 topic, min.insync.replicas 2, a partition moved 1,2,3 -> 4,5,6 (Kafka lists the union,
// targets first), then another partition of the topic assigned 4 replicas; URP: in_sync < wanted:
//   replicas       ISR        baseline           adding wanted in_sync states
//   [1,2,3]        [1,2,3]    [1,2,3] in_sync    -      3      3       healthy
//   [4,5,6,1,2,3]  [1,2,3]    [1,2,3]            4,5,6  3      3       reassigning
//   [4,5,6,1,2,3]  [1,2,3,4]  [1,2,3]            4,5,6  3      4       reassigning (4 in sync, still adding)
//   [4,5,6,1,2,3]  [1,4]      [1,2,3]            4,5,6  3      2       URP, at min ISR, reassigning
//   [4,5,6]        [4,5,6]    [4,5,6] in_sync    -      3      3       healthy (move completed)
//   [1,2,3,4]      [1,2,3,4]  [1,2,3,4] in_sync  -      4      4       healthy
//   [1,2,3,4]      [1,2,3]    [1,2,3,4]          -      4      3       URP (Kafka: 3 < 4 - 0)
//   [1,2,3,4]      [1,2,3]    [1,2,3]            4      3      3       reassigning (RF 3->4: 3 < 4 - 1 false)
//   [1,2,3,4]      [1,2,3]    none (predates us) ?      3      3       reassigning: usual-count rule, says so
//   [1,2,3,4]      [1,2,3]    [1,2,3,4] created  -      4      3       URP (new partition: nothing added)
// clang-format on
PartitionHealth classify_partition(const std::string& topic, PartitionView p,
                                   std::int32_t usual_replicas, std::int32_t min_isr,
                                   const Baseline& baseline = {});
// Kafka's replication factor for Partition.isUnderReplicated (ISR < replicas - adding): the distinct replicas
// minus those a reassignment is adding, by the rules of classify_partition ("wanted"). For the kafka_* gauges
// (service/judge/jmx_view.h), so they read reassignments exactly as the verdict does.
std::int32_t replicas_not_being_added(PartitionView p, std::int32_t usual_replicas,
                                      const Baseline& baseline = {});
// The two error rules of classify_partition, for other judgements over the same partitions:
// offline = no leader or LEADER_NOT_AVAILABLE; metadata error = any other error but REPLICA_NOT_AVAILABLE.
// Inline: called for every partition by each pass.
inline constexpr std::int32_t kLeaderNotAvailable = 5;
inline constexpr std::int32_t kReplicaNotAvailable = 9;  // informational: some replica offline; judged from ISR
inline bool partition_offline(PartitionView p) {
  return p.leader == probes::kNoLeader || p.error.code == kLeaderNotAvailable;
}
inline bool partition_metadata_error(PartitionView p) {
  return !p.error.ok() && p.error.code != kLeaderNotAvailable && p.error.code != kReplicaNotAvailable;
}

// The states classify_partition would give, as bits in pstate::kAll order (bit i = pstate::kAll[i]; the
// "healthy" bit alone when no other applies), without building a PartitionHealth: for filtering many.
unsigned partition_state_bits(PartitionView p, std::int32_t usual_replicas, std::int32_t min_isr,
                              const Baseline& baseline = {});

// ---- the same rules in steps, for judge()'s topic pass (service/judge/verdict.cc), which works out each
// partition's baseline once and classifies without allocating. Inline: called for every partition. ----
namespace partition_rules {

// Partition states as bits, in pstate::kAll order (partition_state_bits).
enum StateBit : unsigned {
  kBitOffline = 1u << 0,
  kBitUnderReplicated = 1u << 1,
  kBitUnderMinIsr = 1u << 2,
  kBitAtMinIsr = 1u << 3,
  kBitReassigning = 1u << 4,
  kBitError = 1u << 5,
  kBitHealthy = 1u << 6,  // set alone, by partition_state_bits, when no other applies
};
static_assert(pstate::kAll.size() == 7 && pstate::kAll[6] == pstate::kHealthy);

// Unhealthy = any state but "reassigning" alone.
inline bool unhealthy(unsigned bits) { return (bits & ~static_cast<unsigned>(kBitReassigning)) != 0; }

// A partition's remembered baseline and whether it is usable: known and within the replicas (worked out once
// per partition; judge() needs it for the topic's usual count and again for the partition).
struct PartitionBaseline {
  Baseline base;
  bool usable = false;
};

// True when every id of `baseline` is a replica: the partition can be mid-move from that baseline (Kafka
// keeps the original replicas in the assignment until the move completes).
inline bool within(std::span<const BrokerId> baseline, std::span<const BrokerId> replicas) {
  for (BrokerId id : baseline)
    if (!probes::contains_id(replicas, id)) return false;
  return true;
}
inline PartitionBaseline with_usability(const Baseline& base, const PartitionView& p) {
  return {base, base.known() && within(base.replicas, p.replicas)};
}
inline PartitionBaseline baseline_of(const TopicBaselines* baselines, const PartitionView& p) {
  return with_usability(baselines ? baselines->get(p.id) : Baseline{}, p);
}

// The replica count a partition settles at: its usable baseline's size, else its distinct replicas.
inline std::int32_t settled_replicas(const PartitionView& p, const PartitionBaseline& b) {
  return b.usable ? static_cast<std::int32_t>(b.base.replicas.size()) : probes::distinct_ids(p.replicas);
}

// The most common replica count (ties -> the smaller), fed one partition at a time (usual_replica_count).
// A topic has one or a few distinct counts: a short list searched linearly, reused across topics (clear()).
class UsualCount {
 public:
  void add(std::int32_t replicas) {
    if (!freq_.empty() && freq_.back().first == replicas) {  // most often the same as the last one
      ++freq_.back().second;
      return;
    }
    for (auto& [rf, n] : freq_)
      if (rf == replicas) {
        ++n;
        return;
      }
    freq_.emplace_back(replicas, 1);
  }
  std::int32_t result() const;
  void clear() { freq_.clear(); }

 private:
  std::vector<std::pair<std::int32_t, std::int64_t>> freq_;
};

// |ISR ∩ replicas|, each id once.
inline std::int32_t in_sync_replicas(const PartitionView& p) {
  std::int32_t n = 0;
  for (std::size_t i = 0; i < p.isr.size(); ++i)
    if (probes::first_occurrence(p.isr, i) && probes::contains_id(p.replicas, p.isr[i])) ++n;
  return n;
}

// Replicas minus those a reassignment is adding (classify_partition's "wanted"): the baseline's size when it
// is usable, else the usual-count rule. `replicas`: distinct_ids(p.replicas).
inline std::int32_t wanted_in_sync(std::int32_t replicas, std::int32_t usual_replicas,
                                   const PartitionBaseline& base) {
  if (base.usable) return static_cast<std::int32_t>(base.base.replicas.size());
  return std::min(replicas, usual_replicas);
}

// One partition as classify_partition judges it, before any string is built.
struct Assessment {
  unsigned bits = 0;  // StateBit; 0 when healthy
  std::int32_t in_sync = 0;
  bool by_history = false;  // judged against the baseline; else by the usual-count rule
};

// The rules of classify_partition (above).
inline Assessment assess(const PartitionView& p, std::int32_t usual_replicas, std::int32_t min_isr,
                         const PartitionBaseline& base) {
  Assessment a;
  const std::int32_t replicas = probes::distinct_ids(p.replicas);
  a.in_sync = p.isr_is_replicas() ? replicas : in_sync_replicas(p);
  a.by_history = base.usable;
  const std::int32_t wanted = wanted_in_sync(replicas, usual_replicas, base);
  const bool reassigning = replicas > wanted;
  const bool offline = partition_offline(p);
  // An offline partition is only "offline": it has no leader to report URP or min-ISR state (as in Kafka).
  if (offline) a.bits |= kBitOffline;
  if (!offline && a.in_sync < wanted) a.bits |= kBitUnderReplicated;
  if (!offline && a.in_sync < min_isr) a.bits |= kBitUnderMinIsr;
  // At min ISR only when degraded: a fully replicated partition whose replica count equals min ISR is a
  // configuration risk (min_isr_risk_topics), not a live state.
  if (!offline && a.in_sync == min_isr && a.in_sync < wanted) a.bits |= kBitAtMinIsr;
  if (reassigning) a.bits |= kBitReassigning;
  if (partition_metadata_error(p)) a.bits |= kBitError;
  return a;
}

// The PartitionHealth of an assessed partition (classify_partition's result).
PartitionHealth partition_health(const std::string& topic, PartitionView p, std::int32_t usual_replicas,
                                 std::int32_t min_isr, const PartitionBaseline& base, const Assessment& a);

// A broker id list as the details write it: "[1,2,3]".
std::string id_list(std::span<const BrokerId> ids);

}  // namespace partition_rules
}  // namespace isrguard::service
