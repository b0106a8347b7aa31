#pragma once

// The verdict's value types: reasons, per-partition / broker / fleet / topic health, counts. Produced by
// judge() (service/judge/verdict.h) and the responsiveness pass (service/judge/responsiveness.h); read by
// the overrides, the disruption judgement and every view.

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "probes/snapshot.h"
#include "service/judge/min_isr.h"
#include "service/judge/policy.h"

namespace isrguard::service {

using probes::ClusterSnapshot;
using probes::PartitionInfo;
using probes::PartitionView;
using probes::TopicInfo;

struct Reason {
  std::string code;        // one of service/judge/reasons.h
  std::int64_t count = 0;  // partitions, brokers or topics affected
  std::string detail;      // one human line, e.g. "3 partitions; first: orders-2 isr=[1] replicas=[1,2,3]"
  bool gating = false;     // true when Policy::gates(code)

  bool operator==(const Reason&) const = default;
};

// Per-partition judgement. `states` holds pstate codes in pstate::kAll order ("healthy" alone if none).
struct PartitionHealth {
  std::string topic;
  PartitionInfo partition;  // an owned copy: listed partitions are few (capped), the snapshot's are views
  std::int32_t usual_replicas = 0;   // the topic's usual replica count (see classify_partition)
  // Effective min ISR (service/judge/min_isr.h): min(min.insync.replicas, its distinct replicas) on Kafka
  // 3.7+, min.insync.replicas before it or when the version is unknown.
  std::int32_t min_isr = 0;
  std::int32_t isr_in_replicas = 0;  // |ISR ∩ replicas|
  std::vector<std::string> states;
  // The replica set it was judged against (its history baseline, ascending) and the replicas beyond it that a
  // reassignment is adding (assignment order); both empty when judged by the usual-count rule.
  std::vector<BrokerId> baseline;
  std::vector<BrokerId> adding;
  // One human line when the history matters: "reassigning (adding 4,5,6)", "no history: usual-count rule
  // (3 replicas)", "history [1,2,3] not within replicas: usual-count rule (3 replicas)"; else empty.
  std::string detail;

  bool has(std::string_view state) const;
  bool healthy() const { return states.size() == 1 && states.front() == "healthy"; }
  bool operator==(const PartitionHealth&) const = default;
};

struct BrokerHealth {
  BrokerId id = 0;
  std::string host;  // empty when missing
  std::int32_t port = 0;
  std::string fleet;
  bool up = false;        // present in metadata
  bool expected = false;  // listed in Policy::expected_brokers
  bool controller = false;
  std::int64_t leader_count = 0;       // partitions it leads
  std::int64_t replica_count = 0;      // partition replicas it hosts (kafka ...partitioncount)
  std::int64_t urp_led = 0;            // under-replicated partitions it leads (JMX UnderReplicatedPartitions)
  std::int64_t under_min_isr_led = 0;  // under-min-ISR partitions it leads
  std::int64_t at_min_isr_led = 0;     // at-min-ISR partitions it leads
  std::int64_t out_of_sync_hosted = 0;            // replicas it hosts that are not in the ISR
  std::int64_t preferred_leader_not_leading = 0;  // partitions where it is first replica but not leader
  bool seen_before = false;  // missing now, but listed in an earlier snapshot (remembered by the history)
  std::optional<std::chrono::milliseconds> missing_for;  // since it was last listed, when seen_before
  // Its answer to the per-broker check (nullopt: not checked, e.g. missing); filled by judge_responsiveness.
  std::optional<probes::BrokerResponse> response;
  bool unresponsive = false;  // no answer in time, or slower than Policy::broker_slow_after

  bool operator==(const BrokerHealth&) const = default;
};

struct FleetHealth {
  std::string name;
  std::int64_t brokers_up = 0;
  std::int64_t brokers_missing = 0;  // expected brokers of this fleet absent from metadata
  std::int64_t leader_count = 0;
  std::int64_t replica_count = 0;
  std::int64_t urp_led = 0;
  std::int64_t out_of_sync_hosted = 0;

  bool operator==(const FleetHealth&) const = default;
};

struct TopicHealth {
  std::string name;
  std::int64_t partitions = 0;
  std::int32_t usual_replicas = 0;
  std::int32_t min_insync_replicas = 0;  // configured (or the fallback when unread: min_isr_source)
  bool min_isr_from_default = false;     // true when DescribeConfigs could not read it (the value is a fallback)
  std::string min_isr_source;            // min_isr_source code: topic, broker_default or flag_default
  // min(min.insync.replicas, usual_replicas) on Kafka 3.7+, min.insync.replicas before or when the version
  // is unknown (Verdict::kafka_version).
  std::int32_t effective_min_isr = 0;
  bool min_isr_risk = false;  // usual_replicas <= min.insync.replicas
  std::int64_t offline = 0;
  std::int64_t under_replicated = 0;
  std::int64_t under_min_isr = 0;
  std::int64_t at_min_isr = 0;
  std::int64_t reassigning = 0;
  std::int64_t errors = 0;

  bool unhealthy() const { return offline + under_replicated + under_min_isr + at_min_isr + errors > 0; }
  bool operator==(const TopicHealth&) const = default;
};

struct Counts {
  std::int64_t topics = 0;      // selected topics (after include/exclude)
  std::int64_t partitions = 0;  // partitions of selected topics
  std::int64_t offline = 0;
  std::int64_t under_replicated = 0;
  std::int64_t under_min_isr = 0;
  std::int64_t at_min_isr = 0;
  std::int64_t reassigning = 0;
  std::int64_t errors = 0;
  std::int64_t preferred_replica_imbalance = 0;  // partitions whose leader is not the first replica
  std::int64_t brokers_up = 0;
  std::int64_t brokers_missing = 0;
  std::int64_t excluded_topics = 0;

  bool operator==(const Counts&) const = default;
};

struct Verdict {
  std::vector<Reason> reasons;  // in reason::kAll order; gating and reported alike
  Counts counts;
  std::vector<BrokerHealth> brokers;  // up and missing (expected, seen before, or hosting replicas), by id
  std::vector<FleetHealth> fleets;    // sorted by name; every configured fleet present even if empty
  std::vector<TopicHealth> topics;    // every selected topic, sorted by name
  std::vector<PartitionHealth> unhealthy_partitions;  // capped at Policy::list_cap, (topic, id) order
  std::int64_t unhealthy_partitions_total = 0;        // true count, regardless of the cap
  probes::BrokerId controller_id = -1;
  std::string cluster_id;
  KafkaVersionBand kafka_version;  // the band the brokers run; decides the effective min ISR rule

  // Healthy = no gating reason. (Reported-only reasons such as at_min_isr_partitions do not count.)
  bool healthy() const;
  std::vector<std::string> gating_codes() const;
  bool operator==(const Verdict&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Reason& r);
std::ostream& operator<<(std::ostream& os, const PartitionHealth& p);
std::ostream& operator<<(std::ostream& os, const BrokerHealth& b);
std::ostream& operator<<(std::ostream& os, const FleetHealth& f);
std::ostream& operator<<(std::ostream& os, const TopicHealth& t);
std::ostream& operator<<(std::ostream& os, const Counts& c);
std::ostream& operator<<(std::ostream& os, const Verdict& v);

}  // namespace isrguard::service
