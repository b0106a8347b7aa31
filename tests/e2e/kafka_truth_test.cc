// What isrguard may not assume about Kafka, through the real executable against kafkasim (issue 22, items 1
// and 14): a topic whose min.insync.replicas cannot be read makes every disruption answer touching it
// unknown, and the broker version band decides the min ISR of a partition with fewer replicas than
// min.insync.replicas. Rules: docs/disruption.md ("Min ISR: source and version"); faults: docs/faults.md.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "tests/kafkasim/cluster.h"
#include "tests/kafkasim/protocol.h"
#include "tests/support/await.h"
#include "tests/support/binary_process.h"

namespace isrguard {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using testing::await_listening_port;
using testing::run;
using testing::slurp;
using testing::spawn;
using testing::temp_path;

constexpr const char* kIbp = "inter.broker.protocol.version";

// The isrguard executable serving on an ephemeral port against `bootstrap`; stopped (SIGTERM) at the end.
class Served {
 public:
  Served(const std::string& bootstrap, std::vector<std::string> extra) : out_(temp_path("out")), err_(temp_path("err")) {
    std::vector<std::string> args = {"--bootstrap-servers", bootstrap, "--http-address", "127.0.0.1",
                                     "--http-port",         "0",       "--health-port",  "0",
                                     "--poll-interval",     "200ms",   "--probe-timeout", "5s"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = spawn(args, out_, err_);
    port_ = await_listening_port(err_);
  }
  ~Served() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int st = 0;
      if (!testing::await([&] { return waitpid(pid_, &st, WNOHANG) == pid_; }, seconds(10))) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &st, 0);
      }
    }
    std::remove(out_.c_str());
    std::remove(err_.c_str());
  }
  Served(const Served&) = delete;
  Served& operator=(const Served&) = delete;
  int port() const { return port_; }
  std::string log() const { return slurp(err_); }

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// GET `path` as JSON; null when the request failed or the body is not JSON.
json get_json(httplib::Client& c, const std::string& path, int* status = nullptr) {
  auto r = c.Get(path);
  if (!r) return nullptr;
  if (status != nullptr) *status = r->status;
  return json::parse(r->body, nullptr, false).is_discarded() ? json(nullptr) : json::parse(r->body);
}

const json* find_by(const json& items, const char* key, const json& value) {
  if (!items.is_array()) return nullptr;
  for (const auto& i : items)
    if (i.contains(key) && i[key] == value) return &i;
  return nullptr;
}

// ---- item 1: DescribeConfigs for topics refused per resource (no DescribeConfigs ACL) ----

// Brokers 1-3 (each reports min.insync.replicas 1 for itself, kafkasim's default), topic "orders" 6 x RF 3
// whose own min.insync.replicas 2 isrguard is not allowed to read.
class RefusedTopicConfigs : public ::testing::Test {
 protected:
  RefusedTopicConfigs() : sim_(spec()) {
    sim_.start();
    sim_.refuse_topic_configs("orders", kafkasim::proto::kErrTopicAuthorizationFailed);
  }
  static kafkasim::ClusterSpec spec() {
    kafkasim::ClusterSpec s = kafkasim::make_cluster({1, 2, 3});
    s.topics.push_back(kafkasim::make_topic("orders", kafkasim::round_robin_partitions(6, 3, {1, 2, 3}),
                                            {{"min.insync.replicas", "2"}}));
    return s;
  }
  std::vector<std::string> once(std::vector<std::string> extra) const {
    std::vector<std::string> a = {"--bootstrap-servers", sim_.bootstrap_servers(), "--probe-timeout", "5s", "--once"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  kafkasim::Cluster sim_;
};

// With the fallback (the brokers' own 1) stopping 1 and 2 leaves every partition one in-sync replica: no
// partition blocks, yet the answer is unknown because the topic's own value is not known.
TEST_F(RefusedTopicConfigs, OnceDisruptAnswersUnknownNamingTheTopicAndItsFallback) {
  auto r = run(once({"--disrupt-brokers", "1,2", "--output", "json"}));
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["safe"], false);
  EXPECT_EQ(j["blocking"]["total"], 0) << r.out;
  const json* unknown = find_by(j["unknown"], "code", "min_isr_unknown_topics");
  ASSERT_NE(unknown, nullptr) << r.out;
  EXPECT_NE((*unknown)["detail"].get<std::string>().find("orders (broker_default 1)"), std::string::npos) << r.out;

  auto text = run(once({"--disrupt-brokers", "1"}));  // one broker of RF 3: safe by count with any min ISR <= 2
  EXPECT_EQ(text.exit_code, 1) << text.out << text.err;
  EXPECT_EQ(text.out.rfind("UNSAFE", 0), 0u) << text.out;
  EXPECT_NE(text.out.find("min_isr_unknown_topics"), std::string::npos) << text.out;

  // Granted: the topic's own 2 is read; one broker is safe, two leave 1 < 2 in sync (blocking, not unknown).
  sim_.refuse_topic_configs("orders", kafkasim::proto::kErrNone);
  EXPECT_EQ(run(once({"--disrupt-brokers", "1"})).exit_code, 0);
  auto granted = run(once({"--disrupt-brokers", "1,2", "--output", "json"}));
  ASSERT_EQ(granted.exit_code, 1) << granted.out << granted.err;
  const json g = json::parse(granted.out);
  EXPECT_EQ(g["blocking"]["total"], 6) << granted.out;
  EXPECT_EQ(find_by(g["unknown"], "code", "min_isr_unknown_topics"), nullptr) << granted.out;
}

TEST_F(RefusedTopicConfigs, ServedDisruptionIs409AndStatusShowsTheBrokerDefaultSource) {
  Served svc(sim_.bootstrap_servers(), {});
  ASSERT_GT(svc.port(), 0) << svc.log();
  httplib::Client c("127.0.0.1", svc.port());
  json status;
  ASSERT_TRUE(testing::await(
      [&] {
        status = get_json(c, "/v1/status");
        return status.is_object() && find_by(status["unhealthy_topics"]["items"], "name", "orders") != nullptr;
      },
      seconds(20)))
      << svc.log();
  const json& orders = *find_by(status["unhealthy_topics"]["items"], "name", "orders");
  // The per-broker DescribeConfigs(BROKER) supplied the value: each broker's own min.insync.replicas.
  EXPECT_EQ(orders["min_isr_source"], "broker_default") << orders;
  EXPECT_EQ(orders["min_insync_replicas"], 1) << orders;
  EXPECT_EQ(orders["min_isr_from_default"], true) << orders;
  for (const auto& b : status["brokers"]) EXPECT_EQ(b["safe_to_disrupt"], false) << b;  // each hosts a replica

  int code = 0;
  const json d = get_json(c, "/v1/disruption?brokers=1,2", &code);
  EXPECT_EQ(code, 409) << d;
  EXPECT_NE(find_by(d["unknown"], "code", "min_isr_unknown_topics"), nullptr) << d;
  ASSERT_TRUE(d["blocking"].is_object()) << d;
  EXPECT_EQ(d["blocking"]["total"], 0) << d;
  const json single = get_json(c, "/v1/disruption?brokers=3", &code);
  EXPECT_EQ(code, 409) << single;

}

// ---- item 14: the broker version band decides the min ISR of a partition with fewer replicas ----

// Brokers 1-3 on 3.7 (inter.broker.protocol.version 3.7-IV4); topic "audit" 3 x RF 1 with
// min.insync.replicas 2 (one partition led by each broker), topic "orders" 3 x RF 3, healthy.
kafkasim::ClusterSpec versioned_spec() {
  kafkasim::ClusterSpec s = kafkasim::make_cluster({1, 2, 3});
  for (auto& b : s.brokers) b.configs[kIbp] = "3.7-IV4";
  s.topics.push_back(kafkasim::make_topic("audit", kafkasim::round_robin_partitions(3, 1, {1, 2, 3}),
                                          {{"min.insync.replicas", "2"}}));
  s.topics.push_back(kafkasim::make_topic("orders", kafkasim::round_robin_partitions(3, 3, {1, 2, 3}),
                                          {{"min.insync.replicas", "2"}}));
  return s;
}

// Sum of every series of `family` in a Prometheus text scrape (-1 when there is none).
double family_sum(const std::string& scrape, const std::string& family) {
  const std::regex line("^" + family + R"((\{[^}]*\})? ([-0-9.e+]+)$)");
  double sum = -1;
  std::istringstream in(scrape);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_match(l, m, line)) sum = (sum < 0 ? 0 : sum) + std::stod(m[2]);
  }
  return sum;
}

TEST(KafkaVersionBand, PreThreeSevenBrokerCountsAPartitionWithFewerReplicasThanMinIsr) {
  kafkasim::Cluster sim(versioned_spec());
  sim.start();
  Served svc(sim.bootstrap_servers(), {});
  ASSERT_GT(svc.port(), 0) << svc.log();
  httplib::Client c("127.0.0.1", svc.port());
  auto band = [&] {
    // Before the first probe `cluster` is null: read with value(), which never throws on a missing key.
    const json s = get_json(c, "/v1/status");
    const json cluster = s.is_object() ? s.value("cluster", json(nullptr)) : json(nullptr);
    return cluster.is_object() ? cluster.value("kafka_version", json(nullptr)) : json(nullptr);
  };
  ASSERT_TRUE(testing::await([&] { return band()["band"] == "3.7"; }, seconds(20))) << band() << svc.log();
  // 3.7+: min ISR capped at the replica count, RF 1 with ISR 1 is healthy.
  EXPECT_EQ(band()["min_isr_rule"], "min_of_min_insync_replicas_and_replicas");
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(family_sum(metrics->body, "kafka_server_replicamanager_underminisrpartitioncount"), 0) << metrics->body;
  EXPECT_NE(metrics->body.find(R"(isrguard_kafka_info{min_isr_rule="min_of_min_insync_replicas_and_replicas",version_band="3.7"} 1)"),
            std::string::npos);
  EXPECT_EQ(get_json(c, "/v1/status")["counts"]["under_min_isr"], 0);

  // Broker 2 reports 3.6 (a downgrade or a pinned protocol mid-upgrade): the pre-3.7 rule for everyone.
  sim.set_broker_config(2, kIbp, "3.6-IV2");
  ASSERT_TRUE(testing::await([&] { return band()["band"] == "3.6-3.7"; }, seconds(20))) << band();
  EXPECT_EQ(band()["min_isr_rule"], "min_insync_replicas");
  metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  // Each broker leads one RF 1 partition of "audit": ISR 1 < min.insync.replicas 2, as each broker's own
  // UnderMinIsrPartitionCount says on Kafka before 3.7.
  EXPECT_EQ(family_sum(metrics->body, "kafka_server_replicamanager_underminisrpartitioncount"), 3) << metrics->body;
  EXPECT_NE(metrics->body.find(R"(isrguard_kafka_info{min_isr_rule="min_insync_replicas",version_band="3.6-3.7"} 1)"),
            std::string::npos)
      << metrics->body;
  const json status = get_json(c, "/v1/status");
  EXPECT_EQ(status["counts"]["under_min_isr"], 3) << status["counts"];
  EXPECT_NE(find_by(status["reasons"], "code", "under_min_isr_partitions"), nullptr) << status["reasons"];
  const json* audit = find_by(status["unhealthy_topics"]["items"], "name", "audit");
  ASSERT_NE(audit, nullptr);
  EXPECT_EQ((*audit)["under_min_isr"], 3) << *audit;
  EXPECT_EQ((*audit)["effective_min_isr"], 2) << *audit;
}

// ---- item 5: an unknown broker id is a wrong question, unless asked to take it as gone ----

TEST(UnknownBrokerId, OnceDisruptBrokersNinetyNineExitsTwoNamingIt) {
  kafkasim::Cluster sim(versioned_spec());
  sim.start();
  const std::vector<std::string> base = {"--bootstrap-servers", sim.bootstrap_servers(), "--probe-timeout", "5s",
                                         "--once", "--disrupt-brokers", "99"};
  auto r = run(base);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("99"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("known ids: 1,2,3"), std::string::npos) << r.err;
  auto json_out = base;
  json_out.insert(json_out.end(), {"--output", "json"});
  auto j = run(json_out);
  EXPECT_EQ(j.exit_code, 2) << j.out;
  ASSERT_TRUE(json::accept(j.out)) << j.out;
  EXPECT_NE(json::parse(j.out)["error"]["message"].get<std::string>().find("99"), std::string::npos) << j.out;

  // Taken as already gone: it hosts nothing, so stopping it changes nothing (safe), and it is shown unknown.
  auto gone = base;
  gone.insert(gone.end(), {"--disrupt-unknown-as-gone", "--output", "json"});
  auto g = run(gone);
  ASSERT_EQ(g.exit_code, 0) << g.out << g.err;
  const json a = json::parse(g.out);
  EXPECT_EQ(a["safe"], true);
  ASSERT_EQ(a["brokers"].size(), 1u) << g.out;
  EXPECT_EQ(a["brokers"][0]["id"], 99);
  EXPECT_EQ(a["brokers"][0]["known"], false);
  EXPECT_EQ(a["brokers"][0]["present"], false);
  // ... and beside a known broker it changes nothing: the answer is that broker's own.
  auto both = base;
  both[6] = "99,1";
  both.insert(both.end(), {"--disrupt-unknown-as-gone", "--output", "json"});
  auto alone = base;
  alone[6] = "1";
  alone.insert(alone.end(), {"--output", "json"});
  const auto b = run(both), o = run(alone);
  EXPECT_EQ(b.exit_code, o.exit_code) << b.out << o.out;
  ASSERT_TRUE(json::accept(b.out) && json::accept(o.out)) << b.out << o.out;
  EXPECT_EQ(json::parse(b.out)["counts"], json::parse(o.out)["counts"]);
}

}  // namespace
}  // namespace isrguard
