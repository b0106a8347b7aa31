#pragma once

// Internal to probes/ (includes librdkafka): an all-topics Metadata answer (rd_kafka_metadata_t) into the
// snapshot's brokers and topics. The topics may be converted on two threads (TopicConversion).

#include <librdkafka/rdkafka.h>

#include <cstddef>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "probes/snapshot.h"
#include "probes/split.h"

namespace isrguard::probes {

// The brokers of `md` sorted by id, rack and process.roles not read (the per-broker check reads them).
std::vector<Broker> convert_brokers(const rd_kafka_metadata_t& md);

// The topic names of `md`, in the answer's order.
std::vector<std::string> topic_names(const rd_kafka_metadata_t& md);

// Converts the topics of a metadata answer into `out` (one slot per topic, filled in any order): started at
// construction, on a helper thread too when the answer is large (probes/split.h), so the conversion runs
// while the calling thread sends the DescribeConfigs requests; finish() joins in. `md` and `out` must
// outlive the conversion.
class TopicConversion {
 public:
  TopicConversion(const rd_kafka_metadata_t& md, std::vector<TopicInfo>& out, std::size_t split_from);

  // True when the answer is large enough for two threads.
  bool large() const { return large_; }

  // Converts what is left, then sorts the topics by name. "" or why (the first unstorable topic in the
  // answer's order) they cannot be stored.
  std::string finish();

 private:
  static constexpr std::size_t kChunk = 32;  // topics claimed at a time

  static bool is_large(const rd_kafka_metadata_t& md, std::size_t split_from);
  void convert(std::size_t i);

  const rd_kafka_metadata_t& md_;
  std::vector<TopicInfo>& out_;
  std::mutex mu_;
  std::size_t why_at_ = std::numeric_limits<std::size_t>::max();
  std::string why_;
  const bool large_;
  SharedLoop loop_;  // last: starts converting once the rest is set up
};

}  // namespace isrguard::probes
