#pragma once

// What the eviction webhook (service/runtime/eviction_webhook.h) counts, for /metrics
// (isrguard_webhook_decisions_total, isrguard_webhook_decision_duration_seconds).

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "service/views/state.h"

namespace isrguard::service {

struct WebhookStats {
  // (outcome, reason) -> decisions. Outcome: allowed, denied, invalid (400: malformed or oversized body).
  // Reasons are the fixed codes of service/judge/eviction.h and the unknowable reasons, so the series are few.
  std::map<std::pair<std::string, std::string>, std::uint64_t> decisions;
  DurationHistogram latency;  // arrival -> answer, seconds

  bool operator==(const WebhookStats&) const = default;
};

}  // namespace isrguard::service
