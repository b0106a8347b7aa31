#include "tests/kafkasim/scenario.h"

#include "tests/kafkasim/protocol.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>

namespace isrguard::kafkasim {

using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& ctx, const std::string& msg) {
  throw ScenarioError(ctx + ": " + msg);
}

void require_object(const json& j, const std::string& ctx) {
  if (!j.is_object()) fail(ctx, "expected a JSON object, got " + std::string(j.type_name()));
}

// Rejects keys not in `allowed` so typos ("brokr") are reported instead of silently ignored.
void check_keys(const json& j, const std::string& ctx, std::initializer_list<const char*> allowed) {
  for (const auto& [k, v] : j.items()) {
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; }))
      fail(ctx, "unknown field '" + k + "'");
  }
}

int64_t get_int(const json& j, const char* key, const std::string& ctx, int64_t lo, int64_t hi) {
  if (!j.contains(key)) fail(ctx, std::string("missing field '") + key + "'");
  const auto& v = j.at(key);
  if (!v.is_number_integer()) fail(ctx, std::string("field '") + key + "' must be an integer");
  const auto x = v.get<int64_t>();
  if (x < lo || x > hi)
    fail(ctx, std::string("field '") + key + "' out of range [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "]: " + std::to_string(x));
  return x;
}

int32_t get_i32(const json& j, const char* key, const std::string& ctx, int64_t lo = INT32_MIN) {
  return static_cast<int32_t>(get_int(j, key, ctx, lo, INT32_MAX));
}

int32_t get_i32_or(const json& j, const char* key, const std::string& ctx, int32_t def,
                   int64_t lo = INT32_MIN) {
  return j.contains(key) ? get_i32(j, key, ctx, lo) : def;
}

int16_t get_i16(const json& j, const char* key, const std::string& ctx) {
  return static_cast<int16_t>(get_int(j, key, ctx, INT16_MIN, INT16_MAX));
}

bool get_bool_or(const json& j, const char* key, const std::string& ctx, bool def) {
  if (!j.contains(key)) return def;
  if (!j.at(key).is_boolean()) fail(ctx, std::string("field '") + key + "' must be true or false");
  return j.at(key).get<bool>();
}

std::string get_string(const json& j, const char* key, const std::string& ctx) {
  if (!j.contains(key)) fail(ctx, std::string("missing field '") + key + "'");
  if (!j.at(key).is_string()) fail(ctx, std::string("field '") + key + "' must be a string");
  return j.at(key).get<std::string>();
}

// Config values may be written as strings or numbers; Kafka serves them as strings.
std::string config_value(const json& v, const std::string& ctx) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  fail(ctx, "config values must be strings, integers or booleans");
}

std::map<std::string, std::string> get_configs(const json& j, const char* key, const std::string& ctx) {
  std::map<std::string, std::string> out;
  if (!j.contains(key)) return out;
  require_object(j.at(key), ctx + "." + key);
  for (const auto& [k, v] : j.at(key).items()) out[k] = config_value(v, ctx + "." + key + "." + k);
  return out;
}

std::vector<int32_t> get_ids(const json& j, const char* key, const std::string& ctx) {
  if (!j.contains(key)) fail(ctx, std::string("missing field '") + key + "'");
  const auto& v = j.at(key);
  if (!v.is_array()) fail(ctx, std::string("field '") + key + "' must be an array of broker ids");
  std::vector<int32_t> out;
  for (const auto& x : v) {
    if (!x.is_number_integer()) fail(ctx, std::string("field '") + key + "' must contain integers only");
    out.push_back(x.get<int32_t>());
  }
  return out;
}

BrokerSpec parse_broker(const json& j, const std::string& ctx) {
  require_object(j, ctx);
  check_keys(j, ctx, {"id", "host", "port", "rack", "process_roles", "configs"});
  BrokerSpec b;
  b.id = get_i32(j, "id", ctx, 0);
  if (j.contains("host")) b.host = get_string(j, "host", ctx);
  b.port = get_i32_or(j, "port", ctx, 0, 0);
  if (b.port > 65535) fail(ctx, "field 'port' must be <= 65535");
  if (j.contains("rack") && !j.at("rack").is_null()) b.rack = get_string(j, "rack", ctx);
  if (j.contains("process_roles") && !j.at("process_roles").is_null())
    b.process_roles = get_string(j, "process_roles", ctx);
  b.configs = get_configs(j, "configs", ctx);
  return b;
}

PartitionSpec parse_partition(const json& j, const std::string& ctx) {
  require_object(j, ctx);
  check_keys(j, ctx,
             {"partition", "leader", "replicas", "isr", "offline_replicas", "error_code", "leader_epoch"});
  PartitionSpec p;
  p.partition = get_i32(j, "partition", ctx, 0);
  p.replicas = get_ids(j, "replicas", ctx);
  p.isr = j.contains("isr") ? get_ids(j, "isr", ctx) : p.replicas;
  p.leader = j.contains("leader") ? get_i32(j, "leader", ctx, -1) : (p.isr.empty() ? -1 : p.isr.front());
  if (j.contains("offline_replicas")) p.offline_replicas = get_ids(j, "offline_replicas", ctx);
  if (j.contains("error_code")) p.error_code = get_i16(j, "error_code", ctx);
  p.leader_epoch = get_i32_or(j, "leader_epoch", ctx, 0, 0);
  return p;
}

TopicSpec parse_topic(const json& j, const std::string& ctx, const std::vector<int32_t>& broker_ids) {
  require_object(j, ctx);
  check_keys(j, ctx,
             {"name", "internal", "error_code", "partitions", "replication_factor", "brokers", "configs",
              "describe_configs_error"});
  TopicSpec t;
  t.name = get_string(j, "name", ctx);
  if (t.name.empty()) fail(ctx, "topic name must not be empty");
  const std::string tctx = ctx + "(" + t.name + ")";
  t.internal = get_bool_or(j, "internal", tctx, false);
  if (j.contains("error_code")) t.error_code = get_i16(j, "error_code", tctx);
  t.configs = get_configs(j, "configs", tctx);
  if (j.contains("describe_configs_error")) t.describe_configs_error = get_i16(j, "describe_configs_error", tctx);
  if (!j.contains("partitions")) fail(tctx, "missing field 'partitions' (a count or a list of partitions)");
  const auto& parts = j.at("partitions");
  if (parts.is_number_integer()) {
    const int32_t n = get_i32(j, "partitions", tctx, 0);
    const int32_t rf = get_i32_or(j, "replication_factor", tctx, 1, 1);
    const auto over = j.contains("brokers") ? get_ids(j, "brokers", tctx) : broker_ids;
    try {
      t.partitions = round_robin_partitions(n, rf, over);
    } catch (const std::invalid_argument& e) {
      fail(tctx, e.what());
    }
  } else if (parts.is_array()) {
    if (j.contains("replication_factor") || j.contains("brokers"))
      fail(tctx, "'replication_factor'/'brokers' only apply when 'partitions' is a count");
    std::set<int32_t> seen;
    for (size_t i = 0; i < parts.size(); ++i) {
      auto p = parse_partition(parts[i], tctx + ".partitions[" + std::to_string(i) + "]");
      if (!seen.insert(p.partition).second) fail(tctx, "duplicate partition " + std::to_string(p.partition));
      t.partitions.push_back(std::move(p));
    }
    std::sort(t.partitions.begin(), t.partitions.end(),
              [](const PartitionSpec& a, const PartitionSpec& b) { return a.partition < b.partition; });
  } else {
    fail(tctx, "field 'partitions' must be a count or a list of partitions");
  }
  return t;
}

// ---- Step actions: one parser per action, looked up by name in kActions ----

using Action = std::function<void(Cluster&)>;

Action parse_broker_down(const json& j, const std::string& actx) {
  const int32_t b = get_i32(j, "broker", actx);
  const bool shrink = get_bool_or(j, "shrink_isr", actx, false);
  const bool elect = get_bool_or(j, "elect_leaders", actx, false);
  return [=](Cluster& c) {
    c.broker_down(b);
    if (shrink) c.remove_from_isrs(b);
    if (elect) c.elect_leaders();
  };
}

Action parse_broker_up(const json& j, const std::string& actx) {
  const int32_t b = get_i32(j, "broker", actx);
  const bool rejoin = get_bool_or(j, "rejoin_isr", actx, false);
  const bool elect = get_bool_or(j, "elect_leaders", actx, false);
  const bool preferred = get_bool_or(j, "preferred", actx, false);
  return [=](Cluster& c) {
    c.broker_up(b);
    if (rejoin) c.rejoin_isrs(b);
    if (elect || preferred) c.elect_leaders(preferred);
  };
}

Action parse_broker_kill(const json& j, const std::string& actx) {
  const int32_t b = get_i32(j, "broker", actx);
  return [=](Cluster& c) { c.broker_kill(b); };
}

Action parse_broker_partition(const json& j, const std::string& actx) {
  const int32_t b = get_i32(j, "broker", actx);
  return [=](Cluster& c) { c.broker_partition(b); };
}

Action parse_broker_hang(const json& j, const std::string& actx) {
  const int32_t b = get_i32(j, "broker", actx);
  return [=](Cluster& c) { c.broker_hang(b); };
}

Action parse_set_latency(const json& j, const std::string& actx) {
  const int32_t b = get_i32(j, "broker", actx);
  const int32_t ms = get_i32(j, "ms", actx, 0);
  return [=](Cluster& c) { c.set_latency(b, std::chrono::milliseconds(ms)); };
}

Action parse_set_partition(const json& j, const std::string& actx) {
  const std::string topic = get_string(j, "topic", actx);
  const int32_t part = get_i32(j, "partition", actx, 0);
  std::optional<int32_t> leader;
  std::optional<std::vector<int32_t>> replicas, isr, offline;
  std::optional<int16_t> err;
  if (j.contains("leader")) leader = get_i32(j, "leader", actx, -1);
  if (j.contains("replicas")) replicas = get_ids(j, "replicas", actx);
  if (j.contains("isr")) isr = get_ids(j, "isr", actx);
  if (j.contains("offline_replicas")) offline = get_ids(j, "offline_replicas", actx);
  if (j.contains("error_code")) err = get_i16(j, "error_code", actx);
  return [=](Cluster& c) {
    // Unset fields keep their current value; an unknown partition is created from the given fields.
    PartitionSpec p;
    try {
      p = c.partition(topic, part);
    } catch (const std::invalid_argument&) {
      p.partition = part;  // a missing topic is reported by set_partition below
    }
    if (leader && *leader != p.leader) {
      p.leader = *leader;
      ++p.leader_epoch;
    }
    if (replicas) p.replicas = *replicas;
    if (isr) p.isr = *isr;
    if (offline) p.offline_replicas = *offline;
    if (err) p.error_code = *err;
    c.set_partition(topic, std::move(p));
  };
}

Action parse_shrink_isr(const json& j, const std::string& actx) {
  const int32_t b = get_i32(j, "broker", actx);
  if (j.contains("topic") != j.contains("partition")) fail(actx, "'topic' and 'partition' go together");
  if (!j.contains("topic")) return [=](Cluster& c) { c.remove_from_isrs(b); };
  const std::string topic = get_string(j, "topic", actx);
  const int32_t part = get_i32(j, "partition", actx, 0);
  return [=](Cluster& c) {
    auto isr = c.partition(topic, part).isr;
    std::erase(isr, b);
    c.set_isr(topic, part, std::move(isr));
  };
}

Action parse_rejoin_isr(const json& j, const std::string& actx) {
  const int32_t b = get_i32(j, "broker", actx);
  return [=](Cluster& c) { c.rejoin_isrs(b); };
}

Action parse_elect_leaders(const json& j, const std::string& actx) {
  const bool preferred = get_bool_or(j, "preferred", actx, false);
  return [=](Cluster& c) { c.elect_leaders(preferred); };
}

Action parse_reassign(const json& j, const std::string& actx) {
  const std::string topic = get_string(j, "topic", actx);
  const int32_t part = get_i32(j, "partition", actx, 0);
  const auto add = get_ids(j, "add", actx);
  return [=](Cluster& c) { c.start_reassignment(topic, part, add); };
}

Action parse_set_config(const json& j, const std::string& actx) {
  const std::string key = get_string(j, "key", actx);
  if (!j.contains("value")) fail(actx, "missing field 'value'");
  const std::string value = config_value(j.at("value"), actx + ".value");
  if (!j.contains("topic")) return [=](Cluster& c) { c.set_broker_default(key, value); };
  const std::string topic = get_string(j, "topic", actx);
  return [=](Cluster& c) { c.set_topic_config(topic, key, value); };
}

Action parse_set_broker_config(const json& j, const std::string& actx) {
  const int32_t b = get_i32(j, "broker", actx);
  const std::string key = get_string(j, "key", actx);
  if (!j.contains("value")) fail(actx, "missing field 'value' (null removes the broker's own value)");
  std::optional<std::string> value;
  if (!j.at("value").is_null()) value = config_value(j.at("value"), actx + ".value");
  return [=](Cluster& c) { c.set_broker_config(b, key, value); };
}

Action parse_refuse_configs(const json& j, const std::string& actx) {
  const std::string topic = j.contains("topic") ? get_string(j, "topic", actx) : "";
  if (j.contains("topic") && topic.empty()) fail(actx, "field 'topic' must not be empty (omit it for every topic)");
  const int16_t code = j.contains("error_code") ? get_i16(j, "error_code", actx) : proto::kErrTopicAuthorizationFailed;
  return [=](Cluster& c) { c.refuse_topic_configs(topic, code); };
}

Action parse_set_controller(const json& j, const std::string& actx) {
  const int32_t b = get_i32(j, "broker", actx, -1);
  return [=](Cluster& c) { c.set_controller(b); };
}

Action parse_inject_error(const json& j, const std::string& actx) {
  InjectedError e;
  e.api_key = get_i16(j, "api_key", actx);
  e.error_code = get_i16(j, "error_code", actx);
  e.remaining = get_i32_or(j, "count", actx, 1, 1);
  e.broker = get_i32_or(j, "broker", actx, -1, -1);
  return [=](Cluster& c) { c.inject_error(e); };
}

Action parse_add_broker(const json& j, const std::string& actx) {
  json bj = j;
  bj.erase("action");
  bj.erase("at");
  bj.erase("comment");
  const BrokerSpec b = parse_broker(bj, actx);
  return [=](Cluster& c) { c.add_broker(b); };
}

Action parse_remove_broker(const json& j, const std::string& actx) {
  const int32_t b = get_i32(j, "broker", actx);
  return [=](Cluster& c) { c.remove_broker(b); };
}

Action parse_create_topic(const json& j, const std::string& actx) {
  if (!j.contains("topic")) fail(actx, "missing field 'topic' (a topic object)");
  const json tj = j.at("topic");
  require_object(tj, actx + ".topic");
  // Count-style topics are spread over the brokers present when the step runs.
  return [=](Cluster& c) {
    std::vector<int32_t> ids;
    for (const auto& b : c.brokers()) ids.push_back(b.spec.id);
    c.create_topic(parse_topic(tj, actx + ".topic", ids));
  };
}

Action parse_delete_topic(const json& j, const std::string& actx) {
  const std::string topic = get_string(j, "topic", actx);
  return [=](Cluster& c) { c.delete_topic(topic); };
}

struct ActionDef {
  std::string_view name;
  std::vector<std::string_view> fields;  // allowed besides "action", "at" and "comment"
  Action (*parse)(const json& j, const std::string& actx);
};

// The step actions (README.md, "Step actions").
const std::vector<ActionDef>& actions() {
  static const std::vector<ActionDef> kActions = {
      {"broker_down", {"broker", "shrink_isr", "elect_leaders"}, parse_broker_down},
      {"broker_up", {"broker", "rejoin_isr", "elect_leaders", "preferred"}, parse_broker_up},
      {"broker_hang", {"broker"}, parse_broker_hang},
      {"broker_kill", {"broker"}, parse_broker_kill},
      {"broker_partition", {"broker"}, parse_broker_partition},
      {"set_latency", {"broker", "ms"}, parse_set_latency},
      {"set_partition",
       {"topic", "partition", "leader", "replicas", "isr", "offline_replicas", "error_code"},
       parse_set_partition},
      {"shrink_isr", {"broker", "topic", "partition"}, parse_shrink_isr},
      {"rejoin_isr", {"broker"}, parse_rejoin_isr},
      {"elect_leaders", {"preferred"}, parse_elect_leaders},
      {"reassign", {"topic", "partition", "add"}, parse_reassign},
      {"set_config", {"topic", "key", "value"}, parse_set_config},
      {"set_broker_config", {"broker", "key", "value"}, parse_set_broker_config},
      {"refuse_configs", {"topic", "error_code"}, parse_refuse_configs},
      {"set_controller", {"broker"}, parse_set_controller},
      {"inject_error", {"api_key", "error_code", "count", "broker"}, parse_inject_error},
      {"add_broker", {"id", "host", "port", "rack", "process_roles", "configs"}, parse_add_broker},
      {"remove_broker", {"broker"}, parse_remove_broker},
      {"create_topic", {"topic"}, parse_create_topic},
      {"delete_topic", {"topic"}, parse_delete_topic},
  };
  return kActions;
}

Action parse_action(const json& j, const std::string& ctx) {
  const std::string action = get_string(j, "action", ctx);
  const std::string actx = ctx + "(" + action + ")";
  const auto& table = actions();
  const auto def =
      std::find_if(table.begin(), table.end(), [&](const ActionDef& d) { return d.name == action; });
  if (def == table.end()) fail(actx, "unknown action (see tests/kafkasim/README.md for the list)");
  // Unknown fields first, so a typo is reported as such rather than as a missing field.
  for (const auto& [k, v] : j.items()) {
    if (k != "action" && k != "at" && k != "comment" &&
        std::find(def->fields.begin(), def->fields.end(), k) == def->fields.end())
      fail(actx, "unknown field '" + k + "'");
  }
  return def->parse(j, actx);
}

}  // namespace

Step parse_step(const json& j) {
  const std::string ctx = "step";
  require_object(j, ctx);
  Step s;
  if (j.contains("at")) {
    if (!j.at("at").is_number() || j.at("at").get<double>() < 0)
      fail(ctx, "field 'at' must be a number of seconds >= 0");
    s.at_s = j.at("at").get<double>();
  }
  s.raw = j;
  s.apply = parse_action(j, ctx);
  return s;
}

Scenario parse_scenario(const json& doc) {
  require_object(doc, "scenario");
  check_keys(doc, "scenario",
             {"cluster_id", "controller", "broker_defaults", "brokers", "topics", "steps", "loop_period",
              "comment"});
  Scenario sc;
  if (doc.contains("cluster_id")) sc.cluster.cluster_id = get_string(doc, "cluster_id", "scenario");
  if (!doc.contains("brokers") || !doc.at("brokers").is_array() || doc.at("brokers").empty())
    fail("scenario", "field 'brokers' must be a non-empty array");
  std::set<int32_t> ids;
  std::vector<int32_t> id_list;
  for (size_t i = 0; i < doc.at("brokers").size(); ++i) {
    auto b = parse_broker(doc.at("brokers")[i], "brokers[" + std::to_string(i) + "]");
    if (!ids.insert(b.id).second) fail("brokers", "duplicate broker id " + std::to_string(b.id));
    id_list.push_back(b.id);
    sc.cluster.brokers.push_back(std::move(b));
  }
  sc.cluster.controller_id = get_i32_or(doc, "controller", "scenario", id_list.front(), -1);
  auto defaults = get_configs(doc, "broker_defaults", "scenario");
  for (auto& [k, v] : defaults) sc.cluster.broker_defaults[k] = v;
  if (doc.contains("topics")) {
    if (!doc.at("topics").is_array()) fail("scenario", "field 'topics' must be an array");
    std::set<std::string> names;
    for (size_t i = 0; i < doc.at("topics").size(); ++i) {
      auto t = parse_topic(doc.at("topics")[i], "topics[" + std::to_string(i) + "]", id_list);
      if (!names.insert(t.name).second) fail("topics", "duplicate topic " + t.name);
      sc.cluster.topics.push_back(std::move(t));
    }
  }
  if (doc.contains("steps")) {
    if (!doc.at("steps").is_array()) fail("scenario", "field 'steps' must be an array");
    for (size_t i = 0; i < doc.at("steps").size(); ++i) {
      try {
        sc.steps.push_back(parse_step(doc.at("steps")[i]));
      } catch (const ScenarioError& e) {
        throw ScenarioError("steps[" + std::to_string(i) + "]: " + e.what());
      }
    }
  }
  std::stable_sort(sc.steps.begin(), sc.steps.end(),
                   [](const Step& a, const Step& b) { return a.at_s < b.at_s; });
  const double last = sc.steps.empty() ? 0 : sc.steps.back().at_s;
  sc.loop_period_s = last + 10;
  if (doc.contains("loop_period")) {
    if (!doc.at("loop_period").is_number() || doc.at("loop_period").get<double>() <= last)
      fail("scenario", "field 'loop_period' must be a number of seconds > the last step's 'at'");
    sc.loop_period_s = doc.at("loop_period").get<double>();
  }
  return sc;
}

Scenario load_scenario_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ScenarioError("cannot open scenario file " + path);
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::parse_error& e) {
    throw ScenarioError(path + ": invalid JSON: " + e.what());
  }
  try {
    return parse_scenario(doc);
  } catch (const ScenarioError& e) {
    throw ScenarioError(path + ": " + e.what());
  }
}

json state_json(const Cluster& c) {
  const ClusterSpec spec = c.spec();
  json out;
  out["cluster_id"] = spec.cluster_id;
  out["controller"] = spec.controller_id;
  out["bootstrap"] = c.bootstrap_servers();
  out["broker_defaults"] = spec.broker_defaults;
  out["brokers"] = json::array();
  for (const auto& b : c.brokers()) {
    json bj = {{"id", b.spec.id},
               {"host", b.spec.host},
               {"port", b.spec.port},
               {"status", to_string(b.status)},
               {"latency_ms", b.latency.count()}};
    bj["rack"] = b.spec.rack ? json(*b.spec.rack) : json(nullptr);
    bj["process_roles"] = b.spec.process_roles ? json(*b.spec.process_roles) : json(nullptr);
    bj["configs"] = b.spec.configs;
    out["brokers"].push_back(std::move(bj));
  }
  out["topics"] = json::array();
  for (const auto& t : spec.topics) {
    json tj = {
        {"name", t.name}, {"internal", t.internal}, {"error_code", t.error_code}, {"configs", t.configs},
        {"describe_configs_error", t.describe_configs_error}};
    tj["partitions"] = json::array();
    for (const auto& p : t.partitions) {
      tj["partitions"].push_back({{"partition", p.partition},
                                  {"leader", p.leader},
                                  {"replicas", p.replicas},
                                  {"isr", p.isr},
                                  {"offline_replicas", p.offline_replicas},
                                  {"error_code", p.error_code},
                                  {"leader_epoch", p.leader_epoch}});
    }
    out["topics"].push_back(std::move(tj));
  }
  out["injected_errors"] = json::array();
  for (const auto& e : c.injected_errors()) {
    out["injected_errors"].push_back({{"api_key", e.api_key},
                                      {"error_code", e.error_code},
                                      {"remaining", e.remaining},
                                      {"broker", e.broker}});
  }
  return out;
}

// ---- Timeline ----

Timeline::Timeline(Cluster& cluster, std::vector<Step> steps, double loop_period_s, bool loop)
    : cluster_(cluster), steps_(std::move(steps)), loop_period_s_(loop_period_s), loop_(loop) {}

json Timeline::apply_group_locked() {
  json applied = json::array();
  if (next_ >= steps_.size()) {
    if (!loop_ || steps_.empty()) return applied;
    next_ = 0;
    ++cycle_;
  }
  const double at = steps_[next_].at_s;
  while (next_ < steps_.size() && steps_[next_].at_s == at) {
    const Step& s = steps_[next_++];
    json r = s.raw;
    try {
      s.apply(cluster_);
    } catch (const std::exception& e) {
      // A step can be valid JSON yet refer to something that no longer exists; report, keep going.
      r["error"] = e.what();
    }
    applied.push_back(std::move(r));
  }
  return applied;
}

json Timeline::advance() {
  std::lock_guard lock(mu_);
  return apply_group_locked();
}

void Timeline::run(double time_scale) {
  using clock = std::chrono::steady_clock;
  std::unique_lock lock(mu_);
  auto cycle_start = clock::now();
  auto wall = [&](double s) {
    return cycle_start +
           std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s * time_scale));
  };
  while (!stopping_) {
    if (next_ >= steps_.size()) {
      if (!loop_ || steps_.empty()) return;
      // Wait for the end of the cycle, then start over.
      if (cv_.wait_until(lock, wall(loop_period_s_), [this] { return stopping_; })) return;
      cycle_start = wall(loop_period_s_);
      next_ = 0;
      ++cycle_;
      continue;
    }
    const uint64_t cycle = cycle_;
    const size_t idx = next_;
    if (cv_.wait_until(lock, wall(steps_[idx].at_s),
                       [&] { return stopping_ || cycle_ != cycle || next_ != idx; }))
      continue;  // stopped, or advance() moved the timeline on: re-evaluate
    apply_group_locked();
  }
}

void Timeline::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

json Timeline::status() const {
  std::lock_guard lock(mu_);
  json steps = json::array();
  for (const auto& s : steps_) steps.push_back(s.raw);
  return {{"next_step", next_},
          {"cycle", cycle_},
          {"loop", loop_},
          {"loop_period", loop_period_s_},
          {"steps", steps}};
}

}  // namespace isrguard::kafkasim
