#pragma once

// GET /metrics: Prometheus text exposition built per scrape from the cached state (docs/metrics.md is the
// contract). Building per scrape, rather than keeping registered gauges, is what makes the series of a
// broker that left the cluster disappear. prometheus-cpp is included only in metrics.cc.

#include <chrono>
#include <cstddef>
#include <string>

#include "service/views/state.h"
#include "service/views/webhook_stats.h"

namespace isrguard::service {

struct MetricsContext {
  std::size_t partition_cap = 200;  // max per-partition / per-topic series (unhealthy ones only)
  // Export the families named like Kafka's JMX metrics (kafka_*). Off where the brokers' own JMX is scraped
  // too (Strimzi): the same names twice make unfiltered alerts fire twice (docs/observability.md).
  bool jmx_names = true;
  std::string version;
  std::string commit;
};

// `readiness` is readiness_at(state, now, ...) for the same `now`, so isrguard_ready matches /readyz;
// `wall_now` is the same instant's wall time (acknowledgements expire by it: isrguard_broker_safe_to_disrupt
// matches GET /v1/disruption?brokers=<id>). `webhook`: the eviction webhook's counts, null when it is off (its
// families are then absent).
std::string render_metrics(const PublishedState& state, const Readiness& readiness, const Policy& policy,
                           const MetricsContext& ctx, SteadyClock::time_point now,
                           std::chrono::system_clock::time_point wall_now, const WebhookStats* webhook = nullptr);

}  // namespace isrguard::service
