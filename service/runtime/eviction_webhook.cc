#include "service/runtime/eviction_webhook.h"

#include <spdlog/spdlog.h>

#include "service/views/admission.h"

namespace isrguard::service {
namespace {

EvictionDecision deny(std::string_view reason, probes::BrokerId broker, const AdmissionRequest& r,
                      const std::string& why) {
  return {false, std::string(reason),
          "isrguard: evicting broker " + std::to_string(broker) + " (pod " + r.pod_namespace + "/" + r.name +
              "): denied (" + std::string(reason) + "): " + why + "; retry later"};
}

// A denial before the broker is known: the pod could not be mapped (its read failed, or its id is unusable).
EvictionDecision deny_pod(const PodBroker& b, const AdmissionRequest& r) {
  return {false, b.reason,
          "isrguard: evicting pod " + r.pod_namespace + "/" + r.name + ": denied (" + b.reason +
              "): cannot tell which broker it runs: " + b.detail + "; retry later"};
}

}  // namespace

EvictionWebhook::EvictionWebhook(ProbeLoop& loop, EvictionWebhookOptions options)
    : loop_(loop), options_(std::move(options)), grants_(options_.grant_ttl) {}

HttpResponse EvictionWebhook::handle(std::string_view body) {
  const auto arrival = SteadyClock::now();
  std::string error;
  const auto request = parse_admission_review(body, &error);
  if (!request) {
    count({false, std::string(eviction_reason::kInvalidReview), ""}, false, SteadyClock::now() - arrival);
    return HttpResponse{400, "text/plain; charset=utf-8", "invalid AdmissionReview: " + error + "\n", {}};
  }
  const EvictionDecision d = decide(*request, arrival);
  count(d, request->dry_run, SteadyClock::now() - arrival);
  return HttpResponse{200, "application/json", admission_response(request->uid, d.allowed, 429, d.message), {}};
}

HttpResponse EvictionWebhook::handle_oversized() {
  count({false, std::string(eviction_reason::kInvalidReview), ""}, false, std::chrono::nanoseconds(0));
  return HttpResponse{400, "text/plain; charset=utf-8",
                      "invalid AdmissionReview: body larger than " + std::to_string(kMaxAdmissionReviewBytes) +
                          " bytes\n",
                      {}};
}

EvictionDecision EvictionWebhook::decide(const AdmissionRequest& request, SteadyClock::time_point arrival) {
  if (!request.is_pod_eviction()) return {true, std::string(eviction_reason::kNotAnEviction), ""};
  const auto deadline = arrival + options_.timeout;
  const PodBroker mapped = broker_of(request, deadline);
  if (mapped.denied()) {
    spdlog::warn("eviction of pod {}/{} (by {}) denied: {}: {}", request.pod_namespace, request.name,
                 request.user, mapped.reason, mapped.detail);
    return deny_pod(mapped, request);
  }
  const auto broker = mapped.broker;
  if (!broker) return {true, std::string(eviction_reason::kNotABroker), ""};
  std::unique_lock<std::timed_mutex> lock(decide_mu_, std::defer_lock);
  if (!lock.try_lock_until(deadline))
    return deny(eviction_reason::kBusy, *broker, request, "earlier eviction decisions took the whole timeout");
  EvictionDecision d = decide_locked(request, *broker, arrival);
  if (!d.allowed || request.dry_run) return d;
  if (!grants_.record(*broker, std::chrono::system_clock::now()))
    return deny(eviction_reason::kGrantsFull, *broker, request, "too many evictions granted and not back");
  spdlog::info("eviction of broker {} (pod {}/{}, by {}) granted; {} grant(s) pending", *broker,
               request.pod_namespace, request.name, request.user, grants_.pending().size());
  return d;
}

// Name rules alone outside the namespaces of id_key_rules; inside them the Pod is read first.
PodBroker EvictionWebhook::broker_of(const AdmissionRequest& request, SteadyClock::time_point deadline) {
  const auto by_name = broker_for_pod(options_.rules, request.pod_namespace, request.name);
  const BrokerIdKeyRule* rule = broker_id_key_rule_for(options_.id_key_rules, request.pod_namespace);
  if (!rule)
    return by_name ? PodBroker{by_name, "", ""}
                   : PodBroker{std::nullopt, std::string(eviction_reason::kNotABroker), ""};
  if (!options_.pods)
    return {std::nullopt, std::string(eviction_reason::kPodReadFailed),
            "no Kubernetes API client is configured"};
  const auto started = SteadyClock::now();
  const PodLookup lookup = options_.pods->read_pod(request.pod_namespace, request.name, deadline);
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.pod_read_latency.observe(std::chrono::duration<double>(SteadyClock::now() - started).count());
  }
  return map_pod_by_metadata(*rule, lookup, by_name);
}

EvictionDecision EvictionWebhook::decide_locked(const AdmissionRequest& request, probes::BrokerId broker,
                                                SteadyClock::time_point arrival) {
  const auto state = fresh_state(arrival, arrival + options_.timeout);
  if (!state || !state->snapshot || !state->verdict || !state->last_success)
    return deny(eviction_reason::kNoSnapshot, broker, request, "isrguard has no successful probe of Kafka yet");
  const auto now = SteadyClock::now();
  if (*state->last_success < arrival - options_.fresh_within)
    return deny(eviction_reason::kViewStale, broker, request,
                "no probe of Kafka succeeded within " + std::to_string(options_.fresh_within.count()) +
                    "ms before the decision");
  const auto wall = std::chrono::system_clock::now();
  const Readiness readiness = readiness_at(*state, now, loop_.stale_after(), loop_.policy());
  grants_.observe(*state->verdict, wall);
  EvictionView view;
  view.snapshot = state->snapshot.get();
  view.verdict = state->verdict.get();
  view.policy = &loop_.policy();
  view.reasons = readiness.reasons;
  view.acks = DisruptionAcks{state->overrides.active, wall};
  view.options = options_.disruption;
  view.pending = grants_.pending();
  return decide_eviction(broker, request.pod_namespace + "/" + request.name, view);
}

// The published state if its last success started within fresh_within of `arrival`; else asks for a probe and
// waits for one that succeeds (or fails: its answer is then judged, probe_failed denies) until `deadline`.
std::shared_ptr<const PublishedState> EvictionWebhook::fresh_state(SteadyClock::time_point arrival,
                                                                   SteadyClock::time_point deadline) {
  const auto fresh_from = arrival - options_.fresh_within;
  auto state = loop_.current();
  if (state && state->last_success && *state->last_success >= fresh_from) return state;
  const auto asked_wall = std::chrono::system_clock::now();
  loop_.request_probe();
  return loop_.await_state(
      [&](const PublishedState& s) {
        return (s.last_success && *s.last_success >= fresh_from) || (s.last_error_at && *s.last_error_at >= asked_wall);
      },
      deadline);
}

void EvictionWebhook::count(const EvictionDecision& d, bool dry_run, std::chrono::nanoseconds took) {
  const std::string outcome =
      d.reason == eviction_reason::kInvalidReview ? "invalid" : (d.allowed ? "allowed" : "denied");
  std::lock_guard<std::mutex> lock(stats_mu_);
  ++stats_.decisions[WebhookDecisionKey{outcome, d.reason, dry_run}];
  stats_.latency.observe(std::chrono::duration<double>(took).count());
}

WebhookStats EvictionWebhook::webhook_stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

}  // namespace isrguard::service
