#pragma once

// The pods/eviction admission webhook's handler: AdmissionReview body in, AdmissionReview body out
// (service/views/admission.h), deciding with decide_eviction (service/judge/eviction.h) on a fresh view of
// the probe loop. No sockets: service/runtime/webhook_server.h serves it over TLS.
//
// Per request, within `timeout` from arrival (kept below the webhook's timeoutSeconds so isrguard, not the
// API server, says why):
//   1. parse (400 on a malformed or oversized body; the API server then refuses the eviction: failurePolicy
//      Fail), allow at once what is not a pods/eviction CREATE;
//   1b. which broker: in a namespace with a label or annotation rule, read the Pod (`pods`, bounded by
//      its own timeout and the decision's) and map it (map_pod_by_metadata: a failed read or a bad id is a
//      denial with its own reason); else the name rules. A pod no rule maps is allowed at once
//      (not_a_broker);
//   2. take the decision lock (decisions run one after the other, so two evictions that are safe alone and
//      unsafe together never both pass); not taken within the timeout -> deny decision_busy;
//   3. a fresh view: the last successful probe started within `fresh_within`, else ask the loop to probe now
//      and wait for it; none in time -> deny view_stale (no_snapshot before the first success);
//   4. decide; record a grant when allowed and not a dry run (dryRun answers without recording).
// Thread-safe.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "service/judge/eviction.h"
#include "service/runtime/kube_client.h"
#include "service/runtime/probe_loop.h"
#include "service/views/admission.h"
#include "service/views/http_api.h"
#include "service/views/webhook_stats.h"

namespace isrguard::service {

struct EvictionWebhookOptions {
  std::vector<BrokerPodRule> rules;           // by name
  std::vector<BrokerIdKeyRule> id_key_rules;  // by label or annotation, at most one per namespace
  std::shared_ptr<PodReader> pods;            // reads the Pods of id_key_rules' namespaces (null: none)
  std::chrono::milliseconds fresh_within{std::chrono::seconds(5)};
  std::chrono::milliseconds timeout{std::chrono::seconds(8)};
  std::chrono::milliseconds grant_ttl{std::chrono::minutes(10)};
  DisruptionOptions disruption;
};

class EvictionWebhook final : public WebhookStatsSource {
 public:
  // `loop` must outlive the webhook.
  EvictionWebhook(ProbeLoop& loop, EvictionWebhookOptions options);

  // One AdmissionReview POST body -> the HTTP answer (200 with an AdmissionReview, or 400 with a plain error).
  HttpResponse handle(std::string_view body);
  // A body larger than kMaxAdmissionReviewBytes (not kept): 400, counted as invalid.
  HttpResponse handle_oversized();
  // Decisions so far, for /metrics.
  WebhookStats webhook_stats() const override;

 private:
  ProbeLoop& loop_;
  const EvictionWebhookOptions options_;
  std::timed_mutex decide_mu_;  // serialises decisions (and guards grants_)
  EvictionGrants grants_;
  mutable std::mutex stats_mu_;
  WebhookStats stats_;  // guarded by stats_mu_

  EvictionDecision decide(const AdmissionRequest& request, SteadyClock::time_point arrival);
  PodBroker broker_of(const AdmissionRequest& request, SteadyClock::time_point deadline);
  EvictionDecision decide_locked(const AdmissionRequest& request, probes::BrokerId broker,
                                 SteadyClock::time_point arrival);
  std::shared_ptr<const PublishedState> fresh_state(SteadyClock::time_point arrival,
                                                    SteadyClock::time_point deadline);
  void count(const EvictionDecision& d, bool dry_run, std::chrono::nanoseconds took);
};

}  // namespace isrguard::service
