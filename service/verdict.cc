#include "service/verdict.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "service/reasons.h"

namespace isrguard::service {
namespace {

constexpr std::int32_t kLeaderNotAvailable = 5;
constexpr std::int32_t kReplicaNotAvailable = 9;  // informational: some replica offline; judged from ISR
constexpr std::size_t kDetailExamples = 3;

// Replica and ISR lists are tiny (RF <= ~7): linear scans beat sorting copies, and allocate nothing.
bool contains(const std::vector<BrokerId>& v, BrokerId id) {
  return std::find(v.begin(), v.end(), id) != v.end();
}
bool first_occurrence(const std::vector<BrokerId>& v, std::size_t i) {
  return std::find(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v[i]) ==
         v.begin() + static_cast<std::ptrdiff_t>(i);
}
std::int32_t distinct(const std::vector<BrokerId>& v) {
  std::int32_t n = 0;
  for (std::size_t i = 0; i < v.size(); ++i) n += first_occurrence(v, i) ? 1 : 0;
  return n;
}

// Partition states as bits, in pstate::kAll order, so judge() can classify without allocating.
enum StateBit : unsigned {
  kBitOffline = 1u << 0,
  kBitUnderReplicated = 1u << 1,
  kBitUnderMinIsr = 1u << 2,
  kBitAtMinIsr = 1u << 3,
  kBitReassigning = 1u << 4,
  kBitError = 1u << 5,
};

struct Assessment {
  unsigned bits = 0;
  std::int32_t in_sync = 0;
};

Assessment assess(const PartitionInfo& p, std::int32_t usual_replicas, std::int32_t min_isr) {
  Assessment a;
  for (std::size_t i = 0; i < p.isr.size(); ++i)
    if (first_occurrence(p.isr, i) && contains(p.replicas, p.isr[i])) ++a.in_sync;
  const std::int32_t n_replicas = distinct(p.replicas);
  const bool offline = p.leader == probes::kNoLeader || p.error.code == kLeaderNotAvailable;
  const bool reassigning = n_replicas > usual_replicas;
  // While reassigning, Kafka does not count the replicas being added; we cannot tell which those are from
  // metadata, so the partition is under-replicated only when fewer than the usual count are in sync.
  const std::int32_t wanted = reassigning ? usual_replicas : n_replicas;
  // An offline partition is only "offline": it has no leader to report URP or min-ISR state (as in Kafka).
  if (offline) a.bits |= kBitOffline;
  if (!offline && a.in_sync < wanted) a.bits |= kBitUnderReplicated;
  if (!offline && a.in_sync < min_isr) a.bits |= kBitUnderMinIsr;
  // At min ISR only when degraded: a fully replicated partition whose replica count equals min ISR is a
  // configuration risk (min_isr_risk_topics), not a live state.
  if (!offline && a.in_sync == min_isr && a.in_sync < wanted) a.bits |= kBitAtMinIsr;
  if (reassigning) a.bits |= kBitReassigning;
  if (!p.error.ok() && p.error.code != kLeaderNotAvailable && p.error.code != kReplicaNotAvailable)
    a.bits |= kBitError;
  return a;
}

// Unhealthy = any state but "reassigning" alone.
bool unhealthy(unsigned bits) { return (bits & ~static_cast<unsigned>(kBitReassigning)) != 0; }

PartitionHealth materialize(const std::string& topic, const PartitionInfo& p, std::int32_t usual_replicas,
                            std::int32_t min_isr, const Assessment& a) {
  PartitionHealth h;
  h.topic = topic;
  h.partition = p;
  h.usual_replicas = usual_replicas;
  h.min_isr = min_isr;
  h.isr_in_replicas = a.in_sync;
  for (std::size_t i = 0; i + 1 < pstate::kAll.size(); ++i)  // the last code is "healthy"
    if (a.bits & (1u << i)) h.states.emplace_back(pstate::kAll[i]);
  if (h.states.empty()) h.states.emplace_back(pstate::kHealthy);
  return h;
}

std::string ids(const std::vector<BrokerId>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

// Collects the count and a few examples for one reason's detail line.
struct Tally {
  std::int64_t count = 0;
  std::vector<std::string> examples;
  template <typename MakeExample>  // called only for the first few, so large clusters build few strings
  void add(MakeExample&& make) {
    ++count;
    if (examples.size() < kDetailExamples) examples.push_back(make());
  }
  // `one` / `many`: the noun phrase for a count of 1 and for any other count.
  std::string detail(std::string_view one, std::string_view many) const {
    std::string d = std::to_string(count) + " " + std::string(count == 1 ? one : many);
    if (!examples.empty()) {
      d += ": ";
      for (std::size_t i = 0; i < examples.size(); ++i) d += (i ? "; " : "") + examples[i];
      if (count > static_cast<std::int64_t>(examples.size())) d += "; ...";
    }
    return d;
  }
};

std::string partition_example(const std::string& topic, const PartitionInfo& p) {
  std::string s = topic + "-" + std::to_string(p.id) + " leader=" + std::to_string(p.leader) +
                  " replicas=" + ids(p.replicas) + " isr=" + ids(p.isr);
  if (!p.error.ok()) s += " error=" + (p.error.name.empty() ? std::to_string(p.error.code) : p.error.name);
  return s;
}

}  // namespace

bool PartitionHealth::has(std::string_view state) const {
  return std::find(states.begin(), states.end(), state) != states.end();
}

bool Verdict::healthy() const {
  return std::none_of(reasons.begin(), reasons.end(), [](const Reason& r) { return r.gating; });
}

std::vector<std::string> Verdict::gating_codes() const {
  std::vector<std::string> out;
  for (const auto& r : reasons)
    if (r.gating) out.push_back(r.code);
  return out;
}

std::int32_t usual_replica_count(const TopicInfo& topic) {
  std::map<std::int32_t, std::int64_t> freq;
  for (const auto& p : topic.partitions) ++freq[distinct(p.replicas)];
  std::int32_t best = 0;
  std::int64_t best_n = -1;
  for (const auto& [rf, n] : freq) {  // ascending rf: ties keep the smaller
    if (n > best_n) {
      best = rf;
      best_n = n;
    }
  }
  return best;
}

PartitionHealth classify_partition(const std::string& topic, const PartitionInfo& p,
                                   std::int32_t usual_replicas, std::int32_t min_isr) {
  return materialize(topic, p, usual_replicas, min_isr, assess(p, usual_replicas, min_isr));
}

Verdict judge(const ClusterSnapshot& snapshot, const Policy& policy) {
  Verdict v;
  v.controller_id = snapshot.controller_id;
  v.cluster_id = snapshot.cluster_id;

  // Brokers: present ones, then expected-but-absent, then absent-but-referenced by an assignment.
  std::map<BrokerId, BrokerHealth> brokers;
  for (const auto& b : snapshot.brokers) {
    BrokerHealth& h = brokers[b.id];
    h.id = b.id;
    h.host = b.host;
    h.port = b.port;
    h.up = true;
    h.controller = b.id == snapshot.controller_id;
  }
  auto ensure = [&](BrokerId id) -> BrokerHealth& {
    auto [it, inserted] = brokers.try_emplace(id);
    if (inserted) it->second.id = id;
    return it->second;
  };
  for (BrokerId id : policy.expected_brokers) ensure(id).expected = true;

  Tally offline, urp, under_min, at_min, errors, risk, unknown_min_isr;
  std::int64_t unhealthy_total = 0;

  for (const auto& topic : snapshot.topics) {
    if (!policy.topic_selected(topic.name)) {
      ++v.counts.excluded_topics;
      continue;
    }
    TopicHealth th;
    th.name = topic.name;
    th.partitions = static_cast<std::int64_t>(topic.partitions.size());
    th.usual_replicas = usual_replica_count(topic);
    th.min_isr_from_default = !topic.min_insync_replicas.has_value();
    th.min_insync_replicas = topic.min_insync_replicas.value_or(policy.default_min_isr);
    th.effective_min_isr = std::min(th.min_insync_replicas, th.usual_replicas);
    th.min_isr_risk = th.usual_replicas > 0 && th.usual_replicas <= th.min_insync_replicas;
    if (th.min_isr_risk)
      risk.add([&] {
        return topic.name + " replicas=" + std::to_string(th.usual_replicas) +
               " min.insync.replicas=" + std::to_string(th.min_insync_replicas);
      });
    if (th.min_isr_from_default) unknown_min_isr.add([&] { return topic.name; });
    if (!topic.error.ok()) {
      ++th.errors;
      errors.add([&] {
        return "topic " + topic.name +
               " error=" + (topic.error.name.empty() ? std::to_string(topic.error.code) : topic.error.name);
      });
    }

    for (const auto& p : topic.partitions) {
      const Assessment a = assess(p, th.usual_replicas, th.effective_min_isr);
      const bool is_urp = a.bits & kBitUnderReplicated, is_under = a.bits & kBitUnderMinIsr,
                 is_at = a.bits & kBitAtMinIsr;
      auto example = [&] { return partition_example(topic.name, p); };
      ++v.counts.partitions;
      if (a.bits & kBitOffline) {
        ++th.offline;
        offline.add(example);
      }
      if (is_urp) {
        ++th.under_replicated;
        urp.add(example);
      }
      if (is_under) {
        ++th.under_min_isr;
        under_min.add(example);
      }
      if (is_at) {
        ++th.at_min_isr;
        at_min.add(example);
      }
      if (a.bits & kBitReassigning) ++th.reassigning;
      if (a.bits & kBitError) {
        ++th.errors;
        errors.add(example);
      }

      if (p.leader != probes::kNoLeader) {
        BrokerHealth& leader = ensure(p.leader);
        ++leader.leader_count;
        if (is_urp) ++leader.urp_led;
        if (is_under) ++leader.under_min_isr_led;
        if (is_at) ++leader.at_min_isr_led;
        if (!p.replicas.empty() && p.replicas.front() != p.leader) {
          ++v.counts.preferred_replica_imbalance;
          ++ensure(p.replicas.front()).preferred_leader_not_leading;
        }
      }
      for (std::size_t i = 0; i < p.replicas.size(); ++i) {
        if (!first_occurrence(p.replicas, i)) continue;
        BrokerHealth& b = ensure(p.replicas[i]);
        ++b.replica_count;
        if (!contains(p.isr, p.replicas[i])) ++b.out_of_sync_hosted;
      }

      if (unhealthy(a.bits)) {
        ++unhealthy_total;
        if (v.unhealthy_partitions.size() < policy.list_cap)
          v.unhealthy_partitions.push_back(
              materialize(topic.name, p, th.usual_replicas, th.effective_min_isr, a));
      }
    }
    v.counts.offline += th.offline;
    v.counts.under_replicated += th.under_replicated;
    v.counts.under_min_isr += th.under_min_isr;
    v.counts.at_min_isr += th.at_min_isr;
    v.counts.reassigning += th.reassigning;
    v.counts.errors += th.errors;
    ++v.counts.topics;
    v.topics.push_back(std::move(th));
  }
  std::sort(v.topics.begin(), v.topics.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  v.unhealthy_partitions_total = unhealthy_total;

  // Fleets and missing brokers.
  std::map<std::string, FleetHealth> fleets;
  for (const auto& f : policy.fleets) fleets[f.name].name = f.name;
  Tally missing;
  for (auto& [id, b] : brokers) {
    b.fleet = policy.fleet_of(id, b.host);
    FleetHealth& f = fleets[b.fleet];
    f.name = b.fleet;
    if (b.up) {
      ++f.brokers_up;
      ++v.counts.brokers_up;
    } else {
      ++f.brokers_missing;
      ++v.counts.brokers_missing;
      // Explicit captures: clang 14 (the libFuzzer build) cannot capture structured bindings implicitly.
      missing.add([id = id, &broker = b] {
        return "broker " + std::to_string(id) + " (" + broker.fleet + ", " +
               (broker.expected ? "expected" : "hosts replicas") + ")";
      });
    }
    f.leader_count += b.leader_count;
    f.replica_count += b.replica_count;
    f.urp_led += b.urp_led;
    f.out_of_sync_hosted += b.out_of_sync_hosted;
    v.brokers.push_back(b);
  }
  for (auto& [name, f] : fleets) v.fleets.push_back(f);

  // Reasons in reason::kAll order.
  auto add = [&](std::string_view code, const Tally& t, std::string_view one, std::string_view many) {
    if (t.count == 0) return;
    v.reasons.push_back(Reason{std::string(code), t.count, t.detail(one, many), policy.gates(code)});
  };
  add(reason::kOfflinePartitions, offline, "partition offline", "partitions offline");
  add(reason::kUnderReplicatedPartitions, urp, "partition under-replicated", "partitions under-replicated");
  add(reason::kUnderMinIsrPartitions, under_min, "partition under min ISR", "partitions under min ISR");
  add(reason::kAtMinIsrPartitions, at_min, "partition at min ISR", "partitions at min ISR");
  add(reason::kBrokersMissing, missing, "broker missing", "brokers missing");
  add(reason::kMetadataErrors, errors, "metadata error", "metadata errors");
  add(reason::kMinIsrRiskTopics, risk, "topic with replicas <= min.insync.replicas",
      "topics with replicas <= min.insync.replicas");
  const std::string default_used = " (default " + std::to_string(policy.default_min_isr) + " used)";
  add(reason::kMinIsrUnknownTopics, unknown_min_isr, "topic with unreadable min.insync.replicas" + default_used,
      "topics with unreadable min.insync.replicas" + default_used);
  return v;
}

// ---- printers (for test failure messages) ----

std::ostream& operator<<(std::ostream& os, const Reason& r) {
  return os << "Reason{" << r.code << " count=" << r.count << (r.gating ? " gating" : "") << " '" << r.detail
            << "'}";
}
std::ostream& operator<<(std::ostream& os, const PartitionHealth& p) {
  os << "PartitionHealth{" << p.topic << ' ' << p.partition << " usual=" << p.usual_replicas
     << " min_isr=" << p.min_isr << " in_sync=" << p.isr_in_replicas << " states=";
  for (const auto& s : p.states) os << s << ' ';
  return os << '}';
}
std::ostream& operator<<(std::ostream& os, const BrokerHealth& b) {
  return os << "BrokerHealth{" << b.id << ' ' << b.host << ':' << b.port << " fleet=" << b.fleet
            << " up=" << b.up << " expected=" << b.expected << " controller=" << b.controller
            << " leaders=" << b.leader_count << " replicas=" << b.replica_count << " urp_led=" << b.urp_led
            << " under_min_led=" << b.under_min_isr_led << " at_min_led=" << b.at_min_isr_led
            << " oos=" << b.out_of_sync_hosted << " not_preferred=" << b.preferred_leader_not_leading << '}';
}
std::ostream& operator<<(std::ostream& os, const FleetHealth& f) {
  return os << "FleetHealth{" << f.name << " up=" << f.brokers_up << " missing=" << f.brokers_missing
            << " leaders=" << f.leader_count << " replicas=" << f.replica_count << " urp_led=" << f.urp_led
            << " oos=" << f.out_of_sync_hosted << '}';
}
std::ostream& operator<<(std::ostream& os, const TopicHealth& t) {
  return os << "TopicHealth{" << t.name << " partitions=" << t.partitions << " rf=" << t.usual_replicas
            << " min_isr=" << t.min_insync_replicas << (t.min_isr_from_default ? "(default)" : "")
            << " eff=" << t.effective_min_isr << " risk=" << t.min_isr_risk << " offline=" << t.offline
            << " urp=" << t.under_replicated << " under_min=" << t.under_min_isr << " at_min=" << t.at_min_isr
            << " reassigning=" << t.reassigning << " errors=" << t.errors << '}';
}
std::ostream& operator<<(std::ostream& os, const Counts& c) {
  return os << "Counts{topics=" << c.topics << " partitions=" << c.partitions << " offline=" << c.offline
            << " urp=" << c.under_replicated << " under_min=" << c.under_min_isr << " at_min=" << c.at_min_isr
            << " reassigning=" << c.reassigning << " errors=" << c.errors
            << " imbalance=" << c.preferred_replica_imbalance << " up=" << c.brokers_up
            << " missing=" << c.brokers_missing << " excluded=" << c.excluded_topics << '}';
}
std::ostream& operator<<(std::ostream& os, const Verdict& v) {
  os << "Verdict{" << (v.healthy() ? "healthy" : "unhealthy") << " reasons=[";
  for (const auto& r : v.reasons) os << r << ' ';
  os << "] " << v.counts << " unhealthy_total=" << v.unhealthy_partitions_total << '}';
  return os;
}

}  // namespace isrguard::service
