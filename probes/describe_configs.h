#pragma once

// Internal to probes/ (includes librdkafka): the DescribeConfigs exchange of one probe. Two kinds of request
// are sent together and share what is left of the probe budget: topic min.insync.replicas (in batches, for
// the topics MinIsrCache says are due) and the per-broker check (one request per broker for its own BROKER
// resource: broker.rack, process.roles; see ClusterSnapshot::broker_responses). The answers are read into
// the snapshot.

#include <librdkafka/rdkafka.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "probes/min_isr_cache.h"
#include "probes/rdkafka_common.h"
#include "probes/snapshot.h"

namespace isrguard::probes {

// When the exchange stops waiting: at `deadline` (the probe's), or once every per-broker check has an
// answer or a bound (answered, `broker_slow_after` passed since it was sent, or the broker's connection known
// lost and refused since it was sent: `refused_since`, a refused connection is an answer) and either every topic batch is answered or a broker
// is already known unresponsive (a gating fact is not held back for min.insync.replicas, whose previous
// values survive an unanswered read: MinIsrCache).
struct ReadBounds {
  Clock::time_point deadline;
  std::chrono::milliseconds broker_slow_after{std::chrono::seconds(2)};
  std::function<bool(BrokerId, Clock::time_point)> refused_since;  // may be empty
};

// Keeps what the exchange needs from one probe to the next: the min.insync.replicas cache and the last
// reason it could not be read (logged on change only). One probe at a time.
class ConfigReader {
 public:
  explicit ConfigReader(const MinIsrCacheOptions& options) : min_isr_(options) {}

  // Sends this probe's DescribeConfigs on `rk` (the topic requests only when min.insync.replicas is due for
  // some of `topic_names`), runs `meanwhile` (the topic conversion), then collects the answers within
  // `bounds`. Needs snap.brokers and snap.controller_id; fills snap.broker_responses (one per broker, in
  // the order of snap.brokers) with each broker's rack and process.roles, then, once `meanwhile` has filled
  // snap.topics, their min_insync_replicas (or a line in snap.config_errors saying why it is unknown).
  void read(rd_kafka_t* rk, ClusterSnapshot& snap, const std::vector<std::string>& topic_names,
            const ReadBounds& bounds, const std::function<void()>& meanwhile);

 private:
  // One log line when the reason min.insync.replicas cannot be read changes, not one per probe.
  void log_config_problem(const std::map<std::string, MinIsrOutcome>& outcomes);

  MinIsrCache min_isr_;
  std::string last_config_problem_;  // logged once per distinct message
};

}  // namespace isrguard::probes
