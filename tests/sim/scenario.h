#pragma once
// One simulated scenario: a Kafka cluster on Kubernetes nodes (or EC2 instances), one isrguard pod whose
// /readyz the kubelet probes, the shipped PDB, a driver taking nodes away and perhaps an involuntary fault
// in the middle. run_scenario() drives the real judgement code (service/judge: advance, judge, Gate,
// resolve_disruption, assess_disruption) with snapshots built from the model's true state, and checks the
// safety property at every granted eviction (docs/safety.md).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/sim/model.h"

namespace isrguard::sim {

enum class Driver { kDrainOne, kDrainParallel, kRolling, kKarpenter, kEc2Hook };
enum class Fault { kNone, kCrash, kHang, kSlowRestart };
std::string to_string(Driver d);
std::string to_string(Fault f);

struct ScenarioSpec {
  std::uint64_t seed = 0;
  int brokers = 3;
  std::vector<KafkaModel::TopicSpec> topics;
  int placement_offset = 0;
  Driver driver = Driver::kDrainOne;
  Fault fault = Fault::kNone;
  int fault_broker = 1;
  Ms fault_at = 0;     // after the driver starts
  Ms driver_at = 0;    // when the driver starts
  int isrguard_node = 1;
};

enum class Size { kSmall, kLarge };
// The scenario of `seed`: small = 3-6 brokers and a few partitions; large = 6-30 brokers. Topics have RF 2-5
// and min.insync.replicas below RF (a topic with RF <= min ISR is a min_isr_risk topic: any one broker
// going takes it under, whatever gates the drain; isrguard reports those instead).
ScenarioSpec make_spec(std::uint64_t seed, Size size);

// Who answers an eviction at once. The PDB (with isrguard's pod among the selected pods) is the one shipped.
// The admission webhook (Settings::webhook) is not one: its answer may wait for a probe, so the scenario
// drives it itself.
class EvictionDecider {
 public:
  virtual ~EvictionDecider() = default;
  virtual EvictionCode decide(const PdbPod& pod, Ms now) = 0;
};

struct Outcome {
  std::uint64_t seed = 0;
  int grants = 0;      // evictions granted (or EC2 terminations allowed) of broker pods
  int violations = 0;  // grants breaking the safety property with no involuntary fault to excuse them
  int races = 0;       // grants breaking it within the detection bound of an involuntary fault (see docs)
  bool completed = false;
  Ms completion = 0;     // driver start -> every node drained
  Ms worst_window = 0;   // longest time true state unsafe while the PDB (or the webhook) allowed an eviction
  std::vector<std::string> details;  // one line per violation or race: when, which broker, which partitions
  std::string trace;                 // every event, when asked for
};

Outcome run_scenario(const ScenarioSpec& spec, const Settings& settings, bool trace = false);

// One isrguard probe of the model as it is now: the Metadata answer and the per-broker check, with the
// probe's delays (`*duration`, ms). nullopt: no broker serves (the probe fails after `probe_timeout`).
// `seen` holds each broker's incarnation at the previous probe (a restart in between is a disconnect).
std::optional<probes::ClusterSnapshot> simulated_probe(const KafkaModel& kafka, std::map<int, int>& seen,
                                                       Ms probe_timeout, Rng& rng, Ms* duration);

// The bound within which no polling gate can have refused an eviction after an involuntary fault: the
// broker's own pod readiness for a crash, isrguard's poll + probe budget + the kubelet's detection for a hang.
Ms detection_bound(Fault f, const Settings& s);

}  // namespace isrguard::sim
