// The kafkasim executable: argument and scenario errors (exit 2), start-up output, the timeline driven
// step by step (/scenario/advance) or on a scaled clock, HTTP control routes, and the hybrid demo.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/await.h"
#include "tests/kafkasim/process.h"
#include "tests/kafkasim/scenario.h"

namespace isrguard::kafkasim {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string kScenarios = KAFKASIM_SCENARIO_DIR;

// A file under the test temp dir, removed when the test ends.
struct TempFile {
  explicit TempFile(const std::string& name)
      : path(::testing::TempDir() + "kafkasim_" + std::to_string(::getpid()) + "_" + name) {}
  TempFile(const std::string& name, const std::string& content) : TempFile(name) {
    std::ofstream(path) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string path;
};

// A running kafkasim process with its announced endpoints.
struct Running {
  explicit Running(std::vector<std::string> args) {
    args.insert(args.begin(), KAFKASIM_EXE);
    child = std::make_unique<testing::Child>(args);
    for (int i = 0; i < 2; ++i) {
      auto line = child->read_line(20s);
      if (!line) throw std::runtime_error("kafkasim did not start: " + child->err());
      if (line->rfind("control=127.0.0.1:", 0) == 0) control_port = std::stoi(line->substr(18));
      if (line->rfind("bootstrap=", 0) == 0) {
        bootstrap = line->substr(10);
        break;
      }
    }
    if (bootstrap.empty()) throw std::runtime_error("no bootstrap line");
  }
  json get_state() {
    httplib::Client http("127.0.0.1", control_port);
    auto res = http.Get("/state");
    if (!res || res->status != 200) throw std::runtime_error("GET /state failed");
    return json::parse(res->body);
  }
  std::pair<int, json> post(const std::string& path, const std::string& body = "") {
    httplib::Client http("127.0.0.1", control_port);
    auto res = http.Post(path.c_str(), body, "application/json");
    if (!res) throw std::runtime_error("POST " + path + " failed");
    return {res->status, json::parse(res->body)};
  }
  std::unique_ptr<testing::Child> child;
  int control_port = 0;
  std::string bootstrap;
};

json partition_state(const json& state, const std::string& topic, int partition) {
  for (const auto& t : state.at("topics"))
    if (t.at("name") == topic) return t.at("partitions").at(static_cast<size_t>(partition));
  throw std::runtime_error("no topic " + topic);
}

std::string broker_status(const json& state, int id) {
  for (const auto& b : state.at("brokers"))
    if (b.at("id") == id) return b.at("status");
  return "absent";
}

int kcat_broker_count(const std::string& bootstrap) {
  const auto r = testing::run({KCAT_EXE, "-L", "-J", "-m", "10", "-b", bootstrap}, 30s);
  if (r.exit_code != 0) return -1;
  return static_cast<int>(json::parse(r.out).at("brokers").size());
}

TEST(KafkasimExecutable, BadInputExitsWithCode2AndAMessage) {
  struct Row {
    std::string name;
    std::vector<std::string> args;
    std::string message;
  };
  const TempFile bad_json("bad.json", "{\"brokers\": [");
  const TempFile bad_action("bad_action.json", R"({"brokers":[{"id":1}],"steps":[{"at":1,"action":"explode"}]})");
  const TempFile bad_field("bad_field.json", R"({"brokers":[{"id":1,"prot":5}]})");
  const TempFile bad_rf("bad_rf.json",
                R"({"brokers":[{"id":1}],"topics":[{"name":"t","partitions":2,"replication_factor":3}]})");
  const std::vector<Row> rows = {
      {"invalid JSON", {bad_json.path}, "invalid JSON"},
      {"unknown action", {bad_action.path}, "steps[0]"},
      {"unknown field", {bad_field.path}, "unknown field 'prot'"},
      {"replication factor", {bad_rf.path}, "replication factor"},
      {"missing file", {"/nonexistent/scenario.json"}, "cannot open"},
      {"negative time scale", {kScenarios + "/small.json", "--time-scale", "-1"}, ""},
      {"unknown option", {kScenarios + "/small.json", "--frobnicate"}, ""},
      {"no scenario", {}, ""},
  };
  for (const auto& row : rows) {
    std::vector<std::string> argv = {KAFKASIM_EXE};
    argv.insert(argv.end(), row.args.begin(), row.args.end());
    const auto r = testing::run(argv, 20s);
    EXPECT_EQ(r.exit_code, 2) << row.name << ": " << r.err;
    EXPECT_NE(r.err.find(row.message), std::string::npos) << row.name << ": " << r.err;
  }
}

TEST(KafkasimExecutable, ManualAdvanceAppliesStepsSeenByKcat) {
  const TempFile bs_file("bootstrap");
  Running k({kScenarios + "/small.json", "--manual", "--bootstrap-file", bs_file.path});
  std::ifstream in(bs_file.path);
  std::string from_file;
  std::getline(in, from_file);
  EXPECT_EQ(from_file, k.bootstrap);
  EXPECT_EQ(kcat_broker_count(k.bootstrap), 3);

  auto [code, body] = k.post("/scenario/advance");  // t=10: broker 3 down, ISRs shrink, leaders move
  ASSERT_EQ(code, 200) << body.dump();
  ASSERT_EQ(body.at("applied").size(), 1u);
  json s = k.get_state();
  EXPECT_EQ(broker_status(s, 3), "down");
  EXPECT_EQ(partition_state(s, "healthy", 2).at("isr"), json({1, 2}));
  EXPECT_EQ(partition_state(s, "healthy", 2).at("leader"), 1);
  EXPECT_EQ(kcat_broker_count(k.bootstrap), 2);

  std::tie(code, body) = k.post("/scenario/advance");  // t=20: broker 3 back, rejoins ISRs
  ASSERT_EQ(code, 200);
  s = k.get_state();
  EXPECT_EQ(broker_status(s, 3), "up");
  EXPECT_EQ(partition_state(s, "healthy", 2).at("isr"), json({3, 1, 2}));
  EXPECT_EQ(kcat_broker_count(k.bootstrap), 3);

  k.post("/scenario/advance");  // t=30: config change
  EXPECT_EQ(k.get_state().at("topics").at(0).at("configs").at("min.insync.replicas"), "3");
  std::tie(code, body) = k.post("/scenario/advance");  // past the end, no --loop
  EXPECT_TRUE(body.at("applied").empty());

  k.child->terminate();
  EXPECT_EQ(k.child->wait(20s), 0);
}

TEST(KafkasimExecutable, ScaledClockRunsTheTimeline) {
  Running k({kScenarios + "/small.json", "--time-scale", "0.001"});  // 30 scenario seconds in 30 ms
  EXPECT_TRUE(
      isrguard::testing::await([&] { return k.get_state().at("scenario").at("next_step") == 3; }, 20s));
  const json s = k.get_state();
  EXPECT_EQ(broker_status(s, 3), "up");
  EXPECT_EQ(s.at("topics").at(0).at("configs").at("min.insync.replicas"), "3");
}

TEST(KafkasimExecutable, LoopRestartsTheTimeline) {
  Running k({kScenarios + "/small.json", "--time-scale", "0.001", "--loop"});
  EXPECT_TRUE(isrguard::testing::await([&] { return k.get_state().at("scenario").at("cycle") >= 2; }, 20s));
}

TEST(KafkasimExecutable, ControlRoutes) {
  Running k({kScenarios + "/small.json", "--manual"});
  EXPECT_EQ(k.post("/brokers/2/down?shrink_isr=1&elect_leaders=1").first, 200);
  json s = k.get_state();
  EXPECT_EQ(broker_status(s, 2), "down");
  EXPECT_EQ(partition_state(s, "healthy", 1).at("leader"), 3);  // replicas 2,3,1
  EXPECT_EQ(kcat_broker_count(k.bootstrap.substr(0, k.bootstrap.find(','))), 2);

  EXPECT_EQ(k.post("/brokers/2/up?rejoin_isr=1&preferred=1").first, 200);
  EXPECT_EQ(partition_state(k.get_state(), "healthy", 1).at("leader"), 2);

  EXPECT_EQ(k.post("/partitions", R"({"topic":"degraded","partition":1,"leader":2,"isr":[2],"error_code":0})")
                .first,
            200);
  s = k.get_state();
  EXPECT_EQ(partition_state(s, "degraded", 1).at("leader"), 2);
  EXPECT_EQ(partition_state(s, "degraded", 1).at("replicas"), json({2, 3}));  // unchanged field kept

  EXPECT_EQ(k.post("/brokers/1/latency?ms=5").first, 200);
  EXPECT_EQ(k.post("/brokers/3/hang").first, 200);
  EXPECT_EQ(broker_status(k.get_state(), 3), "hung");
  EXPECT_EQ(k.post("/brokers/3/kill").first, 200);
  EXPECT_EQ(broker_status(k.get_state(), 3), "killed");
  EXPECT_EQ(k.post("/brokers/3/partition").first, 200);
  EXPECT_EQ(broker_status(k.get_state(), 3), "partitioned");
  EXPECT_EQ(
      k.post("/scenario/step", R"({"action":"inject_error","api_key":3,"error_code":29,"count":2})").first,
      200);
  EXPECT_EQ(k.get_state().at("injected_errors").size(), 1u);

  EXPECT_EQ(k.post("/brokers/9/down").first, 400);
  EXPECT_EQ(k.post("/partitions", R"({"topic":"nope","partition":0})").first, 400);
  EXPECT_EQ(k.post("/scenario/step", "{not json").first, 400);
  EXPECT_EQ(k.post("/scenario/step", R"({"action":"broker_down"})").first, 400);
  EXPECT_EQ(k.post("/brokers/1/latency").first, 400);
}

TEST(KafkasimExecutable, HybridDemoOutageAndRecoveryIsLoopable) {
  Scenario sc = load_scenario_file(kScenarios + "/hybrid-demo.json");
  ASSERT_EQ(sc.cluster.brokers.size(), 6u);
  ASSERT_EQ(sc.steps.size(), 2u);
  Cluster c(sc.cluster);
  c.start();
  auto without_epochs = [](ClusterSpec s) {
    for (auto& t : s.topics)
      for (auto& p : t.partitions) p.leader_epoch = 0;
    return s;
  };
  const ClusterSpec initial = without_epochs(c.spec());
  Timeline tl(c, std::move(sc.steps), sc.loop_period_s, /*loop=*/true);

  tl.advance();  // t=20: broker 102 down
  ClusterSpec s = c.spec();
  int offline = 0, under_replicated = 0;
  for (const auto& t : s.topics) {
    for (const auto& p : t.partitions) {
      EXPECT_EQ(std::count(p.isr.begin(), p.isr.end(), 102), 0) << t.name << "/" << p.partition;
      if (p.leader == -1) {
        ++offline;
        EXPECT_EQ(t.name, "audit-log");  // only the RF=1 partition on 102 loses its leader
      }
      if (p.isr.size() < p.replicas.size()) ++under_replicated;
    }
  }
  EXPECT_EQ(offline, 1);
  // Round-robin RF3 over 6 brokers puts 102 on half of each RF3 topic's partitions, and on one audit-log one.
  EXPECT_EQ(under_replicated, 6 /*orders*/ + 3 /*payments*/ + 12 /*events*/ + 1 /*audit-log*/);
  tl.advance();  // t=50: broker 102 back
  EXPECT_EQ(without_epochs(c.spec()), initial);
}

}  // namespace
}  // namespace isrguard::kafkasim
