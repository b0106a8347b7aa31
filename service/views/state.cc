#include "service/views/state.h"

#include <algorithm>

#include "service/judge/reasons.h"

namespace isrguard::service {

void DurationHistogram::observe(double seconds) {
  ++count;
  sum += seconds;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (seconds <= bounds[i]) {
      ++counts[i];
      return;
    }
  }
}

Readiness readiness_at(const PublishedState& state, SteadyClock::time_point now,
                       std::chrono::milliseconds stale_after, const Policy& policy) {
  Readiness r;
  r.reasons = state.reasons;
  const bool already_stale = std::any_of(r.reasons.begin(), r.reasons.end(),
                                         [](const Reason& x) { return x.code == reason::kSnapshotStale; });
  bool stale_now = false;
  if (state.last_success && now - *state.last_success > stale_after && !already_stale) {
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - *state.last_success);
    r.reasons.push_back(Reason{std::string(reason::kSnapshotStale), 1,
                               "last good snapshot is " + std::to_string(age.count()) + "s old (limit " +
                                   std::to_string(stale_after.count() / 1000) + "s)",
                               policy.gates(reason::kSnapshotStale)});
    stale_now = policy.gates(reason::kSnapshotStale);
  }
  // Fail closed: no successful probe yet means not ready, whatever the gate says.
  r.ready = state.gate.ready && state.last_success.has_value() && !stale_now;
  return r;
}

bool broker_safe_now(const PublishedState& state, const BrokerSafety& b, const std::vector<Reason>& reasons,
                     WallClock::time_point wall_now) {
  return state.verdict &&
         broker_safe_at(b, *state.verdict, reasons, DisruptionAcks{state.overrides.active, wall_now});
}

bool alive_at(const PublishedState& state, SteadyClock::time_point now,
              std::chrono::milliseconds max_silence) {
  return now - state.loop_heartbeat <= max_silence;
}

}  // namespace isrguard::service
