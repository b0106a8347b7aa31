#include "probes/metadata_conversion.h"

#include <algorithm>
#include <span>
#include <utility>

namespace isrguard::probes {
namespace {

// One topic's partitions into its table: one pass to size the table exactly, one to fill it (no copy
// per partition). "" or why the topic cannot be stored: a list longer than the table allows (librdkafka
// itself refuses lists longer than its RD_KAFKAP_BROKERS_MAX; this guards the table, whatever it accepts).
std::string convert_partitions(const rd_kafka_metadata_topic_t& t, PartitionTable& out) {
  auto replicas = [](const rd_kafka_metadata_partition_t& p) {
    return std::span<const BrokerId>(p.replicas, static_cast<std::size_t>(std::max(p.replica_cnt, 0)));
  };
  auto isr = [](const rd_kafka_metadata_partition_t& p) {
    return std::span<const BrokerId>(p.isrs, static_cast<std::size_t>(std::max(p.isr_cnt, 0)));
  };
  std::size_t ids = 0;
  bool sorted = true;
  for (int j = 0; j < t.partition_cnt; ++j) {
    const auto& p = t.partitions[j];
    if (replicas(p).size() > PartitionTable::kMaxListLength || isr(p).size() > PartitionTable::kMaxListLength)
      return "topic " + std::string(t.topic ? t.topic : "") + " partition " + std::to_string(p.id) +
             " lists " + std::to_string(p.replica_cnt) + " replicas and " + std::to_string(p.isr_cnt) +
             " ISR ids (at most " + std::to_string(PartitionTable::kMaxListLength) + " are supported)";
    ids += PartitionTable::ids_needed(replicas(p), isr(p));
    sorted = sorted && (j == 0 || t.partitions[j - 1].id < p.id);
  }
  out.reserve(static_cast<std::size_t>(std::max(t.partition_cnt, 0)), ids);
  for (int j = 0; j < t.partition_cnt; ++j) {
    const auto& p = t.partitions[j];
    out.push_back(PartitionView{p.id, p.leader, replicas(p), isr(p), KafkaError{p.err}});
  }
  if (!sorted) out.sort_by_id();
  return "";
}

}  // namespace

std::vector<Broker> convert_brokers(const rd_kafka_metadata_t& md) {
  std::vector<Broker> out;
  out.reserve(static_cast<std::size_t>(std::max(md.broker_cnt, 0)));
  for (int i = 0; i < md.broker_cnt; ++i) {
    const auto& b = md.brokers[i];
    out.push_back(Broker{b.id, b.host ? b.host : "", b.port, std::nullopt, std::nullopt, std::nullopt, std::nullopt});
  }
  std::sort(out.begin(), out.end(), [](const Broker& a, const Broker& b) { return a.id < b.id; });
  return out;
}

std::vector<std::string> topic_names(const rd_kafka_metadata_t& md) {
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(std::max(md.topic_cnt, 0)));
  for (int i = 0; i < md.topic_cnt; ++i) names.emplace_back(md.topics[i].topic ? md.topics[i].topic : "");
  return names;
}

TopicConversion::TopicConversion(const rd_kafka_metadata_t& md, std::vector<TopicInfo>& out,
                                 std::size_t split_from)
    : md_(md),
      out_(out),
      large_(is_large(md, split_from)),
      loop_(static_cast<std::size_t>(std::max(md.topic_cnt, 0)), kChunk, [this](std::size_t i) { convert(i); },
            large_,
            // Sizing the slots faults in fresh memory for every topic: on the helper, when there is one.
            [this, n = static_cast<std::size_t>(std::max(md.topic_cnt, 0))] { out_.assign(n, TopicInfo{}); }) {}

std::string TopicConversion::finish() {
  loop_.finish();
  if (!why_.empty()) return why_;
  auto by_name = [](const TopicInfo& a, const TopicInfo& b) { return a.name < b.name; };
  if (!std::is_sorted(out_.begin(), out_.end(), by_name)) std::sort(out_.begin(), out_.end(), by_name);
  return "";
}

bool TopicConversion::is_large(const rd_kafka_metadata_t& md, std::size_t split_from) {
  std::size_t partitions = 0;
  if (split_from == kNeverSplit) return false;
  for (int i = 0; i < md.topic_cnt && partitions < split_from; ++i)
    partitions += static_cast<std::size_t>(std::max(md.topics[i].partition_cnt, 0));
  return partitions >= split_from;
}

void TopicConversion::convert(std::size_t i) {
  const auto& t = md_.topics[i];
  TopicInfo& topic = out_[i];
  topic.name = t.topic ? t.topic : "";
  topic.error = KafkaError{t.err};
  if (std::string why = convert_partitions(t, topic.partitions); !why.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (i < why_at_) {
      why_at_ = i;
      why_ = std::move(why);
    }
  }
}

}  // namespace isrguard::probes
