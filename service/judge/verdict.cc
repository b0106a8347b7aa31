#include "service/judge/verdict.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <map>
#include <span>

#include "probes/split.h"
#include "service/judge/min_isr.h"
#include "service/judge/partition_rules.h"
#include "service/judge/reasons.h"
#include "service/judge/responsiveness.h"

namespace isrguard::service {
namespace {

constexpr std::size_t kDetailExamples = 3;

using probes::contains_id;
using probes::first_occurrence;
using namespace partition_rules;  // the rules in steps: StateBit, PartitionBaseline, UsualCount, assess, ...

// Collects the count and a few examples for one reason's detail line.
struct Tally {
  std::int64_t count = 0;
  std::vector<std::string> examples;
  template <typename MakeExample>  // called only for the first few, so large clusters build few strings
  void add(MakeExample&& make) {
    ++count;
    if (examples.size() < kDetailExamples) examples.push_back(make());
  }
  // Takes in the tally of what came after.
  void absorb(Tally& later) {
    count += later.count;
    for (auto& e : later.examples)
      if (examples.size() < kDetailExamples) examples.push_back(std::move(e));
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

std::string partition_example(const std::string& topic, PartitionView p) {
  std::string s = topic + "-" + std::to_string(p.id) + " leader=" + std::to_string(p.leader) +
                  " replicas=" + id_list(p.replicas) + " isr=" + id_list(p.isr);
  if (!p.error.ok()) s += " error=" + p.error.name();
  return s;
}

std::string seconds_text(std::chrono::milliseconds d) { return std::to_string(d.count() / 1000) + "s"; }

// One judge() call: the passes over brokers, topics and partitions, each filling part of the verdict.
class Judgement {
 public:
  // Notes the brokers present, expected and remembered; then judge_topics() makes the topic pass.
  // `first`: judge a first snapshot, as if `history` were advance(History{}, snapshot, ...) (empty then).
  Judgement(const ClusterSnapshot& snapshot, const Policy& policy, const History& history,
            SteadyClock::time_point now, bool first = false)
      : snapshot_(snapshot),
        policy_(policy),
        history_(history),
        now_(now),
        first_(first),
        band_(kafka_version_band(snapshot)),
        broker_min_isr_(broker_min_isr_default(snapshot)) {
    note_present_brokers();
    note_expected_brokers();
    note_remembered_brokers();
  }

  // The topic pass over snapshot topics [begin, end).
  void judge_topics(std::size_t begin, std::size_t end) {
    if (begin < end) next_topic_ = history_.topics.lower_bound(snapshot_.topics[begin].name);
    for (std::size_t i = begin; i < end; ++i) judge_topic(snapshot_.topics[i]);
  }

  // Takes in the topic pass of `later`, made over the topics right after this one's (same snapshot, policy,
  // history and time): the result is as if this Judgement had made both.
  void absorb(Judgement&& later) {
    for (auto& [id, from] : later.brokers_) add_topic_counts(broker(id), from);
    add_counts(v_.counts, later.v_.counts);
    std::move(later.v_.topics.begin(), later.v_.topics.end(), std::back_inserter(v_.topics));
    for (auto& p : later.v_.unhealthy_partitions) {
      if (v_.unhealthy_partitions.size() >= policy_.list_cap) break;
      v_.unhealthy_partitions.push_back(std::move(p));
    }
    v_.unhealthy_partitions_total += later.v_.unhealthy_partitions_total;
    offline_.absorb(later.offline_);
    urp_.absorb(later.urp_);
    under_min_.absorb(later.under_min_);
    at_min_.absorb(later.at_min_);
    errors_.absorb(later.errors_);
    risk_.absorb(later.risk_);
    unknown_min_isr_.absorb(later.unknown_min_isr_);
  }

  Verdict finish() && {
    v_.controller_id = snapshot_.controller_id;
    v_.cluster_id = snapshot_.cluster_id;
    v_.kafka_version = band_;
    std::sort(v_.topics.begin(), v_.topics.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    summarize_brokers_and_fleets();
    add_reasons();
    return std::move(v_);
  }

 private:
  // into.m += from.m for each member m listed.
  template <typename T, typename... Members>
  static void add_members(T& into, const T& from, Members T::*... members) {
    ((into.*members += from.*members), ...);
  }
  // What the topic pass adds up per broker (the rest of BrokerHealth is noted before it, the same in every
  // part).
  static void add_topic_counts(BrokerHealth& into, const BrokerHealth& from) {
    add_members(into, from, &BrokerHealth::leader_count, &BrokerHealth::replica_count, &BrokerHealth::urp_led,
                &BrokerHealth::under_min_isr_led, &BrokerHealth::at_min_isr_led, &BrokerHealth::out_of_sync_hosted,
                &BrokerHealth::preferred_leader_not_leading);
  }
  static void add_counts(Counts& into, const Counts& from) {
    add_members(into, from, &Counts::topics, &Counts::partitions, &Counts::offline, &Counts::under_replicated,
                &Counts::under_min_isr, &Counts::at_min_isr, &Counts::reassigning, &Counts::errors,
                &Counts::preferred_replica_imbalance, &Counts::brokers_up, &Counts::brokers_missing,
                &Counts::excluded_topics);
  }

  // Called for the leader and every replica of every partition: ids below kDirectBrokerIds are looked up in
  // a vector of pointers into brokers_ (a map's nodes never move) instead of searching the map each time.
  static constexpr BrokerId kDirectBrokerIds = 1 << 16;
  BrokerHealth& broker(BrokerId id) {
    const bool direct = id >= 0 && id < kDirectBrokerIds;
    const auto slot = static_cast<std::size_t>(id);
    if (direct && slot < by_id_.size() && by_id_[slot]) return *by_id_[slot];
    auto [it, inserted] = brokers_.try_emplace(id);
    if (inserted) it->second.id = id;
    if (direct) {
      if (slot >= by_id_.size()) by_id_.resize(slot + 1, nullptr);
      by_id_[slot] = &it->second;
    }
    return it->second;
  }

  void note_present_brokers() {
    for (const auto& b : snapshot_.brokers) {
      BrokerHealth& h = broker(b.id);
      h.host = b.host;
      h.port = b.port;
      h.up = true;
      h.controller = b.id == snapshot_.controller_id;
    }
  }

  void note_expected_brokers() {
    for (BrokerId id : policy_.expected_brokers) broker(id).expected = true;
  }

  // Brokers listed in earlier snapshots and absent now. They count as missing only without expected brokers
  // (which then say which must be present); with them, a remembered one still gets its time gone.
  void note_remembered_brokers() {
    for (const auto& [id, seen] : history_.brokers) {
      const auto it = brokers_.find(id);
      if (it != brokers_.end() && it->second.up) continue;
      if (it == brokers_.end() && !policy_.expected_brokers.empty()) continue;
      BrokerHealth& b = broker(id);
      b.seen_before = true;
      b.missing_for = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::max(now_ - seen.last_seen, SteadyClock::duration::zero()));
    }
  }

  TopicHealth topic_health(const TopicInfo& topic, std::int32_t usual_replicas) {
    TopicHealth th;
    th.name = topic.name;
    th.partitions = static_cast<std::int64_t>(topic.partitions.size());
    th.usual_replicas = usual_replicas;
    const TopicMinIsr min_isr = topic_min_isr(topic, broker_min_isr_, policy_.default_min_isr);
    th.min_isr_from_default = min_isr.source != min_isr_source::kTopic;
    th.min_isr_source = std::string(min_isr.source);
    th.min_insync_replicas = min_isr.value;
    th.effective_min_isr = effective_min_isr(th.min_insync_replicas, th.usual_replicas, band_);
    th.min_isr_risk = th.usual_replicas > 0 && th.usual_replicas <= th.min_insync_replicas;
    if (th.min_isr_risk)
      risk_.add([&] {
        return topic.name + " replicas=" + std::to_string(th.usual_replicas) +
               " min.insync.replicas=" + std::to_string(th.min_insync_replicas);
      });
    if (th.min_isr_from_default)
      unknown_min_isr_.add([&] { return topic.name + " (" + th.min_isr_source + " " + std::to_string(th.min_insync_replicas) + ")"; });
    if (!topic.error.ok()) {
      ++th.errors;
      errors_.add([&] { return "topic " + topic.name + " error=" + topic.error.name(); });
    }
    return th;
  }

  void judge_topic(const TopicInfo& topic) {
    if (!policy_.topic_selected(topic.name)) {
      ++v_.counts.excluded_topics;
      return;
    }
    const TopicBaselines* baselines = first_ ? nullptr : topic_baselines(topic.name);
    bases_.clear();  // reused across topics: no allocation per topic once grown
    if (first_) reserve_first_ids(topic);
    UsualCount& usual = usual_;
    usual.clear();
    for (const auto& p : topic.partitions) {
      bases_.push_back(first_ ? first_baseline_of(topic, p) : baseline_of(baselines, p));
      usual.add(settled_replicas(p, bases_.back()));
    }
    TopicHealth th = topic_health(topic, usual.result());
    for (std::size_t i = 0; i < topic.partitions.size(); ++i)
      judge_partition_health(topic, topic.partitions[i], bases_[i], th);
    v_.counts.offline += th.offline;
    v_.counts.under_replicated += th.under_replicated;
    v_.counts.under_min_isr += th.under_min_isr;
    v_.counts.at_min_isr += th.at_min_isr;
    v_.counts.reassigning += th.reassigning;
    v_.counts.errors += th.errors;
    ++v_.counts.topics;
    v_.topics.push_back(std::move(th));
  }

  // A first snapshot's baselines (first_baseline), kept in first_ids_ for the topic being judged: room for
  // all of them first, so the spans into it stay valid.
  void reserve_first_ids(const TopicInfo& topic) {
    std::size_t ids = 0;
    for (const auto& p : topic.partitions) ids += std::min(p.replicas.size(), kMaxBaselineReplicas);
    if (first_ids_.size() < ids) first_ids_.resize(ids);
    first_used_ = 0;
  }
  PartitionBaseline first_baseline_of(const TopicInfo& topic, const PartitionView& p) {
    if (!topic.error.ok()) return {};  // advance() remembers nothing for an errored topic's partitions
    std::array<BrokerId, kMaxBaselineReplicas> scratch;
    const Baseline b = first_baseline(p, topic.partitions.size(), scratch);
    BrokerId* out = first_ids_.data() + first_used_;
    for (std::size_t i = 0; i < b.replicas.size(); ++i) out[i] = b.replicas[i];
    first_used_ += b.replicas.size();
    // A first baseline is the partition's own replicas: within them whenever it is known.
    return {Baseline{std::span<const BrokerId>(out, b.replicas.size()), b.origin}, b.known()};
  }

  // Snapshot and history both list topics by name: walk them side by side instead of searching each time.
  const TopicBaselines* topic_baselines(const std::string& name) {
    while (next_topic_ != history_.topics.end() && next_topic_->first < name) ++next_topic_;
    if (next_topic_ != history_.topics.end() && next_topic_->first == name) return next_topic_->second.get();
    return history_.topic(name);  // a snapshot not in name order still finds its topics
  }

  // One partition of `topic`: counted in `th` and the verdict, attributed to its brokers, listed when
  // unhealthy.
  void judge_partition_health(const TopicInfo& topic, const PartitionView& p, const PartitionBaseline& base,
                              TopicHealth& th) {
    // Kafka's rule is per partition: 3.7+ caps min ISR at the partition's own replicas (adding ones included).
    const std::int32_t min_isr = partition_min_isr(th, p);
    const Assessment a = assess(p, th.usual_replicas, min_isr, base);
    ++v_.counts.partitions;
    count_states(topic, p, a.bits, th);
    attribute_to_brokers(p, a.bits);
    if (!unhealthy(a.bits)) return;
    ++v_.unhealthy_partitions_total;
    if (v_.unhealthy_partitions.size() < policy_.list_cap)
      v_.unhealthy_partitions.push_back(
          partition_health(topic.name, p, th.usual_replicas, min_isr, base, a));
  }
  std::int32_t partition_min_isr(const TopicHealth& th, const PartitionView& p) const {
    if (!band_.caps_min_isr_at_replicas()) return th.min_insync_replicas;
    return effective_min_isr(th.min_insync_replicas, probes::distinct_ids(p.replicas), band_);
  }

  void count_states(const TopicInfo& topic, const PartitionView& p, unsigned bits, TopicHealth& th) {
    if (bits == 0) return;  // healthy, not reassigning: most partitions
    auto example = [&] { return partition_example(topic.name, p); };
    auto tally = [&](unsigned bit, std::int64_t& count, Tally* t) {
      if (!(bits & bit)) return;
      ++count;
      if (t) t->add(example);
    };
    tally(kBitOffline, th.offline, &offline_);
    tally(kBitUnderReplicated, th.under_replicated, &urp_);
    tally(kBitUnderMinIsr, th.under_min_isr, &under_min_);
    tally(kBitAtMinIsr, th.at_min_isr, &at_min_);
    tally(kBitReassigning, th.reassigning, nullptr);
    tally(kBitError, th.errors, &errors_);
  }

  // Per-broker gauges as Kafka's JMX reports them: URP / min-ISR counts on the leader, replicas on hosts.
  void attribute_to_brokers(const PartitionView& p, unsigned bits) {
    if (p.leader != probes::kNoLeader) {
      BrokerHealth& leader = broker(p.leader);
      ++leader.leader_count;
      if (bits & kBitUnderReplicated) ++leader.urp_led;
      if (bits & kBitUnderMinIsr) ++leader.under_min_isr_led;
      if (bits & kBitAtMinIsr) ++leader.at_min_isr_led;
      if (!p.replicas.empty() && p.replicas.front() != p.leader) {
        ++v_.counts.preferred_replica_imbalance;
        ++broker(p.replicas.front()).preferred_leader_not_leading;
      }
    }
    const bool all_in_sync = p.isr_is_replicas();
    for (std::size_t i = 0; i < p.replicas.size(); ++i) {
      if (!first_occurrence(p.replicas, i)) continue;
      BrokerHealth& b = broker(p.replicas[i]);
      ++b.replica_count;
      if (!all_in_sync && !contains_id(p.isr, p.replicas[i])) ++b.out_of_sync_hosted;
    }
  }

  // A missing broker has no host in this snapshot: its remembered one still places it in a host-rule fleet.
  std::string fleet_of(const BrokerHealth& b) const {
    if (b.host.empty())
      if (auto it = history_.brokers.find(b.id); it != history_.brokers.end())
        return policy_.fleet_of(b.id, it->second.host);
    return policy_.fleet_of(b.id, b.host);
  }

  void summarize_brokers_and_fleets() {
    std::map<std::string, FleetHealth> fleets;
    for (const auto& f : policy_.fleets) fleets[f.name].name = f.name;
    for (auto& [id, b] : brokers_) {
      b.fleet = fleet_of(b);
      FleetHealth& f = fleets[b.fleet];
      f.name = b.fleet;
      if (b.up) {
        ++f.brokers_up;
        ++v_.counts.brokers_up;
      } else {
        ++f.brokers_missing;
        ++v_.counts.brokers_missing;
        missing_.add(
            [&] { return "broker " + std::to_string(id) + " (" + b.fleet + ", " + why_missing(b) + ")"; });
      }
      f.leader_count += b.leader_count;
      f.replica_count += b.replica_count;
      f.urp_led += b.urp_led;
      f.out_of_sync_hosted += b.out_of_sync_hosted;
      v_.brokers.push_back(b);
    }
    for (auto& [name, f] : fleets) v_.fleets.push_back(f);
  }

  static std::string why_missing(const BrokerHealth& b) {
    const std::string gone = b.missing_for ? ", gone " + seconds_text(*b.missing_for) : "";
    if (b.expected) return "expected" + gone;
    if (b.seen_before) return "seen before" + gone;
    return "hosts replicas";
  }

  // Reasons in reason::kAll order.
  void add_reasons() {
    auto add = [&](std::string_view code, const Tally& t, std::string_view one, std::string_view many) {
      if (t.count == 0) return;
      v_.reasons.push_back(Reason{std::string(code), t.count, t.detail(one, many), policy_.gates(code)});
    };
    add(reason::kOfflinePartitions, offline_, "partition offline", "partitions offline");
    add(reason::kUnderReplicatedPartitions, urp_, "partition under-replicated",
        "partitions under-replicated");
    add(reason::kUnderMinIsrPartitions, under_min_, "partition under min ISR", "partitions under min ISR");
    add(reason::kAtMinIsrPartitions, at_min_, "partition at min ISR", "partitions at min ISR");
    add(reason::kBrokersMissing, missing_, "broker missing", "brokers missing");
    add(reason::kMetadataErrors, errors_, "metadata error", "metadata errors");
    add(reason::kMinIsrRiskTopics, risk_, "topic with replicas <= min.insync.replicas",
        "topics with replicas <= min.insync.replicas");
    add(reason::kMinIsrUnknownTopics, unknown_min_isr_, "topic with unreadable min.insync.replicas (fallback used)",
        "topics with unreadable min.insync.replicas (fallback used)");
  }

  const ClusterSnapshot& snapshot_;
  const Policy& policy_;
  const History& history_;
  const SteadyClock::time_point now_;
  Verdict v_;
  History::Topics::const_iterator next_topic_ = history_.topics.begin();
  const bool first_;
  const KafkaVersionBand band_;                         // decides the effective min ISR rule
  const std::optional<std::int32_t> broker_min_isr_;  // the brokers' own min.insync.replicas, when read
  std::vector<PartitionBaseline> bases_;      // judge_topic's scratch: one per partition of the current topic
  std::vector<BrokerId> first_ids_;           // judge_topic's scratch when first_ (see reserve_first_ids)
  std::size_t first_used_ = 0;                // of first_ids_, by the current topic
  UsualCount usual_;                          // judge_topic's scratch
  std::map<BrokerId, BrokerHealth> brokers_;  // present, expected, remembered-missing, hosting replicas
  std::vector<BrokerHealth*> by_id_;          // brokers_ by id, for ids below kDirectBrokerIds
  Tally offline_, urp_, under_min_, at_min_, missing_, errors_, risk_, unknown_min_isr_;
};

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

namespace {

Verdict judge_with(const ClusterSnapshot& snapshot, const Policy& policy, const History& history,
                   SteadyClock::time_point now, std::size_t split_from, bool first) {
  const std::size_t n = snapshot.topics.size();
  const std::size_t k = probes::split_topics(snapshot.topics, split_from);
  Judgement whole(snapshot, policy, history, now, first);
  if (k == n) {
    whole.judge_topics(0, n);
  } else {
    Judgement later(snapshot, policy, history, now, first);
    probes::run_both([&] { whole.judge_topics(0, k); }, [&] { later.judge_topics(k, n); });
    whole.absorb(std::move(later));
  }
  Verdict v = std::move(whole).finish();
  judge_responsiveness(snapshot, policy, v);
  return v;
}

}  // namespace

Verdict judge(const ClusterSnapshot& snapshot, const Policy& policy, const History& history,
              SteadyClock::time_point now, std::size_t split_from) {
  return judge_with(snapshot, policy, history, now, split_from, false);
}

Verdict judge_first(const ClusterSnapshot& snapshot, const Policy& policy, SteadyClock::time_point now,
                    std::size_t split_from) {
  // The first history's brokers are the ones present, which the verdict notes anyway: none is remembered
  // missing, and none needs a remembered host. So an empty History stands in for it.
  static const History kNone;
  return judge_with(snapshot, policy, kNone, now, split_from, true);
}

Verdict judge(const ClusterSnapshot& snapshot, const Policy& policy) {
  const SteadyClock::time_point start{};
  return judge(snapshot, policy, advance(History{}, snapshot, policy, start), start);
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
  os << "baseline=" << id_list(p.baseline) << " adding=" << id_list(p.adding);
  if (!p.detail.empty()) os << " '" << p.detail << "'";
  return os << '}';
}
std::ostream& operator<<(std::ostream& os, const BrokerHealth& b) {
  os << "BrokerHealth{" << b.id << ' ' << b.host << ':' << b.port << " fleet=" << b.fleet
            << " up=" << b.up << " expected=" << b.expected << " controller=" << b.controller
            << " leaders=" << b.leader_count << " replicas=" << b.replica_count << " urp_led=" << b.urp_led
            << " under_min_led=" << b.under_min_isr_led << " at_min_led=" << b.at_min_isr_led
            << " oos=" << b.out_of_sync_hosted << " not_preferred=" << b.preferred_leader_not_leading
            << " seen_before=" << b.seen_before
            << " missing_for_ms=" << (b.missing_for ? std::to_string(b.missing_for->count()) : "-");
  if (b.response) os << ' ' << *b.response << (b.unresponsive ? " unresponsive" : "");
  return os << '}';
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
