#pragma once

// What the brokers' own JMX gauges would read for one snapshot: the facts behind isrguard's `kafka_*` metric
// families, kept apart from isrguard's judgement (service/judge/verdict.h) because the two differ on purpose.
// Pure: snapshot + policy + the verdict's history -> view; computed once per probe by the probe loop, read by
// every /metrics scrape.
//
// Reference: Apache Kafka 3.8.0 (identical in 3.7.x and on trunk for 4.0), checked in the source:
//   core/.../cluster/Partition.scala      isUnderReplicated, isUnderMinIsr, isAtMinIsr, effectiveMinIsr
//   core/.../server/ReplicaManager.scala  LeaderCount, PartitionCount, UnderReplicatedPartitions,
//                                         UnderMinIsrPartitionCount, AtMinIsrPartitionCount
//   core/.../controller/KafkaController.scala + ControllerContext.scala (ZooKeeper mode) and
//   metadata/.../controller/metrics/ControllerMetricsChanges.java, PartitionRegistration.java (KRaft)
// docs/metrics.md lists every rule and where the metadata cannot match Kafka exactly.

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "probes/snapshot.h"
#include "service/judge/history.h"
#include "service/judge/policy.h"

namespace isrguard::service {

enum class KafkaMode { kUnknown, kZooKeeper, kKRaft };
std::string_view to_string(KafkaMode m);  // "unknown", "zookeeper", "kraft"

// KRaft when any broker reports a process.roles; ZooKeeper when every broker answered the per-broker check
// (DescribeConfigs of its BROKER resource) without error and none reports one (ZooKeeper mode has no
// process.roles); unknown otherwise (not checked, an error, no broker).
KafkaMode kafka_mode(const probes::ClusterSnapshot& snapshot);

// One broker's ReplicaManager gauges. Only brokers present in metadata have one: a dead broker has no JMX.
struct KafkaBrokerGauges {
  probes::BrokerId id = 0;
  std::string fleet;
  std::int64_t leader_count = 0;      // partitions it leads (all topics)
  std::int64_t partition_count = 0;   // partitions it hosts a replica of (all topics)
  std::int64_t under_replicated = 0;  // led, ISR size < replication factor (replicas - being added)
  std::int64_t under_min_isr = 0;     // led, ISR size < min(min.insync.replicas, replica count)
  std::int64_t at_min_isr = 0;        // led, ISR size == min(min.insync.replicas, replica count)
  bool operator==(const KafkaBrokerGauges&) const = default;
};

struct KafkaView {
  KafkaMode mode = KafkaMode::kUnknown;
  std::vector<KafkaBrokerGauges> brokers;  // brokers in metadata, sorted by id
  // KafkaController gauges of the active controller, over ALL topics (topic selection does not apply).
  std::int64_t offline_partitions = 0;  // partitions without a leader
  std::int64_t global_partitions = 0;
  std::int64_t global_topics = 0;
  std::int64_t preferred_replica_imbalance = 0;  // leader != first replica, offline partitions included
  // ZooKeeper mode only: the controller broker (metadata's controller id). In KRaft the metadata names an
  // arbitrary live broker, and in an unknown mode we cannot tell which: -1 (no ActiveControllerCount
  // emitted).
  probes::BrokerId active_controller = -1;
  bool operator==(const KafkaView&) const = default;
};

// `history`: the verdict's history advanced with this snapshot (service/judge/history.h), or null.
// Under-replicated partitions are counted with the verdict's reassignment rule (replicas_not_being_added,
// service/judge/partition_rules.h): a partition's replicas beyond its baseline are being added. The history
// keeps baselines only for selected topics; other topics (and a null history) use the usual-count rule.
KafkaView kafka_view(const probes::ClusterSnapshot& snapshot, const Policy& policy,
                     const History* history = nullptr);

std::ostream& operator<<(std::ostream& os, const KafkaBrokerGauges& b);
std::ostream& operator<<(std::ostream& os, const KafkaView& v);

}  // namespace isrguard::service
