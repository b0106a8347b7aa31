#include "tests/sim/runner.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace isrguard::sim {

Summary run_batch(Size size, std::uint64_t first, std::int64_t count, const Settings& settings) {
  Summary s;
  double completion_sum = 0;
  std::int64_t completed = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    const ScenarioSpec spec = make_spec(first + static_cast<std::uint64_t>(i), size);
    const Outcome o = run_scenario(spec, settings);
    s.scenarios++;
    s.grants += o.grants;
    s.violations += o.violations;
    s.races += o.races;
    s.worst_window = std::max(s.worst_window, o.worst_window);
    if (o.completed) {
      completed++;
      completion_sum += static_cast<double>(o.completion) / 1000.0;
    } else {
      (spec.fault == Fault::kNone ? s.stuck : s.stuck_with_fault)++;
    }
    if (o.violations > 0)
      for (const auto& d : o.details)
        if (s.first_details.size() < 8 && d.rfind("violation", 0) == 0) s.first_details.push_back(d);
  }
  s.mean_completion_s = completed > 0 ? completion_sum / static_cast<double>(completed) : 0;
  return s;
}

std::string to_string(const Summary& s) {
  std::ostringstream o;
  o << "scenarios=" << s.scenarios << " grants=" << s.grants << " violations=" << s.violations
    << " races=" << s.races << " stuck=" << s.stuck << " stuck_with_fault=" << s.stuck_with_fault
    << " worst_window_ms=" << s.worst_window << " mean_completion_s=" << s.mean_completion_s;
  for (const auto& d : s.first_details) o << "\n  " << d;
  return o.str();
}

void apply_setting(Settings& s, const std::string& name, const std::string& value) {
  const Ms v = std::stoll(value);
  const std::pair<const char*, Ms*> times[] = {
      {"poll_interval", &s.poll_interval},       {"probe_timeout", &s.probe_timeout},
      {"stale_after", &s.stale_after},           {"recovery_hold", &s.recovery_hold},
      {"kubelet_period", &s.kubelet_period},     {"session_timeout", &s.session_timeout},
      {"replica_lag_max", &s.replica_lag_max},   {"broker_startup_min", &s.broker_startup_min},
      {"broker_startup_max", &s.broker_startup_max}, {"broker_ready_after", &s.broker_ready_after},
      {"catch_up_min", &s.catch_up_min},         {"shutdown_min", &s.shutdown_min},
      {"shutdown_max", &s.shutdown_max},         {"reschedule_min", &s.reschedule_min},
      {"reschedule_max", &s.reschedule_max},     {"controller_lag_max", &s.controller_lag_max},
      {"drain_retry", &s.drain_retry},           {"webhook_fresh_within", &s.webhook_fresh_within},
      {"webhook_timeout", &s.webhook_timeout},   {"webhook_grant_ttl", &s.webhook_grant_ttl}};
  for (const auto& [n, field] : times)
    if (name == n) {
      *field = v;
      return;
    }
  if (name == "failure_threshold") s.failure_threshold = static_cast<int>(v);
  else if (name == "success_threshold") s.success_threshold = static_cast<int>(v);
  else if (name == "parallel_drains") s.parallel_drains = static_cast<int>(v);
  else if (name == "gate") s.gate = v != 0;
  else if (name == "webhook") s.webhook = v != 0;
  else if (name == "webhook_grants") s.webhook_grants = v != 0;
  else throw std::invalid_argument("unknown setting " + name);
}

}  // namespace isrguard::sim
