#pragma once

// The only thread that touches Kafka. Each iteration: probe -> judge -> assess -> gate -> publish.
// run_once(now) is callable from tests with an injected clock; run() drives it on a real clock.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "probes/metadata_source.h"
#include "service/config.h"
#include "service/state.h"

namespace isrguard::service {

class ProbeLoop : public StateSource {
 public:
  ProbeLoop(probes::MetadataSource& source, Policy policy, GateConfig gate,
            std::chrono::milliseconds stale_after);

  // Operator overrides read from `file` every iteration (before run(); the loop owns it from then on).
  void use_overrides(std::unique_ptr<OverridesFile> file) { overrides_ = std::move(file); }

  // One iteration at `now` (steady) / `wall` (system). Thread: the loop's (or a test's).
  void run_once(SteadyClock::time_point now, std::chrono::system_clock::time_point wall);
  // Loop until stop(): run_once every `interval`. Blocks.
  void run(std::chrono::milliseconds interval);
  void stop();  // any thread; wakes run() at once

  std::shared_ptr<const PublishedState> current() const override;
  const Policy& policy() const { return policy_; }
  std::chrono::milliseconds stale_after() const { return stale_after_; }

 private:
  probes::MetadataSource& source_;
  const Policy policy_;
  Gate gate_;
  const std::chrono::milliseconds stale_after_;
  PublishedState working_;  // loop-thread only
  std::unique_ptr<OverridesFile> overrides_;  // loop-thread only; null = no overrides file

  void apply_operator_overrides(PublishedState& s, std::chrono::system_clock::time_point wall);

  mutable std::mutex mu_;
  std::shared_ptr<const PublishedState> published_;  // guarded by mu_
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
};

}  // namespace isrguard::service
