// kcat (Debian's, built on librdkafka) reads exactly the cluster kafkasim was told to serve.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/kafkasim/cluster.h"
#include "tests/kafkasim/process.h"

namespace isrguard::kafkasim {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

json kcat_metadata(const std::string& bootstrap) {
  const auto r = testing::run({KCAT_EXE, "-L", "-J", "-m", "10", "-b", bootstrap}, 30s);
  if (r.exit_code != 0)
    throw std::runtime_error("kcat failed (" + std::to_string(r.exit_code) + "): " + r.err);
  return json::parse(r.out);
}

std::vector<int32_t> kcat_ids(const json& list) {
  std::vector<int32_t> out;
  for (const auto& e : list) out.push_back(e.at("id").get<int32_t>());
  return out;
}

// Controller 101, brokers 1, 2 (racked), 101, 102; orders with a shrunk ISR, an offline partition and a
// reassignment in progress; audit-log on 101 and 102.
ClusterSpec degraded_spec() {
  ClusterSpec s;
  s.controller_id = 101;
  s.brokers = {
      {.id = 1, .host = "127.0.0.1", .port = 0, .rack = "eu-west-1a", .process_roles = std::nullopt, .configs = {}},
      {.id = 2, .host = "127.0.0.1", .port = 0, .rack = "eu-west-1b", .process_roles = std::nullopt, .configs = {}},
      {.id = 101, .host = "127.0.0.1", .port = 0, .rack = std::nullopt, .process_roles = std::nullopt, .configs = {}},
      {.id = 102, .host = "127.0.0.1", .port = 0, .rack = std::nullopt, .process_roles = std::nullopt, .configs = {}}};
  TopicSpec orders{.name = "orders",
                   .internal = false,
                   .error_code = 0,
                   .partitions = round_robin_partitions(4, 3, {1, 2, 101, 102}),
                   .configs = {},
                   .describe_configs_error = 0};
  orders.partitions[0].isr = {1, 2};  // ISR shrunk
  orders.partitions[1] = {.partition = 1,
                          .leader = -1,
                          .replicas = {2, 101},
                          .isr = {},
                          .offline_replicas = {},
                          .error_code = 5,
                          .leader_epoch = 0};  // offline
  orders.partitions[2].replicas.push_back(2);  // reassignment adding broker 2 (not in ISR)
  TopicSpec audit{.name = "audit-log",
                  .internal = false,
                  .error_code = 0,
                  .partitions = round_robin_partitions(2, 1, {101, 102}),
                  .configs = {},
                  .describe_configs_error = 0};
  s.topics = {orders, audit};
  return s;
}

// Every topic and partition kcat listed is exactly what the cluster serves.
void expect_topics_as_served(const json& md, const ClusterSpec& now) {
  ASSERT_EQ(md.at("topics").size(), now.topics.size());
  for (const auto& t : now.topics) {
    const auto it = std::find_if(md.at("topics").begin(), md.at("topics").end(),
                                 [&](const json& j) { return j.at("topic") == t.name; });
    ASSERT_NE(it, md.at("topics").end()) << t.name;
    const auto& parts = it->at("partitions");
    ASSERT_EQ(parts.size(), t.partitions.size()) << t.name;
    for (size_t i = 0; i < parts.size(); ++i) {
      const auto& p = t.partitions[i];
      const std::string where = t.name + "/" + std::to_string(p.partition);
      EXPECT_EQ(parts[i].at("partition").get<int32_t>(), p.partition) << where;
      EXPECT_EQ(parts[i].at("leader").get<int32_t>(), p.leader) << where;
      EXPECT_EQ(kcat_ids(parts[i].at("replicas")), p.replicas) << where;
      EXPECT_EQ(kcat_ids(parts[i].at("isrs")), p.isr) << where;
      EXPECT_EQ(parts[i].contains("error"), p.error_code != 0) << where;
    }
  }
}

TEST(KafkasimKcat, ListsExactlyTheConfiguredBrokersLeadersReplicasAndIsrs) {
  Cluster c(degraded_spec());
  c.start();
  c.broker_down(102);  // a missing broker; audit-log/1 (only on 102) loses its leader

  const json md = kcat_metadata(c.bootstrap_servers());
  EXPECT_EQ(md.at("controllerid").get<int32_t>(), 101);

  std::map<int32_t, std::string> brokers;
  for (const auto& b : md.at("brokers")) brokers[b.at("id").get<int32_t>()] = b.at("name").get<std::string>();
  const std::map<int32_t, std::string> expected_brokers = {{1, "127.0.0.1:" + std::to_string(c.port(1))},
                                                           {2, "127.0.0.1:" + std::to_string(c.port(2))},
                                                           {101, "127.0.0.1:" + std::to_string(c.port(101))}};
  EXPECT_EQ(brokers, expected_brokers);

  const ClusterSpec now = c.spec();
  ASSERT_NO_FATAL_FAILURE(expect_topics_as_served(md, now));
  // Spot checks that the degradations survived the trip through librdkafka.
  EXPECT_EQ(now.topics[0].partitions[0].isr, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(now.topics[0].partitions[2].replicas, (std::vector<int32_t>{101, 102, 1, 2}));
  EXPECT_EQ(now.topics[0].partitions[2].isr, (std::vector<int32_t>{101, 102, 1}));
  EXPECT_EQ(now.topics[0].partitions[3].leader, -1);  // was led by 102
  EXPECT_EQ(now.topics[1].partitions[1].leader, -1);
}

}  // namespace
}  // namespace isrguard::kafkasim
