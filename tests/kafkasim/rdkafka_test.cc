// kafkasim through the real librdkafka client (the one isrguard uses): Metadata, controller and cluster
// id, DescribeConfigs admin API, broker down / hung, injected errors, and a 200k-partition cluster.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <memory>
#include <set>

#include "tests/support/await.h"
#include "tests/kafkasim/cluster.h"
#include "tests/kafkasim/raw_client.h"

namespace isrguard::kafkasim {
namespace {

using namespace std::chrono_literals;

// A librdkafka producer handle used only for metadata and admin calls.
class Client {
 public:
  explicit Client(const std::string& bootstrap, int socket_timeout_ms = 10000) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    set(conf, "bootstrap.servers", bootstrap);
    set(conf, "socket.timeout.ms", std::to_string(socket_timeout_ms));
    set(conf, "reconnect.backoff.ms", "50");
    set(conf, "reconnect.backoff.max.ms", "200");
    set(conf, "log_level", "2");  // connection refused is expected in several tests; keep output readable
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk_ == nullptr) throw std::runtime_error(err);
  }
  ~Client() { rd_kafka_destroy(rk_); }

  // Owning pointer to a metadata snapshot of all topics, or the error.
  struct Md {
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    std::shared_ptr<const rd_kafka_metadata_t> md;
  };
  Md metadata(int timeout_ms = 10000) {
    const rd_kafka_metadata_t* md = nullptr;
    Md out;
    out.err = rd_kafka_metadata(rk_, 1, nullptr, &md, timeout_ms);
    if (md != nullptr) out.md.reset(md, [](const rd_kafka_metadata_t* m) { rd_kafka_metadata_destroy(m); });
    return out;
  }

  struct ConfigResult {
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;  // request-level error
    rd_kafka_resp_err_t resource_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    std::map<std::string, std::pair<std::string, rd_kafka_ConfigSource_t>> entries;
  };
  ConfigResult describe_configs(rd_kafka_ResourceType_t type, const std::string& name) {
    ConfigResult out;
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk_);
    rd_kafka_ConfigResource_t* res = rd_kafka_ConfigResource_new(type, name.c_str());
    rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk_, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    char err[256];
    rd_kafka_AdminOptions_set_request_timeout(opts, 10000, err, sizeof(err));
    rd_kafka_DescribeConfigs(rk_, &res, 1, opts, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 20000);
    if (ev == nullptr) {
      out.err = RD_KAFKA_RESP_ERR__TIMED_OUT;
    } else {
      out.err = rd_kafka_event_error(ev);
      if (!out.err) {
        size_t n = 0;
        const auto** rs =
            rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
        if (n == 1) {
          out.resource_err = rd_kafka_ConfigResource_error(rs[0]);
          size_t cnt = 0;
          const auto** entries = rd_kafka_ConfigResource_configs(rs[0], &cnt);
          for (size_t i = 0; i < cnt; ++i) {
            const char* v = rd_kafka_ConfigEntry_value(entries[i]);
            out.entries[rd_kafka_ConfigEntry_name(entries[i])] = {v ? v : "",
                                                                  rd_kafka_ConfigEntry_source(entries[i])};
          }
        }
      }
      rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(q);
    return out;
  }

  rd_kafka_t* rk() { return rk_; }

 private:
  static void set(rd_kafka_conf_t* conf, const char* k, const std::string& v) {
    char err[512];
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK)
      throw std::runtime_error(err);
  }
  rd_kafka_t* rk_;
};

std::vector<int32_t> ids(const int32_t* v, int n) { return std::vector<int32_t>(v, v + n); }

const rd_kafka_metadata_topic_t* find_topic(const rd_kafka_metadata_t& md, const std::string& name) {
  for (int i = 0; i < md.topic_cnt; ++i)
    if (name == md.topics[i].topic) return &md.topics[i];
  return nullptr;
}

ClusterSpec degraded_cluster() {
  ClusterSpec s;
  s.cluster_id = "rdkafka-test-cluster";
  s.controller_id = 2;
  s.broker_defaults = {{"min.insync.replicas", "1"}};
  s.brokers = {{.id = 1, .host = "127.0.0.1", .port = 0, .rack = "rack-a", .process_roles = std::nullopt, .configs = {}},
               {.id = 2, .host = "127.0.0.1", .port = 0, .rack = "rack-b", .process_roles = std::nullopt, .configs = {}},
               {.id = 3, .host = "127.0.0.1", .port = 0, .rack = std::nullopt, .process_roles = std::nullopt, .configs = {}}};
  TopicSpec orders{.name = "orders",
                   .internal = false,
                   .error_code = 0,
                   .partitions = round_robin_partitions(6, 3, {1, 2, 3}),
                   .configs = {},
                   .describe_configs_error = 0};
  orders.partitions[0].isr = {1, 2};  // under-replicated
  orders.partitions[1].leader = -1;   // offline
  orders.partitions[1].isr = {};
  orders.partitions[1].error_code = 5;
  TopicSpec payments{.name = "payments",
                     .internal = false,
                     .error_code = 0,
                     .partitions = round_robin_partitions(2, 3, {3, 1, 2}),
                     .configs = {{"min.insync.replicas", "2"}},
                     .describe_configs_error = 0};
  payments.partitions[1].isr = {1};  // under min ISR
  s.topics = {orders, payments};
  return s;
}

TEST(KafkasimRdkafka, MetadataShowsConfiguredReplicasIsrAndLeaders) {
  Cluster c(degraded_cluster());
  c.start();
  Client client(c.bootstrap_servers());
  const auto r = client.metadata();
  ASSERT_EQ(r.err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(r.err);
  const auto& md = *r.md;
  ASSERT_EQ(md.broker_cnt, 3);
  std::set<int32_t> brokers;
  for (int i = 0; i < md.broker_cnt; ++i) {
    brokers.insert(md.brokers[i].id);
    EXPECT_EQ(md.brokers[i].port, c.port(md.brokers[i].id));
  }
  EXPECT_EQ(brokers, (std::set<int32_t>{1, 2, 3}));
  const ClusterSpec spec = c.spec();
  ASSERT_EQ(md.topic_cnt, 2);
  for (const auto& t : spec.topics) {
    const auto* mt = find_topic(md, t.name);
    ASSERT_NE(mt, nullptr) << t.name;
    ASSERT_EQ(mt->partition_cnt, static_cast<int>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      const auto& mp = mt->partitions[p.partition];
      EXPECT_EQ(mp.id, p.partition);
      EXPECT_EQ(mp.leader, p.leader) << t.name << "/" << p.partition;
      EXPECT_EQ(ids(mp.replicas, mp.replica_cnt), p.replicas) << t.name << "/" << p.partition;
      EXPECT_EQ(ids(mp.isrs, mp.isr_cnt), p.isr) << t.name << "/" << p.partition;
      EXPECT_EQ(mp.err, static_cast<rd_kafka_resp_err_t>(p.error_code));
    }
  }
  // The specific degradations are really visible (ISR != replicas, no leader).
  EXPECT_NE(find_topic(md, "orders")->partitions[0].isr_cnt,
            find_topic(md, "orders")->partitions[0].replica_cnt);
  EXPECT_EQ(find_topic(md, "orders")->partitions[1].leader, -1);
}

TEST(KafkasimRdkafka, ControllerAndClusterId) {
  Cluster c(degraded_cluster());
  c.start();
  Client client(c.bootstrap_servers());
  EXPECT_EQ(rd_kafka_controllerid(client.rk(), 10000), 2);
  char* cid = rd_kafka_clusterid(client.rk(), 10000);
  ASSERT_NE(cid, nullptr);
  EXPECT_STREQ(cid, "rdkafka-test-cluster");
  rd_kafka_mem_free(client.rk(), cid);
}

TEST(KafkasimRdkafka, DescribeConfigsReadsMinInsyncReplicas) {
  Cluster c(degraded_cluster());
  c.start();
  Client client(c.bootstrap_servers());
  auto payments = client.describe_configs(RD_KAFKA_RESOURCE_TOPIC, "payments");
  ASSERT_EQ(payments.err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(payments.err);
  ASSERT_EQ(payments.resource_err, RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(payments.entries.at("min.insync.replicas").first, "2");
  EXPECT_EQ(payments.entries.at("min.insync.replicas").second, RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG);

  auto orders = client.describe_configs(RD_KAFKA_RESOURCE_TOPIC, "orders");
  EXPECT_EQ(orders.entries.at("min.insync.replicas").first, "1");  // broker default
  EXPECT_EQ(orders.entries.at("min.insync.replicas").second, RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG);

  c.set_topic_config("orders", "min.insync.replicas", "3");
  EXPECT_EQ(
      client.describe_configs(RD_KAFKA_RESOURCE_TOPIC, "orders").entries.at("min.insync.replicas").first,
      "3");

  auto ghost = client.describe_configs(RD_KAFKA_RESOURCE_TOPIC, "ghost");
  EXPECT_EQ(ghost.err, RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(ghost.resource_err, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);

  auto broker = client.describe_configs(RD_KAFKA_RESOURCE_BROKER, "3");  // sent to broker 3 itself
  EXPECT_EQ(broker.resource_err, RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(broker.entries.at("min.insync.replicas").first, "1");
}

TEST(KafkasimRdkafka, BrokerDownIsRefusedAndVanishesFromMetadata) {
  Cluster c(degraded_cluster());
  c.start();
  Client client(c.bootstrap_servers());
  ASSERT_EQ(client.metadata().err, RD_KAFKA_RESP_ERR_NO_ERROR);
  const int port3 = c.port(3);
  c.broker_down(3);
  EXPECT_EQ(testing::connect_loopback(port3), -ECONNREFUSED);
  Client::Md last;
  EXPECT_TRUE(isrguard::testing::await(
      [&] {
        last = client.metadata(3000);
        return last.err == RD_KAFKA_RESP_ERR_NO_ERROR && last.md->broker_cnt == 2;
      },
      20s));
  ASSERT_TRUE(last.md);
  for (int i = 0; i < last.md->broker_cnt; ++i) EXPECT_NE(last.md->brokers[i].id, 3);
  // orders/2 (replicas 3,1,2) was led by broker 3.
  EXPECT_EQ(find_topic(*last.md, "orders")->partitions[2].leader, -1);

  c.broker_up(3);
  EXPECT_TRUE(isrguard::testing::await(
      [&] {
        last = client.metadata(3000);
        return last.err == RD_KAFKA_RESP_ERR_NO_ERROR && last.md->broker_cnt == 3;
      },
      20s));
}

TEST(KafkasimRdkafka, HungBrokerTimesOutWhileAnotherAnswers) {
  Cluster c(degraded_cluster());
  c.start();
  c.broker_hang(1);
  Client via_hung("127.0.0.1:" + std::to_string(c.port(1)), /*socket_timeout_ms=*/500);
  const auto r = via_hung.metadata(/*timeout_ms=*/1500);
  EXPECT_NE(r.err, RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(r.md, nullptr);

  Client via_other("127.0.0.1:" + std::to_string(c.port(2)), 500);
  const auto ok = via_other.metadata();
  ASSERT_EQ(ok.err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(ok.err);
  EXPECT_EQ(ok.md->broker_cnt, 3);  // a hung broker is still registered
}

TEST(KafkasimRdkafka, InjectedErrorsReachTheClient) {
  Cluster c(degraded_cluster());
  c.start();
  Client client(c.bootstrap_servers());
  ASSERT_EQ(client.metadata().err, RD_KAFKA_RESP_ERR_NO_ERROR);

  c.inject_error({.api_key = 32,
                  .error_code = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                  .remaining = 1,
                  .broker = -1});
  EXPECT_EQ(client.describe_configs(RD_KAFKA_RESOURCE_TOPIC, "payments").resource_err,
            RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  EXPECT_EQ(client.describe_configs(RD_KAFKA_RESOURCE_TOPIC, "payments").resource_err,
            RD_KAFKA_RESP_ERR_NO_ERROR);

  // librdkafka also sends its own Metadata requests; inject enough that ours surely gets one.
  c.inject_error({.api_key = 3,
                  .error_code = RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                  .remaining = 1000,
                  .broker = -1});
  const auto r = client.metadata();
  ASSERT_EQ(r.err, RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_GT(r.md->topic_cnt, 0);
  for (int i = 0; i < r.md->topic_cnt; ++i)
    EXPECT_EQ(r.md->topics[i].err, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  c.clear_injected_errors();
  EXPECT_EQ(client.metadata().md->topics[0].err, RD_KAFKA_RESP_ERR_NO_ERROR);
}

TEST(KafkasimRdkafka, TwoHundredThousandPartitionsFullyRead) {
  ClusterSpec s;
  s.brokers = {{.id = 1, .host = "127.0.0.1", .port = 0, .rack = std::nullopt, .process_roles = std::nullopt, .configs = {}},
               {.id = 2, .host = "127.0.0.1", .port = 0, .rack = std::nullopt, .process_roles = std::nullopt, .configs = {}},
               {.id = 3, .host = "127.0.0.1", .port = 0, .rack = std::nullopt, .process_roles = std::nullopt, .configs = {}}};
  const auto partitions = round_robin_partitions(100, 3, {1, 2, 3});
  for (int t = 0; t < 2000; ++t)
    s.topics.push_back({.name = "topic-" + std::to_string(t),
                        .internal = false,
                        .error_code = 0,
                        .partitions = partitions,
                        .configs = {},
                        .describe_configs_error = 0});
  s.topics[1234].partitions[56].isr = {2};
  Cluster c(std::move(s));
  c.start();
  Client client(c.bootstrap_servers());
  const auto r = client.metadata(/*timeout_ms=*/60000);
  ASSERT_EQ(r.err, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(r.err);
  ASSERT_EQ(r.md->topic_cnt, 2000);
  int64_t total = 0;
  for (int i = 0; i < r.md->topic_cnt; ++i) total += r.md->topics[i].partition_cnt;
  EXPECT_EQ(total, 200000);
  const auto* t = find_topic(*r.md, "topic-1234");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(ids(t->partitions[56].isrs, t->partitions[56].isr_cnt), std::vector<int32_t>{2});
  EXPECT_EQ(ids(t->partitions[59].replicas, t->partitions[59].replica_cnt), (std::vector<int32_t>{3, 1, 2}));
}

}  // namespace
}  // namespace isrguard::kafkasim
