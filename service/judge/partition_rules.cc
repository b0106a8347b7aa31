#include "service/judge/partition_rules.h"

namespace isrguard::service {
namespace partition_rules {
namespace {

using probes::contains_id;
using probes::first_occurrence;

std::string history_detail(std::int32_t usual_replicas, const PartitionBaseline& base,
                           const PartitionHealth& h) {
  const std::string rule = "usual-count rule (" + std::to_string(usual_replicas) + " replicas)";
  if (!base.base.known()) return h.has(pstate::kHealthy) ? "" : "no history: " + rule;
  if (!base.usable) return "history " + id_list(base.base.replicas) + " not within replicas: " + rule;
  if (h.adding.empty()) return "";
  std::string adding;
  for (BrokerId id : h.adding) {
    if (!adding.empty()) adding += ',';
    adding += std::to_string(id);
  }
  return "reassigning (adding " + adding + ")";
}

}  // namespace

std::int32_t UsualCount::result() const {
  std::int32_t best = 0;
  std::int64_t best_n = -1;
  for (const auto& [rf, n] : freq_) {
    if (n > best_n || (n == best_n && rf < best)) {  // ties keep the smaller
      best = rf;
      best_n = n;
    }
  }
  return best;
}

PartitionHealth partition_health(const std::string& topic, PartitionView p, std::int32_t usual_replicas,
                                 std::int32_t min_isr, const PartitionBaseline& base, const Assessment& a) {
  PartitionHealth h;
  h.topic = topic;
  h.partition = PartitionInfo::of(p);
  h.usual_replicas = usual_replicas;
  h.min_isr = min_isr;
  h.isr_in_replicas = a.in_sync;
  for (std::size_t i = 0; i + 1 < pstate::kAll.size(); ++i)  // the last code is "healthy"
    if (a.bits & (1u << i)) h.states.emplace_back(pstate::kAll[i]);
  if (h.states.empty()) h.states.emplace_back(pstate::kHealthy);
  if (a.by_history) {
    h.baseline.assign(base.base.replicas.begin(), base.base.replicas.end());
    for (std::size_t i = 0; i < p.replicas.size(); ++i)
      if (first_occurrence(p.replicas, i) && !contains_id(h.baseline, p.replicas[i]))
        h.adding.push_back(p.replicas[i]);
  }
  h.detail = history_detail(usual_replicas, base, h);
  return h;
}

std::string id_list(std::span<const BrokerId> ids) {
  std::string s = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  return s + "]";
}

}  // namespace partition_rules

using partition_rules::assess;
using partition_rules::baseline_of;
using partition_rules::PartitionBaseline;
using partition_rules::settled_replicas;
using partition_rules::with_usability;

std::int32_t usual_replica_count(const TopicInfo& topic, const TopicBaselines* baselines) {
  partition_rules::UsualCount usual;
  for (const auto& p : topic.partitions) usual.add(settled_replicas(p, baseline_of(baselines, p)));
  return usual.result();
}

std::int32_t replicas_not_being_added(PartitionView p, std::int32_t usual_replicas,
                                      const Baseline& baseline) {
  return partition_rules::wanted_in_sync(probes::distinct_ids(p.replicas), usual_replicas,
                                         with_usability(baseline, p));
}

PartitionHealth classify_partition(const std::string& topic, PartitionView p, std::int32_t usual_replicas,
                                   std::int32_t min_isr, const Baseline& baseline) {
  const PartitionBaseline base = with_usability(baseline, p);
  return partition_rules::partition_health(topic, p, usual_replicas, min_isr, base,
                                           assess(p, usual_replicas, min_isr, base));
}

unsigned partition_state_bits(PartitionView p, std::int32_t usual_replicas, std::int32_t min_isr,
                              const Baseline& baseline) {
  const unsigned bits = assess(p, usual_replicas, min_isr, with_usability(baseline, p)).bits;
  return bits ? bits : partition_rules::kBitHealthy;
}

}  // namespace isrguard::service
