#pragma once
// The deterministic drain simulator's models (docs/safety.md): virtual time in milliseconds, one seeded
// random stream per scenario, no threads, no clock. Kafka (brokers, partitions, ISR dynamics), Kubernetes
// (pods, the kubelet's readiness probing, the PDB's arithmetic and the Eviction API) and the settings that
// drive them. The isrguard instances and the drivers live in scenario.h.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "probes/snapshot.h"

namespace isrguard::sim {

using Ms = std::int64_t;  // virtual milliseconds since the scenario began

// Every setting the simulation depends on. shipped_settings() reads the isrguard and kubelet ones from
// manifests/, the rest are Kafka's and Kubernetes' documented defaults (facts and sources: docs/safety.md).
struct Settings {
  // isrguard (manifests/base/deployment.yaml env, else the flag defaults of docs/flags.md)
  Ms poll_interval = 2000;
  Ms probe_timeout = 10000;
  Ms stale_after = 60000;
  Ms recovery_hold = 30000;
  // the kubelet probing isrguard's /readyz (deployment.yaml readinessProbe)
  Ms kubelet_period = 5000;
  int failure_threshold = 1;
  int success_threshold = 1;
  bool gate = true;  // false: the PDB covers the brokers alone (no isrguard pod), the no-gate baseline
  // Kafka
  Ms session_timeout = 18000;   // zookeeper.session.timeout.ms (KRaft broker.session.timeout.ms 9 s)
  Ms replica_lag_max = 30000;   // replica.lag.time.max.ms
  Ms broker_startup_min = 15000, broker_startup_max = 60000;  // process start -> registered (log recovery)
  // process start -> the broker pod's own readiness; negative: when the broker registers (a port probe on a
  // listener that opens with registration).
  Ms broker_ready_after = -1;
  Ms catch_up_min = 2000;           // registered -> back in every ISR, plus catch_up_per_down per ms down
  double catch_up_per_down = 0.25;  // ms of catch-up per ms of absence (lag grows while down)
  Ms shutdown_min = 2000, shutdown_max = 10000;  // SIGTERM -> process exit (controlled shutdown)
  // Kubernetes
  Ms reschedule_min = 5000, reschedule_max = 30000;  // pod deleted -> replacement's process starts
  Ms controller_lag_max = 1000;  // pod change -> disruption controller's recount written
  Ms crash_detect = 1000;        // container exit -> pod not Ready (PLEG relist)
  Ms drain_retry = 5000;         // kubectl drain's wait after a 429
  int parallel_drains = 1;       // several kubectl drain processes at once / Karpenter's budget
  // Who decides an eviction of a broker pod: false the shipped PDB (over the brokers and, with `gate`,
  // isrguard's pod); true isrguard's pods/eviction admission webhook with no PDB, as
  // manifests/overlays/webhook* deploy it (decide_eviction of service/judge/eviction.h on a fresh view).
  bool webhook = false;
  Ms webhook_fresh_within = 5000;   // --webhook-fresh-within
  Ms webhook_timeout = 8000;        // --webhook-timeout
  Ms webhook_grant_ttl = 600000;    // --webhook-grant-ttl
  bool webhook_grants = true;       // false: grants are not remembered (a deliberately unsafe variant)
  // The simulator's own switch, not a model setting: false rebuilds the Metadata snapshot at every probe
  // (KafkaModel::metadata). Tests check that both give the same trace byte for byte.
  bool cache_metadata = true;
  bool operator==(const Settings&) const = default;
};

// The shipped settings: isrguard's env and readinessProbe from `repo_root`/manifests/base/deployment.yaml.
// Throws std::runtime_error when the manifest lacks a value the simulation needs.
Settings shipped_settings(const std::string& repo_root);

// Deterministic random stream (splitmix64): the same seed gives the same numbers on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next();
  Ms between(Ms lo, Ms hi);  // uniform in [lo, hi]
  double unit();             // uniform in [0, 1)
  bool chance(double p) { return unit() < p; }

 private:
  std::uint64_t s_;
};

// ---------------------------------------------------------------- Kafka
enum class BrokerState { kUp, kStopping, kDown, kHung, kStarting };

struct BrokerModel {
  int id = 0;
  BrokerState state = BrokerState::kUp;
  bool registered = true;  // listed in metadata (alive to the controller)
  int incarnation = 0;     // bumps on each process start
  Ms down_since = 0;
  Ms fault_at = -1;  // start of the last involuntary fault (crash, hang), -1 none
};

struct PartitionModel {
  std::string topic;
  int id = 0;
  int min_isr = 1;
  std::vector<int> replicas;
  std::vector<int> isr;  // as the controller records it (metadata)
  int leader = -1;
};

class KafkaModel {
 public:
  // `brokers` ids 1..n; topics placed round-robin from a rotating start, like Kafka's rack-unaware placement.
  struct TopicSpec {
    std::string name;
    int partitions = 1;
    int rf = 1;
    int min_isr = 1;
  };
  KafkaModel(int brokers, const std::vector<TopicSpec>& topics, int placement_offset);

  // Controlled shutdown: leadership moves, the broker leaves every ISR at once (Kafka: ControlledShutdown).
  void begin_shutdown(int b, Ms now);
  void process_exit(int b, Ms now);  // after shutdown: unregistered, down
  void crash(int b, Ms now);         // process gone; still registered until expire_session
  void expire_session(int b);        // controller notices: leaves metadata and every ISR, leadership moves
  void hang(int b, Ms now);          // listed, not answering; followers drop out after replica_lag_max
  void drop_lagging_follower(int b);  // leaders shrink ISRs of partitions whose follower is `b`
  void start(int b);                  // process starts (kStarting)
  void register_broker(int b);        // joins metadata; replicas still catching up
  // Caught up: back in the ISR of each of its partitions that has a live leader to add it. Returns false
  // when some partition has none yet (the follower keeps fetching: call again later).
  bool rejoin_isr(int b);

  // True in-sync replicas: in the recorded ISR and on a serving broker.
  int true_in_sync(const PartitionModel& p) const;
  bool truly_in_sync(const PartitionModel& p, int b) const;
  // The safety property for taking broker `b` away now (docs/safety.md). Returns the partitions it breaks.
  std::vector<const PartitionModel*> unsafe_to_take(int b) const;

  // What a Metadata answer says now (no per-broker check). Built once per version of the model: every
  // mutator above bumps the version, so a probe between two changes reuses the same snapshot (identical to
  // build_metadata(), which tests compare). The reference lives until the next call on a changed model.
  const probes::ClusterSnapshot& metadata() const;
  probes::ClusterSnapshot build_metadata() const;  // the same, always built afresh
  void set_metadata_cache(bool on) {
    cache_on_ = on;
    cached_ = false;
  }
  void set_fault_at(int b, Ms at) { mut(b).fault_at = at; }
  const BrokerModel& broker(int b) const { return brokers_.at(static_cast<std::size_t>(b - 1)); }
  int broker_count() const { return static_cast<int>(brokers_.size()); }
  const std::vector<PartitionModel>& partitions() const { return partitions_; }

 private:
  void leave_isrs(int b, bool only_as_follower);
  bool serving(int b) const;
  // The only mutable access to the state metadata() depends on: each call drops the cached snapshot.
  BrokerModel& mut(int b) {
    cached_ = false;
    return brokers_.at(static_cast<std::size_t>(b - 1));
  }
  std::vector<PartitionModel>& mut_partitions() {
    cached_ = false;
    return partitions_;
  }
  std::vector<BrokerModel> brokers_;
  std::vector<PartitionModel> partitions_;
  mutable probes::ClusterSnapshot metadata_;  // valid while cached_
  mutable bool cached_ = false;
  bool cache_on_ = true;
};

// ---------------------------------------------------------------- Kubernetes: the PDB and the Eviction API
// One selected pod as the disruption controller and the Eviction API see it.
struct PdbPod {
  std::string name;
  bool running = true;      // phase Running (Pending pods are evicted without a budget check)
  bool ready = true;        // condition Ready
  bool terminating = false;  // deletionTimestamp set
  bool operator==(const PdbPod&) const = default;
};

struct PdbStatus {
  int expected = 0;         // selected pods
  int desired_healthy = 0;  // integer minAvailable
  int current_healthy = 0;
  int disruptions_allowed = 0;
  std::map<std::string, Ms> disrupted_pods;  // granted, not yet terminating, with the grant time
  bool operator==(const PdbStatus&) const = default;
};

// Kubernetes' disruptedPods entries expire after this (pkg/controller/disruption DeletionTimeout).
inline constexpr Ms kDisruptedPodTimeout = 2 * 60 * 1000;

// The disruption controller's recount (pkg/controller/disruption/disruption.go): entries of disrupted_pods
// whose pod is gone, terminating or older than kDisruptedPodTimeout are dropped; a pod is healthy when Ready,
// not terminating and not in disrupted_pods; allowed = healthy - minAvailable, never below 0.
PdbStatus recount(const std::vector<PdbPod>& pods, int min_available, const PdbStatus& previous, Ms now);

enum class EvictionCode { kCreated = 201, kTooManyRequests = 429 };

// The Eviction API (pkg/registry/core/pod/storage/eviction.go) with unhealthyPodEvictionPolicy
// IfHealthyBudget, answering from the PDB status as last written: a pod not Running or already terminating
// is evicted without a check; a pod not Ready is evicted without using the budget when current_healthy >=
// desired_healthy; otherwise 429 while disruptions_allowed is 0, else the budget is spent (allowed - 1, the
// pod recorded in disrupted_pods) and 201. `dry_run` answers the same and changes nothing.
EvictionCode evict(const PdbPod& pod, PdbStatus& status, Ms now, bool dry_run = false);

// The kubelet's readiness bookkeeping for one container: consecutive results against the thresholds.
class ReadinessProber {
 public:
  ReadinessProber(int success_threshold, int failure_threshold)
      : success_threshold_(success_threshold), failure_threshold_(failure_threshold) {}
  // One probe result; returns the container's Ready condition afterwards. A new container starts not Ready.
  bool observe(bool success);
  bool ready() const { return ready_; }

 private:
  int success_threshold_;
  int failure_threshold_;
  int successes_ = 0;
  int failures_ = 0;
  bool ready_ = false;
};

}  // namespace isrguard::sim
