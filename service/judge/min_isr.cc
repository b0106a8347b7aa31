#include "service/judge/min_isr.h"

#include <algorithm>
#include <cctype>

namespace isrguard::service {
namespace {

// Leading decimal digits of `s` from `i` (at most 4), advancing `i`; nullopt when there are none.
std::optional<std::int32_t> number_at(std::string_view s, std::size_t& i) {
  std::int32_t n = 0;
  std::size_t digits = 0;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && digits < 4; ++i, ++digits)
    n = n * 10 + (s[i] - '0');
  if (digits == 0) return std::nullopt;
  return n;
}

std::string version_text(std::int32_t v) { return std::to_string(v / 100) + "." + std::to_string(v % 100); }

}  // namespace

std::optional<std::int32_t> parse_kafka_version(std::string_view text) {
  std::size_t i = 0;
  const auto major = number_at(text, i);
  if (!major || i >= text.size() || text[i] != '.') return std::nullopt;
  ++i;
  const auto minor = number_at(text, i);
  if (!minor || *major > 99 || *minor > 99) return std::nullopt;
  if (i < text.size() && text[i] != '.' && text[i] != '-') return std::nullopt;
  return *major * 100 + *minor;
}

KafkaVersionBand kafka_version_band(const probes::ClusterSnapshot& snapshot) {
  KafkaVersionBand band;
  if (snapshot.brokers.empty()) return band;
  std::int32_t lowest = 9999, highest = 0;
  for (const auto& b : snapshot.brokers) {
    const auto v = b.inter_broker_protocol_version ? parse_kafka_version(*b.inter_broker_protocol_version)
                                                   : std::nullopt;
    if (!v) return band;
    lowest = std::min(lowest, *v);
    highest = std::max(highest, *v);
  }
  band.lowest = lowest;
  band.highest = highest;
  return band;
}

std::string KafkaVersionBand::text() const {
  if (!lowest || !highest) return "unknown";
  if (*lowest == *highest) return version_text(*lowest);
  return version_text(*lowest) + "-" + version_text(*highest);
}

std::string_view KafkaVersionBand::rule() const {
  return caps_min_isr_at_replicas() ? "min_of_min_insync_replicas_and_replicas" : "min_insync_replicas";
}

std::optional<std::int32_t> broker_min_isr_default(const probes::ClusterSnapshot& snapshot) {
  std::optional<std::int32_t> out;
  for (const auto& b : snapshot.brokers)
    if (b.min_insync_replicas) out = std::max(out.value_or(0), *b.min_insync_replicas);
  return out;
}

TopicMinIsr topic_min_isr(const probes::TopicInfo& topic, std::optional<std::int32_t> broker_default,
                          std::int32_t flag_default) {
  if (topic.min_insync_replicas) return {*topic.min_insync_replicas, min_isr_source::kTopic};
  if (broker_default) return {*broker_default, min_isr_source::kBrokerDefault};
  return {flag_default, min_isr_source::kFlagDefault};
}

std::ostream& operator<<(std::ostream& os, const KafkaVersionBand& b) {
  return os << "KafkaVersionBand{" << b.text() << ' ' << b.rule() << '}';
}

}  // namespace isrguard::service
