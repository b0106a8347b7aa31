#pragma once

// Per-topic min.insync.replicas as last read through DescribeConfigs, and the schedule of which topics to
// ask next. Pure: no Kafka, no clock — callers pass `now` (steady clock). Owned and used by one thread
// (the probe thread of RdKafkaSource); not thread-safe.
//
// Schedule (one batched DescribeConfigs request per probe at most):
//   - a topic never asked before is asked on the next probe (new topics appear immediately);
//   - every `refresh_period` all present topics are asked again (configs change rarely);
//   - a topic whose last read failed is asked again, but not sooner than `retry_after` after the failure
//     (a broker that cannot answer is not hammered on every probe);
//   - topics that disappear from metadata are dropped.
// A failed refresh of a topic that was read before keeps the previous value while it is younger than
// `max_age` (a transient DescribeConfigs timeout must not flip readiness every refresh period); after that
// the value is unknown and reported as such.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace isrguard::probes {

struct MinIsrCacheOptions {
  std::chrono::milliseconds refresh_period{std::chrono::minutes(5)};
  std::chrono::milliseconds retry_after{std::chrono::seconds(30)};
  std::chrono::milliseconds max_age{std::chrono::minutes(15)};

  bool operator==(const MinIsrCacheOptions&) const = default;
};

// What to ask in the next DescribeConfigs batch. `full_refresh` is true when this batch is the periodic
// re-read of every topic (it then contains all present topics).
struct MinIsrAsk {
  std::vector<std::string> topics;  // sorted by name
  bool full_refresh = false;

  bool empty() const { return topics.empty(); }
  bool operator==(const MinIsrAsk&) const = default;
};

// Outcome of reading one topic: exactly one of `value` / non-empty `error`.
struct MinIsrOutcome {
  std::optional<std::int32_t> value;
  std::string error;  // human-readable why, e.g. "TOPIC_AUTHORIZATION_FAILED: ..."

  static MinIsrOutcome read(std::int32_t v) { return {v, {}}; }
  static MinIsrOutcome failed(std::string why) { return {std::nullopt, std::move(why)}; }
  bool operator==(const MinIsrOutcome&) const = default;
};

class MinIsrCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit MinIsrCache(MinIsrCacheOptions options = {});

  // Drops topics not in `present` and returns the topics to ask now (see schedule above).
  MinIsrAsk plan(const std::vector<std::string>& present, Clock::time_point now);

  // Records the outcome of the batch `ask` sent at `now`. Topics of `ask` missing from `outcomes` count as
  // failed ("no result for topic"). Outcomes for topics not in `ask` are ignored.
  void record(const MinIsrAsk& ask, const std::map<std::string, MinIsrOutcome>& outcomes,
              Clock::time_point now);

  // What the snapshot should say for `topic` at `now`: the value, or why it is unknown.
  MinIsrOutcome lookup(const std::string& topic, Clock::time_point now) const;

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::optional<std::int32_t> value;  // last value read successfully
    Clock::time_point read_at{};        // when `value` was read
    std::string error;                  // why the last attempt failed; empty when it succeeded
    Clock::time_point attempted_at{};   // last attempt (success or failure)
  };

  MinIsrCacheOptions options_;
  std::map<std::string, Entry> entries_;
  std::optional<Clock::time_point> last_full_refresh_;
};

std::ostream& operator<<(std::ostream& os, const MinIsrAsk& a);
std::ostream& operator<<(std::ostream& os, const MinIsrOutcome& o);

}  // namespace isrguard::probes
