#include "probes/rdkafka_mock_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdexcept>

namespace isrguard::probes {

struct MockKafkaCluster::Impl {
  rd_kafka_t* rk = nullptr;  // owner handle the mock lives in; never connects anywhere
  rd_kafka_mock_cluster_t* mcluster = nullptr;
  int broker_count = 0;

  ~Impl() {
    if (mcluster) rd_kafka_mock_cluster_destroy(mcluster);
    if (rk) rd_kafka_destroy(rk);
  }
};

namespace {
void check(rd_kafka_resp_err_t err, const std::string& what) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error("mock cluster: " + what + ": " + rd_kafka_err2name(err) + " (" +
                             rd_kafka_err2str(err) + ")");
}
}  // namespace

MockKafkaCluster::MockKafkaCluster(int brokers) : impl_(std::make_unique<Impl>()) {
  if (brokers < 1) throw std::runtime_error("mock cluster: needs at least one broker");
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The owner handle has no bootstrap servers; silence its "no bootstrap.servers" notice.
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("mock cluster: ") + errstr);
  }
  impl_->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!impl_->rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("mock cluster: cannot create owner handle: ") + errstr);
  }
  impl_->mcluster = rd_kafka_mock_cluster_new(impl_->rk, brokers);
  if (!impl_->mcluster) throw std::runtime_error("mock cluster: rd_kafka_mock_cluster_new failed");
  impl_->broker_count = brokers;
}

MockKafkaCluster::~MockKafkaCluster() = default;

std::string MockKafkaCluster::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(impl_->mcluster);
}

std::vector<Broker> MockKafkaCluster::brokers() const {
  // The bootstraps string lists brokers in creation order, which is id order 1..n.
  std::vector<Broker> out;
  const std::string all = bootstrap_servers();
  std::size_t start = 0;
  BrokerId id = 1;
  while (start <= all.size()) {
    std::size_t end = all.find(',', start);
    if (end == std::string::npos) end = all.size();
    const std::string hostport = all.substr(start, end - start);
    const auto colon = hostport.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("mock cluster: unexpected bootstraps " + all);
    out.push_back(
        Broker{id++, hostport.substr(0, colon), std::stoi(hostport.substr(colon + 1)),
               std::nullopt, std::nullopt, std::nullopt, std::nullopt});
    start = end + 1;
  }
  return out;
}

void MockKafkaCluster::create_topic(const std::string& name, int partitions) {
  // The replication factor argument is ignored by the 2.0.2 mock; pass the broker count for clarity.
  check(rd_kafka_mock_topic_create(impl_->mcluster, name.c_str(), partitions, impl_->broker_count),
        "create topic " + name);
}

void MockKafkaCluster::set_leader(const std::string& topic, std::int32_t partition, BrokerId leader) {
  check(rd_kafka_mock_partition_set_leader(impl_->mcluster, topic.c_str(), partition, leader),
        "set leader of " + topic + "/" + std::to_string(partition));
}

void MockKafkaCluster::set_broker_down(BrokerId id) {
  check(rd_kafka_mock_broker_set_down(impl_->mcluster, id), "set broker " + std::to_string(id) + " down");
}

void MockKafkaCluster::set_broker_up(BrokerId id) {
  check(rd_kafka_mock_broker_set_up(impl_->mcluster, id), "set broker " + std::to_string(id) + " up");
}

void MockKafkaCluster::set_broker_rtt(BrokerId id, std::chrono::milliseconds rtt) {
  check(rd_kafka_mock_broker_set_rtt(impl_->mcluster, id, static_cast<int>(rtt.count())),
        "set broker " + std::to_string(id) + " rtt");
}

}  // namespace isrguard::probes
