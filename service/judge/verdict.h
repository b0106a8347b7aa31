#pragma once

// The judgement: snapshot + policy + history -> verdict (a list of reasons plus the counts behind them).
// Pure functions over value types: time is passed in; no I/O, no threads.

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "probes/snapshot.h"
#include "probes/split.h"
#include "service/judge/history.h"
#include "service/judge/policy.h"
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
// (service/kafka_view.h), so they read reassignments exactly as the verdict does.
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

// The whole verdict at `now` (steady clock), with `history` already advanced with this snapshot
// (service/history.h). Reasons probe_failed / snapshot_stale are not produced here: the probe loop adds
// them (ProbeLoop::run_once in service/probe_loop.cc). Topics of `split_from` partitions or more are judged on
// two threads (probes/split.h); the verdict is the same either way.
Verdict judge(const ClusterSnapshot& snapshot, const Policy& policy, const History& history,
              SteadyClock::time_point now, std::size_t split_from = probes::default_split_from());
// A freshly started isrguard's verdict: the history of this one snapshot.
Verdict judge(const ClusterSnapshot& snapshot, const Policy& policy);
// The same verdict as judge(snapshot, policy, advance(History{}, snapshot, policy, now), now), without building
// that history (each partition's first baseline is worked out as it is judged): for a probe no other follows
// (--once, ProbeLoop::single_probe).
Verdict judge_first(const ClusterSnapshot& snapshot, const Policy& policy, SteadyClock::time_point now,
                    std::size_t split_from = probes::default_split_from());

}  // namespace isrguard::service
