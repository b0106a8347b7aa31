// The service (probe loop + gate + readiness) driven by the real librdkafka client against librdkafka's
// built-in mock cluster. The mock always reports ISR == replicas, so it covers offline partitions and
// failed probes; under-replication and min ISR are covered against kafkasim.
#include <gtest/gtest.h>

#include <thread>

#include "probes/rdkafka_mock_cluster.h"
#include "probes/rdkafka_source.h"
#include "service/runtime/probe_loop.h"
#include "service/judge/reasons.h"
#include "tests/support/await.h"
#include "tests/support/served_loop.h"

namespace isrguard::service {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kProbeTimeout{1500};

std::vector<std::string> codes(const std::vector<Reason>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.code);
  return out;
}

class MockClusterService : public ::testing::Test {
 protected:
  MockClusterService() : mock_(3) {
    mock_.create_topic("orders", 3);
    for (int p = 0; p < 3; ++p) mock_.set_leader("orders", p, p + 1);
    probes::RdKafkaSourceConfig c;
    c.properties = {{"bootstrap.servers", mock_.bootstrap_servers()}};
    c.probe_timeout = kProbeTimeout;
    source_ = std::make_unique<probes::RdKafkaSource>(c);
    policy_ = Policy::with_defaults();
    policy_.expected_brokers = {1, 2, 3};
    policy_.compile();
    loop_ = std::make_unique<ProbeLoop>(*source_, policy_, GateConfig{milliseconds(0)}, seconds(30));
    http_ = std::make_unique<testing::ServedLoop>(*loop_);
  }

  // GET through the real HTTP server; returns {status, body}.
  std::pair<int, std::string> get(const std::string& path) { return http_->get(path); }
  // The value of one unlabelled series in /metrics, or -1.
  double metric(const std::string& name) {
    const auto body = get("/metrics").second;
    const auto at = body.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stod(body.substr(at + name.size() + 2));
  }

  // One real probe at real time; returns the published state.
  std::shared_ptr<const PublishedState> step() {
    loop_->run_once(SteadyClock::now(), std::chrono::system_clock::now());
    return loop_->current();
  }
  bool ready() { return readiness_at(*loop_->current(), SteadyClock::now(), seconds(30), policy_).ready; }

  probes::MockKafkaCluster mock_;
  std::unique_ptr<probes::RdKafkaSource> source_;
  Policy policy_;
  std::unique_ptr<ProbeLoop> loop_;
  std::unique_ptr<testing::ServedLoop> http_;
};

TEST_F(MockClusterService, HealthyClusterOpensTheGate) {
  auto st = step();
  ASSERT_TRUE(st->snapshot) << (st->last_error ? st->last_error->message : "");
  EXPECT_TRUE(st->verdict->healthy()) << *st->verdict;
  EXPECT_TRUE(ready());
  EXPECT_EQ(get("/readyz"), std::make_pair(200, std::string("ok\n")));
  EXPECT_EQ(metric("isrguard_ready"), 1);
  EXPECT_EQ(st->verdict->counts.brokers_up, 3);
  EXPECT_EQ(st->verdict->counts.partitions, 3);
}

TEST_F(MockClusterService, LeaderlessPartitionClosesWithOfflinePartitions) {
  ASSERT_TRUE(step()->snapshot);
  mock_.set_leader("orders", 1, -1);
  auto st = step();
  EXPECT_FALSE(ready());
  ASSERT_TRUE(st->verdict);
  EXPECT_EQ(st->verdict->counts.offline, 1);
  EXPECT_EQ(st->gate.blocking, std::vector<std::string>{"offline_partitions"});
  EXPECT_EQ(get("/readyz"), std::make_pair(503, std::string("not ready: offline_partitions\n")));
  EXPECT_GT(metric("kafka_controller_kafkacontroller_offlinepartitionscount"), 0);
  mock_.set_leader("orders", 1, 2);
  step();
  EXPECT_TRUE(ready());
  EXPECT_EQ(get("/readyz").first, 200);
  EXPECT_EQ(metric("kafka_controller_kafkacontroller_offlinepartitionscount"), 0);
}

TEST_F(MockClusterService, AllBrokersDownFailsClosedWithinTheTimeoutThenRecovers) {
  ASSERT_TRUE(step()->snapshot);
  for (probes::BrokerId id : {1, 2, 3}) mock_.set_broker_down(id);
  const auto t0 = SteadyClock::now();
  auto st = step();
  const auto took = SteadyClock::now() - t0;
  // A correctness bound (the probe must not hang for librdkafka's 60 s default), with margin for slow CI.
  EXPECT_LT(took, kProbeTimeout + seconds(3));
  ASSERT_TRUE(st->last_error);
  EXPECT_EQ(st->gate.blocking, std::vector<std::string>{"probe_failed"});
  EXPECT_EQ(codes(st->reasons), (std::vector<std::string>{"min_isr_unknown_topics", "probe_failed"}));
  EXPECT_FALSE(ready());
  EXPECT_EQ(get("/readyz"), std::make_pair(503, std::string("not ready: probe_failed\n")));

  for (probes::BrokerId id : {1, 2, 3}) mock_.set_broker_up(id);
  EXPECT_TRUE(testing::await([&] { return step()->snapshot && !loop_->current()->last_error; }, seconds(20)));
  // The dropped connections are reported once (brokers_reconnected, a recent failure); then ready.
  EXPECT_TRUE(testing::await([&] { return step() && ready(); }, seconds(20)));
  EXPECT_EQ(get("/readyz").first, 200);
}

}  // namespace
}  // namespace isrguard::service
