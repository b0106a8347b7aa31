#include "service/views/http_api.h"

#include <charconv>
#include <optional>
#include <set>

#include "service/config/value_parsers.h"
#include "service/views/disruption_report.h"

namespace isrguard::service {
namespace {

constexpr const char* kJson = "application/json";
constexpr const char* kPrometheus = "text/plain; version=0.0.4; charset=utf-8";

HttpResponse text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse json_response(int status, const nlohmann::ordered_json& j) {
  HttpResponse r;
  r.status = status;
  r.content_type = kJson;
  r.body = j.dump(2) + "\n";
  return r;
}

HttpResponse json_error(int status, const std::string& message) {
  return json_response(status, nlohmann::ordered_json{{"error", message}});
}

// "a,b" -> {"a", "b"}; nullopt when an item is empty or blank (",a", "a,", "a,,b", "a, ,b"), as in the
// flags: a stray comma is a mistake, never "nothing".
std::optional<std::vector<std::string>> split_items(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto comma = s.find(',', start);
    const auto end = comma == std::string::npos ? s.size() : comma;
    std::string item = s.substr(start, end - start);
    if (trim_blanks(item).empty()) return std::nullopt;
    out.push_back(std::move(item));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

// Every value of the repeatable parameter `key`, split at commas, into `into` (each distinct item once, so
// repeating a parameter costs no more than giving it once); false with `error` on an empty item.
bool collect_items(const HttpRequest& req, const std::string& key, std::vector<std::string>& into,
                   std::string* error) {
  std::set<std::string> seen(into.begin(), into.end());
  for (auto [it, end] = req.params.equal_range(key); it != end; ++it) {
    auto items = split_items(it->second);
    if (!items) {
      *error = key + ": '" + it->second + "' has an empty item; give a comma-separated list like a,b";
      return false;
    }
    for (auto& item : *items)
      if (seen.insert(item).second) into.push_back(std::move(item));
  }
  return true;
}

// ?brokers=&fleet=&rack= -> query; nullopt with `error` for malformed ids or an empty item. The ids of
// every brokers= parameter are merged as ranges and counted before anything is expanded: their union, not
// each parameter, is capped at kMaxExpectedBrokers, which bounds the answer and the memory of one request.
std::optional<DisruptionQuery> disruption_query(const HttpRequest& req, std::string* error) {
  DisruptionQuery q;
  IdRanges all;
  for (auto [it, end] = req.params.equal_range("brokers"); it != end; ++it) {
    auto ranges = parse_query_id_ranges(it->second);
    if (!ranges) {
      *error = "brokers: '" + it->second + "' is not a list of broker ids like 3,101 or 1-3";
      return std::nullopt;
    }
    all.insert(all.end(), ranges->begin(), ranges->end());
  }
  if (!all.empty()) {
    const IdRanges merged = merge_ranges(std::move(all));
    auto ids = expand_ids(merged);
    if (!ids) {
      *error = "brokers: " + std::to_string(id_count(merged)) + " ids asked; at most " +
               std::to_string(kMaxExpectedBrokers) + " across all brokers= parameters";
      return std::nullopt;
    }
    q.brokers = std::move(*ids);
  }
  if (!collect_items(req, "fleet", q.fleets, error) || !collect_items(req, "rack", q.racks, error))
    return std::nullopt;
  return q;
}

HttpResponse disruption_response(const PublishedState& state, const Readiness& readiness,
                                 const HttpRequest& req, const Policy& policy,
                                 const DisruptionOptions& options, SteadyClock::time_point now,
                                 std::chrono::system_clock::time_point wall_now) {
  std::string error;
  const auto query = disruption_query(req, &error);
  if (!query) return json_error(400, error);
  if (!state.snapshot || !state.verdict)
    return json_response(503, nlohmann::ordered_json{{"safe", false}, {"error", "no successful probe yet"}});
  auto targets = resolve_disruption(*query, *state.snapshot, *state.verdict, policy, &error, options);
  if (!targets) return json_error(400, error);
  const DisruptionAnswer answer =
      assess_disruption(*state.snapshot, *state.verdict, std::move(*targets), readiness.reasons,
                        DisruptionAcks{state.overrides.active, wall_now}, options);
  return json_response(answer.safe ? 200 : 409,
                       disruption_json(answer, state, readiness.ready, options, now, wall_now));
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF. Query bytes reach JSON
// output and logs; anything else is rejected before it gets there.
bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b < 0x80) n = 0;
    else if (b >= 0xC2 && b <= 0xDF) n = 1;
    else if (b == 0xE0) n = 2, lo = 0xA0;
    else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) n = 2;
    else if (b == 0xED) n = 2, hi = 0x9F;
    else if (b == 0xF0) n = 3, lo = 0x90;
    else if (b >= 0xF1 && b <= 0xF3) n = 3;
    else if (b == 0xF4) n = 3, hi = 0x8F;
    else return false;
    if (i + n >= s.size() && n > 0) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return false;
    }
    i += n + 1;
  }
  return true;
}

// The query rules every route shares (documented in http_api.h): UTF-8 only, single-valued parameters
// given at most once. Returns the 400 to send, or nothing when the query is acceptable.
std::optional<HttpResponse> reject_query(const HttpRequest& req) {
  if (req.params.size() > kMaxQueryParameters)
    return json_error(400, "too many query parameters (" + std::to_string(req.params.size()) + "); at most " +
                               std::to_string(kMaxQueryParameters));
  for (const auto& [k, v] : req.params) {
    if (!valid_utf8(k) || !valid_utf8(v)) return json_error(400, "query is not valid UTF-8");
    if (k.find('\0') != std::string::npos || v.find('\0') != std::string::npos)
      return json_error(400, "query contains a NUL byte (%00)");
  }
  for (const char* single : {"verbose", "topic", "limit"}) {
    if (req.params.count(single) > 1)
      return json_error(400, std::string("parameter '") + single + "' given more than once");
  }
  return std::nullopt;
}

// ?verbose, ?verbose=1|true: verbose; absent, ?verbose=0|false: not; anything else is an error.
std::optional<bool> verbose_of(const HttpRequest& req) {
  const auto it = req.params.find("verbose");
  if (it == req.params.end()) return false;
  const auto& v = it->second;
  if (v.empty() || v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  return std::nullopt;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string query_decode(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::multimap<std::string, std::string> parse_query(const std::string& raw) {
  std::multimap<std::string, std::string> params;
  std::size_t start = 0;
  while (start <= raw.size()) {
    const auto amp = raw.find('&', start);
    const auto end = amp == std::string::npos ? raw.size() : amp;
    if (end > start) {
      const std::string item = raw.substr(start, end - start);
      const auto eq = item.find('=');
      params.emplace(query_decode(item.substr(0, eq)),
                     eq == std::string::npos ? std::string() : query_decode(item.substr(eq + 1)));
    }
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return params;
}

ApiOptions ApiOptions::from_config(const Config& c) {
  ApiOptions o;
  o.stale_after = c.stale_after;
  // Generous: a slow but alive loop must not be restarted by the kubelet (that would only hide the problem).
  o.live_after = 2 * (c.poll_interval + c.probe_timeout) + std::chrono::seconds(10);
  o.status = StatusContext::from_config(c);
  o.metrics.partition_cap = c.metrics_partition_cap;
  o.metrics.jmx_names = c.jmx_metrics;
  o.metrics.version = o.status.version;
  o.metrics.commit = o.status.commit;
  o.disruption = c.disruption;
  return o;
}

Api::Api(const StateSource& source, const Policy& policy, ApiOptions options)
    : source_(source), policy_(policy), options_(std::move(options)) {}

HttpResponse Api::handle(const HttpRequest& req, SteadyClock::time_point now,
                         std::chrono::system_clock::time_point wall_now) const {
  static const char* const kPaths[] = {"/livez",   "/readyz",        "/v1/status", "/v1/partitions",
                                       "/metrics", "/v1/disruption"};
  bool known = false;
  for (const char* p : kPaths) known = known || req.path == p;
  if (!known) return text(404, "not found: " + req.path + "\n");
  if (req.method != "GET" && req.method != "HEAD") {
    HttpResponse r = text(405, "method not allowed: " + req.method + "\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }

  if (auto rejected = reject_query(req)) return *rejected;

  const auto state = source_.current();
  if (req.path == "/livez") {
    if (alive_at(*state, now, options_.live_after)) return text(200, "ok\n");
    const auto silent = std::chrono::duration_cast<std::chrono::seconds>(now - state->loop_heartbeat);
    return text(503, "probe loop silent for " + std::to_string(silent.count()) + "s\n");
  }

  const Readiness readiness = readiness_at(*state, now, options_.stale_after, policy_);
  if (req.path == "/readyz") {
    const auto verbose = verbose_of(req);
    if (!verbose) return text(400, "verbose must be 1, true, 0 or false\n");
    return text(readiness.ready ? 200 : 503, readyz_text(*state, readiness, policy_, now, *verbose));
  }
  if (req.path == "/v1/status") {
    HttpResponse r;
    r.status = 200;
    r.content_type = kJson;
    r.body = status_text(status_json(*state, readiness, options_.status, now, wall_now));
    return r;
  }
  if (req.path == "/v1/disruption")
    return disruption_response(*state, readiness, req, policy_, options_.disruption, now, wall_now);
  if (req.path == "/metrics") {
    std::optional<WebhookStats> webhook;
    if (options_.webhook) webhook = options_.webhook->webhook_stats();
    HttpResponse r = text(200, render_metrics(*state, readiness, policy_, options_.metrics, now, wall_now,
                                              webhook ? &*webhook : nullptr));
    r.content_type = kPrometheus;
    return r;
  }
  // /v1/partitions
  PartitionQuery q;
  q.limit = policy_.list_cap;
  std::string error;
  if (!collect_items(req, "state", q.states, &error)) return json_error(400, error);
  if (auto it = req.params.find("topic"); it != req.params.end()) q.topic = it->second;
  if (auto it = req.params.find("limit"); it != req.params.end()) {
    std::size_t limit = 0;
    const auto& v = it->second;
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), limit);
    if (ec != std::errc() || p != v.data() + v.size() || limit > options_.partitions_limit_max)
      return json_error(400, "limit must be an integer 0.." + std::to_string(options_.partitions_limit_max));
    q.limit = limit;
  }
  auto j = partitions_json(*state, policy_, q, &error);
  if (!j) return json_error(400, error);
  return json_response(200, *j);
}

}  // namespace isrguard::service
