#pragma once

// librdkafka's built-in mock Kafka cluster (rdkafka_mock.h), wrapped so tests can drive it without including
// librdkafka themselves. Listens on 127.0.0.1, random ports. Not a faithful broker (checked in 2.0.2's
// source): ISR always equals replicas; the replication factor argument of topic creation is ignored (replicas
// are the first min(3, brokers) brokers); partition leaders start random; the metadata controller id is
// always 0 (not a broker); DescribeConfigs is not implemented.
//
// Thread-safety: the mock runs on its own thread; these calls are synchronous requests to it and may be
// made from any one thread at a time.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "probes/snapshot.h"

namespace isrguard::probes {

class MockKafkaCluster {
 public:
  // Throws std::runtime_error when the mock cannot be created.
  explicit MockKafkaCluster(int brokers);
  ~MockKafkaCluster();

  MockKafkaCluster(const MockKafkaCluster&) = delete;
  MockKafkaCluster& operator=(const MockKafkaCluster&) = delete;

  // "127.0.0.1:p1,127.0.0.1:p2,..." in broker id order (ids 1..brokers).
  std::string bootstrap_servers() const;
  // Brokers as metadata reports them: ids 1..n, host 127.0.0.1, their ports.
  std::vector<Broker> brokers() const;

  // Each throws std::runtime_error naming the librdkafka error when the mock refuses.
  void create_topic(const std::string& name, int partitions);
  void set_leader(const std::string& topic, std::int32_t partition, BrokerId leader);  // -1: no leader
  void set_broker_down(BrokerId id);  // closes its connections; connects are refused until set up
  void set_broker_up(BrokerId id);
  void set_broker_rtt(BrokerId id, std::chrono::milliseconds rtt);  // delays every response

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace isrguard::probes
