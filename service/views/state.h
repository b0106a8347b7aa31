#pragma once

// What the probe loop publishes and everything else reads (HTTP handlers, metrics, --once).
// The loop builds a new immutable PublishedState after each probe and swaps it in; readers take a
// shared_ptr copy (constant time) and never touch Kafka.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probes/snapshot.h"
#include "service/judge/disruption.h"
#include "service/judge/gate.h"
#include "service/judge/history.h"
#include "service/judge/jmx_view.h"
#include "service/judge/policy.h"
#include "service/judge/verdict.h"

namespace isrguard::service {

// Cumulative probe-duration histogram (seconds), our own type so only the metrics layer sees prometheus.
struct DurationHistogram {
  std::vector<double> bounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  std::vector<std::uint64_t> counts = std::vector<std::uint64_t>(11, 0);  // non-cumulative, per bound
  std::uint64_t count = 0;  // total observations (includes those above the last bound)
  double sum = 0;
  void observe(double seconds);
  bool operator==(const DurationHistogram&) const = default;
};

// One partition of a snapshot by position (snapshot.topics[topic].partitions[partition]) with its state bits
// (partition_state_bits, service/judge/partition_rules.h).
struct IndexedPartition {
  std::uint32_t topic = 0;
  std::uint32_t partition = 0;
  unsigned bits = 0;

  bool operator==(const IndexedPartition&) const = default;
};

struct PublishedState {
  // Last successful snapshot and its verdict; null before the first successful probe.
  std::shared_ptr<const probes::ClusterSnapshot> snapshot;
  std::shared_ptr<const Verdict> verdict;
  // What the verdict remembered across snapshots, advanced with `snapshot` (null before the first success).
  std::shared_ptr<const History> history;
  // Each broker alone: may it go now (by the partitions of `snapshot`, with the acknowledgements of
  // `overrides.active` at the poll)? Index-aligned with verdict->brokers; null with the verdict. Readers
  // combine it with the read-time reasons and clock (broker_safe_now).
  std::shared_ptr<const std::vector<BrokerSafety>> broker_safety;
  // The same snapshot as Kafka's own JMX gauges would report it (the kafka_* metric families); null likewise.
  std::shared_ptr<const KafkaView> kafka;
  // Every selected partition of `snapshot` that is not healthy, built once per probe so that /v1/partitions
  // does not classify every partition per request (service/views/status_report.h index_unhealthy_partitions). Null
  // with the verdict, and in states built by hand: readers then classify every partition themselves.
  std::shared_ptr<const std::vector<IndexedPartition>> unhealthy_partitions;
  // The reasons that feed the gate: verdict reasons plus probe_failed / snapshot_stale when present, after
  // the operator overrides (acknowledged reasons stop gating; a freeze adds override_freeze).
  std::vector<Reason> reasons;
  OverridesStatus overrides;  // path empty when no --overrides-file
  GateStatus gate;
  std::chrono::system_clock::time_point gate_since_wall{};  // wall time of the last gate transition

  std::uint64_t probes_total = 0;
  std::map<std::string, std::uint64_t> probe_failures;  // by ProbeError::kind
  DurationHistogram probe_duration;
  std::optional<probes::ProbeError> last_error;  // of the last probe, if it failed
  std::optional<std::chrono::system_clock::time_point> last_error_at;
  std::optional<SteadyClock::time_point> last_success;  // steady, for staleness
  std::optional<std::chrono::system_clock::time_point> last_success_wall;
  SteadyClock::time_point loop_heartbeat{};  // last time the loop finished an iteration (for /livez)
  SteadyClock::time_point started_at{};
};

// Readiness computed at read time from cached state: the gate's answer, forced closed when the last good
// snapshot is older than `stale_after` (so a wedged probe loop cannot leave the gate open).
struct Readiness {
  bool ready = false;
  std::vector<Reason> reasons;  // as published, plus snapshot_stale if it became stale since
  bool operator==(const Readiness&) const = default;
};
Readiness readiness_at(const PublishedState& state, SteadyClock::time_point now,
                       std::chrono::milliseconds stale_after, const Policy& policy);

// safe_to_disrupt of one broker as readers show it at wall time `wall_now`: what GET
// /v1/disruption?brokers=<id> answers then (broker_safe_at: the partitions allow it with the acknowledgements
// of `state.overrides.active` still in force at `wall_now`, and nothing makes the answer unknown now).
// `reasons` are readiness_at(...).reasons for the same instant.
bool broker_safe_now(const PublishedState& state, const BrokerSafety& b, const std::vector<Reason>& reasons,
                     WallClock::time_point wall_now);

// Liveness: the loop has finished an iteration within `max_silence` (process and loop alive; never Kafka).
bool alive_at(const PublishedState& state, SteadyClock::time_point now,
              std::chrono::milliseconds max_silence);

// The seam between the loop and its readers (HTTP, metrics). Thread-safe.
class StateSource {
 public:
  virtual ~StateSource() = default;
  virtual std::shared_ptr<const PublishedState> current() const = 0;
};

}  // namespace isrguard::service
