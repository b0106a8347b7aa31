#include "service/views/metrics.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <map>
#include <tuple>

#include "service/judge/eviction.h"
#include "service/judge/reasons.h"

namespace isrguard::service {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

class Families {
 public:
  MetricFamily& family(std::string name, std::string help, MetricType type) {
    families_.push_back(MetricFamily{std::move(name), std::move(help), type, {}});
    return families_.back();
  }
  static void gauge(MetricFamily& f, Labels labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    f.metric.push_back(std::move(m));
  }
  static void counter(MetricFamily& f, Labels labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = value;
    f.metric.push_back(std::move(m));
  }
  std::string serialize() const {
    return prometheus::TextSerializer().Serialize(
        std::vector<MetricFamily>(families_.begin(), families_.end()));
  }

 private:
  std::deque<MetricFamily> families_;  // deque: references returned by family() stay valid as it grows
};

Labels broker_labels(const BrokerHealth& b) {
  return {{"broker_id", std::to_string(b.id)}, {"fleet", b.fleet}};
}

// Each broker alone (service/judge/disruption.h): may it go now, and how many partitions say no.
void broker_disruption(Families& out, const PublishedState& s, const Readiness& r,
                       std::chrono::system_clock::time_point wall_now) {
  auto& safe =
      out.family("isrguard_broker_safe_to_disrupt",
                 "1 when stopping this broker alone now leaves no partition offline or under min ISR "
                 "(and isrguard can know: probe succeeding, snapshot fresh); operator acknowledgements "
                 "honoured as by /v1/disruption?brokers=<id>.",
                 MetricType::Gauge);
  auto& blocking = out.family("isrguard_broker_disruption_blocking_partitions",
                              "Partitions that would go offline or under min ISR if this broker stopped now.",
                              MetricType::Gauge);
  if (!s.broker_safety) return;
  for (const auto& b : *s.broker_safety) {
    const Labels labels{{"broker_id", std::to_string(b.id)}, {"fleet", b.fleet}, {"rack", b.rack.value_or("")}};
    Families::gauge(safe, labels, broker_safe_now(s, b, r.reasons, wall_now) ? 1 : 0);
    Families::gauge(blocking, labels, static_cast<double>(b.blocking_partitions));
  }
}

Labels broker_labels(const KafkaBrokerGauges& b) {
  return {{"broker_id", std::to_string(b.id)}, {"fleet", b.fleet}};
}

// ReplicaManager gauges as each broker's JMX reports them (service/judge/jmx_view.h): one series per broker
// present in metadata; a missing broker has none, as a dead broker has no JMX.
void kafka_replica_manager(Families& out, const KafkaView* k) {
  struct PerBroker {
    const char* name;
    const char* help;
    std::int64_t KafkaBrokerGauges::*field;
  };
  static const PerBroker kPerBroker[] = {
      {"kafka_server_replicamanager_underreplicatedpartitions",
       "Partitions this broker leads whose ISR is smaller than the replication factor (Kafka's definition).",
       &KafkaBrokerGauges::under_replicated},
      {"kafka_server_replicamanager_underminisrpartitioncount",
       "Partitions this broker leads whose ISR is below min(min.insync.replicas, replicas) (Kafka 3.7+).",
       &KafkaBrokerGauges::under_min_isr},
      {"kafka_server_replicamanager_atminisrpartitioncount",
       "Partitions this broker leads whose ISR equals min(min.insync.replicas, replicas), degraded or not.",
       &KafkaBrokerGauges::at_min_isr},
      {"kafka_server_replicamanager_leadercount", "Partitions this broker leads (all topics).",
       &KafkaBrokerGauges::leader_count},
      {"kafka_server_replicamanager_partitioncount",
       "Partitions this broker hosts a replica of (all topics).", &KafkaBrokerGauges::partition_count},
  };
  for (const auto& pb : kPerBroker) {
    auto& f = out.family(pb.name, pb.help, MetricType::Gauge);
    if (!k) continue;
    for (const auto& b : k->brokers) Families::gauge(f, broker_labels(b), static_cast<double>(b.*(pb.field)));
  }
}

// KafkaController gauges of the active controller, over all topics. ActiveControllerCount only where the
// metadata's controller id means the controller (ZooKeeper mode); in KRaft it names a random live broker.
void kafka_controller(Families& out, const KafkaView* k) {
  auto& active =
      out.family("kafka_controller_kafkacontroller_activecontrollercount",
                 "1 on the active controller, 0 on the other brokers (ZooKeeper mode only; none in "
                 "KRaft or when the mode is unknown).",
                 MetricType::Gauge);
  if (k && k->active_controller != -1)
    for (const auto& b : k->brokers)
      Families::gauge(active, broker_labels(b), b.id == k->active_controller ? 1 : 0);
  struct Cluster {
    const char* name;
    const char* help;
    std::int64_t KafkaView::*field;
  };
  static const Cluster kCluster[] = {
      {"kafka_controller_kafkacontroller_offlinepartitionscount", "Partitions without a leader (all topics).",
       &KafkaView::offline_partitions},
      {"kafka_controller_kafkacontroller_globalpartitioncount", "Partitions of all topics.",
       &KafkaView::global_partitions},
      {"kafka_controller_kafkacontroller_globaltopiccount", "Topics (all, internal ones included).",
       &KafkaView::global_topics},
      {"kafka_controller_kafkacontroller_preferredreplicaimbalancecount",
       "Partitions whose leader is not the preferred (first) replica, offline ones included.",
       &KafkaView::preferred_replica_imbalance},
  };
  for (const auto& c : kCluster) {
    auto& f = out.family(c.name, c.help, MetricType::Gauge);
    if (k) Families::gauge(f, {}, static_cast<double>(k->*(c.field)));
  }
}

// The per-broker check: brokers in metadata only (missing brokers were not asked).
void broker_responsiveness(Families& out, const Verdict* v) {
  auto& seconds = out.family(
      "isrguard_broker_response_seconds",
      "Answer time of the broker's own DescribeConfigs in the last probe (time waited when it did not answer).",
      MetricType::Gauge);
  auto& responsive = out.family(
      "isrguard_broker_responsive",
      "1 when the broker answered the last per-broker check within --broker-slow-after, else 0.",
      MetricType::Gauge);
  if (!v) return;
  for (const auto& b : v->brokers) {
    if (!b.response) continue;
    Families::gauge(seconds, broker_labels(b), std::chrono::duration<double>(b.response->latency).count());
    Families::gauge(responsive, broker_labels(b), b.unresponsive ? 0 : 1);
  }
}

void kafka_mode_family(Families& out, const KafkaView* k) {
  auto& mode = out.family("isrguard_kafka_mode",
                          "1 on the cluster's metadata mode as read from the brokers' process.roles.",
                          MetricType::Gauge);
  if (!k) return;
  for (auto m : {KafkaMode::kKRaft, KafkaMode::kUnknown, KafkaMode::kZooKeeper})
    Families::gauge(mode, {{"mode", std::string(to_string(m))}}, k->mode == m ? 1 : 0);
}

// The Kafka version band the brokers run (inter.broker.protocol.version) and the min ISR rule it implies.
void kafka_info(Families& out, const Verdict* v) {
  auto& info = out.family("isrguard_kafka_info",
                          "Always 1: the Kafka version band the brokers run (from inter.broker.protocol.version; "
                          "unknown when any broker did not say) and the effective min ISR rule applied.",
                          MetricType::Gauge);
  if (!v) return;
  Families::gauge(info,
                  {{"min_isr_rule", std::string(v->kafka_version.rule())}, {"version_band", v->kafka_version.text()}},
                  1);
}

// isrguard's own per-broker judgement (selected topics; at min ISR only while degraded): what the kafka_*
// per-broker families showed before they followed Kafka, and what the dashboard uses with them switched off.
void isrguard_broker_partitions(Families& out, const Verdict* v) {
  auto& leaders = out.family("isrguard_broker_leader_partitions",
                             "Partitions of selected topics this broker leads.", MetricType::Gauge);
  auto& replicas = out.family("isrguard_broker_replicas", "Replicas of selected topics this broker hosts.",
                              MetricType::Gauge);
  auto& out_of_sync =
      out.family("isrguard_broker_out_of_sync_replicas",
                 "Replicas this broker hosts that are not in the ISR (selected topics).", MetricType::Gauge);
  auto& led = out.family("isrguard_broker_led_unhealthy_partitions",
                         "Partitions this broker leads, by isrguard's partition state (selected topics).",
                         MetricType::Gauge);
  if (!v) return;
  for (const auto& b : v->brokers) {
    const std::string id = std::to_string(b.id);
    Families::gauge(leaders, broker_labels(b), static_cast<double>(b.leader_count));
    Families::gauge(replicas, broker_labels(b), static_cast<double>(b.replica_count));
    Families::gauge(out_of_sync, broker_labels(b), static_cast<double>(b.out_of_sync_hosted));
    const std::pair<std::string_view, std::int64_t> by_state[] = {{pstate::kUnderReplicated, b.urp_led},
                                                                  {pstate::kUnderMinIsr, b.under_min_isr_led},
                                                                  {pstate::kAtMinIsr, b.at_min_isr_led}};
    for (const auto& [st, n] : by_state)
      Families::gauge(led, {{"broker_id", id}, {"fleet", b.fleet}, {"state", std::string(st)}},
                      static_cast<double>(n));
  }
}

// kminion-style broker_info: one series per broker present in metadata (bounded by the broker count).
void broker_info(Families& out, const probes::ClusterSnapshot* s, const Policy& policy) {
  auto& info = out.family("isrguard_broker_info",
                          "Always 1; address, port and rack of each broker in metadata.", MetricType::Gauge);
  if (!s) return;
  for (const auto& b : s->brokers)
    Families::gauge(info,
                    {{"address", b.host},
                     {"broker_id", std::to_string(b.id)},
                     {"fleet", policy.fleet_of(b.id, b.host)},
                     {"port", std::to_string(b.port)},
                     {"rack", b.rack.value_or("")}},
                    1);
}

// kminion-style topic_info for the selected topics in name order, at most `cap` (the rest counted as
// dropped).
void topic_info(Families& out, const Verdict* v, std::size_t cap) {
  auto& info =
      out.family("isrguard_topic_info",
                 "Always 1; partitions, replication factor and min.insync.replicas of a selected topic "
                 "(capped; see isrguard_topic_info_series_dropped).",
                 MetricType::Gauge);
  auto& dropped =
      out.family("isrguard_topic_info_series_dropped",
                 "Selected topics left out of isrguard_topic_info by the cap.", MetricType::Gauge);
  if (!v) {
    Families::gauge(dropped, {}, 0);
    return;
  }
  const std::size_t listed = std::min(cap, v->topics.size());
  for (std::size_t i = 0; i < listed; ++i) {
    const TopicHealth& t = v->topics[i];
    Families::gauge(info,
                    {{"min_insync_replicas", std::to_string(t.min_insync_replicas)},
                     {"min_insync_replicas_source", t.min_isr_from_default ? "default" : "config"},
                     {"partitions", std::to_string(t.partitions)},
                     {"replication_factor", std::to_string(t.usual_replicas)},
                     {"topic", t.name}},
                    1);
  }
  Families::gauge(dropped, {}, static_cast<double>(v->topics.size() - listed));
}

// kafka_exporter-style per-partition gauges, for the same listed unhealthy partitions (and cap) as
// isrguard_partition_unhealthy: absent means healthy (or left out by the cap).
void partition_details(Families& out, const Verdict* v, std::size_t cap) {
  auto& isr = out.family("isrguard_partition_in_sync_replicas",
                         "ISR size of an unhealthy partition (capped like isrguard_partition_unhealthy).",
                         MetricType::Gauge);
  auto& replicas =
      out.family("isrguard_partition_replicas",
                 "Replica count of an unhealthy partition (capped like isrguard_partition_unhealthy).",
                 MetricType::Gauge);
  auto& leader = out.family(
      "isrguard_partition_leader",
      "Leader broker id of an unhealthy partition, -1 without leader (capped likewise).", MetricType::Gauge);
  if (!v) return;
  const std::size_t listed = std::min(cap, v->unhealthy_partitions.size());
  for (std::size_t i = 0; i < listed; ++i) {
    const PartitionHealth& p = v->unhealthy_partitions[i];
    const Labels labels{{"partition", std::to_string(p.partition.id)}, {"topic", p.topic}};
    Families::gauge(isr, labels, static_cast<double>(p.partition.isr.size()));
    Families::gauge(replicas, labels, static_cast<double>(p.partition.replicas.size()));
    Families::gauge(leader, labels, static_cast<double>(p.partition.leader));
  }
}

// Operator overrides: one series per (action, reason, by) in force; the file's health. At most kMaxOverrides
// entries exist (service/config/overrides_yaml.h), so the series count is bounded.
void override_metrics(Families& out, const OverridesStatus& st) {
  auto& active = out.family("isrguard_override_active",
                            "Operator overrides in force (freeze or acknowledge), by action, reason and author.",
                            MetricType::Gauge);
  std::map<std::tuple<std::string, std::string, std::string>, int> n;
  for (const auto& o : st.active) ++n[{std::string(to_string(o.action)), o.reason, o.by}];
  for (const auto& [k, count] : n)
    Families::gauge(active, {{"action", std::get<0>(k)}, {"by", std::get<2>(k)}, {"reason", std::get<1>(k)}},
                    count);
  Families::counter(out.family("isrguard_overrides_reload_errors_total",
                               "Reads or parses of the overrides file that failed (once per distinct content).",
                               MetricType::Counter),
                    {}, static_cast<double>(st.reload_errors));
  auto& valid = out.family("isrguard_overrides_file_valid",
                           "1 when the overrides file's current content is valid (or no --overrides-file), 0 when "
                           "not (the last valid set stays in force).",
                           MetricType::Gauge);
  Families::gauge(valid, {}, st.valid ? 1 : 0);
}

// isrguard_ready (as /readyz answers) and the gate: its state, changes and when it last changed.
void gate_families(Families& out, const PublishedState& s, const Readiness& r) {
  Families::gauge(
      out.family("isrguard_ready", "1 when /readyz answers 200 (evictions allowed).", MetricType::Gauge), {},
      r.ready ? 1 : 0);
  auto& gate_state = out.family("isrguard_gate_state", "1 on the current gate state.", MetricType::Gauge);
  for (auto st : {GateState::kInitializing, GateState::kClosed, GateState::kRecovering, GateState::kOpen})
    Families::gauge(gate_state, {{"state", std::string(to_string(st))}}, s.gate.state == st ? 1 : 0);
  Families::counter(
      out.family("isrguard_gate_transitions_total", "Gate state changes since start.", MetricType::Counter),
      {}, static_cast<double>(s.gate.transitions));
  Families::gauge(
      out.family("isrguard_gate_last_transition_timestamp_seconds",
                 "Unix time of the last gate transition (process start before any).", MetricType::Gauge),
      {}, unix_seconds(s.gate_since_wall));
}

// Every known reason code, present or not: whether it is active (and gates) and how much it affects.
void reason_families(Families& out, const Readiness& r, const Policy& policy) {
  auto& active =
      out.family("isrguard_reason_active",
                 "1 while the reason is present; gating tells if it closes the gate.", MetricType::Gauge);
  auto& count =
      out.family("isrguard_reason_affected",
                 "Partitions, brokers or topics affected by the reason (0 when absent).", MetricType::Gauge);
  for (auto code : reason::kAll) {
    const auto it =
        std::find_if(r.reasons.begin(), r.reasons.end(), [&](const Reason& x) { return x.code == code; });
    const std::string c(code);
    Families::gauge(active, {{"gating", policy.gates(code) ? "true" : "false"}, {"reason", c}},
                    it == r.reasons.end() ? 0 : 1);
    Families::gauge(count, {{"reason", c}}, it == r.reasons.end() ? 0 : static_cast<double>(it->count));
  }
}

// Brokers up and missing per fleet, and each broker's presence in metadata.
void broker_presence(Families& out, const Verdict* v) {
  auto& brokers = out.family(
      "isrguard_brokers", "Brokers by fleet and state (missing = expected but absent).", MetricType::Gauge);
  auto& broker_up =
      out.family("isrguard_broker_up", "1 when the broker is in metadata, 0 when missing (expected, hosting replicas, or seen before).",
                 MetricType::Gauge);
  if (!v) return;
  for (const auto& f : v->fleets) {
    Families::gauge(brokers, {{"fleet", f.name}, {"state", "up"}}, static_cast<double>(f.brokers_up));
    Families::gauge(brokers, {{"fleet", f.name}, {"state", "missing"}}, static_cast<double>(f.brokers_missing));
  }
  for (const auto& b : v->brokers) Families::gauge(broker_up, broker_labels(b), b.up ? 1 : 0);
}

// Partitions of the selected topics, in all and by state.
void partition_counts(Families& out, const Verdict* v) {
  auto& partitions = out.family("isrguard_partitions",
                                "Partitions of selected topics by state (a partition may count in several).",
                                MetricType::Gauge);
  auto& selected =
      out.family("isrguard_partitions_selected", "Partitions of selected topics.", MetricType::Gauge);
  if (!v) return;
  const Counts& c = v->counts;
  const std::pair<std::string_view, std::int64_t> by_state[] = {
      {pstate::kOffline, c.offline},           {pstate::kUnderReplicated, c.under_replicated},
      {pstate::kUnderMinIsr, c.under_min_isr}, {pstate::kAtMinIsr, c.at_min_isr},
      {pstate::kReassigning, c.reassigning},   {pstate::kError, c.errors}};
  for (const auto& [st, n] : by_state)
    Families::gauge(partitions, {{"state", std::string(st)}}, static_cast<double>(n));
  Families::gauge(selected, {}, static_cast<double>(c.partitions));
}

// Unhealthy partitions per state of the first `cap` topics that have any.
void unhealthy_topics(MetricFamily& per_topic, const Verdict& v, std::size_t cap) {
  std::size_t topics_listed = 0;
  for (const auto& t : v.topics) {
    if (!t.unhealthy()) continue;
    if (topics_listed++ >= cap) break;
    const std::pair<std::string_view, std::int64_t> by_state[] = {
        {pstate::kOffline, t.offline},
        {pstate::kUnderReplicated, t.under_replicated},
        {pstate::kUnderMinIsr, t.under_min_isr},
        {pstate::kAtMinIsr, t.at_min_isr},
        {pstate::kError, t.errors}};
    for (const auto& [st, n] : by_state)
      if (n > 0)
        Families::gauge(per_topic, {{"state", std::string(st)}, {"topic", t.name}}, static_cast<double>(n));
  }
}

// One series per unhealthy state of the first `cap` listed unhealthy partitions; returns how many were listed.
std::size_t unhealthy_partitions(MetricFamily& per_partition, const Verdict& v, std::size_t cap) {
  std::size_t listed = 0;
  for (const auto& p : v.unhealthy_partitions) {
    if (listed >= cap) break;
    ++listed;
    for (const auto& st : p.states) {
      if (st == pstate::kHealthy || st == pstate::kReassigning) continue;
      Families::gauge(per_partition,
                      {{"partition", std::to_string(p.partition.id)}, {"state", st}, {"topic", p.topic}}, 1);
    }
  }
  return listed;
}

// Per-topic and per-partition series: unhealthy only, capped, so cardinality stays flat on big clusters.
void unhealthy_series(Families& out, const Verdict* v, std::size_t cap) {
  auto& per_topic =
      out.family("isrguard_topic_unhealthy_partitions",
                 "Unhealthy partitions per topic and state (topics with unhealthy partitions only, capped).",
                 MetricType::Gauge);
  auto& per_partition =
      out.family("isrguard_partition_unhealthy",
                 "1 per unhealthy partition and state (capped; see isrguard_partition_series_dropped).",
                 MetricType::Gauge);
  auto& dropped = out.family("isrguard_partition_series_dropped",
                             "Unhealthy partitions left out of isrguard_partition_unhealthy by the cap.",
                             MetricType::Gauge);
  if (!v) {
    Families::gauge(dropped, {}, 0);
    return;
  }
  unhealthy_topics(per_topic, *v, cap);
  const std::size_t listed = unhealthy_partitions(per_partition, *v, cap);
  Families::gauge(dropped, {},
                  static_cast<double>(v->unhealthy_partitions_total - static_cast<std::int64_t>(listed)));
}

// The cumulative buckets Prometheus expects from the per-bound counts, +Inf last.
void duration_histogram(MetricFamily& hist, const DurationHistogram& d) {
  ClientMetric m;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < d.bounds.size(); ++i) {
    cumulative += d.counts[i];
    m.histogram.bucket.push_back({cumulative, d.bounds[i]});
  }
  m.histogram.bucket.push_back({d.count, std::numeric_limits<double>::infinity()});
  m.histogram.sample_count = d.count;
  m.histogram.sample_sum = d.sum;
  hist.metric.push_back(std::move(m));
}

// Probes attempted, failed by kind, and how long they took.
void probe_families(Families& out, const PublishedState& s) {
  Families::counter(out.family("isrguard_probes_total", "Probes attempted.", MetricType::Counter), {},
                    static_cast<double>(s.probes_total));
  auto& failures = out.family("isrguard_probe_failures_total", "Failed probes by kind.", MetricType::Counter);
  // The documented kinds are always present (0 until they happen); any other kind shows once seen.
  std::map<std::string, std::uint64_t> by_kind{
      {"auth", 0}, {"client", 0}, {"metadata", 0}, {"timeout", 0}, {"tls", 0}, {"transport", 0}};
  for (const auto& [kind, n] : s.probe_failures) by_kind[kind] = n;
  for (const auto& [kind, n] : by_kind) Families::counter(failures, {{"kind", kind}}, static_cast<double>(n));
  duration_histogram(out.family("isrguard_probe_duration_seconds",
                                "Duration of each probe (metadata + DescribeConfigs).", MetricType::Histogram),
                     s.probe_duration);
}

// How fresh the snapshot is, and which build serves it.
void freshness_and_build(Families& out, const PublishedState& s, const MetricsContext& ctx,
                         SteadyClock::time_point now) {
  Families::gauge(out.family("isrguard_last_successful_probe_timestamp_seconds",
                             "Unix time of the last successful probe (0 before any).", MetricType::Gauge),
                  {}, s.last_success_wall ? unix_seconds(*s.last_success_wall) : 0);
  Families::gauge(out.family("isrguard_snapshot_age_seconds",
                             "Age of the last good snapshot (-1 before any).", MetricType::Gauge),
                  {}, s.last_success ? std::chrono::duration<double>(now - *s.last_success).count() : -1);
  Families::gauge(out.family("isrguard_build_info", "Build information; always 1.", MetricType::Gauge),
                  {{"commit", ctx.commit}, {"version", ctx.version}}, 1);
}

// The eviction webhook's decisions and answer time (only when it is on). The reasons a decision can carry are
// always present (0 until they happen, with and without dryRun), so rate() works from the first scrape; a
// reason outside that set (none today) shows once seen.
void webhook_families(Families& out, const WebhookStats& st) {
  std::map<WebhookDecisionKey, std::uint64_t> all;
  const auto known = [&](std::string_view outcome, std::string_view code) {
    for (const bool dry : {false, true}) all[WebhookDecisionKey{std::string(outcome), std::string(code), dry}];
  };
  namespace er = eviction_reason;
  for (const auto r : {er::kSafe, er::kNotABroker, er::kNotAnEviction}) known("allowed", r);
  for (const auto r : {er::kBlocked, er::kViewStale, er::kNoSnapshot, er::kBusy, er::kGrantsFull, er::kUnresolved,
                       reason::kProbeFailed, reason::kSnapshotStale, reason::kBrokersUnresponsive,
                       reason::kControllerUnknown, reason::kOverrideFreeze, reason::kMetadataErrors})
    known("denied", r);
  for (const auto r : {er::kBrokerIdInvalid, er::kBrokerIdConflict, er::kPodReadTimeout, er::kPodReadFailed,
                       er::kPodReadUnauthorized, er::kPodReadForbidden, er::kPodNotFound,
                       er::kPodReadServerError, er::kPodReadInvalid, er::kPodReadTooLarge})
    known("denied", r);
  all[WebhookDecisionKey{"invalid", std::string(er::kInvalidReview), false}];
  for (const auto& [key, n] : st.decisions) all[key] = n;
  auto& decisions = out.family("isrguard_webhook_decisions_total",
                               "Eviction webhook answers by outcome (allowed, denied, invalid) and reason.",
                               MetricType::Counter);
  for (const auto& [key, n] : all)
    Families::counter(decisions,
                      {{"dry_run", key.dry_run ? "true" : "false"}, {"outcome", key.outcome}, {"reason", key.reason}},
                      static_cast<double>(n));
  duration_histogram(out.family("isrguard_webhook_decision_duration_seconds",
                                "Eviction webhook: request arrival to answer, waiting for a fresh probe included.",
                                MetricType::Histogram),
                     st.latency);
  duration_histogram(out.family("isrguard_webhook_pod_read_duration_seconds",
                                "Eviction webhook: one Pod read through the Kubernetes API server (label and "
                                "annotation rules), failed reads included.",
                                MetricType::Histogram),
                     st.pod_read_latency);
}

}  // namespace

// One step per group of families; their order here is the order of the exposition.
std::string render_metrics(const PublishedState& s, const Readiness& r, const Policy& policy,
                           const MetricsContext& ctx, SteadyClock::time_point now,
                           std::chrono::system_clock::time_point wall_now, const WebhookStats* webhook) {
  Families out;
  const Verdict* v = s.verdict.get();
  if (ctx.jmx_names) {
    kafka_replica_manager(out, s.kafka.get());
    kafka_controller(out, s.kafka.get());
  }
  kafka_mode_family(out, s.kafka.get());
  kafka_info(out, v);
  gate_families(out, s, r);
  reason_families(out, r, policy);
  broker_presence(out, v);
  broker_responsiveness(out, v);
  isrguard_broker_partitions(out, v);
  broker_info(out, s.snapshot.get(), policy);
  broker_disruption(out, s, r, wall_now);
  partition_counts(out, v);
  unhealthy_series(out, v, ctx.partition_cap);
  partition_details(out, v, ctx.partition_cap);
  topic_info(out, v, ctx.partition_cap);
  override_metrics(out, s.overrides);
  probe_families(out, s);
  freshness_and_build(out, s, ctx, now);
  if (webhook) webhook_families(out, *webhook);
  return out.serialize();
}

}  // namespace isrguard::service
