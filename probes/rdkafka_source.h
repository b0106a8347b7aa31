#pragma once

// The librdkafka adapter: MetadataSource over a real Kafka cluster (or librdkafka's built-in mock cluster for
// the demo). Its files, with rdkafka_mock_cluster.cc, are the only code that includes librdkafka (kept out of
// this header behind a pimpl): rdkafka_source.cc (the client and the steps of a probe) and the internal
// headers it uses, rdkafka_log.h (librdkafka's callbacks to spdlog), client_config.h (the client
// configuration), metadata_conversion.h (the Metadata answer into the snapshot) and describe_configs.h (the
// DescribeConfigs exchange), with rdkafka_common.h for what they share.
//
// One probe = all-topics Metadata + controller id + cluster id, then, sharing what is left of
// `probe_timeout`: (when due) one batched DescribeConfigs for min.insync.replicas and the per-broker check —
// one DescribeConfigs per broker for its own BROKER resource, which librdkafka sends to that broker
// (`broker.rack`, `process.roles`; see ClusterSnapshot::broker_responses). No call gets more than the
// remaining budget; each per-broker check is given up at broker_slow_after. A Metadata answer that is not in
// within 50 ms has the per-broker checks of the previous snapshot's brokers sent beside it, so their bound
// runs while Metadata is awaited; brokers new in the answer are checked once it is in. When the broker
// librdkafka picked for Metadata does not answer within half the budget or broker_slow_after, whichever is
// less, Metadata is asked again of other brokers within what is left, up to 3/4 of it; the silent broker
// stays in the snapshot and its unanswered per-broker check, sent beside Metadata, names it at
// about the same time (the split is documented at RdKafkaSource::Impl::fetch_metadata,
// probes/rdkafka_source.cc).
//
// Threads: probe() is called from one thread only (the probe loop). librdkafka's own threads only call the
// log / error callbacks, which log to spdlog (stderr) and are internally synchronised, and report broker
// state changes to the connection watch, whose own thread calls the connection-loss listener.

#include <chrono>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "probes/metadata_source.h"
#include "probes/min_isr_cache.h"
#include "probes/split.h"

namespace isrguard::probes {

struct RdKafkaSourceConfig {
  // librdkafka client properties (bootstrap.servers, security.protocol, ssl.*, sasl.*, ...), passed to
  // rd_kafka_conf_set unchanged. The adapter adds its own defaults for keys not given here:
  //   client.id=isrguard, socket.timeout.ms=probe_timeout (also lowered to it when set higher: a hung broker
  //   otherwise stalls metadata calls for 60 s), socket.connection.setup.timeout.ms=max(1000, probe_timeout)
  //   (likewise capped), reconnect.backoff.ms=100, reconnect.backoff.max.ms=1000 (quick recovery once brokers
  //   return), topic.metadata.refresh.interval.ms=60000, debug=broker added to the user's debug contexts
  //   (broker state changes for the connection watch; logged only at --log-level debug). log.connection.close keeps librdkafka's default
  //   (true: it already silences idle disconnects), because a listener that drops the connection is how a
  //   security.protocol mismatch shows, and that error feeds the probe's message and hint.
  std::map<std::string, std::string> properties;
  std::chrono::milliseconds probe_timeout{std::chrono::seconds(10)};
  // A per-broker check unanswered this long after it was sent (or, on the connection that carried the
  // probe's Metadata, after that answer) is unresponsive at that moment: the probe stops waiting for it
  // (--broker-slow-after).
  std::chrono::milliseconds broker_slow_after{std::chrono::seconds(2)};
  // min.insync.replicas schedule (see MinIsrCache): full refresh period, retry spacing after a failed read,
  // and how long a previously read value survives failed refreshes.
  std::chrono::milliseconds min_isr_refresh{std::chrono::minutes(5)};
  std::chrono::milliseconds min_isr_retry{std::chrono::seconds(30)};
  std::chrono::milliseconds min_isr_max_age{std::chrono::minutes(15)};
  // > 0: ignore bootstrap.servers and run against librdkafka's built-in mock cluster with this many brokers
  // (test.mock.num.brokers), pre-populated with demo_mock_topics(). Demo and tests only.
  int mock_brokers = 0;
  // Answers of this many partitions or more are converted on two threads (probes/split.h). Tests only.
  std::size_t split_from_partitions = default_split_from();

  bool operator==(const RdKafkaSourceConfig&) const = default;
};

// Topics created in the mock cluster when mock_brokers > 0.
struct MockTopicSpec {
  std::string name;
  int partitions = 1;

  bool operator==(const MockTopicSpec&) const = default;
};
std::vector<MockTopicSpec> demo_mock_topics();

// True for client property keys whose values are secrets (never logged, never put in messages), and for any
// text that contains such a key (a malformed entry that holds a secret after some separator).
bool is_secret_property(const std::string& key);
// True when librdkafka knows `key` as a client property (global or default-topic), aliases included.
bool is_client_property(const std::string& key);

class RdKafkaSource final : public MetadataSource {
 public:
  // Validates `config` and creates the client. Throws std::invalid_argument (start-up only) listing every
  // invalid property key (secret values never appear) and invalid timeout/broker-count settings.
  // If librdkafka refuses to create the handle (e.g. an ssl.ca.location file not mounted yet), construction
  // succeeds, the failure is logged, and each probe() retries creation and returns kind "client" until it
  // works.
  explicit RdKafkaSource(RdKafkaSourceConfig config);
  ~RdKafkaSource() override;  // bounded: destroys the producer handle without consumer close / flush

  RdKafkaSource(const RdKafkaSource&) = delete;
  RdKafkaSource& operator=(const RdKafkaSource&) = delete;

  ProbeResult probe() override;
  // Each loss of an established connection to a known broker, on the connection watch's thread
  // (probes/connection_watch.h): librdkafka's state change, then a reconnect check of at most 500 ms.
  void on_connection_loss(ConnectionListener listener) override;

  // Bootstrap servers as shown in messages (the mock cluster's addresses in mock mode).
  std::string bootstrap_servers() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Secret property values print as <redacted>.
std::ostream& operator<<(std::ostream& os, const RdKafkaSourceConfig& c);
std::ostream& operator<<(std::ostream& os, const MockTopicSpec& t);

}  // namespace isrguard::probes
