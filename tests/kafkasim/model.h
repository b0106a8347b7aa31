#pragma once

// Value types describing a simulated Kafka cluster: what kafkasim answers in Metadata and DescribeConfigs.
// Plain data; Cluster (cluster.h) owns the live copy and guards it with a mutex.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace isrguard::kafkasim {

struct BrokerSpec {
  int32_t id = 0;
  // Advertised host. Listeners always bind 127.0.0.1; keep this 127.0.0.1 so clients can connect.
  std::string host = "127.0.0.1";
  // 0 = pick an ephemeral port at start(); afterwards holds the bound port (kept across down/up).
  int32_t port = 0;
  // Served in Metadata v1+ and as `broker.rack` in DescribeConfigs for the broker's own BROKER resource.
  std::optional<std::string> rack;
  // `process.roles` in DescribeConfigs for the broker's own BROKER resource (KRaft: "broker",
  // "broker,controller"); unset = a ZooKeeper-mode broker, which has no such config.
  std::optional<std::string> process_roles;
  // This broker's own static configs (server.properties), served for its own BROKER resource over the
  // cluster's broker_defaults with source STATIC_BROKER_CONFIG: e.g. "inter.broker.protocol.version" ->
  // "3.6-IV2" for a broker of an older version band, or one broker mid-way through an upgrade.
  std::map<std::string, std::string> configs;
  bool operator==(const BrokerSpec&) const = default;
};

struct PartitionSpec {
  int32_t partition = 0;
  int32_t leader = -1;  // -1: no leader (offline)
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  // Extra offline replicas reported in Metadata v5+ (replicas on down brokers are added automatically).
  std::vector<int32_t> offline_replicas;
  int16_t error_code = 0;  // partition-level error in Metadata (5 = LEADER_NOT_AVAILABLE, ...)
  int32_t leader_epoch = 0;
  bool operator==(const PartitionSpec&) const = default;
};

struct TopicSpec {
  std::string name;
  bool internal = false;
  int16_t error_code = 0;  // topic-level error in Metadata
  std::vector<PartitionSpec> partitions;
  // Topic-level config overrides (e.g. "min.insync.replicas" -> "2"); others come from broker defaults.
  std::map<std::string, std::string> configs;
  // Non-zero: DescribeConfigs for this topic's resource answers this error code and no configs, as a broker
  // does for a principal without the DescribeConfigs ACL on the topic (29 TOPIC_AUTHORIZATION_FAILED).
  // Metadata is unaffected (Describe and DescribeConfigs are separate ACL operations).
  int16_t describe_configs_error = 0;
  bool operator==(const TopicSpec&) const = default;
};

struct ClusterSpec {
  std::string cluster_id = "kafkasim-cluster";
  int32_t controller_id = -1;  // -1 at construction: the first broker becomes the controller
  std::vector<BrokerSpec> brokers;
  std::vector<TopicSpec> topics;
  // Broker-level defaults served for broker resources and inherited by topics.
  std::map<std::string, std::string> broker_defaults = {{"min.insync.replicas", "1"}};
  bool operator==(const ClusterSpec&) const = default;
};

enum class BrokerStatus {
  kUp,    // listening and answering
  kDown,  // listener closed (connection refused), connections closed, absent from Metadata
  kHung,  // accepts and reads requests but never answers; still listed in Metadata
  // A process killed (SIGKILL): listener closed (connection refused), open connections reset, still listed
  // in Metadata and partitions unchanged, as Kafka shows a dead broker until its session times out.
  kKilled,
  // A network partition of the broker: open connections black-holed (nothing read, nothing answered, no
  // FIN or RST), new connections never served; still listed in Metadata.
  kPartitioned,
};
const char* to_string(BrokerStatus s);

// Live view of one broker (for /state and tests).
struct BrokerView {
  BrokerSpec spec;
  BrokerStatus status = BrokerStatus::kUp;
  std::chrono::milliseconds latency{0};
  bool operator==(const BrokerView&) const = default;
};

// An error injected into the next `remaining` requests of `api_key` (answered by `broker`, -1 = any).
// ApiVersions: top-level error_code. Metadata: every topic in the response carries the error and no
// partitions. DescribeConfigs: every resource carries the error and no configs.
struct InjectedError {
  int16_t api_key = 0;
  int16_t error_code = 0;
  int32_t remaining = 1;
  int32_t broker = -1;
  bool operator==(const InjectedError&) const = default;
};

// Builders (designated initializers that skip fields trip -Wmissing-field-initializers under -Werror).
BrokerSpec make_broker(int32_t id, std::optional<std::string> rack = std::nullopt);
PartitionSpec make_partition(int32_t partition, int32_t leader, std::vector<int32_t> replicas,
                             std::vector<int32_t> isr, int16_t error_code = 0);
TopicSpec make_topic(std::string name, std::vector<PartitionSpec> partitions,
                     std::map<std::string, std::string> configs = {});
// Brokers with these ids (no racks), controller = first id.
ClusterSpec make_cluster(const std::vector<int32_t>& broker_ids);

// Builds `partitions` partitions with replication factor `rf` spread round-robin over `brokers`
// (in list order); ISR = replicas, leader = first replica.
std::vector<PartitionSpec> round_robin_partitions(int32_t partitions, int32_t rf,
                                                  const std::vector<int32_t>& brokers);

// Printers (gtest uses them to show mismatches).
std::ostream& operator<<(std::ostream& os, const BrokerSpec& b);
std::ostream& operator<<(std::ostream& os, const PartitionSpec& p);
std::ostream& operator<<(std::ostream& os, const TopicSpec& t);
std::ostream& operator<<(std::ostream& os, const ClusterSpec& c);
inline void PrintTo(const BrokerSpec& v, std::ostream* os) { *os << v; }
inline void PrintTo(const PartitionSpec& v, std::ostream* os) { *os << v; }
inline void PrintTo(const TopicSpec& v, std::ostream* os) { *os << v; }
inline void PrintTo(const ClusterSpec& v, std::ostream* os) { *os << v; }

}  // namespace isrguard::kafkasim
