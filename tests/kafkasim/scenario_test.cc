// Scenario JSON parsing (defaults, validation messages) and the Timeline driven step by step.
#include "tests/kafkasim/scenario.h"

#include <gtest/gtest.h>

namespace isrguard::kafkasim {
namespace {

using nlohmann::json;

// The README's example, without its comments.
const char* kReadmeExample = R"({
  "cluster_id": "hybrid-demo",
  "controller": 1,
  "broker_defaults": {"min.insync.replicas": 2},
  "brokers": [{"id": 1, "rack": "us-east-1a", "process_roles": "broker"}, {"id": 101, "port": 0, "host": "127.0.0.1"}],
  "topics": [
    {"name": "orders", "partitions": 12, "replication_factor": 2},
    {"name": "pinned", "partitions": 4, "replication_factor": 1, "brokers": [101]},
    {"name": "payments", "configs": {"min.insync.replicas": "2"}, "internal": false, "partitions": [
      {"partition": 1, "leader": -1, "replicas": [101], "isr": [], "error_code": 5},
      {"partition": 0, "leader": 1, "replicas": [1, 101], "isr": [1]}
    ]}
  ],
  "steps": [{"at": 20, "action": "broker_down", "broker": 101, "shrink_isr": true, "elect_leaders": true}]
})";

TEST(KafkasimScenario, ParsesTheReadmeExampleWithDefaults) {
  const Scenario sc = parse_scenario(json::parse(kReadmeExample));
  EXPECT_EQ(sc.cluster.cluster_id, "hybrid-demo");
  EXPECT_EQ(sc.cluster.controller_id, 1);
  EXPECT_EQ(sc.cluster.broker_defaults.at("min.insync.replicas"), "2");  // integer became a string
  ASSERT_EQ(sc.cluster.brokers.size(), 2u);
  EXPECT_EQ(sc.cluster.brokers[0].rack, "us-east-1a");
  EXPECT_EQ(sc.cluster.brokers[0].process_roles, "broker");
  EXPECT_EQ(sc.cluster.brokers[1].rack, std::nullopt);
  EXPECT_EQ(sc.cluster.brokers[1].process_roles, std::nullopt);
  ASSERT_EQ(sc.cluster.topics.size(), 3u);
  EXPECT_EQ(sc.cluster.topics[0].partitions.size(), 12u);
  EXPECT_EQ(sc.cluster.topics[0].partitions[1], make_partition(1, 101, {101, 1}, {101, 1}));
  EXPECT_EQ(sc.cluster.topics[1].partitions[3].replicas, std::vector<int32_t>{101});
  // Listed partitions are sorted; isr defaults to replicas only when absent.
  EXPECT_EQ(sc.cluster.topics[2].partitions[0], make_partition(0, 1, {1, 101}, {1}));
  EXPECT_EQ(sc.cluster.topics[2].partitions[1], make_partition(1, -1, {101}, {}, 5));
  ASSERT_EQ(sc.steps.size(), 1u);
  EXPECT_EQ(sc.steps[0].at_s, 20);
  EXPECT_EQ(sc.loop_period_s, 30);  // last step + 10
}

TEST(KafkasimScenario, ErrorsNameTheProblem) {
  struct Row {
    const char* doc;
    const char* message;
  };
  const Row rows[] = {
      {R"([])", "expected a JSON object"},
      {R"({"brokers": []})", "'brokers' must be a non-empty array"},
      {R"({"brokers": [{"id": 1}, {"id": 1}]})", "duplicate broker id 1"},
      {R"({"brokers": [{"id": "one"}]})", "'id' must be an integer"},
      {R"({"brokers": [{"id": 1, "port": 70000}]})", "port"},
      {R"({"brokers": [{"id": 1}], "topics": [{"name": "t"}]})", "missing field 'partitions'"},
      {R"({"brokers": [{"id": 1}], "topics": [{"name": "t", "partitions": [{"partition": 0}]}]})",
       "missing field 'replicas'"},
      {R"({"brokers": [{"id": 1}], "topics": [{"name": "t", "partitions": 1}, {"name": "t", "partitions": 1}]})",
       "duplicate topic t"},
      {R"({"brokers": [{"id": 1}], "steps": [{"at": -1, "action": "broker_up", "broker": 1}]})", "'at'"},
      {R"({"brokers": [{"id": 1}], "steps": [{"action": "broker_up"}]})", "missing field 'broker'"},
      {R"({"brokers": [{"id": 1}], "steps": [{"action": "broker_up", "broker": 1, "rejoin": true}]})",
       "unknown field 'rejoin'"},
      {R"({"brokers": [{"id": 1}], "steps": [{"at": 5, "action": "elect_leaders"}], "loop_period": 5})",
       "loop_period"},
      {R"({"brokers": [{"id": 1}], "brokrs": []})", "unknown field 'brokrs'"},
  };
  for (const auto& row : rows) {
    try {
      parse_scenario(json::parse(row.doc));
      ADD_FAILURE() << "accepted: " << row.doc;
    } catch (const ScenarioError& e) {
      EXPECT_NE(std::string(e.what()).find(row.message), std::string::npos) << row.doc << " -> " << e.what();
    }
  }
}

TEST(KafkasimScenario, StepsApplyToTheCluster) {
  Cluster c(make_cluster({1, 2, 3}));
  c.create_topic(make_topic("t", round_robin_partitions(3, 3, {1, 2, 3})));
  auto apply = [&](const char* step) { parse_step(json::parse(step)).apply(c); };
  apply(R"({"action": "reassign", "topic": "t", "partition": 0, "add": [4]})");
  EXPECT_EQ(c.partition("t", 0).replicas, (std::vector<int32_t>{1, 2, 3, 4}));
  apply(R"({"action": "shrink_isr", "broker": 2, "topic": "t", "partition": 0})");
  EXPECT_EQ(c.partition("t", 0).isr, (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(c.partition("t", 1).isr, (std::vector<int32_t>{2, 3, 1}));
  apply(
      R"({"action": "set_partition", "topic": "t", "partition": 5, "leader": 3, "replicas": [3], "isr": [3]})");
  EXPECT_EQ(c.partition("t", 5).leader, 3);
  apply(R"({"action": "set_config", "topic": "t", "key": "min.insync.replicas", "value": 2})");
  apply(R"({"action": "set_config", "key": "min.insync.replicas", "value": "3"})");
  EXPECT_EQ(c.spec().topics[0].configs.at("min.insync.replicas"), "2");
  EXPECT_EQ(c.spec().broker_defaults.at("min.insync.replicas"), "3");
  apply(R"({"action": "broker_kill", "broker": 2})");
  EXPECT_EQ(c.brokers().at(1).status, BrokerStatus::kKilled);
  apply(R"({"action": "broker_partition", "broker": 3})");
  EXPECT_EQ(c.brokers().at(2).status, BrokerStatus::kPartitioned);
  apply(R"({"action": "set_controller", "broker": -1})");
  EXPECT_EQ(c.spec().controller_id, -1);
  apply(R"({"action": "add_broker", "id": 9, "rack": "r9"})");
  EXPECT_EQ(c.brokers().back().spec.rack, "r9");
  apply(R"({"action": "create_topic", "topic": {"name": "u", "partitions": 2, "replication_factor": 4}})");
  EXPECT_EQ(c.partition("u", 1).replicas, (std::vector<int32_t>{2, 3, 9, 1}));
  apply(R"({"action": "delete_topic", "topic": "u"})");
  EXPECT_THROW(c.partition("u", 0), std::invalid_argument);
  apply(R"({"action": "inject_error", "api_key": 3, "error_code": 7, "count": 2})");
  EXPECT_EQ(c.injected_errors().at(0).remaining, 2);
  EXPECT_THROW(apply(R"({"action": "delete_topic", "topic": "u"})"), std::invalid_argument);
}

TEST(KafkasimScenario, RefuseConfigsAndBrokerConfigStepsApplyToTheCluster) {
  Cluster c(make_cluster({1, 2}));
  c.create_topic(make_topic("t", round_robin_partitions(1, 2, {1, 2})));
  c.create_topic(make_topic("u", round_robin_partitions(1, 2, {1, 2})));
  auto apply = [&](const char* step) { parse_step(json::parse(step)).apply(c); };
  auto errors = [&] {
    std::vector<int16_t> out;
    for (const auto& t : c.spec().topics) out.push_back(t.describe_configs_error);
    return out;
  };
  apply(R"({"action": "refuse_configs", "topic": "u"})");
  EXPECT_EQ(errors(), (std::vector<int16_t>{0, 29}));
  apply(R"({"action": "refuse_configs", "error_code": 31})");
  EXPECT_EQ(errors(), (std::vector<int16_t>{31, 31}));
  apply(R"({"action": "refuse_configs", "error_code": 0})");
  EXPECT_EQ(errors(), (std::vector<int16_t>{0, 0}));
  EXPECT_THROW(apply(R"({"action": "refuse_configs", "topic": ""})"), ScenarioError);
  EXPECT_THROW(apply(R"({"action": "refuse_configs", "topic": "ghost"})"), std::invalid_argument);

  apply(R"({"action": "set_broker_config", "broker": 2, "key": "inter.broker.protocol.version", "value": "3.6-IV2"})");
  EXPECT_EQ(c.brokers().at(1).spec.configs.at("inter.broker.protocol.version"), "3.6-IV2");
  apply(R"({"action": "set_broker_config", "broker": 2, "key": "inter.broker.protocol.version", "value": null})");
  EXPECT_TRUE(c.brokers().at(1).spec.configs.empty());
  EXPECT_THROW(apply(R"({"action": "set_broker_config", "broker": 2, "key": "k"})"), ScenarioError);

  const Scenario sc = parse_scenario(json::parse(R"({"brokers": [{"id": 1, "configs": {"inter.broker.protocol.version": "2.8"}}],
      "topics": [{"name": "t", "partitions": 1, "replication_factor": 1, "describe_configs_error": 29}]})"));
  EXPECT_EQ(sc.cluster.brokers.at(0).configs.at("inter.broker.protocol.version"), "2.8");
  EXPECT_EQ(sc.cluster.topics.at(0).describe_configs_error, 29);
}

TEST(KafkasimScenario, TimelineAdvancesGroupsAndWrapsWhenLooping) {
  Cluster c(make_cluster({1, 2}));
  const Scenario sc = parse_scenario(json::parse(R"({"brokers": [{"id": 1}, {"id": 2}], "steps": [
      {"at": 5, "action": "set_latency", "broker": 1, "ms": 1},
      {"at": 5, "action": "set_latency", "broker": 2, "ms": 2},
      {"at": 9, "action": "delete_topic", "topic": "gone"}]})"));
  Timeline tl(c, sc.steps, sc.loop_period_s, /*loop=*/true);
  EXPECT_EQ(tl.advance().size(), 2u);  // both t=5 steps
  EXPECT_EQ(c.brokers()[1].latency.count(), 2);
  const json failed = tl.advance();  // a step that fails at run time is reported, not fatal
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_TRUE(failed[0].contains("error"));
  EXPECT_EQ(tl.advance().size(), 2u);  // wrapped around
  EXPECT_EQ(tl.status().at("cycle"), 1);
}

}  // namespace
}  // namespace isrguard::kafkasim

namespace isrguard::kafkasim {
namespace {

ClusterSpec without_epochs(ClusterSpec s) {
  for (auto& t : s.topics)
    for (auto& p : t.partitions) p.leader_epoch = 0;
  return s;
}

// Every shipped scenario parses, and one full cycle of steps ends where it started (so --loop is sound).
TEST(KafkasimScenario, ShippedScenariosParseAndAreLoopable) {
  for (const char* name : {"hybrid-demo.json", "all-states.json", "small.json"}) {
    Scenario sc = load_scenario_file(std::string(KAFKASIM_SCENARIO_DIR) + "/" + name);
    Cluster c(sc.cluster);
    const ClusterSpec initial = without_epochs(c.spec());
    const size_t steps = sc.steps.size();
    Timeline tl(c, std::move(sc.steps), sc.loop_period_s, /*loop=*/false);
    size_t applied = 0;
    for (json group = tl.advance(); !group.empty(); group = tl.advance()) {
      for (const auto& step : group) EXPECT_FALSE(step.contains("error")) << name << ": " << step.dump();
      applied += group.size();
    }
    EXPECT_EQ(applied, steps) << name;
    if (std::string(name) != "small.json") {  // small.json deliberately ends in another state
      EXPECT_EQ(without_epochs(c.spec()), initial) << name;
    }
  }
}

}  // namespace
}  // namespace isrguard::kafkasim
