#include "service/views/admission.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace isrguard::service {
namespace {

using nlohmann::json;

// The string at `key` of object `o`: "" when absent or null; false (with `error`) when of another type.
bool read_string(const json& o, const char* key, std::string& out, std::string* error) {
  const auto it = o.find(key);
  if (it == o.end() || it->is_null()) return true;
  if (!it->is_string()) {
    if (error) *error = std::string("request.") + key + " must be a string";
    return false;
  }
  out = it->get<std::string>();
  return true;
}

// request.object.deleteOptions.dryRun of an Eviction: a non-empty list makes the eviction a dry run. The API
// server sets request.dryRun only from the eviction's own query (?dryRun=All); `kubectl drain
// --dry-run=server` and other clients put it in the body's deleteOptions instead, and the eviction then deletes
// nothing: no grant may be recorded for it.
bool read_object_dry_run(const json& r, bool& dry_run, std::string* error) {
  const auto object = r.find("object");
  if (object == r.end() || !object->is_object()) return true;
  const auto options = object->find("deleteOptions");
  if (options == object->end() || !options->is_object()) return true;
  const auto dry = options->find("dryRun");
  if (dry == options->end() || dry->is_null()) return true;
  const bool strings = dry->is_array() && std::all_of(dry->begin(), dry->end(), [](const json& v) {
    return v.is_string();
  });
  if (!strings) {
    if (error) *error = "request.object.deleteOptions.dryRun must be a list of strings";
    return false;
  }
  dry_run = dry_run || !dry->empty();
  return true;
}

bool read_request(const json& r, AdmissionRequest& out, std::string* error) {
  if (!r.is_object()) {
    if (error) *error = "request must be an object";
    return false;
  }
  if (!read_string(r, "uid", out.uid, error) || !read_string(r, "subResource", out.sub_resource, error) ||
      !read_string(r, "operation", out.operation, error) || !read_string(r, "name", out.name, error) ||
      !read_string(r, "namespace", out.pod_namespace, error))
    return false;
  if (out.uid.empty()) {
    if (error) *error = "request.uid is missing";
    return false;
  }
  if (const auto res = r.find("resource"); res != r.end() && res->is_object())
    if (!read_string(*res, "resource", out.resource, error)) return false;
  if (const auto user = r.find("userInfo"); user != r.end() && user->is_object())
    if (!read_string(*user, "username", out.user, error)) return false;
  if (const auto dry = r.find("dryRun"); dry != r.end() && !dry->is_null()) {
    if (!dry->is_boolean()) {
      if (error) *error = "request.dryRun must be a boolean";
      return false;
    }
    out.dry_run = dry->get<bool>();
  }
  return read_object_dry_run(r, out.dry_run, error);
}

}  // namespace

std::optional<AdmissionRequest> parse_admission_review(std::string_view body, std::string* error) {
  if (body.size() > kMaxAdmissionReviewBytes) {
    if (error) *error = "body larger than " + std::to_string(kMaxAdmissionReviewBytes) + " bytes";
    return std::nullopt;
  }
  // Nesting is bounded by the size: nlohmann_json (3.11) parses and frees nested values without recursion.
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    if (error) *error = "body is not a JSON object";
    return std::nullopt;
  }
  if (doc.value("apiVersion", json()) != "admission.k8s.io/v1" || doc.value("kind", json()) != "AdmissionReview") {
    if (error) *error = "expected apiVersion admission.k8s.io/v1, kind AdmissionReview";
    return std::nullopt;
  }
  const auto r = doc.find("request");
  if (r == doc.end()) {
    if (error) *error = "request is missing";
    return std::nullopt;
  }
  AdmissionRequest out;
  if (!read_request(*r, out, error)) return std::nullopt;
  return out;
}

std::string admission_response(const std::string& uid, bool allowed, int code, const std::string& message) {
  json response = {{"uid", uid}, {"allowed", allowed}};
  if (!allowed) {
    json status = {{"code", code}, {"message", message}, {"status", "Failure"}};
    if (code == 429) status["reason"] = "TooManyRequests";
    response["status"] = std::move(status);
  }
  return json{{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"response", response}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
}

}  // namespace isrguard::service
