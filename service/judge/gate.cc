#include "service/judge/gate.h"

namespace isrguard::service {

std::string_view to_string(GateState s) {
  switch (s) {
    case GateState::kInitializing:
      return "initializing";
    case GateState::kClosed:
      return "closed";
    case GateState::kRecovering:
      return "recovering";
    case GateState::kOpen:
      return "open";
  }
  return "unknown";
}

void Gate::move_to(GateState s, SteadyClock::time_point now) {
  if (status_.state == s) return;
  status_.state = s;
  status_.since = now;
  ++status_.transitions;
}

GateStatus Gate::observe(const std::vector<std::string>& gating_codes, SteadyClock::time_point now,
                         bool* changed) {
  const GateState before = status_.state;
  status_.blocking = gating_codes;
  if (!gating_codes.empty()) {
    move_to(GateState::kClosed, now);
  } else {
    if (status_.state == GateState::kClosed || status_.state == GateState::kInitializing) {
      move_to(GateState::kRecovering, now);
      status_.healthy_since = now;
    }
    if (status_.state == GateState::kRecovering && now - status_.healthy_since >= config_.recovery_hold) {
      move_to(GateState::kOpen, now);
    }
  }
  status_.ready = status_.state == GateState::kOpen;
  status_.hold_remaining = std::chrono::milliseconds(0);
  if (status_.state == GateState::kRecovering) {
    status_.hold_remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        config_.recovery_hold - (now - status_.healthy_since));
  }
  if (changed) *changed = status_.state != before;
  return status_;
}

std::ostream& operator<<(std::ostream& os, const GateStatus& s) {
  os << "GateStatus{" << to_string(s.state) << " ready=" << s.ready
     << " since=" << s.since.time_since_epoch().count() << " transitions=" << s.transitions
     << " hold_remaining_ms=" << s.hold_remaining.count() << " blocking=[";
  for (const auto& b : s.blocking) os << b << ' ';
  return os << "]}";
}

}  // namespace isrguard::service
