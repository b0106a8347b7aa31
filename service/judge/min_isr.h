#pragma once

// Which min ISR a partition must keep for acks=all writes: where each topic's min.insync.replicas comes from
// (its own config, the brokers' default, or the --default-min-isr flag) and which Kafka rule applies to a
// partition with fewer replicas than that, by the version band the brokers run. Pure functions over the
// snapshot. Rules and the versions that change them: docs/disruption.md ("Min ISR: source and version").

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "probes/snapshot.h"

namespace isrguard::service {

// Where a topic's min.insync.replicas value came from (stable codes, used verbatim in JSON and metrics).
namespace min_isr_source {
inline constexpr std::string_view kTopic = "topic";                  // the topic's own DescribeConfigs answer
inline constexpr std::string_view kBrokerDefault = "broker_default";  // not read; the brokers' own default
inline constexpr std::string_view kFlagDefault = "flag_default";      // not read; --default-min-isr
}  // namespace min_isr_source

// The Kafka versions the brokers in metadata run, as major * 100 + minor (3.7 -> 307), from each broker's
// inter.broker.protocol.version (a lower bound of the version it runs). Unknown when any present broker did
// not report one (not answered, not authorised, Kafka 4.0+ which dropped the config, librdkafka's mock).
struct KafkaVersionBand {
  std::optional<std::int32_t> lowest;   // nullopt: unknown
  std::optional<std::int32_t> highest;  // nullopt: unknown

  static constexpr std::int32_t kEffectiveMinIsrSince = 307;  // Kafka 3.7
  // Kafka 3.7+ caps min ISR at a partition's replica count (effectiveMinIsr); before, a partition with fewer
  // replicas than min.insync.replicas rejects acks=all writes. Unknown -> the stricter, pre-3.7 rule.
  bool caps_min_isr_at_replicas() const { return lowest && *lowest >= kEffectiveMinIsrSince; }
  // "3.6".."3.7" as text: "3.6-3.7", "3.7", or "unknown".
  std::string text() const;
  // The rule in force (stable codes): "min_insync_replicas" (pre-3.7 or unknown) or
  // "min_of_min_insync_replicas_and_replicas" (3.7+).
  std::string_view rule() const;
  bool operator==(const KafkaVersionBand&) const = default;
};

// "3.7-IV4", "3.7", "2.8-IV1", "0.10.2-IV0" -> 307, 307, 208, 10; nullopt when it is not a version.
std::optional<std::int32_t> parse_kafka_version(std::string_view text);

KafkaVersionBand kafka_version_band(const probes::ClusterSnapshot& snapshot);

// The brokers' own min.insync.replicas default: the highest any broker in metadata reported (the stricter);
// nullopt when none did.
std::optional<std::int32_t> broker_min_isr_default(const probes::ClusterSnapshot& snapshot);

struct TopicMinIsr {
  std::int32_t value = 0;
  std::string_view source;  // min_isr_source code
  bool operator==(const TopicMinIsr&) const = default;
};
// min.insync.replicas of `topic`: its own, else the brokers' default, else `flag_default`.
TopicMinIsr topic_min_isr(const probes::TopicInfo& topic, std::optional<std::int32_t> broker_default,
                          std::int32_t flag_default);

// The min ISR a partition with `replicas` replicas must keep in sync for acks=all under `band`'s rule.
inline std::int32_t effective_min_isr(std::int32_t min_insync_replicas, std::int32_t replicas,
                                      const KafkaVersionBand& band) {
  if (!band.caps_min_isr_at_replicas()) return min_insync_replicas;
  return min_insync_replicas < replicas ? min_insync_replicas : replicas;
}

std::ostream& operator<<(std::ostream& os, const KafkaVersionBand& b);

}  // namespace isrguard::service
