#pragma once

// Internal to probes/ (includes librdkafka): the DescribeConfigs exchange of one probe. Two kinds of request
// share what is left of the probe budget: topic min.insync.replicas (in batches, for the topics MinIsrCache
// says are due, sent once Metadata has named the controller) and the per-broker check (one request per broker
// for its own BROKER resource: broker.rack, process.roles; see ClusterSnapshot::broker_responses). When
// Metadata is slow to answer, the checks go out beside it, to the brokers of the previous snapshot
// (start_checks), so a broker that does not answer is judged broker_slow_after after that whichever broker
// Metadata went to; a broker Metadata names that was not asked yet is asked once Metadata has answered
// (read), and so is every broker when Metadata answered quickly. The answers are read into the snapshot.

#include <librdkafka/rdkafka.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "probes/min_isr_cache.h"
#include "probes/rdkafka_common.h"
#include "probes/snapshot.h"

namespace isrguard::probes {

// When the exchange stops waiting: at `deadline` (the probe's), or once every per-broker check has an
// answer or a bound (answered, `broker_slow_after` passed since it was sent, or the broker's connection known
// lost and refused since it was sent: `refused_since`, a refused connection is an answer) and either every
// topic batch is answered or a broker is already known unresponsive (a gating fact is not held back for
// min.insync.replicas, whose previous values survive an unanswered read: MinIsrCache). A broker answers the
// requests of one connection in order: the check of the broker whose connection carried this probe's Metadata
// (`metadata_broker`, -1 when none of the probe client's did) cannot be answered before that answer, which
// takes long at a large cluster. Its bound counts from `metadata_answered_at` (check_latency), so a healthy
// broker serving a large Metadata answer is not unresponsive.
struct ReadBounds {
  Clock::time_point deadline;
  std::chrono::milliseconds broker_slow_after{std::chrono::seconds(2)};
  std::function<bool(BrokerId, Clock::time_point)> refused_since;  // may be empty
  BrokerId metadata_broker = -1;
  Clock::time_point metadata_answered_at;
};

// The time a per-broker check of broker `id`, sent at `sent_at`, has taken against its bound at `until` (its
// answer, or the end of the wait): from `sent_at`, or from `metadata_answered_at` for the check of
// `metadata_broker` sent before that answer (never below zero: that check is answered after the Metadata
// answer on the same connection, whatever order the two threads noted them in).
std::chrono::microseconds check_latency(BrokerId id, Clock::time_point sent_at, Clock::time_point until,
                                        const ReadBounds& bounds);

// Keeps what the exchange needs from one probe to the next: the min.insync.replicas cache and the last
// reason it could not be read (logged on change only). One probe at a time, on one thread: start_checks
// (optional), serve (while Metadata is awaited), then read; or start_checks then abandon.
class ConfigReader {
 public:
  explicit ConfigReader(const MinIsrCacheOptions& options);
  ~ConfigReader();
  ConfigReader(const ConfigReader&) = delete;
  ConfigReader& operator=(const ConfigReader&) = delete;

  // While Metadata is awaited: sends the per-broker check of each of `brokers` (the previous snapshot's) on
  // `rk`, bounded by `deadline` (the probe's). Their answers are taken by serve() while Metadata is still
  // awaited, so each answer's latency is its own round trip.
  void start_checks(rd_kafka_t* rk, const std::vector<BrokerId>& brokers, Clock::time_point deadline);
  // While Metadata is awaited: takes the answers that arrive within `wait` (returns sooner when there are no
  // requests out). Nothing to do without start_checks.
  void serve(std::chrono::milliseconds wait);
  // The probe ends without a snapshot: the checks sent are not waited for.
  void abandon();

  // Sends the rest of this probe's DescribeConfigs on `rk`: the check of each broker of snap.brokers not
  // asked by start_checks, and the topic requests when min.insync.replicas is due for some of
  // `topic_names`; runs `meanwhile` (the topic conversion), then collects the answers within `bounds`.
  // Needs snap.brokers and snap.controller_id; fills snap.broker_responses (one per broker, in the order of
  // snap.brokers: a broker asked at the start but gone from metadata has none, as it has no check) with each
  // broker's rack and process.roles, then, once `meanwhile` has filled snap.topics, their
  // min_insync_replicas (or a line in snap.config_errors saying why it is unknown).
  void read(rd_kafka_t* rk, ClusterSnapshot& snap, const std::vector<std::string>& topic_names,
            const ReadBounds& bounds, const std::function<void()>& meanwhile);

 private:
  struct Round;  // one probe's requests (describe_configs.cc)

  // One log line when the reason min.insync.replicas cannot be read changes, not one per probe.
  void log_config_problem(const std::map<std::string, MinIsrOutcome>& outcomes);

  MinIsrCache min_isr_;
  std::string last_config_problem_;  // logged once per distinct message
  std::unique_ptr<Round> round_;     // between start_checks and read / abandon
};

}  // namespace isrguard::probes
