#pragma once

// Small builders for snapshots in tests: read like the cluster they describe.
//   auto s = SnapshotBuilder().brokers({1, 2, 3}).topic(healthy_topic("orders", 6, 3, {1, 2, 3}, 2)).build();

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "probes/snapshot.h"

namespace isrguard::testing {

using probes::BrokerId;

// A Kafka error as tests write it, {5, "LEADER_NOT_AVAILABLE"}: the snapshot keeps the code only, and the
// name must be librdkafka's for that code (checked, so a test cannot render a name the service never would).
struct Err {
  std::int32_t code = 0;
  std::string_view name;

  operator probes::KafkaError() const {  // NOLINT: builder convenience
    const probes::KafkaError e{code};
    if (code != 0 && e.name() != name)
      throw std::invalid_argument("test error " + std::to_string(code) + " is " + e.name() + ", not " +
                                  std::string(name));
    return e;
  }
};

inline probes::PartitionInfo partition(std::int32_t id, BrokerId leader, std::vector<BrokerId> replicas,
                                       std::vector<BrokerId> isr, Err error = {}) {
  return probes::PartitionInfo{id, leader, std::move(replicas), std::move(isr), error};
}

class TopicBuilder {
 public:
  explicit TopicBuilder(std::string name) { t_.name = std::move(name); }
  TopicBuilder& min_isr(std::int32_t v) {
    t_.min_insync_replicas = v;
    return *this;
  }
  TopicBuilder& no_min_isr() {
    t_.min_insync_replicas.reset();
    return *this;
  }
  TopicBuilder& error(std::int32_t code, std::string_view name) {
    t_.error = Err{code, name};
    return *this;
  }
  TopicBuilder& add(const probes::PartitionInfo& p) {
    t_.partitions.push_back(p);
    return *this;
  }
  // Appends partition `id` (next free) with the given leader/replicas/isr.
  TopicBuilder& p(BrokerId leader, std::vector<BrokerId> replicas, std::vector<BrokerId> isr, Err err = {}) {
    return add(partition(static_cast<std::int32_t>(t_.partitions.size()), leader, std::move(replicas),
                         std::move(isr), err));
  }
  probes::TopicInfo build() const { return t_; }
  operator probes::TopicInfo() const { return t_; }  // NOLINT: builder convenience

 private:
  probes::TopicInfo t_;
};

// A fully in-sync topic: `partitions` partitions, `rf` replicas spread round-robin over `brokers`,
// leader = first replica, ISR = replicas.
inline probes::TopicInfo healthy_topic(const std::string& name, int partitions, int rf,
                                       const std::vector<BrokerId>& brokers, std::int32_t min_isr) {
  TopicBuilder t(name);
  t.min_isr(min_isr);
  for (int i = 0; i < partitions; ++i) {
    std::vector<BrokerId> replicas;
    for (int r = 0; r < rf; ++r) replicas.push_back(brokers[(i + r) % brokers.size()]);
    t.p(replicas.front(), replicas, replicas);
  }
  return t.build();
}

// Changes partition `index` of a built topic: `edit` gets an owned copy to change (the table is rebuilt).
template <typename Edit>
void edit_partition(probes::TopicInfo& t, std::size_t index, Edit&& edit) {
  probes::PartitionTable rebuilt;
  for (std::size_t i = 0; i < t.partitions.size(); ++i) {
    probes::PartitionInfo p = probes::PartitionInfo::of(t.partitions[i]);
    if (i == index) edit(p);
    rebuilt.push_back(p);
  }
  t.partitions = std::move(rebuilt);
}

class SnapshotBuilder {
 public:
  SnapshotBuilder() {
    s_.cluster_id = "test-cluster";
    s_.controller_id = 1;
  }
  SnapshotBuilder& broker(BrokerId id, std::string host = "", std::int32_t port = 9092) {
    if (host.empty()) host = "broker-" + std::to_string(id) + ".example";
    s_.brokers.push_back(
        probes::Broker{id, std::move(host), port, std::nullopt, std::nullopt, std::nullopt, std::nullopt});
    return *this;
  }
  // A broker that reports broker.rack.
  SnapshotBuilder& racked(BrokerId id, std::string rack) {
    broker(id);
    s_.brokers.back().rack = std::move(rack);
    return *this;
  }
  SnapshotBuilder& brokers(const std::vector<BrokerId>& ids) {
    for (auto id : ids) broker(id);
    return *this;
  }
  SnapshotBuilder& topic(probes::TopicInfo t) {
    s_.topics.push_back(std::move(t));
    return *this;
  }
  // The per-broker check's answer for `id` (no error); answered = false models a broker that did not answer.
  SnapshotBuilder& response(BrokerId id, std::chrono::milliseconds latency, bool answered = true,
                            std::string error = "") {
    s_.broker_responses.push_back(probes::BrokerResponse{
        id, answered, std::chrono::duration_cast<std::chrono::microseconds>(latency), std::move(error)});
    return *this;
  }
  // Every broker added so far answered the per-broker check without error, reporting `process_roles`
  // ("broker", "broker,controller": KRaft); zookeeper() = answered without process.roles.
  SnapshotBuilder& kraft(const std::string& process_roles = "broker") {
    answered(process_roles);
    return *this;
  }
  SnapshotBuilder& zookeeper() {
    answered(std::nullopt);
    return *this;
  }
  SnapshotBuilder& rack(BrokerId id, const std::string& rack) {
    for (auto& b : s_.brokers)
      if (b.id == id) b.rack = rack;
    return *this;
  }
  // Every broker added so far reports inter.broker.protocol.version `version` ("3.7-IV4", "3.6-IV2").
  SnapshotBuilder& kafka_version(const std::string& version) {
    for (auto& b : s_.brokers) b.inter_broker_protocol_version = version;
    return *this;
  }
  // Every broker added so far reports its own min.insync.replicas default `v`.
  SnapshotBuilder& broker_min_isr(std::int32_t v) {
    for (auto& b : s_.brokers) b.min_insync_replicas = v;
    return *this;
  }
  SnapshotBuilder& controller(BrokerId id) {
    s_.controller_id = id;
    return *this;
  }
  probes::ClusterSnapshot build() const { return s_; }

 private:
  void answered(const std::optional<std::string>& process_roles) {
    s_.broker_responses.clear();
    for (auto& b : s_.brokers) {
      b.process_roles = process_roles;
      s_.broker_responses.push_back(probes::BrokerResponse{b.id, true, std::chrono::microseconds(100), ""});
    }
  }
  probes::ClusterSnapshot s_;
};

}  // namespace isrguard::testing
