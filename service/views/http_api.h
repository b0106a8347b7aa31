#pragma once

// The HTTP API as a pure mapping: (request, cached state, now) -> response. No sockets, no HTTP library, so every
// route is testable without a server; service/runtime/http_server.h adapts it to libmicrohttpd.
//
// Routes (GET and HEAD; any other method on a known path is 405, unknown paths 404):
//   /livez            200 "ok" while the probe loop keeps finishing iterations; never looks at Kafka health
//   /readyz           200 / 503 from readiness_at(); ?verbose lists every check
//   /v1/status        JSON status (service/views/status_report.h)
//   /v1/partitions    JSON partition list; ?state=a,b (repeatable) &topic=name &limit=N
//   /v1/disruption    may these brokers go now? ?brokers=3,101 &fleet=ec2 &rack=us-east-1a (each
//                     comma-separated and repeatable; union, at most kMaxExpectedBrokers ids in all):
//                     200 safe, 409 unsafe, 400 bad input, 503 no snapshot (service/judge/disruption.h)
//   /metrics          Prometheus text (service/views/metrics.h)
// Query rules on every known path: at most kMaxQueryParameters parameters, keys and values UTF-8 without a
// NUL byte (else 400); `verbose`, `topic` and `limit` may appear at most once (else 400), `state`, `brokers`,
// `fleet` and `rack` may repeat (their values add up; an empty list item such as `rack=a,` is a 400);
// verbose is on for a bare ?verbose, =1 or =true, off for =0 or =false, 400 for anything else. Unknown
// parameters are ignored (but count).
// Each call reads one shared_ptr of published state: constant time for /livez and /readyz.

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "service/config/config.h"
#include "service/judge/disruption.h"
#include "service/views/metrics.h"
#include "service/views/state.h"
#include "service/views/status_report.h"
#include "service/views/webhook_stats.h"

namespace isrguard::service {

// More query parameters than this is a 400: a real question needs a handful (each list parameter takes
// comma-separated values), and every parameter costs memory in the server.
inline constexpr std::size_t kMaxQueryParameters = 32;

struct HttpRequest;
// The query string of a request target (the bytes after '?', not decoded) -> its parameters, split at '&'
// and at the first '=' of each, '+' read as a space and %XX decoded (an invalid escape is left as it is), with
// their lengths: a %00 becomes a NUL byte in the value, never the end of it. Empty parameters ("a&&b") are
// skipped. Every parameter is kept (the request line bounds how many there are): the API's query rules
// reject more than kMaxQueryParameters with a 400.
std::multimap<std::string, std::string> parse_query(const std::string& raw);

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string path;
  std::multimap<std::string, std::string> params;  // decoded query parameters
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  bool operator==(const HttpResponse&) const = default;
};

struct ApiOptions {
  std::chrono::milliseconds stale_after{std::chrono::seconds(60)};
  // /livez fails when the loop has not finished an iteration for this long (an iteration takes at most
  // poll interval + probe timeout).
  std::chrono::milliseconds live_after{std::chrono::seconds(60)};
  std::size_t partitions_limit_max = 10000;  // hard ceiling on /v1/partitions?limit
  StatusContext status;
  MetricsContext metrics;
  DisruptionOptions disruption;
  // The eviction webhook's counts for /metrics; null when the webhook is off. Must outlive the Api.
  const WebhookStatsSource* webhook = nullptr;

  static ApiOptions from_config(const Config& c);
};

class Api {
 public:
  // `source` and `policy` must outlive the Api. Thread-safe: const, reads through StateSource.
  Api(const StateSource& source, const Policy& policy, ApiOptions options);

  HttpResponse handle(const HttpRequest& request, SteadyClock::time_point now,
                      std::chrono::system_clock::time_point wall_now) const;

 private:
  const StateSource& source_;
  const Policy& policy_;
  const ApiOptions options_;
};

}  // namespace isrguard::service
