#pragma once

// The answer of the API server to GET /api/v1/namespaces/NS/pods/NAME, as the eviction webhook reads it to
// find a pod's broker id (service/judge/eviction.h, BrokerIdKeyRule). Pure (status and body in, PodLookup
// out); the request itself is made by service/runtime/kube_client.h.
//
// 200: a v1 Pod whose metadata.name and metadata.namespace are the ones asked for, labels and annotations
// objects of strings (absent = none); anything else is kInvalid. 401, 403, 404: kUnauthorized, kForbidden,
// kNotFound; every other status (5xx, 429, 3xx, ...) kServerError. The detail quotes the API server's Status
// message (printable ASCII, at most kMaxStatusMessageChars), never the request's headers.

#include <cstddef>
#include <string>
#include <string_view>

#include "service/judge/eviction.h"

namespace isrguard::service {

// The largest Pod body read. A Pod is a few KiB, tens with managedFields; annotations are capped at 256 KiB
// by the API server's validation. A larger body is kTooLarge, never parsed.
inline constexpr std::size_t kMaxPodBytes = 1024 * 1024;
// How much of a Status message a denial quotes.
inline constexpr std::size_t kMaxStatusMessageChars = 300;

// The lookup of pod `ns`/`name` from the answer's HTTP status and body (the detail names the request).
PodLookup pod_lookup_from_response(long http_status, std::string_view body, std::string_view ns,
                                   std::string_view name);

// The request path of pod `ns`/`name`, unescaped: callers check is_pod_path_safe first.
std::string pod_path(std::string_view ns, std::string_view name);
// True when `ns` and `name` hold only [a-z0-9.-] and are 1-253 characters (what the API server accepts for a
// pod): safe to put into a URL path as is.
bool is_pod_path_safe(std::string_view ns, std::string_view name);

}  // namespace isrguard::service
