#pragma once

// The facts isrguard knows about a Kafka cluster at one instant. Produced by a MetadataSource (probe
// thread), consumed by the verdict (service/). Plain value types: copyable, compared whole in tests.

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace isrguard::probes {

using BrokerId = std::int32_t;
inline constexpr BrokerId kNoLeader = -1;

struct Broker {
  BrokerId id = 0;
  std::string host;
  std::int32_t port = 0;
  // `broker.rack` as the broker itself reports it (librdkafka 2.0.2's metadata does not expose the rack, so
  // the adapter reads it with the per-broker check below); nullopt = unset or not read.
  std::optional<std::string> rack;
  // `process.roles` from the same answer ("broker", "broker,controller"): nullopt = not KRaft (ZooKeeper
  // mode has no such config) or not read.
  std::optional<std::string> process_roles;

  bool operator==(const Broker&) const = default;
};

// One broker's answer to the per-broker check: a DescribeConfigs for its own BROKER resource, which
// librdkafka sends to that broker (not to whichever broker it picks), bounded by what is left of the probe
// budget. A hung broker that is still listed in metadata (a "gray failure") shows here and nowhere else.
struct BrokerResponse {
  BrokerId id = 0;
  // True when the broker answered in time. An answer carrying an error (e.g. not authorised to describe
  // broker configs) still counts: the broker is alive and serving requests.
  bool answered = false;
  // Answered: the round trip (connection set-up included when librdkafka had to reconnect).
  // Not answered: how long the probe waited before giving up.
  std::chrono::microseconds latency{0};
  std::string error;  // empty when the answer carried no error; else why ("timed out", an error name, ...)

  bool operator==(const BrokerResponse&) const = default;
};

// Kafka error code as the broker returned it (0 = none) and librdkafka's name for it.
struct KafkaError {
  std::int32_t code = 0;
  std::string name;

  bool ok() const { return code == 0; }
  bool operator==(const KafkaError&) const = default;
};

struct PartitionInfo {
  std::int32_t id = 0;
  BrokerId leader = kNoLeader;
  std::vector<BrokerId> replicas;  // as reported (assignment order; first is the preferred leader)
  std::vector<BrokerId> isr;       // as reported; may contain ids outside `replicas` during reassignment
  KafkaError error;

  bool operator==(const PartitionInfo&) const = default;
};

struct TopicInfo {
  std::string name;
  std::vector<PartitionInfo> partitions;
  KafkaError error;  // topic-level error from metadata
  // min.insync.replicas as read through DescribeConfigs; nullopt when it could not be read (the service
  // then falls back to its configured default and reports the topic).
  std::optional<std::int32_t> min_insync_replicas;

  bool operator==(const TopicInfo&) const = default;
};

struct ClusterSnapshot {
  std::vector<Broker> brokers;  // brokers present in metadata, sorted by id
  std::vector<TopicInfo> topics;  // sorted by name; internal topics included
  BrokerId controller_id = -1;    // -1 when unknown; in KRaft a random live broker
  std::string cluster_id;
  std::chrono::system_clock::time_point taken_at{};  // wall clock when the metadata request started
  std::chrono::microseconds duration{0};             // how long the whole probe took
  // Topics whose min.insync.replicas could not be read, with why (empty when all were read).
  std::vector<std::string> config_errors;
  // The per-broker check, one entry per broker in `brokers` (same order); empty when the source does not
  // check brokers (test fakes).
  std::vector<BrokerResponse> broker_responses;

  bool operator==(const ClusterSnapshot&) const = default;
};

// Why a probe produced no snapshot. `kind` is a stable snake_case code used in metrics labels:
// "timeout", "transport" (all brokers down / connection refused), "metadata" (other metadata error),
// "client" (client construction / configuration), "auth" (SASL authentication rejected: wrong credentials,
// unknown user, mechanism not enabled), "tls" (TLS handshake or broker certificate verification failed).
struct ProbeError {
  std::string kind;
  std::string message;

  bool operator==(const ProbeError&) const = default;
};

// Exactly one of snapshot / error is set.
struct ProbeResult {
  std::optional<ClusterSnapshot> snapshot;
  std::optional<ProbeError> error;
  std::chrono::microseconds duration{0};

  bool ok() const { return snapshot.has_value(); }
  bool operator==(const ProbeResult&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Broker& b);
std::ostream& operator<<(std::ostream& os, const BrokerResponse& r);
std::ostream& operator<<(std::ostream& os, const KafkaError& e);
std::ostream& operator<<(std::ostream& os, const PartitionInfo& p);
std::ostream& operator<<(std::ostream& os, const TopicInfo& t);
std::ostream& operator<<(std::ostream& os, const ClusterSnapshot& s);
std::ostream& operator<<(std::ostream& os, const ProbeError& e);
std::ostream& operator<<(std::ostream& os, const ProbeResult& r);

}  // namespace isrguard::probes
