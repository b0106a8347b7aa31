#include "service/judge/wall_time.h"
#include "service/views/disruption_report.h"

#include <iomanip>
#include <sstream>

#include "service/views/status_report.h"

namespace isrguard::service {
namespace {

using json = nlohmann::ordered_json;

json target_json(const DisruptionTarget& t) {
  return json{{"id", t.id},
              {"fleet", t.fleet},
              {"rack", t.rack ? json(*t.rack) : json(nullptr)},
              {"present", t.present},
              {"known", t.known}};
}

// `now` (wall) gives the acknowledgements' time left.
json partition_json(const DisruptedPartition& p, bool with_blocking,
                    std::chrono::system_clock::time_point now) {
  json j = partition_facts_json(p.topic, p.partition);
  j["isr_after"] = p.isr_after;
  j["min_isr"] = p.min_isr;
  j["outcome"] = p.outcome;
  j["min_isr_risk"] = p.min_isr_risk;
  j["min_isr_source"] = p.min_isr_source;
  if (with_blocking) j["blocking"] = p.blocking;
  if (!p.partition.error.ok()) j["error"] = p.partition.error.name();
  if (!p.acknowledged_by.empty()) {
    json by = json::array();
    for (const auto& o : p.acknowledged_by) by.push_back(override_json(o, now));
    j["acknowledged_by"] = std::move(by);
  }
  return j;
}

json partitions_json(std::int64_t total, const std::vector<DisruptedPartition>& parts, bool with_blocking,
                     std::chrono::system_clock::time_point now) {
  json items = json::array();
  for (const auto& p : parts) items.push_back(partition_json(p, with_blocking, now));
  return json{{"total", total}, {"items", std::move(items)}};
}

json counts_json(const DisruptionCounts& c) {
  return json{{"affected", c.affected},
              {"offline", c.offline},
              {"under_min_isr", c.under_min_isr},
              {"at_min_isr", c.at_min_isr},
              {"ok", c.ok},
              {"error", c.error},
              {"blocking", c.blocking},
              {"not_blocking_min_isr_risk", c.not_blocking_min_isr_risk},
              {"acknowledged", c.acknowledged}};
}

std::string ids(const std::vector<BrokerId>& v) {
  std::string s;
  for (auto id : v) s += (s.empty() ? "" : ",") + std::to_string(id);
  return "[" + s + "]";
}

std::string target_ids(const DisruptionAnswer& a) {
  std::string s;
  for (const auto& t : a.brokers) s += (s.empty() ? "" : ",") + std::to_string(t.id);
  return s;
}

void partition_rows(std::ostream& o, const std::vector<DisruptedPartition>& parts, bool already) {
  o << std::left << std::setw(32) << "TOPIC-PARTITION" << std::setw(14) << "REPLICAS" << std::setw(14) << "ISR"
    << std::setw(14) << "ISR_AFTER" << std::setw(9) << "MIN_ISR" << (already ? "OUTCOME        BLOCKING\n" : "OUTCOME\n");
  for (const auto& p : parts) {
    o << std::setw(32) << (p.topic + "-" + std::to_string(p.partition.id)) << std::setw(14)
      << ids(p.partition.replicas) << std::setw(14) << ids(p.partition.isr) << std::setw(14) << ids(p.isr_after)
      << std::setw(9) << p.min_isr;
    if (already)
      o << std::setw(15) << p.outcome << (p.blocking ? "yes" : "no");
    else
      o << p.outcome << (p.min_isr_risk ? " (min ISR risk topic)" : "");
    o << "\n";
  }
}

}  // namespace

json disruption_json(const DisruptionAnswer& a, const PublishedState& s, bool ready,
                     const DisruptionOptions& o, SteadyClock::time_point now,
                     std::chrono::system_clock::time_point wall_now) {
  json j;
  j["safe"] = a.safe;
  j["brokers"] = json::array();
  for (const auto& t : a.brokers) j["brokers"].push_back(target_json(t));
  j["unknown"] = json::array();
  for (const auto& r : a.unknown) j["unknown"].push_back(reason_json(r));
  j["acknowledged_unknown"] = json::array();
  for (const auto& r : a.acknowledged_unknown) j["acknowledged_unknown"].push_back(reason_json(r));
  j["absent_brokers"] = a.absent_brokers;
  j["unresponsive_brokers"] = a.unresponsive_brokers;
  j["counts"] = counts_json(a.counts);
  j["blocking"] = partitions_json(a.counts.blocking, a.blocking, false, wall_now);
  j["acknowledged"] = partitions_json(a.counts.acknowledged, a.acknowledged, false, wall_now);
  j["already_unhealthy"] = partitions_json(a.already_unhealthy_total, a.already_unhealthy, true, wall_now);
  j["block_min_isr_risk"] = o.block_min_isr_risk;
  j["gate"] = json{{"state", to_string(s.gate.state)}, {"ready", ready}};
  j["snapshot_age_seconds"] =
      s.last_success ? json(std::chrono::duration<double>(now - *s.last_success).count()) : json(nullptr);
  j["snapshot_taken_at"] = s.snapshot ? json(format_time(s.snapshot->taken_at)) : json(nullptr);
  return j;
}

json disruption_error_json(const PublishedState& s, const Config& config, const std::string& why) {
  if (!s.snapshot) return once_json(s, config);
  return once_error_json("query", why, s);
}

std::string disruption_summary(const DisruptionAnswer& a) {
  if (a.safe)
    return "SAFE: brokers " + target_ids(a) + " may go" +
           (a.counts.acknowledged > 0 ? " (" + std::to_string(a.counts.acknowledged) +
                                            " would-block partitions acknowledged by an operator)"
                                      : "");
  std::string s = "UNSAFE: brokers " + target_ids(a);
  for (const auto& r : a.unknown) s += "; cannot know (" + r.code + ": " + r.detail + ")";
  if (a.counts.blocking > 0) {
    s += "; " + std::to_string(a.counts.blocking) + (a.counts.blocking == 1 ? " partition" : " partitions") +
         " would block (";
    for (std::size_t i = 0; i < a.blocking.size() && i < 3; ++i)
      s += (i ? "; " : "") + a.blocking[i].topic + "-" + std::to_string(a.blocking[i].partition.id) + " " +
           a.blocking[i].outcome + " isr_after=" + ids(a.blocking[i].isr_after) +
           " min_isr=" + std::to_string(a.blocking[i].min_isr);
    s += a.counts.blocking > 3 ? "; ...)" : ")";
  }
  if (a.counts.acknowledged > 0)
    s += "; " + std::to_string(a.counts.acknowledged) + " more acknowledged by an operator (not blocking)";
  return s;
}

std::string disruption_table(const DisruptionAnswer& a, const PublishedState& s,
                             std::chrono::system_clock::time_point now) {
  std::ostringstream o;
  o << (a.safe ? "SAFE" : "UNSAFE") << "  brokers=" << target_ids(a);
  if (s.verdict) o << " cluster=" << (s.verdict->cluster_id.empty() ? "?" : s.verdict->cluster_id);
  o << " gate=" << to_string(s.gate.state) << "\n";
  if (s.last_error) o << "probe failed (" << s.last_error->kind << "): " << s.last_error->message << "\n";
  for (const auto& r : a.unknown) o << "cannot know: " << r.code << ": " << r.detail << "\n";
  for (const auto& r : a.acknowledged_unknown)
    o << "acknowledged, not in the way: " << r.code << ": " << r.detail << "\n";
  if (!a.absent_brokers.empty())
    o << "absent from metadata (counted as down): " << ids(a.absent_brokers) << "\n";
  if (!a.unresponsive_brokers.empty())
    o << "unresponsive (counted as down): " << ids(a.unresponsive_brokers) << "\n";

  o << "\n" << std::left << std::setw(8) << "BROKER" << std::setw(10) << "FLEET" << std::setw(16) << "RACK"
    << "STATE\n";
  for (const auto& t : a.brokers)
    o << std::setw(8) << t.id << std::setw(10) << t.fleet << std::setw(16) << t.rack.value_or("-")
      << (t.present ? "up" : t.known ? "MISSING" : "NOT IN CLUSTER") << "\n";

  const auto& c = a.counts;
  o << "\nPARTITIONS WITH A REPLICA ON THEM: " << c.affected << " (after: offline " << c.offline
    << ", under_min_isr " << c.under_min_isr << ", at_min_isr " << c.at_min_isr << ", ok " << c.ok << ", error "
    << c.error << "); blocking " << c.blocking;
  if (c.not_blocking_min_isr_risk > 0)
    o << "; " << c.not_blocking_min_isr_risk << " more in min ISR risk topics (not blocking)";
  if (c.acknowledged > 0) o << "; " << c.acknowledged << " more acknowledged by an operator (not blocking)";
  o << "\n";
  if (c.blocking > 0) {
    o << "\nBLOCKING PARTITIONS (" << a.blocking.size() << " of " << c.blocking << " listed)\n";
    partition_rows(o, a.blocking, false);
  }
  if (c.acknowledged > 0) {
    o << "\nACKNOWLEDGED, NOT BLOCKING (" << a.acknowledged.size() << " of " << c.acknowledged
      << " listed)\n";
    partition_rows(o, a.acknowledged, false);
    for (const auto& p : a.acknowledged)
      for (const auto& e : p.acknowledged_by)
        o << "  " << p.topic << "-" << p.partition.id << ": " << describe(e, now) << "\n";
  }
  if (a.already_unhealthy_total > 0) {
    o << "\nALREADY OFFLINE OR UNDER MIN ISR (" << a.already_unhealthy.size() << " of " << a.already_unhealthy_total
      << " listed)\n";
    partition_rows(o, a.already_unhealthy, true);
  }
  return o.str();
}

}  // namespace isrguard::service
