#include "service/judge/jmx_view.h"

#include <algorithm>

#include "service/judge/partition_rules.h"

namespace isrguard::service {
namespace {

using probes::distinct_ids;
using probes::first_occurrence;

// Looks brokers up by id in the (id-sorted) gauges; null for ids absent from metadata.
KafkaBrokerGauges* find(std::vector<KafkaBrokerGauges>& brokers, probes::BrokerId id) {
  auto it = std::lower_bound(brokers.begin(), brokers.end(), id,
                             [](const KafkaBrokerGauges& b, probes::BrokerId x) { return b.id < x; });
  return it != brokers.end() && it->id == id ? &*it : nullptr;
}

// One partition's contribution to the ReplicaManager gauges of its leader and replicas (Partition.scala).
void add_partition(probes::PartitionView p, std::int32_t usual_replicas, const Baseline& baseline,
                   std::int32_t min_isr, const KafkaVersionBand& band, std::vector<KafkaBrokerGauges>& brokers) {
  const std::int32_t replicas = distinct_ids(p.replicas);
  const std::int32_t isr = distinct_ids(p.isr);
  // Kafka's replication factor leaves out replicas being added by a reassignment; metadata does not say which
  // those are: the verdict's rule tells (the partition's history baseline, else the usual-count rule).
  const std::int32_t replication_factor = replicas_not_being_added(p, usual_replicas, baseline);
  // effectiveMinIsr: min(min.insync.replicas, every assigned replica including ones being added).
  // Before 3.7 (and when the version is unknown) min.insync.replicas itself.
  const std::int32_t effective_min_isr = service::effective_min_isr(min_isr, replicas, band);
  if (KafkaBrokerGauges* leader = find(brokers, p.leader)) {
    ++leader->leader_count;
    if (isr < replication_factor) ++leader->under_replicated;
    if (isr < effective_min_isr) ++leader->under_min_isr;
    if (isr == effective_min_isr) ++leader->at_min_isr;
  }
  for (std::size_t i = 0; i < p.replicas.size(); ++i) {
    if (!first_occurrence(p.replicas, i)) continue;
    if (KafkaBrokerGauges* b = find(brokers, p.replicas[i])) ++b->partition_count;
  }
}

// The active controller's partition gauges (KRaft ControllerMetricsChanges; ZooKeeper ControllerContext).
void add_controller_counts(probes::PartitionView p, KafkaView& v) {
  ++v.global_partitions;
  if (p.leader == probes::kNoLeader) ++v.offline_partitions;
  const probes::BrokerId preferred = p.replicas.empty() ? probes::kNoLeader : p.replicas.front();
  if (p.leader != preferred) ++v.preferred_replica_imbalance;
}

}  // namespace

std::string_view to_string(KafkaMode m) {
  switch (m) {
    case KafkaMode::kZooKeeper:
      return "zookeeper";
    case KafkaMode::kKRaft:
      return "kraft";
    case KafkaMode::kUnknown:
      break;
  }
  return "unknown";
}

KafkaMode kafka_mode(const probes::ClusterSnapshot& s) {
  for (const auto& b : s.brokers)
    if (b.process_roles && !b.process_roles->empty()) return KafkaMode::kKRaft;
  const bool all_read =
      !s.brokers.empty() && s.broker_responses.size() == s.brokers.size() &&
      std::all_of(s.broker_responses.begin(), s.broker_responses.end(),
                  [](const probes::BrokerResponse& r) { return r.answered && r.error.empty(); });
  return all_read ? KafkaMode::kZooKeeper : KafkaMode::kUnknown;
}

KafkaView kafka_view(const probes::ClusterSnapshot& snapshot, const Policy& policy, const History* history) {
  KafkaView v;
  v.mode = kafka_mode(snapshot);
  const KafkaVersionBand band = kafka_version_band(snapshot);
  const std::optional<std::int32_t> broker_default = broker_min_isr_default(snapshot);
  for (const auto& b : snapshot.brokers) v.brokers.push_back({b.id, policy.fleet_of(b.id, b.host)});
  std::sort(v.brokers.begin(), v.brokers.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  v.brokers.erase(std::unique(v.brokers.begin(), v.brokers.end(),
                              [](const auto& a, const auto& b) { return a.id == b.id; }),
                  v.brokers.end());
  for (const auto& topic : snapshot.topics) {
    ++v.global_topics;
    const TopicBaselines* baselines = history ? history->topic(topic.name) : nullptr;
    const std::int32_t usual = usual_replica_count(topic, baselines);
    const std::int32_t min_isr = topic_min_isr(topic, broker_default, policy.default_min_isr).value;
    for (const auto& p : topic.partitions) {
      add_partition(p, usual, baselines ? baselines->get(p.id) : Baseline{}, min_isr, band, v.brokers);
      add_controller_counts(p, v);
    }
  }
  if (v.mode == KafkaMode::kZooKeeper && find(v.brokers, snapshot.controller_id))
    v.active_controller = snapshot.controller_id;
  return v;
}

std::ostream& operator<<(std::ostream& os, const KafkaBrokerGauges& b) {
  return os << "KafkaBrokerGauges{" << b.id << " fleet=" << b.fleet << " leaders=" << b.leader_count
            << " partitions=" << b.partition_count << " urp=" << b.under_replicated
            << " under_min=" << b.under_min_isr << " at_min=" << b.at_min_isr << '}';
}

std::ostream& operator<<(std::ostream& os, const KafkaView& v) {
  os << "KafkaView{" << to_string(v.mode) << " brokers=[";
  for (const auto& b : v.brokers) os << b << ' ';
  return os << "] offline=" << v.offline_partitions << " partitions=" << v.global_partitions
            << " topics=" << v.global_topics << " imbalance=" << v.preferred_replica_imbalance
            << " controller=" << v.active_controller << '}';
}

}  // namespace isrguard::service
