#pragma once

// What the eviction webhook (service/runtime/eviction_webhook.h) counts, for /metrics
// (isrguard_webhook_decisions_total, isrguard_webhook_decision_duration_seconds).

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "service/views/state.h"

namespace isrguard::service {

// One series of isrguard_webhook_decisions_total. Outcome: allowed, denied, invalid (400: malformed or
// oversized body). Reasons are the fixed codes of service/judge/eviction.h, the unknowable reasons of the
// disruption answer (service/judge/reasons.h) and invalid_review, so the series are few.
struct WebhookDecisionKey {
  std::string outcome;
  std::string reason;
  bool dry_run = false;  // the request's dryRun (answered the same, no grant recorded)

  auto operator<=>(const WebhookDecisionKey&) const = default;
};

struct WebhookStats {
  std::map<WebhookDecisionKey, std::uint64_t> decisions;
  // arrival -> answer, seconds; finer at the low end than the probe's: a decision on a fresh view is ~1 ms.
  DurationHistogram latency{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
                            std::vector<std::uint64_t>(13, 0), 0, 0};
  // Each Pod read through the API server (label and annotation rules), seconds, failed reads included.
  DurationHistogram pod_read_latency{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
                                     std::vector<std::uint64_t>(13, 0),
                                     0,
                                     0};

  bool operator==(const WebhookStats&) const = default;
};

// The seam between the webhook (service/runtime) and /metrics (service/views/metrics.h): the views read the
// counts through it without knowing the webhook. Thread-safe.
class WebhookStatsSource {
 public:
  virtual ~WebhookStatsSource() = default;
  virtual WebhookStats webhook_stats() const = 0;
};

}  // namespace isrguard::service
