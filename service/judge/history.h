#pragma once

// What the verdict remembers across snapshots, because one metadata snapshot cannot tell:
//  - each partition's baseline: its replica set the last time every replica was in the ISR, or, for a
//    partition that appeared while we watched, the replicas it was created with. Metadata does not say which
//    replicas a reassignment is adding; Kafka keeps the original replicas in the assignment until the move
//    completes, so the replicas beyond the baseline are the ones being added (see
//    service/judge/partition_rules.h).
//  - every broker seen, and when it was last seen, so one that vanishes is missing even when it hosts no
//    replica of a selected topic and no --expected-brokers names it.
// Owned by the probe loop: after each successful probe, advance() makes the next History from the previous
// one and the snapshot (pure; time passed in), judge() reads it, and the loop publishes it read-only with the
// verdict (HTTP threads read it for /v1/partitions).
//
// Bounds: baselines only for partitions of selected topics in the last snapshot (deleted topics and
// partitions are dropped), stored flat per topic (one slot row per partition, as wide as the topic's largest
// baseline, plus a small per-partition row header; sizes in docs/scale.md); at most kMaxBaselineReplicas
// replicas per baseline (larger sets are not remembered: usual-count rule). Brokers: those seen within
// Policy::forget_missing_brokers_after, at most Policy::remembered_brokers_cap (the ones gone longest are
// forgotten first).

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "probes/snapshot.h"
#include "probes/split.h"
#include "service/judge/gate.h"
#include "service/judge/policy.h"

namespace isrguard::service {

inline constexpr std::size_t kMaxBaselineReplicas = 16;

enum class BaselineOrigin : std::uint8_t {
  kNone,     // nothing known: the partition was never fully in sync while we watched (and predates us)
  kInSync,   // replicas the last time all of them were in the ISR
  kCreated,  // replicas it had when it first appeared, after our first snapshot (a new partition)
};
std::string_view to_string(BaselineOrigin o);  // "none", "in_sync", "created"

// One partition's baseline: a view into the History that produced it (valid while that History lives).
struct Baseline {
  std::span<const probes::BrokerId> replicas;  // ascending, distinct; empty when origin is kNone
  BaselineOrigin origin = BaselineOrigin::kNone;

  bool known() const { return origin != BaselineOrigin::kNone; }
};

// Baselines of one topic's partitions, by partition id (Kafka numbers them 0..count-1; other ids are not
// remembered). Row i of `slots_` holds partition i's baseline, `width_` slots wide.
class TopicBaselines {
 public:
  TopicBaselines() = default;
  // `listed`: the topic's partitions were listed without a topic error, so an id beyond them is a new
  // partition.
  TopicBaselines(std::size_t partitions, std::size_t width, bool listed);

  Baseline get(std::int32_t partition) const {  // kNone when out of range or unknown; inline: once per partition
    if (partition < 0 || static_cast<std::size_t>(partition) >= rows_.size()) return {};
    const Row& row = rows_[static_cast<std::size_t>(partition)];
    if (row.origin == BaselineOrigin::kNone) return {};
    return {std::span<const BrokerId>(slots_.data() + static_cast<std::size_t>(partition) * width_, row.size),
            row.origin};
  }
  // `sorted` must be ascending, distinct and at most width() long.
  void set(std::int32_t partition, std::span<const probes::BrokerId> sorted, BaselineOrigin origin);
  std::size_t partitions() const { return rows_.size(); }
  std::size_t width() const { return width_; }
  bool listed() const { return listed_; }
  bool operator==(const TopicBaselines&) const = default;

 private:
  struct Row {
    BaselineOrigin origin = BaselineOrigin::kNone;
    std::uint8_t size = 0;
    bool operator==(const Row&) const = default;
  };
  std::size_t width_ = 0;
  bool listed_ = false;
  std::vector<probes::BrokerId> slots_;  // partitions() * width_
  std::vector<Row> rows_;
};

struct SeenBroker {
  std::string host;
  std::int32_t port = 0;
  SteadyClock::time_point last_seen{};  // `now` of the last snapshot that listed it

  bool operator==(const SeenBroker&) const = default;
};

struct History {
  // A topic whose baselines did not change shares them with the previous History (immutable once made), so
  // the steady state copies no baselines.
  using Topics = std::map<std::string, std::shared_ptr<const TopicBaselines>, std::less<>>;

  bool primed = false;  // a snapshot was folded in: partitions appearing after it are new
  Topics topics;        // selected topics of the last snapshot; never null
  std::map<probes::BrokerId, SeenBroker> brokers;  // see the bounds above

  const TopicBaselines* topic(std::string_view name) const;  // nullptr when not remembered
  bool operator==(const History& o) const;                   // compares baselines, not pointers
};

// The baseline advance(History{}, ...) gives partition `p` of a topic listed without a topic error with
// `partitions` partitions (a first snapshot's): its distinct replicas, sorted into `scratch`, when it has a
// leader and every replica is in the ISR (at most kMaxBaselineReplicas of them), else none. For judging a
// first snapshot without building its history (judge_first in service/judge/verdict.h).
Baseline first_baseline(const probes::PartitionView& p, std::size_t partitions,
                        std::array<probes::BrokerId, kMaxBaselineReplicas>& scratch);

// The next history: `prev` updated with one successful snapshot taken at `now` (steady clock). Pure.
// Topics of `split_from` partitions or more are advanced on two threads (probes/split.h); the result is the
// same either way.
History advance(const History& prev, const probes::ClusterSnapshot& snapshot, const Policy& policy,
                SteadyClock::time_point now, std::size_t split_from = probes::default_split_from());

std::ostream& operator<<(std::ostream& os, const Baseline& b);
std::ostream& operator<<(std::ostream& os, const SeenBroker& b);
std::ostream& operator<<(std::ostream& os, const History& h);

}  // namespace isrguard::service
