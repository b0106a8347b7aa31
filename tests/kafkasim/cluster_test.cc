// Cluster over real sockets, spoken to byte by byte with a raw client: framing, headers, pipelining,
// error paths; plus the state-mutation API.
#include "tests/kafkasim/cluster.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "tests/support/await.h"
#include "tests/kafkasim/raw_client.h"

namespace isrguard::kafkasim {
namespace {

using namespace std::chrono_literals;
using testing::header;
using testing::RawClient;

ClusterSpec three_brokers() {
  ClusterSpec s;
  s.cluster_id = "test-cluster";
  s.brokers = {{.id = 1, .host = "127.0.0.1", .port = 0, .rack = "rack-a", .process_roles = std::nullopt, .configs = {}},
               {.id = 2, .host = "127.0.0.1", .port = 0, .rack = std::nullopt, .process_roles = std::nullopt, .configs = {}},
               {.id = 3, .host = "127.0.0.1", .port = 0, .rack = std::nullopt, .process_roles = std::nullopt, .configs = {}}};
  TopicSpec orders;
  orders.name = "orders";
  orders.partitions = round_robin_partitions(3, 3, {1, 2, 3});
  TopicSpec shrunk;
  shrunk.name = "shrunk";
  shrunk.configs = {{"min.insync.replicas", "2"}};
  shrunk.partitions = {{.partition = 0,
                        .leader = 1,
                        .replicas = {1, 2, 3},
                        .isr = {1, 2},
                        .offline_replicas = {},
                        .error_code = 0,
                        .leader_epoch = 0}};
  s.topics = {orders, shrunk};
  return s;
}

template <typename Message>
std::string request(int16_t key, int16_t version, int32_t corr, const Message& m) {
  return proto::request_frame(header(key, version, corr), m);
}

proto::MetadataResponse metadata(RawClient& c, int16_t version, int32_t corr = 1) {
  c.send_bytes(request(proto::kApiMetadata, version, corr, proto::MetadataRequest{}));
  auto frame = c.read_frame();
  if (!frame) throw std::runtime_error("connection closed");
  proto::Reader r(*frame);
  EXPECT_EQ(proto::decode_response_header(r, 0).correlation_id, corr);
  auto m = proto::decode_metadata_response(r, version);
  EXPECT_EQ(r.remaining(), 0u);
  return m;
}

TEST(KafkasimCluster, ApiVersionsV3FlexibleRequestGetsV0HeaderAndRanges) {
  Cluster c(three_brokers());
  c.start();
  RawClient client(c.port(1));
  proto::ApiVersionsRequest req{.client_software_name = "test", .client_software_version = "1"};
  client.send_bytes(request(proto::kApiApiVersions, 3, 42, req));
  auto frame = client.read_frame();
  ASSERT_TRUE(frame);
  proto::Reader r(*frame);
  EXPECT_EQ(proto::decode_response_header(r, 0).correlation_id, 42);
  const auto resp = proto::decode_api_versions_response(r, 3);
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(resp.error_code, 0);
  const std::vector<proto::ApiVersionRange> expected = {{3, 0, 8}, {18, 0, 3}, {32, 0, 2}, {17, 0, 1}, {36, 0, 1}};
  EXPECT_EQ(resp.api_keys, expected);
}

TEST(KafkasimCluster, UnsupportedApiVersionsVersionGetsError35InV0Body) {
  Cluster c(three_brokers());
  c.start();
  RawClient client(c.port(1));
  // A future client: ApiVersions v9 with a flexible header and a body kafkasim cannot know.
  client.send_bytes(request(proto::kApiApiVersions, 9, 7, proto::ApiVersionsRequest{}));
  auto frame = client.read_frame();
  ASSERT_TRUE(frame);
  proto::Reader r(*frame);
  EXPECT_EQ(proto::decode_response_header(r, 0).correlation_id, 7);
  const auto resp = proto::decode_api_versions_response(r, 0);
  EXPECT_EQ(resp.error_code, proto::kErrUnsupportedVersion);
  EXPECT_EQ(resp.api_keys.size(), 5u);  // Metadata, ApiVersions, DescribeConfigs, SaslHandshake, SaslAuthenticate
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(KafkasimCluster, MetadataReportsConfiguredStateAtEveryVersion) {
  Cluster c(three_brokers());
  c.start();
  c.broker_down(3);
  RawClient client(c.port(1));
  for (int16_t v = 0; v <= proto::kMetadataMaxVersion; ++v) {
    const auto m = metadata(client, v, 100 + v);
    ASSERT_EQ(m.brokers.size(), 2u) << "v" << v;  // broker 3 is down
    EXPECT_EQ(m.brokers[0].node_id, 1);
    EXPECT_EQ(m.brokers[0].port, c.port(1));
    EXPECT_EQ(m.brokers[0].rack, v >= 1 ? std::optional<std::string>("rack-a") : std::nullopt);
    EXPECT_EQ(m.controller_id, v >= 1 ? 1 : -1);
    EXPECT_EQ(m.cluster_id, v >= 2 ? std::optional<std::string>("test-cluster") : std::nullopt);
    ASSERT_EQ(m.topics.size(), 2u);
    const auto& p = m.topics[1].partitions.at(0);
    EXPECT_EQ(p.replica_nodes, (std::vector<int32_t>{1, 2, 3}));
    EXPECT_EQ(p.isr_nodes, (std::vector<int32_t>{1, 2}));
    EXPECT_EQ(p.offline_replicas, v >= 5 ? std::vector<int32_t>{3} : std::vector<int32_t>{});
    // orders/2 was led by broker 3: now leaderless.
    EXPECT_EQ(m.topics[0].partitions.at(2).leader_id, -1);
    EXPECT_EQ(m.topics[0].partitions.at(2).error_code, proto::kErrLeaderNotAvailable);
  }
}

TEST(KafkasimCluster, MetadataForNamedTopicsAndUnknownTopic) {
  Cluster c(three_brokers());
  c.start();
  RawClient client(c.port(2));
  proto::MetadataRequest req{.topics = std::vector<std::string>{"shrunk", "nope"},
                             .allow_auto_topic_creation = false,
                             .include_cluster_authorized_operations = false,
                             .include_topic_authorized_operations = false};
  client.send_bytes(request(proto::kApiMetadata, 4, 9, req));
  auto frame = client.read_frame();
  ASSERT_TRUE(frame);
  proto::Reader r(*frame);
  proto::decode_response_header(r, 0);
  const auto m = proto::decode_metadata_response(r, 4);
  ASSERT_EQ(m.topics.size(), 2u);
  EXPECT_EQ(m.topics[0].name, "shrunk");
  EXPECT_EQ(m.topics[1].name, "nope");
  EXPECT_EQ(m.topics[1].error_code, proto::kErrUnknownTopicOrPartition);
  EXPECT_TRUE(m.topics[1].partitions.empty());
}

TEST(KafkasimCluster, PipelinedRequestsAnsweredInOrder) {
  Cluster c(three_brokers());
  c.start();
  RawClient client(c.port(1));
  proto::DescribeConfigsRequest dc;
  dc.resources = {{proto::kResourceTopic, "shrunk", std::nullopt}};
  std::string batch = request(proto::kApiMetadata, 1, 1, proto::MetadataRequest{}) +
                      request(proto::kApiDescribeConfigs, 0, 2, dc) +
                      request(proto::kApiMetadata, 8, 3, proto::MetadataRequest{});
  client.send_bytes(batch);
  for (int32_t corr = 1; corr <= 3; ++corr) {
    auto frame = client.read_frame();
    ASSERT_TRUE(frame) << corr;
    proto::Reader r(*frame);
    EXPECT_EQ(proto::decode_response_header(r, 0).correlation_id, corr);
  }
}

TEST(KafkasimCluster, RequestSentOneByteAtATime) {
  Cluster c(three_brokers());
  c.start();
  RawClient client(c.port(3));
  const std::string bytes = request(proto::kApiMetadata, 4, 77, proto::MetadataRequest{});
  for (char b : bytes) client.send_bytes(std::string(1, b));
  auto frame = client.read_frame();
  ASSERT_TRUE(frame);
  proto::Reader r(*frame);
  EXPECT_EQ(proto::decode_response_header(r, 0).correlation_id, 77);
  EXPECT_EQ(proto::decode_metadata_response(r, 4).topics.size(), 2u);
}

TEST(KafkasimCluster, UnknownApiClosesConnectionButBrokerKeepsServing) {
  Cluster c(three_brokers());
  c.start();
  {
    RawClient client(c.port(1));
    proto::Writer w;
    w.i32(0);
    proto::encode_request_header(w, header(0 /*Produce*/, 7, 1));
    w.i32(12345);
    w.patch_i32(0, static_cast<int32_t>(w.size() - 4));
    client.send_bytes(w.bytes());
    EXPECT_TRUE(client.closed_by_peer());
  }
  {
    RawClient client(c.port(1));
    client.send_bytes(std::string("\xff\xff\xff\xff", 4));  // negative frame size
    EXPECT_TRUE(client.closed_by_peer());
  }
  {
    RawClient client(c.port(1));
    client.send_bytes(std::string("\x00\x00\x00\x03\x00\x03\x00", 7));  // frame too short for a header
    EXPECT_TRUE(client.closed_by_peer());
  }
  {
    RawClient client(c.port(1));
    // Metadata v9 (flexible, not offered): closed like a real broker does for versions it lacks.
    client.send_bytes(std::string("\x00\x00\x00\x0b\x00\x03\x00\x09\x00\x00\x00\x01\xff\xff\x00", 15));
    EXPECT_TRUE(client.closed_by_peer());
  }
  RawClient client(c.port(1));
  EXPECT_EQ(metadata(client, 1).brokers.size(), 3u);
}

TEST(KafkasimCluster, DescribeConfigsTopicBrokerAndUnknown) {
  Cluster c(three_brokers());
  c.set_broker_default("min.insync.replicas", "1");
  c.start();
  RawClient client(c.port(1));
  proto::DescribeConfigsRequest req;
  req.resources = {{proto::kResourceTopic, "shrunk", std::vector<std::string>{"min.insync.replicas"}},
                   {proto::kResourceTopic, "orders", std::nullopt},
                   {proto::kResourceTopic, "ghost", std::nullopt},
                   {proto::kResourceBroker, "2", std::nullopt}};
  req.include_synonyms = true;
  client.send_bytes(request(proto::kApiDescribeConfigs, 1, 5, req));
  auto frame = client.read_frame();
  ASSERT_TRUE(frame);
  proto::Reader r(*frame);
  proto::decode_response_header(r, 0);
  const auto resp = proto::decode_describe_configs_response(r, 1);
  ASSERT_EQ(resp.results.size(), 4u);
  ASSERT_EQ(resp.results[0].configs.size(), 1u);
  EXPECT_EQ(resp.results[0].configs[0].value, "2");
  EXPECT_EQ(resp.results[0].configs[0].config_source, proto::kSourceDynamicTopic);
  EXPECT_EQ(resp.results[0].configs[0].synonyms.size(), 2u);
  ASSERT_EQ(resp.results[1].configs.size(), 1u);
  EXPECT_EQ(resp.results[1].configs[0].value, "1");
  EXPECT_EQ(resp.results[1].configs[0].config_source, proto::kSourceDefaultConfig);
  EXPECT_EQ(resp.results[2].error_code, proto::kErrUnknownTopicOrPartition);
  // Broker 1 answers only for itself (or ""), as a real broker does.
  EXPECT_EQ(resp.results[3].error_code, proto::kErrInvalidRequest);
  EXPECT_EQ(resp.results[3].resource_name, "2");
}

proto::DescribeConfigsResponse describe_broker(int port, const std::string& name) {
  RawClient client(port);
  proto::DescribeConfigsRequest req;
  req.resources = {{proto::kResourceBroker, name,
                    std::vector<std::string>{"broker.rack", "process.roles", "broker.id"}}};
  client.send_bytes(request(proto::kApiDescribeConfigs, 1, 6, req));
  auto frame = client.read_frame();
  if (!frame) return {};
  proto::Reader r(*frame);
  proto::decode_response_header(r, 0);
  return proto::decode_describe_configs_response(r, 1);
}

TEST(KafkasimCluster, DescribeConfigsOwnBrokerResourceServesRackAndProcessRoles) {
  ClusterSpec spec = three_brokers();
  spec.brokers[0].process_roles = "broker,controller";
  Cluster c(spec);
  c.start();
  const auto one = describe_broker(c.port(1), "1");
  ASSERT_EQ(one.results.size(), 1u);
  ASSERT_EQ(one.results[0].error_code, 0);
  std::map<std::string, std::optional<std::string>> got;
  for (const auto& e : one.results[0].configs) got[e.name] = e.value;
  const std::map<std::string, std::optional<std::string>> want = {
      {"broker.id", "1"}, {"broker.rack", "rack-a"}, {"process.roles", "broker,controller"}};
  EXPECT_EQ(got, want);

  // No rack: broker.rack is listed with a null value (as Kafka does); no process.roles (ZooKeeper mode).
  const auto two = describe_broker(c.port(2), "2");
  ASSERT_EQ(two.results.size(), 1u);
  got.clear();
  for (const auto& e : two.results[0].configs) got[e.name] = e.value;
  const std::map<std::string, std::optional<std::string>> want2 = {{"broker.id", "2"},
                                                                    {"broker.rack", std::nullopt}};
  EXPECT_EQ(got, want2);
}

// One DescribeConfigs request on broker 1's port: every resource named, all keys.
proto::DescribeConfigsResponse describe(int port, std::vector<proto::DescribeConfigsResource> resources) {
  RawClient client(port);
  proto::DescribeConfigsRequest req;
  req.resources = std::move(resources);
  client.send_bytes(request(proto::kApiDescribeConfigs, 1, 7, req));
  auto frame = client.read_frame();
  if (!frame) return {};
  proto::Reader r(*frame);
  proto::decode_response_header(r, 0);
  return proto::decode_describe_configs_response(r, 1);
}

// A principal without the DescribeConfigs ACL on a topic: that resource carries error 29 and no configs; the
// other resources of the same request (another topic, the broker) are answered; 0 serves it again.
TEST(KafkasimCluster, RefusedTopicConfigsAnswerAnErrorPerResource) {
  Cluster c(three_brokers());
  c.start();
  c.refuse_topic_configs("shrunk", proto::kErrTopicAuthorizationFailed);
  const std::vector<proto::DescribeConfigsResource> resources = {
      {proto::kResourceTopic, "shrunk", std::nullopt},
      {proto::kResourceTopic, "orders", std::nullopt},
      {proto::kResourceBroker, "1", std::vector<std::string>{"min.insync.replicas"}}};
  auto resp = describe(c.port(1), resources);
  ASSERT_EQ(resp.results.size(), 3u);
  EXPECT_EQ(resp.results[0].error_code, proto::kErrTopicAuthorizationFailed);
  EXPECT_TRUE(resp.results[0].configs.empty());
  EXPECT_EQ(resp.results[1].error_code, proto::kErrNone);
  EXPECT_FALSE(resp.results[1].configs.empty());
  EXPECT_EQ(resp.results[2].error_code, proto::kErrNone);
  ASSERT_EQ(resp.results[2].configs.size(), 1u);

  c.refuse_topic_configs("", proto::kErrTopicAuthorizationFailed);  // every topic
  resp = describe(c.port(1), resources);
  ASSERT_EQ(resp.results.size(), 3u);
  EXPECT_EQ(resp.results[1].error_code, proto::kErrTopicAuthorizationFailed);
  EXPECT_EQ(resp.results[2].error_code, proto::kErrNone);

  c.refuse_topic_configs("", proto::kErrNone);
  resp = describe(c.port(1), resources);
  ASSERT_EQ(resp.results.size(), 3u);
  EXPECT_EQ(resp.results[0].error_code, proto::kErrNone);
  ASSERT_EQ(resp.results[0].configs.size(), 1u);  // its min.insync.replicas override
  EXPECT_EQ(resp.results[0].configs[0].value, "2");
  EXPECT_THROW(c.refuse_topic_configs("ghost", 29), std::invalid_argument);
}

// A broker's own static configs (inter.broker.protocol.version of an older band) on its own resource, over
// the cluster's defaults, source STATIC_BROKER_CONFIG; the "" resource keeps showing the defaults.
TEST(KafkasimCluster, BrokerOwnConfigsOverrideTheDefaultsOnItsOwnResource) {
  ClusterSpec spec = three_brokers();
  spec.broker_defaults["inter.broker.protocol.version"] = "3.7-IV4";
  spec.brokers[0].configs["inter.broker.protocol.version"] = "3.6-IV2";
  Cluster c(spec);
  c.start();
  const std::vector<std::string> keys = {"inter.broker.protocol.version"};
  auto value_of = [&](int32_t broker, const std::string& resource) -> std::optional<std::string> {
    const auto resp = describe(c.port(broker), {{proto::kResourceBroker, resource, keys}});
    if (resp.results.size() != 1 || resp.results[0].configs.size() != 1) return "(not one entry)";
    const auto& e = resp.results[0].configs[0];
    const bool own = e.config_source == proto::kSourceStaticBroker;
    return e.value.value_or("(null)") + (own ? " static" : " default");
  };
  EXPECT_EQ(value_of(1, "1"), "3.6-IV2 static");
  EXPECT_EQ(value_of(1, ""), "3.7-IV4 default");
  EXPECT_EQ(value_of(2, "2"), "3.7-IV4 default");

  c.set_broker_config(2, "inter.broker.protocol.version", "2.8-IV1");
  EXPECT_EQ(value_of(2, "2"), "2.8-IV1 static");
  c.set_broker_config(1, "inter.broker.protocol.version", std::nullopt);
  EXPECT_EQ(value_of(1, "1"), "3.7-IV4 default");
  EXPECT_THROW(c.set_broker_config(9, "k", "v"), std::invalid_argument);
}

TEST(KafkasimCluster, InjectedErrorHitsOnlyTheNextKRequests) {
  Cluster c(three_brokers());
  c.start();
  c.inject_error({.api_key = proto::kApiMetadata, .error_code = 29, .remaining = 2, .broker = -1});
  RawClient client(c.port(1));
  for (int i = 0; i < 2; ++i) {
    const auto m = metadata(client, 4);
    ASSERT_EQ(m.topics.size(), 2u);
    EXPECT_EQ(m.topics[0].error_code, 29);
    EXPECT_TRUE(m.topics[0].partitions.empty());
  }
  EXPECT_EQ(metadata(client, 4).topics[0].error_code, 0);
  EXPECT_TRUE(c.injected_errors().empty());
}

TEST(KafkasimCluster, BrokerDownRefusesConnectionsAndClosesExistingOnes) {
  Cluster c(three_brokers());
  c.start();
  const int port = c.port(2);
  RawClient existing(port);
  EXPECT_EQ(metadata(existing, 1).brokers.size(), 3u);
  c.broker_down(2);
  EXPECT_TRUE(existing.closed_by_peer());
  EXPECT_EQ(testing::connect_loopback(port), -ECONNREFUSED);
  c.broker_up(2);
  EXPECT_EQ(c.port(2), port);  // same port after restart
  RawClient again(port);
  EXPECT_EQ(metadata(again, 1).brokers.size(), 3u);
}

TEST(KafkasimCluster, KilledBrokerResetsConnectionsRefusesNewOnesAndStaysInMetadata) {
  Cluster c(three_brokers());
  c.start();
  const int port = c.port(2);
  RawClient existing(port);
  EXPECT_EQ(metadata(existing, 1).brokers.size(), 3u);
  c.broker_kill(2);
  char b = 0;
  errno = 0;
  EXPECT_EQ(::recv(existing.fd(), &b, 1, 0), -1);  // RST, not an orderly EOF
  EXPECT_EQ(errno, ECONNRESET);
  EXPECT_EQ(testing::connect_loopback(port), -ECONNREFUSED);
  RawClient other(c.port(1));
  EXPECT_EQ(metadata(other, 1).brokers.size(), 3u);  // still listed, as Kafka lists it until its session ends
  EXPECT_EQ(c.brokers().at(1).status, BrokerStatus::kKilled);
  c.broker_up(2);
  EXPECT_EQ(c.port(2), port);
  RawClient again(port);
  EXPECT_EQ(metadata(again, 1).brokers.size(), 3u);
}

TEST(KafkasimCluster, PartitionedBrokerBlackHolesOpenAndNewConnectionsUntilHealed) {
  Cluster c(three_brokers());
  c.start();
  RawClient open_before(c.port(2));
  EXPECT_EQ(metadata(open_before, 1).brokers.size(), 3u);
  c.broker_partition(2);
  RawClient opened_during(c.port(2));  // the kernel completes the handshake; nobody serves it
  for (RawClient* cl : {&open_before, &opened_during}) {
    timeval tv{.tv_sec = 0, .tv_usec = 300000};
    ::setsockopt(cl->fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    cl->send_bytes(request(proto::kApiMetadata, 1, 1, proto::MetadataRequest{}));
    EXPECT_FALSE(cl->read_frame());      // no answer within the receive timeout
    EXPECT_FALSE(cl->closed_by_peer());  // and no FIN or RST either
  }
  RawClient other(c.port(1));
  EXPECT_EQ(metadata(other, 1).brokers.size(), 3u);  // still listed
  c.broker_up(2);
  RawClient healed(c.port(2));
  EXPECT_EQ(metadata(healed, 1).brokers.size(), 3u);
}

TEST(KafkasimCluster, IdleTimeoutClosesOnlyConnectionsWithoutRequests) {
  Cluster c(three_brokers());
  c.set_idle_timeout(std::chrono::milliseconds(200));
  c.start();
  RawClient idle(c.port(1));
  EXPECT_EQ(metadata(idle, 1).brokers.size(), 3u);
  EXPECT_TRUE(idle.closed_by_peer());  // orderly close once idle for 200 ms
  RawClient busy(c.port(1));
  for (int i = 0; i < 5; ++i) {  // a request every 50 ms keeps it open
    EXPECT_EQ(metadata(busy, 1).brokers.size(), 3u);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const int fd = testing::connect_loopback(c.port(1));  // the broker itself stays up
  EXPECT_GT(fd, 0);
  if (fd > 0) ::close(fd);
}

TEST(KafkasimCluster, HungBrokerReadsButNeverAnswers) {
  Cluster c(three_brokers());
  c.start();
  c.broker_hang(1);
  RawClient hung(c.port(1));
  timeval tv{.tv_sec = 0, .tv_usec = 300000};
  ::setsockopt(hung.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  hung.send_bytes(request(proto::kApiMetadata, 1, 1, proto::MetadataRequest{}));
  EXPECT_FALSE(hung.read_frame());  // receive timeout, no answer
  RawClient other(c.port(2));
  EXPECT_EQ(metadata(other, 1).brokers.size(), 3u);  // hung broker still listed
}

// The broker a client asks for all-topics Metadata hangs on that open connection; a brokers-only Metadata
// (no topics) does not trigger it, and only the first broker asked hangs.
TEST(KafkasimCluster, HangNextMetadataBrokerHangsTheBrokerAskedOnItsOpenConnection) {
  Cluster c(three_brokers());
  c.start();
  RawClient first(c.port(2));
  RawClient other(c.port(3));
  c.hang_next_metadata_broker();
  proto::MetadataRequest brokers_only;
  brokers_only.topics = std::vector<std::string>{};
  first.send_bytes(request(proto::kApiMetadata, 1, 1, brokers_only));
  EXPECT_TRUE(first.read_frame());  // answered: not an all-topics request
  EXPECT_EQ(c.hung_for_metadata(), -1);
  timeval tv{.tv_sec = 0, .tv_usec = 300000};
  ::setsockopt(first.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  first.send_bytes(request(proto::kApiMetadata, 1, 2, proto::MetadataRequest{}));
  EXPECT_FALSE(first.read_frame());  // dropped: broker 2 hangs from now on
  EXPECT_EQ(c.hung_for_metadata(), 2);
  EXPECT_EQ(c.brokers().at(1).status, BrokerStatus::kHung);
  EXPECT_EQ(metadata(other, 1).brokers.size(), 3u);  // the next all-topics request is answered; 2 still listed
  c.broker_up(2);
  RawClient again(c.port(2));
  EXPECT_EQ(metadata(again, 1).brokers.size(), 3u);
}

TEST(KafkasimCluster, ManyConcurrentClients) {
  Cluster c(three_brokers());
  c.start();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 24; ++t) {
    threads.emplace_back([&, t] {
      RawClient client(c.port(1 + t % 3));
      for (int i = 0; i < 20; ++i)
        if (metadata(client, 4, i).topics.size() == 2) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 24 * 20);
  EXPECT_GE(c.requests_served(proto::kApiMetadata), 480u);
}

TEST(KafkasimCluster, StateHelpers) {
  Cluster c(three_brokers());
  c.start();
  c.broker_down(2);
  c.remove_from_isrs(2);
  c.elect_leaders();
  EXPECT_EQ(c.partition("orders", 1).leader, 3);  // replicas 2,3,1: first live ISR member
  EXPECT_EQ(c.partition("orders", 1).isr, (std::vector<int32_t>{3, 1}));
  EXPECT_EQ(c.partition("orders", 1).error_code, 0);
  c.broker_up(2);
  c.rejoin_isrs(2);
  EXPECT_EQ(c.partition("orders", 1).isr, (std::vector<int32_t>{2, 3, 1}));
  c.elect_leaders(/*preferred=*/true);
  EXPECT_EQ(c.partition("orders", 1).leader, 2);

  c.start_reassignment("shrunk", 0, {4});
  EXPECT_EQ(c.partition("shrunk", 0).replicas, (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(c.partition("shrunk", 0).isr, (std::vector<int32_t>{1, 2}));

  EXPECT_THROW(c.set_isr("nope", 0, {}), std::invalid_argument);
  EXPECT_THROW(c.set_isr("orders", 99, {}), std::invalid_argument);
  EXPECT_THROW(c.broker_down(99), std::invalid_argument);
  EXPECT_THROW(c.add_broker({.id = 1, .host = "127.0.0.1", .port = 0, .rack = std::nullopt, .process_roles = std::nullopt, .configs = {}}),
               std::invalid_argument);
  EXPECT_THROW(
      Cluster(ClusterSpec{.cluster_id = "x",
                          .controller_id = -1,
                          .brokers = {{.id = 1, .host = "127.0.0.1", .port = 0, .rack = std::nullopt, .process_roles = std::nullopt, .configs = {}},
                                      {.id = 1, .host = "127.0.0.1", .port = 0, .rack = std::nullopt, .process_roles = std::nullopt, .configs = {}}},
                          .topics = {},
                          .broker_defaults = {}}),
      std::invalid_argument);
}

TEST(KafkasimCluster, AddAndRemoveBrokerWhileRunning) {
  Cluster c(three_brokers());
  c.start();
  c.add_broker({.id = 7, .host = "127.0.0.1", .port = 0, .rack = "rack-z", .process_roles = std::nullopt, .configs = {}});
  ASSERT_GT(c.port(7), 0);
  RawClient client(c.port(7));
  EXPECT_EQ(metadata(client, 1).brokers.size(), 4u);
  c.remove_broker(7);
  EXPECT_TRUE(client.closed_by_peer());
  RawClient other(c.port(1));
  EXPECT_EQ(metadata(other, 1).brokers.size(), 3u);
}

}  // namespace
}  // namespace isrguard::kafkasim

namespace isrguard::kafkasim {
namespace {

// The usage example at the top of cluster.h, kept compiling and true.
TEST(KafkasimCluster, HeaderUsageExample) {
  ClusterSpec spec = make_cluster({1, 2, 3});
  spec.topics.push_back(
      make_topic("orders", round_robin_partitions(12, 3, {1, 2, 3}), {{"min.insync.replicas", "2"}}));
  spec.topics.push_back(make_topic("audit", {make_partition(0, -1, {3}, {}, 5)}));
  Cluster c(spec);
  c.start();
  const std::string bootstrap = c.bootstrap_servers();
  EXPECT_EQ(std::count(bootstrap.begin(), bootstrap.end(), ','), 2);
  c.set_isr("orders", 0, {1, 2});
  c.broker_down(3);
  EXPECT_EQ(c.partition("orders", 2).leader, -1);  // replicas 3,1,2
  EXPECT_EQ(c.partition("orders", 0).isr, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(c.spec().controller_id, 1);
  c.broker_up(3);
  testing::RawClient client(c.port(3));
  EXPECT_EQ(metadata(client, 4).topics.size(), 2u);
}

}  // namespace
}  // namespace isrguard::kafkasim

namespace isrguard::kafkasim {
namespace {

// Only a lower bound is asserted: the answer cannot arrive before the configured latency has passed.
TEST(KafkasimCluster, LatencyDelaysAnswers) {
  Cluster c(make_cluster({1, 2}));
  c.start();
  c.set_latency(1, std::chrono::milliseconds(1000));
  testing::RawClient client(c.port(1));
  timeval short_wait{.tv_sec = 0, .tv_usec = 100000};
  ::setsockopt(client.fd(), SOL_SOCKET, SO_RCVTIMEO, &short_wait, sizeof(short_wait));
  client.send_bytes(
      proto::request_frame(testing::header(proto::kApiMetadata, 1, 5), proto::MetadataRequest{}));
  char byte;
  EXPECT_LT(::recv(client.fd(), &byte, 1, MSG_PEEK), 0);  // nothing yet after 100 ms
  timeval long_wait{.tv_sec = 20, .tv_usec = 0};
  ::setsockopt(client.fd(), SOL_SOCKET, SO_RCVTIMEO, &long_wait, sizeof(long_wait));
  auto frame = client.read_frame();
  ASSERT_TRUE(frame);
  proto::Reader r(*frame);
  EXPECT_EQ(proto::decode_response_header(r, 0).correlation_id, 5);
}

}  // namespace
}  // namespace isrguard::kafkasim

namespace isrguard::kafkasim {
namespace {

TEST(KafkasimCluster, FlappingBrokerGoesDownAndUpOnScheduleAndEndsWhereItStarted) {
  Cluster c(three_brokers());
  c.start();
  const ClusterSpec before = c.spec();
  auto status_of_2 = [&] { return c.brokers().at(1).status; };
  c.start_flapping(2, std::chrono::milliseconds(150), std::chrono::milliseconds(150));
  EXPECT_TRUE(isrguard::testing::await([&] { return status_of_2() == BrokerStatus::kDown; }, std::chrono::seconds(5)));
  EXPECT_TRUE(isrguard::testing::await([&] { return status_of_2() == BrokerStatus::kUp; }, std::chrono::seconds(5)));
  EXPECT_TRUE(isrguard::testing::await([&] { return status_of_2() == BrokerStatus::kDown; }, std::chrono::seconds(5)));
  c.stop_flapping(2);
  EXPECT_EQ(status_of_2(), BrokerStatus::kUp);
  // Leaders, replicas and ISRs as before; only leader epochs moved on.
  ClusterSpec after = c.spec();
  for (auto& t : after.topics)
    for (auto& p : t.partitions) p.leader_epoch = 0;
  EXPECT_EQ(after, before);
  RawClient client(c.port(2));
  EXPECT_EQ(metadata(client, 1).brokers.size(), 3u);
}

}  // namespace
}  // namespace isrguard::kafkasim
