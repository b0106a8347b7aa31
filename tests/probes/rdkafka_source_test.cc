// RdKafkaSource through the real librdkafka client against librdkafka's built-in mock cluster (127.0.0.1,
// random ports). The mock's quirks (ISR == replicas, controller 0, no DescribeConfigs, ignored replication
// factor) are documented in probes/rdkafka_mock_cluster.h.
#include "probes/rdkafka_source.h"

#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <stdexcept>

#include "probes/rdkafka_mock_cluster.h"
#include "tests/support/builders.h"

namespace isrguard::probes {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;
using testing::TopicBuilder;

constexpr milliseconds kProbeTimeout{2000};
// Correctness bound for "returns within the timeout": generous for a loaded 2-core CI machine.
constexpr milliseconds kMargin{3000};

RdKafkaSourceConfig config_for(const MockKafkaCluster& mock, milliseconds timeout = kProbeTimeout) {
  RdKafkaSourceConfig c;
  c.properties = {{"bootstrap.servers", mock.bootstrap_servers()}};
  c.probe_timeout = timeout;
  return c;
}

// Probes until `ok` matches or `within` passes; each probe is itself bounded by the source's timeout.
ProbeResult probe_until(RdKafkaSource& source, bool want_ok, milliseconds within) {
  const auto deadline = SteadyClock::now() + within;
  ProbeResult r = source.probe();
  while (r.ok() != want_ok && SteadyClock::now() < deadline) r = source.probe();
  return r;
}

constexpr const char* kMockNoDescribeConfigs =
    "_UNSUPPORTED_FEATURE: DescribeConfigs (KIP-133) not supported by broker, requires broker version >= 0.11.0";

std::string why_mock_min_isr_unread() {
  return "DescribeConfigs not sent: metadata names controller 0, which is not among the brokers";
}

// Three brokers; "orders" (4 partitions) and "payments" (2) with leaders pinned (the mock picks random ones).
class RdKafkaSourceMock : public ::testing::Test {
 protected:
  RdKafkaSourceMock() : mock_(3) {
    mock_.create_topic("orders", 4);
    mock_.create_topic("payments", 2);
    const BrokerId orders_leaders[] = {1, 2, 3, 1};
    for (int p = 0; p < 4; ++p) mock_.set_leader("orders", p, orders_leaders[p]);
    mock_.set_leader("payments", 0, 2);
    mock_.set_leader("payments", 1, 3);
  }

  // What the mock should look like in a snapshot; fields that vary per run come from `actual`.
  ClusterSnapshot expected(const ClusterSnapshot& actual, BrokerId orders_p2_leader = 3) const {
    const std::vector<BrokerId> all = {1, 2, 3};
    ClusterSnapshot s;
    s.brokers = mock_.brokers();
    s.topics = {TopicBuilder("orders")
                    .p(1, all, all)
                    .p(2, all, all)
                    .p(orders_p2_leader, all, all)
                    .p(1, all, all)
                    .no_min_isr()
                    .build(),
                TopicBuilder("payments").p(2, all, all).p(3, all, all).no_min_isr().build()};
    s.controller_id = 0;  // the mock's constant
    s.cluster_id = actual.cluster_id;
    s.taken_at = actual.taken_at;
    s.duration = actual.duration;
    s.config_errors = {"topic orders: " + why_mock_min_isr_unread(),
                       "topic payments: " + why_mock_min_isr_unread()};
    // The per-broker check reaches every broker; the mock cannot serve DescribeConfigs, which librdkafka
    // knows from the ApiVersions handshake: an answer all the same. Latencies (and disconnects, after the
    // tests that stop brokers) vary per run.
    for (std::size_t i = 0; i < s.brokers.size(); ++i) {
      const auto latency =
          i < actual.broker_responses.size() ? actual.broker_responses[i].latency : std::chrono::microseconds(0);
      BrokerResponse r{s.brokers[i].id, true, latency, kMockNoDescribeConfigs};
      if (i < actual.broker_responses.size()) r.disconnects = actual.broker_responses[i].disconnects;
      s.broker_responses.push_back(r);
    }
    return s;
  }

  MockKafkaCluster mock_;
};

TEST_F(RdKafkaSourceMock, SnapshotShowsExactlyTheMockClusterLayout) {
  RdKafkaSource source(config_for(mock_));
  const auto before = std::chrono::system_clock::now();
  const ProbeResult r = source.probe();
  ASSERT_TRUE(r.ok()) << r;
  EXPECT_EQ(*r.snapshot, expected(*r.snapshot));
  EXPECT_EQ(r.snapshot->cluster_id.rfind("mockCluster", 0), 0u) << r.snapshot->cluster_id;
  EXPECT_GE(r.snapshot->taken_at, before);
  EXPECT_GT(r.snapshot->duration.count(), 0);
  EXPECT_EQ(r.duration, r.snapshot->duration);
  EXPECT_FALSE(r.error.has_value());
  std::cerr << "[measure] first probe against mock: " << r.duration.count() << " us\n";
  const ProbeResult again = source.probe();
  ASSERT_TRUE(again.ok()) << again;
  std::cerr << "[measure] second probe against mock: " << again.duration.count() << " us\n";
}

TEST_F(RdKafkaSourceMock, PartitionWithoutLeaderShowsLeaderMinusOne) {
  RdKafkaSource source(config_for(mock_));
  ASSERT_TRUE(source.probe().ok());
  mock_.set_leader("orders", 2, kNoLeader);
  const ProbeResult r = source.probe();
  ASSERT_TRUE(r.ok()) << r;
  EXPECT_EQ(*r.snapshot, expected(*r.snapshot, kNoLeader));
}

TEST_F(RdKafkaSourceMock, NewTopicAppearsInTheNextSnapshot) {
  RdKafkaSource source(config_for(mock_));
  ASSERT_TRUE(source.probe().ok());
  mock_.create_topic("invoices", 1);
  mock_.set_leader("invoices", 0, 2);
  const ProbeResult r = source.probe();
  ASSERT_TRUE(r.ok()) << r;
  ClusterSnapshot want = expected(*r.snapshot);
  want.topics.insert(want.topics.begin(),
                     TopicBuilder("invoices").p(2, {1, 2, 3}, {1, 2, 3}).no_min_isr().build());
  want.config_errors.insert(want.config_errors.begin(), "topic invoices: " + why_mock_min_isr_unread());
  EXPECT_EQ(*r.snapshot, want);
}

TEST_F(RdKafkaSourceMock, MinIsrUnreadableIsReportedWhileMetadataIsFine) {
  // The mock cannot answer DescribeConfigs: every topic has no min.insync.replicas and says why, and the
  // probe itself succeeds.
  RdKafkaSource source(config_for(mock_));
  const ProbeResult r = source.probe();
  ASSERT_TRUE(r.ok()) << r;
  for (const auto& t : r.snapshot->topics) EXPECT_EQ(t.min_insync_replicas, std::nullopt) << t;
  EXPECT_EQ(r.snapshot->config_errors, expected(*r.snapshot).config_errors);
  // Retried reads are spaced: the next probe does not ask again, and still reports the same reasons.
  const ProbeResult next = source.probe();
  ASSERT_TRUE(next.ok()) << next;
  EXPECT_EQ(next.snapshot->config_errors, r.snapshot->config_errors);
}

TEST_F(RdKafkaSourceMock, AllBrokersDownFailsWithinTimeoutAndRecoversWhenBack) {
  RdKafkaSource source(config_for(mock_));
  ASSERT_TRUE(source.probe().ok());
  for (BrokerId id : {1, 2, 3}) mock_.set_broker_down(id);

  const auto start = SteadyClock::now();
  const ProbeResult down = source.probe();
  const auto took = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
  ASSERT_FALSE(down.ok()) << down;
  ASSERT_TRUE(down.error.has_value());
  EXPECT_TRUE(down.error->kind == "transport" || down.error->kind == "timeout") << down;
  EXPECT_NE(down.error->message.find(mock_.bootstrap_servers()), std::string::npos) << down;
  EXPECT_LT(took, kProbeTimeout + kMargin);
  std::cerr << "[measure] all brokers down: probe failed after " << took.count() << " ms with " << *down.error
            << "\n";

  for (BrokerId id : {1, 2, 3}) mock_.set_broker_up(id);
  const auto up_at = SteadyClock::now();
  const ProbeResult back = probe_until(source, true, seconds(20));
  ASSERT_TRUE(back.ok()) << back;
  EXPECT_EQ(*back.snapshot, expected(*back.snapshot));
  std::cerr << "[measure] recovered "
            << std::chrono::duration_cast<milliseconds>(SteadyClock::now() - up_at).count()
            << " ms after brokers came back\n";
}

// No broker reachable from the start: the probe first waits for a usable broker in short slices (to catch
// authentication failures early), and that wait and the Metadata request after it share one budget. Each
// probe ends within its timeout.
TEST_F(RdKafkaSourceMock, NoBrokerReachableFromTheStartFailsEveryProbeWithinItsTimeout) {
  for (BrokerId id : {1, 2, 3}) mock_.set_broker_down(id);
  RdKafkaSource source(config_for(mock_));
  for (int i = 0; i < 2; ++i) {
    const auto start = SteadyClock::now();
    const ProbeResult r = source.probe();
    const auto took = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
    ASSERT_FALSE(r.ok()) << r;
    EXPECT_TRUE(r.error->kind == "transport" || r.error->kind == "timeout") << r;
    // The broker failure that explains it, not librdkafka's "3/3 brokers are down" that follows it.
    EXPECT_NE(r.error->message.find("last broker error: "), std::string::npos) << r;
    EXPECT_EQ(r.error->message.find("brokers are down"), std::string::npos) << r;
    std::cerr << "[measure] no broker reachable: probe " << i << " failed after " << took.count() << " ms with "
              << *r.error << "\n";
    // 1 s for a loaded machine; a Metadata request given the whole timeout after the wait takes twice it.
    EXPECT_LT(took, kProbeTimeout + milliseconds(1000)) << "probe " << i;
  }
}

TEST_F(RdKafkaSourceMock, HungBrokersFailTheProbeWithinItsTimeoutAndProbesWorkOnceTheyAnswer) {
  // Brokers that accept requests but do not answer (30 s response delay): the probe must still end within
  // its timeout, as a "timeout", and the client must not stay stuck once they answer again.
  const milliseconds timeout{1000};
  RdKafkaSource source(config_for(mock_, timeout));
  ASSERT_TRUE(source.probe().ok());
  for (BrokerId id : {1, 2, 3}) mock_.set_broker_rtt(id, seconds(30));

  const auto start = SteadyClock::now();
  const ProbeResult hung = source.probe();
  const auto took = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
  ASSERT_FALSE(hung.ok()) << hung;
  EXPECT_TRUE(hung.error->kind == "timeout" || hung.error->kind == "transport") << hung;
  EXPECT_LT(took, timeout + kMargin);
  std::cerr << "[measure] hung brokers: probe failed after " << took.count() << " ms with " << *hung.error
            << "\n";

  for (BrokerId id : {1, 2, 3}) mock_.set_broker_rtt(id, milliseconds(0));
  const auto healed_at = SteadyClock::now();
  const ProbeResult back = probe_until(source, true, seconds(20));
  ASSERT_TRUE(back.ok()) << back;
  std::cerr << "[measure] hung brokers: probes ok again after "
            << std::chrono::duration_cast<milliseconds>(SteadyClock::now() - healed_at).count() << " ms\n";
}

TEST_F(RdKafkaSourceMock, DestructionIsQuickWhileBrokersAreDown) {
  auto source = std::make_unique<RdKafkaSource>(config_for(mock_));
  ASSERT_TRUE(source->probe().ok());
  for (BrokerId id : {1, 2, 3}) mock_.set_broker_down(id);
  ASSERT_FALSE(source->probe().ok());
  const auto start = SteadyClock::now();
  source.reset();
  const auto took = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
  EXPECT_LT(took, kProbeTimeout + kMargin);
  std::cerr << "[measure] destructor with all brokers down: " << took.count() << " ms\n";
}

TEST(RdKafkaSource, InvalidClientPropertiesThrowListingEveryBadKey) {
  RdKafkaSourceConfig c;
  c.properties = {{"bootstrap.servers", "127.0.0.1:1"},
                  {"no.such.property", "1"},
                  {"socket.timeout.ms", "soon"},
                  {"my.password", "hunter2-secret"}};
  try {
    RdKafkaSource source(c);
    FAIL() << "constructor accepted invalid properties";
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("no.such.property"), std::string::npos) << msg;
    EXPECT_NE(msg.find("socket.timeout.ms"), std::string::npos) << msg;
    EXPECT_NE(msg.find("my.password"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("hunter2-secret"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("bootstrap.servers"), std::string::npos) << msg;
  }
}

TEST(RdKafkaSource, MissingBootstrapServersIsAConstructionError) {
  RdKafkaSourceConfig c;
  c.properties = {{"security.protocol", "plaintext"}};
  EXPECT_THROW(RdKafkaSource{c}, std::invalid_argument);
}

TEST(RdKafkaSource, OutOfRangeTimeoutsAreConstructionErrors) {
  RdKafkaSourceConfig c;
  c.properties = {{"bootstrap.servers", "127.0.0.1:1"}};
  c.probe_timeout = milliseconds(0);
  EXPECT_THROW(RdKafkaSource{c}, std::invalid_argument);
  c.probe_timeout = milliseconds(1000);
  c.min_isr_max_age = milliseconds(1);
  EXPECT_THROW(RdKafkaSource{c}, std::invalid_argument);
}

TEST(RdKafkaSource, ClientThatCannotBeCreatedIsAProbeErrorOfKindClient) {
  // Accepted by rd_kafka_conf_set, refused by rd_kafka_new (e.g. a CA file not mounted yet).
  RdKafkaSourceConfig c;
  c.properties = {{"bootstrap.servers", "127.0.0.1:1"},
                  {"security.protocol", "ssl"},
                  {"ssl.ca.location", "/nonexistent/isrguard-test/ca.pem"}};
  RdKafkaSource source(c);
  const ProbeResult r = source.probe();
  ASSERT_FALSE(r.ok()) << r;
  EXPECT_EQ(r.error->kind, "client") << r;
  EXPECT_NE(r.error->message.find("127.0.0.1:1"), std::string::npos) << r;
  EXPECT_NE(r.error->message.find("ssl.ca.location"), std::string::npos) << r;
}

TEST(RdKafkaSource, MockModeServesTheDemoTopics) {
  RdKafkaSourceConfig c;
  c.mock_brokers = 3;
  c.probe_timeout = kProbeTimeout;
  RdKafkaSource source(c);
  EXPECT_EQ(source.bootstrap_servers().rfind("127.0.0.1:", 0), 0u) << source.bootstrap_servers();
  const ProbeResult r = source.probe();
  ASSERT_TRUE(r.ok()) << r;
  std::vector<MockTopicSpec> seen;
  for (const auto& t : r.snapshot->topics) seen.push_back({t.name, static_cast<int>(t.partitions.size())});
  EXPECT_EQ(seen, demo_mock_topics());
  std::vector<BrokerId> ids;
  for (const auto& b : r.snapshot->brokers) ids.push_back(b.id);
  EXPECT_EQ(ids, (std::vector<BrokerId>{1, 2, 3}));
}

}  // namespace
}  // namespace isrguard::probes
