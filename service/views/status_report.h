#pragma once

// Human- and script-facing views of the published state: /v1/status and /v1/partitions JSON, the
// /readyz text, and the --once table / JSON. Pure functions of (state, now): no Kafka, no clocks read here.
// nlohmann::ordered_json is this layer's own type; the HTTP layer only serialises what it gets.

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "service/config/config.h"
#include "service/views/state.h"

namespace isrguard::service {

// What the views need besides the state: effective configuration (secrets already redacted) and identity.
struct StatusContext {
  std::vector<std::pair<std::string, std::string>> config;  // Config::describe()
  std::chrono::milliseconds stale_after{std::chrono::seconds(60)};
  std::chrono::milliseconds recovery_hold{std::chrono::seconds(30)};
  std::size_t list_cap = 128;  // max unhealthy topics listed (partitions are capped by the verdict itself)
  std::string version;
  std::string commit;

  static StatusContext from_config(const Config& c);
};

// GET /v1/status. `readiness` is readiness_at(state, now, ...) computed by the caller for the same `now`.
nlohmann::ordered_json status_json(const PublishedState& state, const Readiness& readiness,
                                   const StatusContext& ctx, SteadyClock::time_point now,
                                   std::chrono::system_clock::time_point wall_now);

// The JSON text of a status document (status_json, once_json): indented by 2, except that each entry of the
// top-level `brokers` array is written on one line. At the --expected-brokers cap that array holds up to 2,000
// entries; on one line each they cost about a third of their indented size (so the document stays under
// 1 MiB, docs/api.md) and `grep '"id":7,'` finds a broker's whole entry. Ends with a newline.
std::string status_text(const nlohmann::ordered_json& status);

// GET /v1/partitions?state=&topic=&limit=. Filters every partition of the last snapshot (not just the capped
// unhealthy list) by per-partition state code (service/judge/reasons.h pstate, "unhealthy" = any but healthy) and
// exact topic name; lists at most `limit`, with the true number matched.
struct PartitionQuery {
  std::vector<std::string> states;  // empty = "unhealthy"
  std::optional<std::string> topic;
  std::size_t limit = 128;
};
// Returns nullopt with `error` set when a state code is unknown. Uses state.unhealthy_partitions when set
// (same answer, without classifying every partition) unless "healthy" is asked for.
std::optional<nlohmann::ordered_json> partitions_json(const PublishedState& state, const Policy& policy,
                                                      const PartitionQuery& query, std::string* error);
// The selected partitions of state.snapshot that are not healthy, in (topic, partition) order, judged as
// partitions_json judges them (state.verdict and state.history must be those of the snapshot). Empty
// without a snapshot or verdict.
std::vector<IndexedPartition> index_unhealthy_partitions(const PublishedState& state, const Policy& policy);

// GET /readyz body. Verbose: the line format of kube-apiserver's /readyz?verbose (k8s.io/apiserver
// pkg/server/healthz, v0.36.3): "[+]<check> ok" per passing check (first_probe, each gating reason code, the
// gate), "[-]<check> failed: ..." per failing one, "warn: ..." lines (here: active reasons that do not gate),
// then "readyz check passed" / "readyz check failed". Where isrguard differs on purpose: a failed check says why
// (kube writes "reason withheld"); a failure answers 503 (kube 500); the non-verbose body is "ok\n" or
// "not ready: <codes>\n" (kube writes "ok" with no newline, and the verbose list on failure).
std::string readyz_text(const PublishedState& state, const Readiness& readiness, const Policy& policy,
                        SteadyClock::time_point now, bool verbose);

// isrguard --once: one probe's verdict, for scripts (JSON) and people (table). When the probe failed (no
// snapshot: exit 2) there is no verdict: the JSON is {"error": {"kind", "message"}, "probe", "version"} and
// the table's headline is ERROR, not UNHEALTHY.
nlohmann::ordered_json once_json(const PublishedState& state, const Config& config);
// {"error": {"kind", "message"}, "probe", "version"}: the shape of that error object, for any other reason
// --once has no verdict to print (e.g. `--disrupt-rack` naming a rack no broker reports: kind "query").
nlohmann::ordered_json once_error_json(const std::string& kind, const std::string& message,
                                       const PublishedState& state);
std::string once_table(const PublishedState& state, const Config& config);
// --once --output json when isrguard cannot start (invalid configuration, exit 2):
// {"error": {"kind": "config", "message", "problems": [...]}, "version"}.
nlohmann::ordered_json config_error_json(const std::vector<std::string>& problems);

// The overrides section of /v1/status and --once JSON: file, validity, error, reload errors, active and
// expired entries (times left as of the status's poll).
nlohmann::ordered_json overrides_json(const OverridesStatus& status);
// One entry as those lists show it: action, reason, scope, expires, seconds_left (as of `now`), by, why,
// line.
nlohmann::ordered_json override_json(const Override& o, std::chrono::system_clock::time_point now);

// The --once verdict (its JSON "healthy", its table headline and its exit code 0): there is a verdict, no
// reason gates after the overrides (a freeze gates; an acknowledged reason does not) and the probe succeeded.
bool once_healthy(const PublishedState& state);
// Human list of override entries (--check-overrides, --once table): one line per entry, active then expired.
std::string overrides_text(const std::string& path, const std::vector<Override>& entries,
                           std::chrono::system_clock::time_point now);

// A partition's identity and metadata as every partition list shows them: topic, partition, leader, replicas,
// isr (callers append their own judgement).
nlohmann::ordered_json partition_facts_json(const std::string& topic, PartitionView p);

// One reason as /v1/status lists it: code, count, gating, detail.
nlohmann::ordered_json reason_json(const Reason& r);

}  // namespace isrguard::service
