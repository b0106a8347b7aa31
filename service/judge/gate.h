#pragma once

// The readiness gate: hysteresis over successive assessments. Pure state machine; time is passed in.
//
// clang-format off
// Worked example (recovery_hold = 30 s):
//   t=0    first probe, healthy        -> recovering (not ready: we do not know for how long it was healthy)
//   t=30   healthy                     -> open (ready)
//   t=41   broker 3 lost: URP          -> closed at once (not ready)
//   t=50   healthy again               -> recovering, hold restarts
//   t=62   URP again                   -> closed, hold is forgotten
//   t=70   healthy                     -> recovering
//   t=100  healthy, held 30 s          -> open
// clang-format on
// Any gating reason (including probe_failed and snapshot_stale) closes the gate immediately.

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace isrguard::service {

using SteadyClock = std::chrono::steady_clock;

enum class GateState { kInitializing, kClosed, kRecovering, kOpen };
std::string_view to_string(GateState s);  // "initializing", "closed", "recovering", "open"

struct GateConfig {
  std::chrono::milliseconds recovery_hold{std::chrono::seconds(30)};
  bool operator==(const GateConfig&) const = default;
};

struct GateStatus {
  GateState state = GateState::kInitializing;
  bool ready = false;
  SteadyClock::time_point since{};              // when the current state began
  SteadyClock::time_point healthy_since{};      // start of the current healthy run (recovering/open)
  std::chrono::milliseconds hold_remaining{0};  // while recovering
  std::uint64_t transitions = 0;                // state changes so far (excluding the initial state)
  std::vector<std::string> blocking;            // gating reason codes of the last assessment

  bool operator==(const GateStatus&) const = default;
};

class Gate {
 public:
  explicit Gate(GateConfig config) : config_(config) {}

  // Feed one assessment: the gating reason codes now present (empty = healthy). Returns the new status;
  // `changed` tells the caller whether the state moved (for the one-log-line-per-transition rule).
  GateStatus observe(const std::vector<std::string>& gating_codes, SteadyClock::time_point now,
                     bool* changed = nullptr);

  const GateStatus& status() const { return status_; }
  const GateConfig& config() const { return config_; }

 private:
  void move_to(GateState s, SteadyClock::time_point now);
  GateConfig config_;
  GateStatus status_;
};

std::ostream& operator<<(std::ostream& os, const GateStatus& s);

}  // namespace isrguard::service
