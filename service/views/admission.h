#pragma once

// AdmissionReview admission.k8s.io/v1 in and out, for the pods/eviction webhook. Pure (text in, text out).
//
// In (what the API server sends for POST .../pods/<name>/eviction; k8s.io/api/admission/v1 AdmissionRequest):
//   request.uid (echoed), request.kind / resource / subResource ("eviction"), request.operation ("CREATE"),
//   request.name (the pod's name) and request.namespace, request.userInfo.username, request.object (the
//   policy/v1 Eviction, not the Pod: no labels of the pod). Dry run: request.dryRun (the ?dryRun query) or a
//   non-empty request.object.deleteOptions.dryRun (the body's, which the API server does not copy to
//   request.dryRun; the eviction then deletes nothing).
// Out: {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":..,"allowed":..,
//   "status":{"code":429,"reason":"TooManyRequests","message":..}}} for a denial (kubectl drain retries a 429).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace isrguard::service {

// The largest AdmissionReview body read (an Eviction's review is about 2 KiB; the API server caps requests
// at 3 MiB, far beyond what an eviction needs).
inline constexpr std::size_t kMaxAdmissionReviewBytes = 64 * 1024;

struct AdmissionRequest {
  std::string uid;
  std::string resource;      // request.resource.resource, e.g. "pods"
  std::string sub_resource;  // request.subResource, e.g. "eviction"
  std::string operation;     // "CREATE", ...
  std::string name;          // request.name (the pod)
  std::string pod_namespace; // request.namespace
  std::string user;          // request.userInfo.username (for the log line), may be empty
  bool dry_run = false;

  // A pods/eviction CREATE, the only request the webhook judges.
  bool is_pod_eviction() const {
    return resource == "pods" && sub_resource == "eviction" && operation == "CREATE";
  }
  bool operator==(const AdmissionRequest&) const = default;
};

// nullopt with `error` set when the body is not an AdmissionReview admission.k8s.io/v1 with a request carrying a
// non-empty uid (or is larger than kMaxAdmissionReviewBytes, or not JSON, or a field has the wrong type).
std::optional<AdmissionRequest> parse_admission_review(std::string_view body, std::string* error);

// The AdmissionReview answer for `uid`: allowed, or denied with HTTP `code` (429) and `message`.
std::string admission_response(const std::string& uid, bool allowed, int code, const std::string& message);

}  // namespace isrguard::service
