#include "service/views/kube_pod.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace isrguard::service {
namespace {

using nlohmann::json;
using Status = PodLookup::Status;

// The `message` of a Kubernetes Status body, printable ASCII, capped; "" when the body is not one.
std::string status_message(std::string_view body) {
  if (body.size() > kMaxPodBytes) return "";
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return "";
  const auto m = doc.find("message");
  if (m == doc.end() || !m->is_string()) return "";
  return printable_excerpt(m->get<std::string>(), kMaxStatusMessageChars);
}

// labels or annotations: absent or null = none; else an object of strings.
bool read_string_map(const json& metadata, const char* key,
                     std::map<std::string, std::string, std::less<>>& out) {
  const auto it = metadata.find(key);
  if (it == metadata.end() || it->is_null()) return true;
  if (!it->is_object()) return false;
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return false;
    out.emplace(k, v.get<std::string>());
  }
  return true;
}

std::string string_at(const json& o, const char* key) {
  const auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

PodLookup read_pod(std::string_view body, std::string_view ns, std::string_view name) {
  PodLookup out;
  out.status = Status::kInvalid;
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    out.detail = "the answer is not a JSON object";
    return out;
  }
  if (string_at(doc, "kind") != "Pod" || string_at(doc, "apiVersion") != "v1") {
    out.detail = "the answer is not a v1 Pod";
    return out;
  }
  const auto meta = doc.find("metadata");
  if (meta == doc.end() || !meta->is_object() || string_at(*meta, "name") != name ||
      string_at(*meta, "namespace") != ns) {
    out.detail = "the answer is not the pod asked for";
    return out;
  }
  if (!read_string_map(*meta, "labels", out.metadata.labels) ||
      !read_string_map(*meta, "annotations", out.metadata.annotations)) {
    out.metadata = {};
    out.detail = "the pod's labels or annotations are not objects of strings";
    return out;
  }
  out.status = Status::kOk;
  return out;
}

}  // namespace

PodLookup pod_lookup_from_response(long http_status, std::string_view body, std::string_view ns,
                                   std::string_view name) {
  const std::string what = "GET " + pod_path(ns, name) + ": ";
  if (body.size() > kMaxPodBytes)
    return {Status::kTooLarge, {}, what + "answer larger than " + std::to_string(kMaxPodBytes) + " bytes"};
  if (http_status == 200) {
    PodLookup out = read_pod(body, ns, name);
    if (out.status != Status::kOk) out.detail = what + out.detail;
    return out;
  }
  const std::string message = status_message(body);
  const std::string detail =
      what + "HTTP " + std::to_string(http_status) + (message.empty() ? "" : ": " + message);
  switch (http_status) {
    case 401:
      return {Status::kUnauthorized, {}, detail};
    case 403:
      return {Status::kForbidden, {}, detail};
    case 404:
      return {Status::kNotFound, {}, detail};
    default:
      return {Status::kServerError, {}, detail};
  }
}

std::string pod_path(std::string_view ns, std::string_view name) {
  return "/api/v1/namespaces/" + std::string(ns) + "/pods/" + std::string(name);
}

bool is_pod_path_safe(std::string_view ns, std::string_view name) {
  const auto safe = [](std::string_view s) {
    return !s.empty() && s.size() <= 253 && std::all_of(s.begin(), s.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    });
  };
  return safe(ns) && safe(name) && ns != "." && ns != ".." && name != "." && name != "..";
}

}  // namespace isrguard::service
