#pragma once

// The only thread that touches Kafka. Each iteration: probe -> judge -> assess -> gate -> publish.
// run_once(now) is callable from tests with an injected clock; run() drives it on a real clock.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

#include "probes/metadata_source.h"
#include "service/config/config.h"
#include "service/runtime/overrides_file.h"
#include "service/views/state.h"

namespace isrguard::service {

// The schedule is jittered by up to ±kPollJitter of the interval: probes at exact multiples of the interval
// can keep missing a fault that recurs with the same period (an example: docs/scale.md); with jitter,
// successive probes land at different phases of it.
inline constexpr double kPollJitter = 0.2;
// interval × (1 - kPollJitter + 2·kPollJitter·u), for u in [0, 1]. Pure.
std::chrono::milliseconds jittered_interval(std::chrono::milliseconds interval, double u);

class ProbeLoop : public StateSource {
 public:
  // `disruption` shapes the per-broker safety pass published with each verdict.
  ProbeLoop(probes::MetadataSource& source, Policy policy, GateConfig gate,
            std::chrono::milliseconds stale_after, DisruptionOptions disruption = {});

  // Operator overrides read from `file` every iteration (before run(); the loop owns it from then on).
  void use_overrides(std::unique_ptr<OverridesFile> file) { overrides_ = std::move(file); }

  // --once prints the verdict, the per-broker safety and the probe's counters only: off, each iteration
  // skips what only the HTTP endpoints read (the kafka_* view for /metrics and the /v1/partitions index),
  // leaving PublishedState::kafka and ::unhealthy_partitions null.
  void publish_serve_views(bool on) { serve_views_ = on; }

  // --once: this loop makes one probe and no other. The history, which only a next probe and the serve views
  // read, is then not built (PublishedState::history stays null): the verdict is judge_first's, the same one
  // (service/judge/verdict.h). Turns the serve views off too. A second run_once() throws std::logic_error.
  void single_probe() {
    single_probe_ = true;
    serve_views_ = false;
  }

  // Serving: a connection loss the source reports (probes::MetadataSource::on_connection_loss) closes the
  // gate at once, from the source's thread, with brokers_reconnected naming the broker, in a new published
  // state; the reason stays until a probe that started after the loss has judged it (its own count of
  // the loss confirms it, or the broker is back). Opening is unchanged: a healthy probe plus the hold.
  void close_on_connection_loss();
  ~ProbeLoop() override;

  // One iteration starting at `now` (steady) / `wall` (system); the gate observes at now + the probe's
  // duration (when its answer is known). Thread: the loop's (or a test's).
  void run_once(SteadyClock::time_point now, std::chrono::system_clock::time_point wall);
  // Loop until stop(): run_once, then wait jittered_interval(interval, u) from the probe's start (u drawn
  // uniformly per probe; `draw_u`, when given, draws it instead so tests can pin the jitter). Blocks.
  void run(std::chrono::milliseconds interval, const std::function<double()>& draw_u = {});
  void stop();  // any thread; wakes run() at once
  // Any thread: asks run() to start its next probe now instead of at the scheduled time (no effect when a probe
  // is running: the one after it starts at once).
  void request_probe();
  // Any thread: waits until the published state satisfies `ready` or `deadline` passes; returns the last state
  // seen (null before the first publish). Woken by each publish.
  std::shared_ptr<const PublishedState> await_state(
      const std::function<bool(const PublishedState&)>& ready, SteadyClock::time_point deadline) const;

  std::shared_ptr<const PublishedState> current() const override;
  const Policy& policy() const { return policy_; }
  std::chrono::milliseconds stale_after() const { return stale_after_; }

 private:
  probes::MetadataSource& source_;
  const Policy policy_;
  Gate gate_;  // guarded by events_mu_ once close_on_connection_loss() was called
  const std::chrono::milliseconds stale_after_;
  const DisruptionOptions disruption_;
  PublishedState working_;  // loop-thread only
  std::unique_ptr<OverridesFile> overrides_;  // loop-thread only; null = no overrides file
  bool serve_views_ = true;  // loop-thread only
  bool single_probe_ = false;  // loop-thread only

  // The steps of run_once, in order.
  void adopt_snapshot(PublishedState& s, probes::ClusterSnapshot&& taken, SteadyClock::time_point now,
                      std::chrono::system_clock::time_point wall);
  void record_failure(PublishedState& s, const probes::ProbeError& err,
                      std::chrono::system_clock::time_point wall);
  std::vector<std::string> assess(PublishedState& s, bool new_snapshot, SteadyClock::time_point now,
                                  std::chrono::system_clock::time_point wall);
  void observe_gate(PublishedState& s, const std::vector<std::string>& gating,
                    SteadyClock::time_point probe_end, std::chrono::system_clock::time_point wall);
  void publish(const PublishedState& s);
  void connection_lost(const probes::ConnectionLoss& loss);  // the source's thread
  void add_connection_losses(PublishedState& s, std::vector<std::string>& gating) const;
  void apply_operator_overrides(PublishedState& s, std::chrono::system_clock::time_point wall);
  void assess_broker_safety(PublishedState& s, bool new_snapshot, std::chrono::system_clock::time_point wall);
  std::vector<Override> safety_acks_;  // loop-thread only: the acknowledgements working_.broker_safety used

  // Serialises the two writers of the published state and the gate: the loop's assess-observe-publish and
  // a connection loss. Never held during a probe or the judgement.
  mutable std::mutex events_mu_;
  struct Loss {
    SteadyClock::time_point at;
    probes::ConnectionLoss loss;
  };
  std::vector<Loss> losses_;  // guarded by events_mu_: not yet judged by a probe started after them
  bool watching_ = false;

  mutable std::mutex mu_;
  std::shared_ptr<const PublishedState> published_;  // guarded by mu_
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool probe_requested_ = false;  // guarded by mu_
  mutable std::condition_variable published_cv_;  // notified by publish()
};

}  // namespace isrguard::service
