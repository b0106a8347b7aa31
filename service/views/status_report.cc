#include "service/judge/wall_time.h"
#include "service/views/status_report.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "service/judge/partition_rules.h"
#include "service/judge/reasons.h"

namespace isrguard::service {
namespace {

using json = nlohmann::ordered_json;

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

json partition_json(const PartitionHealth& p) {
  json j = partition_facts_json(p.topic, p.partition);
  j["states"] = p.states;
  j["usual_replicas"] = p.usual_replicas;
  j["min_isr"] = p.min_isr;
  j["baseline"] = p.baseline.empty() ? json(nullptr) : json(p.baseline);
  j["adding"] = p.adding;
  j["detail"] = p.detail;
  if (!p.partition.error.ok()) j["error"] = p.partition.error.name();
  return j;
}

// The per-broker check (null when the broker was not asked, e.g. missing).
json response_json(const BrokerHealth& b) {
  if (!b.response) return nullptr;
  json j{{"answered", b.response->answered},
         {"latency_ms", static_cast<double>(b.response->latency.count()) / 1000.0},
         {"unresponsive", b.unresponsive}};
  if (!b.response->error.empty()) j["error"] = b.response->error;
  return j;
}

// One broker of /v1/status `brokers[]`. Up to --expected-brokers' 2000 are listed, present or missing, so an
// entry carries what is known and differs from the default: counters that are 0, `controller` and
// `seen_before` false, `missing_for_seconds` and `response` null (a present broker's is null only when it was
// not asked; a missing broker is never asked) and an unknown host are left out; a reader takes an absent key
// as that value (docs/api.md). With status_text's one line per entry this keeps 2000 present brokers with
// long host names under 1 MiB.
json broker_json(const BrokerHealth& b) {
  json j{{"id", b.id}};
  if (!b.host.empty()) {
    j["host"] = b.host;
    j["port"] = b.port;
  }
  j["fleet"] = b.fleet;
  j["state"] = b.up ? "up" : "missing";
  j["expected"] = b.expected;
  if (b.controller) j["controller"] = true;
  const std::pair<const char*, std::int64_t> counters[] = {{"leader_count", b.leader_count},
                                                           {"replica_count", b.replica_count},
                                                           {"under_replicated_led", b.urp_led},
                                                           {"under_min_isr_led", b.under_min_isr_led},
                                                           {"at_min_isr_led", b.at_min_isr_led},
                                                           {"out_of_sync_hosted", b.out_of_sync_hosted}};
  for (const auto& [key, n] : counters)
    if (n != 0) j[key] = n;
  if (b.seen_before) j["seen_before"] = true;
  if (b.missing_for) j["missing_for_seconds"] = b.missing_for->count() / 1000.0;
  if (b.response) j["response"] = response_json(b);
  return j;
}

json fleet_json(const FleetHealth& f) {
  return json{{"name", f.name},
              {"brokers_up", f.brokers_up},
              {"brokers_missing", f.brokers_missing},
              {"leader_count", f.leader_count},
              {"replica_count", f.replica_count},
              {"under_replicated_led", f.urp_led},
              {"out_of_sync_hosted", f.out_of_sync_hosted}};
}

json topic_json(const TopicHealth& t) {
  return json{{"name", t.name},
              {"partitions", t.partitions},
              {"usual_replicas", t.usual_replicas},
              {"min_insync_replicas", t.min_insync_replicas},
              {"min_isr_from_default", t.min_isr_from_default},
              {"min_isr_source", t.min_isr_source},
              {"effective_min_isr", t.effective_min_isr},
              {"min_isr_risk", t.min_isr_risk},
              {"offline", t.offline},
              {"under_replicated", t.under_replicated},
              {"under_min_isr", t.under_min_isr},
              {"at_min_isr", t.at_min_isr},
              {"reassigning", t.reassigning},
              {"errors", t.errors}};
}

json counts_json(const Counts& c) {
  return json{{"topics", c.topics},
              {"partitions", c.partitions},
              {"offline", c.offline},
              {"under_replicated", c.under_replicated},
              {"under_min_isr", c.under_min_isr},
              {"at_min_isr", c.at_min_isr},
              {"reassigning", c.reassigning},
              {"errors", c.errors},
              {"preferred_replica_imbalance", c.preferred_replica_imbalance},
              {"brokers_up", c.brokers_up},
              {"brokers_missing", c.brokers_missing},
              {"excluded_topics", c.excluded_topics}};
}

// Rack and the per-broker disruption answer (service/judge/disruption.h) for the broker at `index` of the verdict.
void add_broker_disruption(json& b, const PublishedState& s, std::size_t index,
                           const std::vector<Reason>& reasons,
                           std::chrono::system_clock::time_point wall_now) {
  if (!s.broker_safety || index >= s.broker_safety->size()) return;
  const BrokerSafety& safety = (*s.broker_safety)[index];
  b["rack"] = safety.rack ? json(*safety.rack) : json(nullptr);
  b["safe_to_disrupt"] = broker_safe_now(s, safety, reasons, wall_now);
  b["disruption_blocking_partitions"] = safety.blocking_partitions;
}

// The verdict part shared by /v1/status and --once: null members before the first successful probe.
// `reasons` are the ones feeding the gate now and `wall_now` the read time (they decide safe_to_disrupt).
void add_verdict(json& j, const PublishedState& s, std::size_t topic_cap, const std::vector<Reason>& reasons,
                 std::chrono::system_clock::time_point wall_now) {
  if (!s.verdict || !s.snapshot) {
    j["cluster"] = nullptr;
    j["counts"] = nullptr;
    j["brokers"] = json::array();
    j["fleets"] = json::array();
    j["unhealthy_topics"] = json{{"total", 0}, {"items", json::array()}};
    j["unhealthy_partitions"] = json{{"total", 0}, {"items", json::array()}};
    return;
  }
  const Verdict& v = *s.verdict;
  j["cluster"] = json{{"id", v.cluster_id},
                      {"controller_id", v.controller_id},
                      {"snapshot_taken_at", format_time(s.snapshot->taken_at)},
                      {"probe_duration_ms", s.snapshot->duration.count() / 1000.0},
                      {"config_errors", s.snapshot->config_errors},
                      {"kafka_version", json{{"band", v.kafka_version.text()},
                                             {"min_isr_rule", std::string(v.kafka_version.rule())}}}};
  j["counts"] = counts_json(v.counts);
  j["brokers"] = json::array();
  for (std::size_t i = 0; i < v.brokers.size(); ++i) {
    json b = broker_json(v.brokers[i]);
    add_broker_disruption(b, s, i, reasons, wall_now);
    j["brokers"].push_back(std::move(b));
  }
  j["fleets"] = json::array();
  for (const auto& f : v.fleets) j["fleets"].push_back(fleet_json(f));
  json topics = json::array();
  std::int64_t unhealthy_topics = 0;
  for (const auto& t : v.topics) {
    if (!t.unhealthy() && !t.min_isr_risk && !t.min_isr_from_default) continue;
    ++unhealthy_topics;
    if (topics.size() < topic_cap) topics.push_back(topic_json(t));
  }
  j["unhealthy_topics"] = json{{"total", unhealthy_topics}, {"items", std::move(topics)}};
  json parts = json::array();
  for (const auto& p : v.unhealthy_partitions) parts.push_back(partition_json(p));
  j["unhealthy_partitions"] = json{{"total", v.unhealthy_partitions_total}, {"items", std::move(parts)}};
}

json probe_json(const PublishedState& s) {
  json failures = json::object();
  for (const auto& [kind, n] : s.probe_failures) failures[kind] = n;
  json j{{"total", s.probes_total},
         {"failures", std::move(failures)},
         {"last_success", s.last_success_wall ? json(format_time(*s.last_success_wall)) : json(nullptr)}};
  if (s.last_error) {
    j["last_error"] = json{{"kind", s.last_error->kind},
                           {"message", s.last_error->message},
                           {"at", s.last_error_at ? format_time(*s.last_error_at) : ""}};
  } else {
    j["last_error"] = nullptr;
  }
  return j;
}

std::string ms_text(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

// Appends piece by piece: GCC 12 at -O3 reports a false -Wrestrict for `"," + std::to_string(id)`.
std::string join(const std::vector<BrokerId>& ids) {
  std::string s = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  s += ']';
  return s;
}

}  // namespace

json partition_facts_json(const std::string& topic, PartitionView p) {
  return json{{"topic", topic},
              {"partition", p.id},
              {"leader", p.leader},
              {"replicas", p.replicas},
              {"isr", p.isr}};
}

json reason_json(const Reason& r) {
  return json{{"code", r.code}, {"count", r.count}, {"gating", r.gating}, {"detail", r.detail}};
}

json override_json(const Override& o, std::chrono::system_clock::time_point now) {
  json scope = json::object();
  if (!o.scope.brokers.empty()) scope["brokers"] = o.scope.brokers;
  if (!o.scope.topics.empty()) scope["topics"] = o.scope.topics;
  if (!o.scope.partitions.empty()) {
    json parts = json::array();
    for (const auto& p : o.scope.partitions) parts.push_back(p.topic + "-" + std::to_string(p.partition));
    scope["partitions"] = std::move(parts);
  }
  return json{{"action", to_string(o.action)},
              {"reason", o.action == OverrideAction::kAcknowledge ? json(o.reason) : json(nullptr)},
              {"scope", o.action == OverrideAction::kAcknowledge ? scope : json(nullptr)},
              {"expires", format_time(o.expires)},
              {"seconds_left", std::max(0.0, seconds(o.expires - now))},
              {"by", o.by},
              {"why", o.why},
              {"line", o.line}};
}

bool once_healthy(const PublishedState& s) {
  const bool gated =
      std::any_of(s.reasons.begin(), s.reasons.end(), [](const Reason& r) { return r.gating; });
  return s.verdict && !gated && !s.last_error;
}

json overrides_json(const OverridesStatus& st) {
  json active = json::array(), expired = json::array();
  for (const auto& o : st.active) active.push_back(override_json(o, st.as_of));
  for (const auto& o : st.expired) expired.push_back(override_json(o, st.as_of));
  return json{{"file", st.path.empty() ? json(nullptr) : json(st.path)},
              {"valid", st.valid},
              {"error", st.valid ? json(nullptr) : json(st.error)},
              {"reload_errors", st.reload_errors},
              {"loaded_at", st.loaded_at ? json(format_time(*st.loaded_at)) : json(nullptr)},
              {"active", std::move(active)},
              {"expired", std::move(expired)}};
}

std::string overrides_text(const std::string& path, const std::vector<Override>& entries,
                           std::chrono::system_clock::time_point now) {
  const OverridesAt at = split_expired(entries, now);
  std::ostringstream o;
  o << "OVERRIDES (" << path << ": " << at.active.size() << " active, " << at.expired.size() << " expired)\n";
  for (const auto& e : at.active) o << "  line " << e.line << ": " << describe(e, now) << "\n";
  for (const auto& e : at.expired) o << "  line " << e.line << ": EXPIRED " << describe(e, now) << "\n";
  return o.str();
}

StatusContext StatusContext::from_config(const Config& c) {
  StatusContext ctx;
  ctx.config = c.describe();
  ctx.stale_after = c.stale_after;
  ctx.recovery_hold = c.gate.recovery_hold;
  ctx.list_cap = c.policy.list_cap;
  ctx.version = ISRGUARD_VERSION;
  ctx.commit = ISRGUARD_COMMIT;
  return ctx;
}

std::string status_text(const json& status) {
  const auto it = status.find("brokers");
  if (it == status.end() || !it->is_array() || it->empty()) return status.dump(2) + "\n";
  // The document with a placeholder for the array, indented; then the placeholder replaced by one line per
  // entry. The placeholder holds control bytes, which dump() escapes: its text appears only where it was put
  // unless a value holds the same bytes, and then the whole document is indented as usual.
  json rest = json::object();
  for (auto e = status.begin(); e != status.end(); ++e) rest[e.key()] = e == it ? json("\x01brokers\x01") : e.value();
  std::string text = rest.dump(2) + "\n";
  const std::string placeholder = json("\x01brokers\x01").dump();
  const auto at = text.find(placeholder);
  if (at == std::string::npos || text.find(placeholder, at + 1) != std::string::npos) return status.dump(2) + "\n";
  std::string lines = "[";
  for (const auto& b : *it) lines += (lines.size() == 1 ? "\n    " : ",\n    ") + b.dump();
  lines += "\n  ]";
  return text.replace(at, placeholder.size(), lines);
}

json status_json(const PublishedState& s, const Readiness& r, const StatusContext& ctx,
                 SteadyClock::time_point now, std::chrono::system_clock::time_point wall_now) {
  json j;
  j["ready"] = r.ready;
  j["reasons"] = json::array();
  for (const auto& reason : r.reasons) j["reasons"].push_back(reason_json(reason));
  j["gate"] = json{{"state", to_string(s.gate.state)},
                   {"since", format_time(s.gate_since_wall)},
                   {"seconds_in_state", seconds(now - s.gate.since)},
                   {"transitions", s.gate.transitions},
                   {"recovery_hold_seconds", ctx.recovery_hold.count() / 1000.0},
                   {"hold_remaining_seconds", s.gate.hold_remaining.count() / 1000.0},
                   {"blocking", s.gate.blocking}};
  if (s.last_success) {
    j["snapshot_age_seconds"] = seconds(now - *s.last_success);
  } else {
    j["snapshot_age_seconds"] = nullptr;
  }
  j["stale_after_seconds"] = ctx.stale_after.count() / 1000.0;
  add_verdict(j, s, ctx.list_cap, r.reasons, wall_now);
  j["overrides"] = overrides_json(s.overrides);
  j["probe"] = probe_json(s);
  json config = json::object();
  for (const auto& [k, v] : ctx.config) config[k] = v;
  j["config"] = std::move(config);
  j["version"] = ctx.version;
  j["commit"] = ctx.commit;
  j["now"] = format_time(wall_now);
  return j;
}

namespace {

unsigned healthy_bit() { return 1u << (pstate::kAll.size() - 1); }

// The verdict's entry for a selected topic; null when the topic is not selected.
const TopicHealth* topic_health(const Verdict& v, const std::string& name) {
  auto th = std::lower_bound(v.topics.begin(), v.topics.end(), name,
                             [](const TopicHealth& h, const std::string& n) { return h.name < n; });
  return th == v.topics.end() || th->name != name ? nullptr : &*th;
}

// Calls fn(topic index, partition index, topic health, baseline, state bits) for every partition of the
// selected topics of s.snapshot (only topic `only` when set), in (topic, partition) order.
template <typename F>
void for_each_judged_partition(const PublishedState& s, const Policy& policy,
                               const std::optional<std::string>& only, F&& fn) {
  if (!s.snapshot || !s.verdict) return;
  const auto& snap_topics = s.snapshot->topics;
  for (std::size_t ti = 0; ti < snap_topics.size(); ++ti) {
    const auto& t = snap_topics[ti];
    if (only && t.name != *only) continue;
    if (!policy.topic_selected(t.name)) continue;
    const TopicHealth* th = topic_health(*s.verdict, t.name);  // the selected topics and their usual counts
    if (!th) continue;
    const TopicBaselines* baselines = s.history ? s.history->topic(t.name) : nullptr;
    for (std::size_t pi = 0; pi < t.partitions.size(); ++pi) {
      const auto& p = t.partitions[pi];
      const Baseline base = baselines ? baselines->get(p.id) : Baseline{};
      fn(ti, pi, *th, base, partition_state_bits(p, th->usual_replicas, th->effective_min_isr, base));
    }
  }
}

}  // namespace

std::vector<IndexedPartition> index_unhealthy_partitions(const PublishedState& s, const Policy& policy) {
  std::vector<IndexedPartition> out;
  for_each_judged_partition(
      s, policy, std::nullopt,
      [&](std::size_t ti, std::size_t pi, const TopicHealth&, const Baseline&, unsigned bits) {
        if ((bits & ~healthy_bit()) == 0) return;
        out.push_back({static_cast<std::uint32_t>(ti), static_cast<std::uint32_t>(pi), bits});
      });
  return out;
}

std::optional<json> partitions_json(const PublishedState& s, const Policy& policy, const PartitionQuery& q,
                                    std::string* error) {
  std::vector<std::string> states = q.states;
  if (states.empty()) states.push_back("unhealthy");
  for (const auto& st : states) {
    const bool known =
        st == "unhealthy" || std::find(pstate::kAll.begin(), pstate::kAll.end(), st) != pstate::kAll.end();
    if (!known) {
      if (error) {
        *error = "unknown state '" + st + "'; one of unhealthy";
        for (auto k : pstate::kAll) *error += "," + std::string(k);
      }
      return std::nullopt;
    }
  }
  // The state bits (partition_state_bits) any of which selects a partition; "unhealthy" = all but "healthy".
  unsigned wanted = 0;
  for (const auto& st : states) {
    if (st == "unhealthy") wanted |= ~healthy_bit();
    for (std::size_t i = 0; i < pstate::kAll.size(); ++i)
      if (st == pstate::kAll[i]) wanted |= 1u << i;
  }
  json items = json::array();
  std::int64_t total = 0;
  // Classified as bits first: only the listed few are built in full.
  auto take = [&](const std::string& topic, PartitionView p, const TopicHealth& th,
                  const Baseline& base) {
    ++total;
    if (items.size() < q.limit)
      items.push_back(
          partition_json(classify_partition(topic, p, th.usual_replicas, th.effective_min_isr, base)));
  };
  if (s.unhealthy_partitions && s.snapshot && s.verdict && (wanted & healthy_bit()) == 0) {
    for (const auto& e : *s.unhealthy_partitions) {
      if ((e.bits & wanted) == 0) continue;
      const auto& t = s.snapshot->topics[e.topic];
      if (q.topic && t.name != *q.topic) continue;
      if (items.size() >= q.limit) {
        ++total;
        continue;
      }
      const auto& p = t.partitions[e.partition];
      const TopicHealth* th = topic_health(*s.verdict, t.name);
      const TopicBaselines* baselines = s.history ? s.history->topic(t.name) : nullptr;
      if (th) take(t.name, p, *th, baselines ? baselines->get(p.id) : Baseline{});
    }
  } else {
    for_each_judged_partition(
        s, policy, q.topic,
        [&](std::size_t ti, std::size_t pi, const TopicHealth& th, const Baseline& base, unsigned bits) {
          if ((bits & wanted) == 0) return;
          const auto& t = s.snapshot->topics[ti];
          take(t.name, t.partitions[pi], th, base);
        });
  }
  json j{{"states", states}, {"total", total}, {"listed", items.size()}, {"items", std::move(items)}};
  j["topic"] = q.topic ? json(*q.topic) : json(nullptr);
  j["snapshot_taken_at"] = s.snapshot ? json(format_time(s.snapshot->taken_at)) : json(nullptr);
  return j;
}

std::string readyz_text(const PublishedState& s, const Readiness& r, const Policy& policy,
                        SteadyClock::time_point now, bool verbose) {
  if (!verbose) {
    if (r.ready) return "ok\n";
    std::string codes;
    for (const auto& reason : r.reasons)
      if (reason.gating) codes += (codes.empty() ? "" : ",") + reason.code;
    if (codes.empty()) codes = std::string(to_string(s.gate.state));
    return "not ready: " + codes + "\n";
  }
  std::ostringstream out;
  std::ostringstream reported;  // reasons that do not gate: "warn:" lines before the summary, as kube's
  const bool probed = s.last_success.has_value();
  if (!probed) {
    out << "[-]first_probe failed: no successful probe yet\n";
  } else {
    out << "[+]first_probe ok\n";
  }
  for (auto code : reason::kAll) {
    const auto it =
        std::find_if(r.reasons.begin(), r.reasons.end(), [&](const Reason& x) { return x.code == code; });
    const bool gating = policy.gates(code);
    if (it == r.reasons.end()) {
      if (gating) out << "[+]" << code << " ok\n";
      continue;
    }
    if (it->gating) {
      out << "[-]" << code << " failed: " << it->detail << "\n";
    } else {
      reported << "warn: " << code << " reported, not gating: " << it->detail << "\n";
    }
  }
  // Each operator override (a freeze also fails override_freeze above) as a warn: line: by, why, time left.
  for (const auto& o : s.overrides.active)
    reported << "warn: override in force: " << describe(o, s.overrides.as_of) << "\n";
  for (const auto& o : s.overrides.expired)
    reported << "warn: override expired, ignored: " << describe(o, s.overrides.as_of) << "\n";
  switch (s.gate.state) {
    case GateState::kOpen:
      out << "[+]gate ok\n";
      break;
    case GateState::kRecovering:
      out << "[-]gate failed: recovering, healthy for "
          << ms_text(std::chrono::duration_cast<std::chrono::milliseconds>(now - s.gate.healthy_since))
          << ", " << ms_text(s.gate.hold_remaining) << " of the recovery hold left\n";
      break;
    case GateState::kClosed:
      out << "[-]gate failed: closed\n";
      break;
    case GateState::kInitializing:
      out << "[-]gate failed: initializing\n";
      break;
  }
  out << reported.str() << (r.ready ? "readyz check passed\n" : "readyz check failed\n");
  return out.str();
}

json once_error_json(const std::string& kind, const std::string& message, const PublishedState& s) {
  json j;
  j["error"] = json{{"kind", kind}, {"message", message}};
  j["probe"] = probe_json(s);
  j["version"] = ISRGUARD_VERSION;
  return j;
}

json once_json(const PublishedState& s, const Config& config) {
  json j;
  if (!s.snapshot) {
    const probes::ProbeError e = s.last_error.value_or(probes::ProbeError{"client", "no probe result"});
    return once_error_json(e.kind, e.message, s);
  }
  j["healthy"] = once_healthy(s);
  j["reasons"] = json::array();
  for (const auto& reason : s.reasons) j["reasons"].push_back(reason_json(reason));
  // --once answers at its only poll: the overrides' poll time is the read time.
  add_verdict(j, s, config.policy.list_cap, s.reasons, s.overrides.as_of);
  j["overrides"] = overrides_json(s.overrides);
  j["probe"] = probe_json(s);
  j["version"] = ISRGUARD_VERSION;
  return j;
}

json config_error_json(const std::vector<std::string>& problems) {
  json j;
  j["error"] = json{{"kind", "config"},
                    {"message", "invalid configuration (" + std::to_string(problems.size()) + " problem" +
                                    (problems.size() == 1 ? "" : "s") + ")"},
                    {"problems", problems}};
  j["version"] = ISRGUARD_VERSION;
  return j;
}

namespace {

// The table's steps share one stream: std::left, set by the first table printed, stays for the ones after.
void once_table_reasons(std::ostream& o, const PublishedState& s) {
  if (s.reasons.empty()) return;
  o << "\n"
    << std::left << std::setw(30) << "REASON" << std::setw(8) << "COUNT" << std::setw(8) << "GATING"
    << "DETAIL\n";
  for (const auto& r : s.reasons)
    o << std::setw(30) << r.code << std::setw(8) << r.count << std::setw(8) << (r.gating ? "yes" : "no")
      << r.detail << "\n";
}

void once_table_overrides(std::ostream& o, const OverridesStatus& st) {
  if (st.path.empty()) return;
  std::vector<Override> entries = st.active;
  entries.insert(entries.end(), st.expired.begin(), st.expired.end());
  o << "\n" << overrides_text(st.path, entries, st.as_of);
  if (!st.valid) o << "  file INVALID (last valid set in force): " << st.error << "\n";
}

void once_table_brokers(std::ostream& o, const PublishedState& s, const Verdict& v) {
  o << "\n"
    << std::left << std::setw(8) << "BROKER" << std::setw(10) << "FLEET" << std::setw(14) << "RACK"
    << std::setw(9) << "STATE" << std::setw(9) << "LEADERS" << std::setw(10) << "REPLICAS" << std::setw(9)
    << "URP_LED" << std::setw(13) << "OUT_OF_SYNC" << std::setw(12) << "MAY_GO"
    << "HOST\n";
  for (std::size_t i = 0; i < v.brokers.size(); ++i) {
    const auto& b = v.brokers[i];
    const BrokerSafety* safety =
        s.broker_safety && i < s.broker_safety->size() ? &(*s.broker_safety)[i] : nullptr;
    const std::string may_go = !safety ? "?"
                               : broker_safe_now(s, *safety, s.reasons, s.overrides.as_of)
                                   ? "yes"
                                   : "no (" + std::to_string(safety->blocking_partitions) + ")";
    o << std::setw(8) << (std::to_string(b.id) + (b.controller ? "*" : "")) << std::setw(10) << b.fleet
      << std::setw(14) << (safety && safety->rack ? *safety->rack : "-") << std::setw(9)
      << (b.up ? "up" : "MISSING") << std::setw(9) << b.leader_count << std::setw(10) << b.replica_count
      << std::setw(9) << b.urp_led << std::setw(13) << b.out_of_sync_hosted << std::setw(12) << may_go
      << (b.host.empty() ? "-" : b.host + ":" + std::to_string(b.port)) << "\n";
  }
}

void once_table_partitions(std::ostream& o, const Verdict& v, std::size_t list_cap) {
  if (v.unhealthy_partitions_total <= 0) return;
  o << "\nUNHEALTHY PARTITIONS (" << v.unhealthy_partitions.size() << " of " << v.unhealthy_partitions_total
    << " listed; cap " << list_cap << ")\n"
    << std::setw(32) << "TOPIC-PARTITION" << std::setw(8) << "LEADER" << std::setw(14) << "REPLICAS"
    << std::setw(14) << "ISR"
    << "STATES\n";
  for (const auto& p : v.unhealthy_partitions) {
    std::string states;
    for (const auto& st : p.states) states += (states.empty() ? "" : ",") + st;
    o << std::setw(32) << (p.topic + "-" + std::to_string(p.partition.id)) << std::setw(8)
      << p.partition.leader << std::setw(14) << join(p.partition.replicas) << std::setw(14)
      << join(p.partition.isr) << states << "\n";
  }
}

}  // namespace

std::string once_table(const PublishedState& s, const Config& config) {
  std::ostringstream o;
  if (!s.snapshot) {  // an error, not a verdict: exit 2
    o << "ERROR  no verdict: Kafka could not be probed\n";
    if (s.last_error) o << "probe failed (" << s.last_error->kind << "): " << s.last_error->message << "\n";
    return o.str();
  }
  const bool healthy = once_healthy(s);
  o << (healthy ? "HEALTHY" : "UNHEALTHY");
  if (s.verdict && s.snapshot) {
    const auto& v = *s.verdict;
    o << "  cluster=" << (v.cluster_id.empty() ? "?" : v.cluster_id) << " controller=" << v.controller_id
      << " brokers=" << v.counts.brokers_up << " topics=" << v.counts.topics
      << " partitions=" << v.counts.partitions << " probe=" << s.snapshot->duration.count() / 1000 << "ms";
  }
  o << "\n";
  if (s.last_error) o << "probe failed (" << s.last_error->kind << "): " << s.last_error->message << "\n";
  once_table_reasons(o, s);
  once_table_overrides(o, s.overrides);
  if (!s.verdict) return o.str();
  once_table_brokers(o, s, *s.verdict);
  once_table_partitions(o, *s.verdict, config.policy.list_cap);
  return o.str();
}

}  // namespace isrguard::service
