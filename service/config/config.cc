#include "service/config/config.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include "probes/rdkafka_source.h"
#include "service/config/flags.h"
#include "service/config/kafka_properties.h"
#include "service/config/value_parsers.h"
#include "service/judge/reasons.h"

#ifndef ISRGUARD_VERSION
#define ISRGUARD_VERSION "dev"
#endif
#ifndef ISRGUARD_COMMIT
#define ISRGUARD_COMMIT "unknown"
#endif

namespace isrguard::service {

std::vector<std::pair<std::string, std::string>> Config::describe() const {
  std::vector<std::pair<std::string, std::string>> d;
  d.emplace_back("bootstrap_servers", bootstrap_servers);
  d.emplace_back("mock_brokers", std::to_string(mock_brokers));
  d.emplace_back("poll_interval", format_duration(poll_interval));
  d.emplace_back("probe_timeout", format_duration(probe_timeout));
  d.emplace_back("config_refresh_interval", format_duration(config_refresh));
  d.emplace_back("stale_after", format_duration(stale_after));
  d.emplace_back("recovery_hold", format_duration(gate.recovery_hold));
  d.emplace_back("min_isr_max_age", format_duration(min_isr_max_age()));
  d.emplace_back("expected_brokers", format_id_ranges(ranges_of(policy.expected_brokers)));
  d.emplace_back("forget_missing_brokers_after", format_duration(policy.forget_missing_brokers_after));
  for (const auto& f : policy.fleets) {
    std::string rule;
    if (!f.id_ranges.empty()) rule = "ids:" + format_id_ranges(f.id_ranges);
    if (!f.host_regex.empty()) rule += (rule.empty() ? "" : " ") + ("host:" + f.host_regex);
    d.emplace_back("fleet." + f.name, rule);
  }
  d.emplace_back("topic_include", policy.topic_include);
  d.emplace_back("topic_exclude", policy.topic_exclude);
  std::string gates;
  for (const auto& g : policy.gating_reasons) gates += (gates.empty() ? "" : ",") + g;
  d.emplace_back("gate_on", gates);
  d.emplace_back("default_min_isr", std::to_string(policy.default_min_isr));
  d.emplace_back("list_cap", std::to_string(policy.list_cap));
  d.emplace_back("broker_slow_after", format_duration(policy.broker_slow_after));
  d.emplace_back("http_address", http_address);
  d.emplace_back("http_port", std::to_string(http_port));
  d.emplace_back("http_threads", std::to_string(http_threads));
  d.emplace_back("http_timeout", format_duration(http_timeout));
  d.emplace_back("http_max_connections", std::to_string(http_max_connections));
  d.emplace_back("health_port", std::to_string(health_port));
  d.emplace_back("metrics_partition_cap", std::to_string(metrics_partition_cap));
  d.emplace_back("overrides_file", overrides_file);
  d.emplace_back("max_override_ttl", format_duration(max_override_ttl));
  d.emplace_back("jmx_metrics", jmx_metrics ? "true" : "false");
  d.emplace_back("log_level", log_level);
  d.emplace_back("webhook_port", std::to_string(webhook_port));
  for (const auto& k : webhook_broker_id_keys)
    d.emplace_back("webhook_broker_id_" + std::string(source_name(k.source)) + "." + k.pod_namespace, k.key);
  if (!webhook_broker_id_keys.empty()) {
    d.emplace_back("kube_api", kube_api);
    d.emplace_back("kube_token_file", kube_token_file);  // the path; the token itself is never shown
    d.emplace_back("kube_ca_file", kube_ca_file);
    d.emplace_back("kube_timeout", format_duration(kube_timeout));
  }
  d.emplace_back("disruption_block_min_isr_risk", disruption.block_min_isr_risk ? "true" : "false");
  d.emplace_back("disrupt_unknown_as_gone", disruption.unknown_ids_as_gone ? "true" : "false");
  for (const auto& [k, v] : kafka_properties)
    d.emplace_back("kafka." + k, probes::is_secret_property(k) ? "<redacted>" : v);
  return d;
}

namespace {

using Errors = std::vector<std::string>;

void apply_overrides_flags(const RawFlags& r, Config& c, Errors& errors) {
  const auto ttl = parse_duration(r.max_override_ttl);
  if (!ttl || *ttl < std::chrono::minutes(1) || *ttl > std::chrono::hours(168)) {
    errors.push_back("--max-override-ttl: '" + r.max_override_ttl + "' must be a duration from 1m to 168h");
    return;
  }
  c.max_override_ttl = *ttl;
}

void apply_durations(const RawFlags& r, Config& c, Errors& errors) {
  auto duration = [&](const std::string& flag, const std::string& text, std::chrono::milliseconds& dst) {
    if (auto d = parse_duration(text))
      dst = *d;
    else
      errors.push_back(flag + ": '" + text + "' is not a duration (use e.g. 500ms, 5s, 2m, 1h)");
  };
  duration("--poll-interval", r.poll, c.poll_interval);
  duration("--probe-timeout", r.timeout, c.probe_timeout);
  duration("--config-refresh-interval", r.refresh, c.config_refresh);
  duration("--stale-after", r.stale, c.stale_after);
  duration("--recovery-hold", r.hold, c.gate.recovery_hold);
  duration("--http-timeout", r.http_timeout, c.http_timeout);
  duration("--forget-missing-brokers-after", r.forget_brokers, c.policy.forget_missing_brokers_after);
  duration("--broker-slow-after", r.broker_slow, c.policy.broker_slow_after);
  if (c.policy.broker_slow_after <= std::chrono::milliseconds(0))
    errors.push_back("--broker-slow-after must be more than 0");
  if (c.poll_interval < std::chrono::milliseconds(100))
    errors.push_back("--poll-interval must be at least 100ms");
  if (c.probe_timeout < std::chrono::milliseconds(100))
    errors.push_back("--probe-timeout must be at least 100ms");
  // Staleness means nothing for the single probe of --once.
  if (!c.once && c.stale_after <= c.poll_interval + c.probe_timeout)
    errors.push_back("--stale-after (" + format_duration(c.stale_after) +
                     ") must exceed --poll-interval + --probe-timeout (" +
                     format_duration(c.poll_interval + c.probe_timeout) + ")");
  if (c.http_timeout < std::chrono::milliseconds(100))
    errors.push_back("--http-timeout must be at least 100ms");
}

// `path` must name a readable regular file (symlinks followed: Kubernetes mounts secrets through them); else
// an error naming `flag`, with `hint` after "cannot read", and false.
bool check_readable_file(const char* flag, const std::string& path, const std::string& hint, Errors& errors) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (!ec && fs::exists(st) && !fs::is_regular_file(st)) {
    errors.push_back(std::string(flag) + ": '" + path + "' is not a regular file");
    return false;
  }
  if (ec || !fs::exists(st) || !std::ifstream(path)) {
    errors.push_back(std::string(flag) + ": cannot read '" + path + "'" + hint);
    return false;
  }
  return true;
}

// Reads a .properties file into `merged`. It must be a regular file (symlinks followed, as Kubernetes mounts
// secrets) of at most kMaxPropertiesFileBytes: /dev/zero, a FIFO or a directory is refused.
void read_properties_file(const std::string& path, std::map<std::string, std::string>& merged,
                          Errors& errors) {
  if (!check_readable_file("--kafka-properties", path, "", errors)) return;
  std::ifstream in(path, std::ios::binary);
  if (!in) {  // gone since the check
    errors.push_back("--kafka-properties: cannot read '" + path + "'");
    return;
  }
  std::string text(kMaxPropertiesFileBytes + 1, '\0');  // bounded even if the file grows meanwhile
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxPropertiesFileBytes) {
    errors.push_back("--kafka-properties: '" + path + "' is larger than " +
                     std::to_string(kMaxPropertiesFileBytes) + " bytes");
    return;
  }
  std::vector<std::string> perr;
  for (auto& [k, v] : parse_properties(text, perr)) merged[k] = std::move(v);
  for (auto& e : perr) errors.push_back("--kafka-properties " + path + ": " + e);
}

// Kafka client properties from every source merged (the file first, then --kafka-config /
// ISRGUARD_KAFKA_CONFIG entries in order) and translated once (service/config/kafka_properties.h); bootstrap
// servers from the flag or the properties.
void apply_kafka(const RawFlags& r, Config& c, Errors& errors, Errors& warnings) {
  std::map<std::string, std::string> merged;
  if (r.given.count("--kafka-properties") && trim_blanks(r.properties_file).empty())
    errors.push_back("--kafka-properties: empty path");
  else if (!r.properties_file.empty())
    read_properties_file(r.properties_file, merged, errors);
  std::size_t index = 0;
  for (const auto& kv : r.kafka_config) {
    ++index;
    if (trim_blanks(kv).empty() || trim_blanks(kv)[0] == '#') continue;  // blank lines and comments in the environment
    std::string key, value, why;
    if (!parse_config_entry(kv, index, key, value, why)) {
      errors.push_back("--kafka-config: " + why);
      continue;
    }
    merged[key] = value;
  }
  auto translated = translate_java_properties(merged, probes::is_client_property);
  for (const auto& e : translated.errors) errors.push_back("Kafka client configuration: " + e);
  if (auto w = ignored_settings_warning(translated.ignored); !w.empty()) warnings.push_back(std::move(w));
  c.kafka_properties = std::move(translated.properties);
  if (r.given.count("--bootstrap-servers") && trim_blanks(c.bootstrap_servers).empty())
    errors.push_back("--bootstrap-servers: blank");
  if (c.bootstrap_servers.empty()) {
    if (auto it = c.kafka_properties.find("bootstrap.servers"); it != c.kafka_properties.end())
      c.bootstrap_servers = it->second;
  }
  if (!trim_blanks(c.bootstrap_servers).empty() && !split_list(c.bootstrap_servers))
    errors.push_back("--bootstrap-servers: '" + c.bootstrap_servers +
                     "' has an empty item (host:port,host:port)");
  c.bootstrap_servers = trim_blanks(c.bootstrap_servers);
  if (c.mock_brokers < 0 || c.mock_brokers > 16) errors.push_back("--mock-brokers must be between 0 and 16");
  if (c.bootstrap_servers.empty() && c.mock_brokers == 0 && c.check_overrides.empty())
    errors.push_back(
        "--bootstrap-servers is required (or bootstrap.servers in --kafka-properties, or --mock-brokers)");
  if (!c.bootstrap_servers.empty()) c.kafka_properties["bootstrap.servers"] = c.bootstrap_servers;
}

void apply_expected_brokers(const RawFlags& r, Config& c, Errors& errors) {
  if (!r.given.count("--expected-brokers") && r.expected.empty()) return;
  const auto ranges = parse_id_ranges(r.expected);
  if (!ranges) {
    errors.push_back("--expected-brokers: '" + r.expected + "' is not a list of ids/ranges like 1-3,101");
  } else if (id_count(*ranges) > kMaxExpectedBrokers) {
    errors.push_back("--expected-brokers: at most " + std::to_string(kMaxExpectedBrokers) +
                     " broker ids (got " + std::to_string(id_count(*ranges)) + ")");
  } else {
    c.policy.expected_brokers = *parse_id_list(r.expected);
  }
}

// Each value holds one or more rules separated by blanks (the environment variable holds them all).
void apply_fleets(const RawFlags& r, Config& c, Errors& errors) {
  for (const auto& value : r.fleets) {
    if (trim_blanks(value).empty()) errors.push_back("--fleet: blank");
    std::stringstream ss(value);
    std::string spec;
    while (ss >> spec) {
      if (auto f = parse_fleet(spec))
        c.policy.fleets.push_back(std::move(*f));
      else
        errors.push_back("--fleet: '" + spec + "' must be NAME=ids:LIST or NAME=host:REGEX");
    }
  }
}

// --gate-on replaces the default set. A blank value or an empty item is an error, never "gate on nothing":
// an empty set would never close the gate.
void apply_gating(const RawFlags& r, Config& c, Errors& errors) {
  if (r.given.count("--gate-on")) {
    c.policy.gating_reasons.clear();
    bool blank_item = r.gate_on.empty();
    std::vector<std::string> codes;
    for (const auto& value : r.gate_on) {  // repeatable, each comma-separated
      auto items = split_list(value);
      if (!items) blank_item = true;
      else codes.insert(codes.end(), items->begin(), items->end());
    }
    for (const auto& code : codes) {
      if (!reason::is_known(code)) {
        std::string known;
        for (auto k : reason::kAll) known += (known.empty() ? "" : ", ") + std::string(k);
        errors.push_back("--gate-on: unknown reason '" + code + "' (known: " + known + ")");
      } else {
        c.policy.gating_reasons.insert(code);
      }
    }
    if (blank_item)
      errors.push_back("--gate-on: empty reason code in the list (an empty set would never close the gate)");
  }
  if (r.gate_at_min) c.policy.gating_reasons.insert(std::string(reason::kAtMinIsrPartitions));
  // An operator freeze gates whatever --gate-on says (that is what it is for).
  c.policy.gating_reasons.insert(std::string(reason::kOverrideFreeze));
}

void apply_limits(const RawFlags& r, Config& c, Errors& errors) {
  if (c.policy.default_min_isr < 1) errors.push_back("--default-min-isr must be at least 1");
  if (r.list_cap < 1 || r.list_cap > 100000)
    errors.push_back("--list-cap must be between 1 and 100000");
  else
    c.policy.list_cap = static_cast<std::size_t>(r.list_cap);
  if (r.metrics_cap < 0 || r.metrics_cap > 100000)
    errors.push_back("--metrics-partition-cap must be between 0 and 100000");
  else
    c.metrics_partition_cap = static_cast<std::size_t>(r.metrics_cap);
}

void apply_http(const RawFlags& r, Config& c, Errors& errors) {
  if (trim_blanks(c.http_address).empty()) errors.push_back("--http-address: blank");
  if (c.http_port < 0 || c.http_port > 65535) errors.push_back("--http-port must be between 0 and 65535");
  if (c.health_port < 0 || c.health_port > 65535) errors.push_back("--health-port must be between 0 and 65535");
  if (c.health_port != 0 && c.health_port == c.http_port)
    errors.push_back("--health-port must differ from --http-port");
  if (r.http_max_connections < 1 || r.http_max_connections > 65536)
    errors.push_back("--http-max-connections must be between 1 and 65536");
  else
    c.http_max_connections = static_cast<std::size_t>(r.http_max_connections);
  if (c.http_threads < 1 || c.http_threads > 256)
    errors.push_back("--http-threads must be between 1 and 256");
}

// The items of a repeatable comma-separated list flag (each value "a,b"). An empty or blank item anywhere
// ("a,", ",a", "a,,b", "") is an error naming the flag and the value, never dropped: the HTTP list parameters
// answer 400 for the same text (service/views/http_api.cc), and a question must not silently shrink.
std::vector<std::string> list_items(const char* flag, const std::vector<std::string>& values, Errors& errors) {
  std::vector<std::string> out;
  for (const auto& value : values) {
    if (auto items = split_list(value))
      out.insert(out.end(), items->begin(), items->end());
    else
      errors.push_back(std::string(flag) + ": '" + value + "' has an empty item; give a comma-separated list like a,b");
  }
  return out;
}

void apply_webhook(const RawFlags& r, Config& c, Errors& errors) {
  if (c.webhook_port < -1 || c.webhook_port > 65535) errors.push_back("--webhook-port must be between -1 and 65535");
  for (const auto& text : list_items("--webhook-broker-pods", r.webhook_broker_pods, errors)) {
    std::string error;
    if (auto rule = parse_broker_pod_rule(text, &error))
      c.webhook_broker_pods.push_back(std::move(*rule));
    else
      errors.push_back("--webhook-broker-pods: " + error);
  }
  auto duration = [&](const char* flag, const std::string& text, std::chrono::milliseconds& dst,
                      std::chrono::milliseconds min) {
    const auto d = parse_duration(text);
    if (d && *d >= min)
      dst = *d;
    else
      errors.push_back(std::string(flag) + ": '" + text + "' must be a duration of at least " +
                       std::to_string(min.count()) + "ms");
  };
  duration("--webhook-fresh-within", r.webhook_fresh, c.webhook_fresh_within, std::chrono::milliseconds(0));
  duration("--webhook-timeout", r.webhook_timeout, c.webhook_timeout, std::chrono::milliseconds(100));
  duration("--webhook-grant-ttl", r.webhook_grant_ttl, c.webhook_grant_ttl, std::chrono::seconds(1));
  if (c.webhook_port < 0) return;
  if (c.webhook_cert_file.empty() || c.webhook_key_file.empty())
    errors.push_back("--webhook-port needs --webhook-cert-file and --webhook-key-file");
  if (c.webhook_broker_pods.empty() && c.webhook_broker_id_keys.empty())
    errors.push_back(
        "--webhook-port needs --webhook-broker-pods, --webhook-broker-id-label or "
        "--webhook-broker-id-annotation (which pods are brokers)");
  if (c.webhook_port != 0 && (c.webhook_port == c.http_port || c.webhook_port == c.health_port))
    errors.push_back("--webhook-port must differ from --http-port and --health-port");
}

// --webhook-broker-id-label / -annotation: NAMESPACE=KEY each, one rule per namespace (two would leave the
// operator guessing which one a pod is judged by).
void apply_broker_id_keys(const RawFlags& r, Config& c, Errors& errors) {
  using Source = BrokerIdKeyRule::Source;
  for (const auto& [flag, values, source] :
       {std::tuple{"--webhook-broker-id-label", &r.webhook_id_labels, Source::kLabel},
        std::tuple{"--webhook-broker-id-annotation", &r.webhook_id_annotations, Source::kAnnotation}}) {
    for (const auto& text : list_items(flag, *values, errors)) {
      std::string error;
      if (auto rule = parse_broker_id_key_rule(text, source, &error))
        c.webhook_broker_id_keys.push_back(std::move(*rule));
      else
        errors.push_back(std::string(flag) + ": " + error);
    }
  }
  std::set<std::string> seen, reported;
  for (const auto& rule : c.webhook_broker_id_keys)
    if (!seen.insert(rule.pod_namespace).second && reported.insert(rule.pod_namespace).second)
      errors.push_back("--webhook-broker-id-label/--webhook-broker-id-annotation: namespace '" +
                       rule.pod_namespace + "' has more than one rule; give one per namespace");
}

// "https://HOST[:PORT]" (a trailing '/' dropped): HOST a name, an IPv4 address or a bracketed IPv6 address,
// PORT 1-65535; nullopt for any other scheme, a path, query, fragment, credentials or blank.
std::optional<std::string> parse_kube_api_url(const std::string& text) {
  constexpr std::string_view scheme = "https://";
  if (text.rfind(scheme, 0) != 0) return std::nullopt;
  std::string authority = text.substr(scheme.size());
  if (!authority.empty() && authority.back() == '/') authority.pop_back();
  if (authority.empty()) return std::nullopt;
  std::string host = authority, port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos || close == 1) return std::nullopt;
    host = authority.substr(1, close - 1);
    const std::string rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    if (!rest.empty()) port = rest.substr(1);
    if (!std::all_of(host.begin(), host.end(), [](char ch) {
          return std::isxdigit(static_cast<unsigned char>(ch)) || ch == ':' || ch == '.';
        }))
      return std::nullopt;
  } else {
    const auto colon = authority.find(':');
    if (colon != std::string::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-';
        }))
      return std::nullopt;
  }
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      return std::nullopt;
    if (const int p = std::stoi(port); p < 1 || p > 65535) return std::nullopt;
  }
  return std::string(scheme) + authority;
}

// The API server of a pod: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT (an IPv6 host
// bracketed); "" when either is unset or blank.
std::string in_cluster_api() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  const std::string h = host ? trim_blanks(host) : "", p = port ? trim_blanks(port) : "";
  if (h.empty() || p.empty()) return "";
  return "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + p;
}

// The Kubernetes API of the label and annotation rules. Blank values are errors whether or not a rule uses
// them.
void apply_kube_api(const RawFlags& r, Config& c, Errors& errors, Errors& warnings) {
  const std::size_t before = errors.size();
  for (const auto& [flag, value] :
       {std::pair{"--kube-api", &c.kube_api}, std::pair{"--kube-token-file", &c.kube_token_file},
        std::pair{"--kube-ca-file", &c.kube_ca_file}})
    if (r.given.count(flag) && trim_blanks(*value).empty()) errors.push_back(std::string(flag) + ": blank");
  // Compared with --webhook-timeout only where a read happens: without a rule any --webhook-timeout stays
  // valid.
  const auto timeout = parse_duration(r.kube_timeout);
  if (!timeout || *timeout < std::chrono::milliseconds(100))
    errors.push_back("--kube-timeout: '" + r.kube_timeout + "' must be a duration of at least 100ms");
  else if (*timeout >= c.webhook_timeout && !c.webhook_broker_id_keys.empty())
    errors.push_back("--kube-timeout (" + format_duration(*timeout) + ") must be below --webhook-timeout (" +
                     format_duration(c.webhook_timeout) + ")");
  else
    c.kube_timeout = *timeout;
  if (c.webhook_broker_id_keys.empty()) {
    for (const char* flag : {"--kube-api", "--kube-token-file", "--kube-ca-file", "--kube-timeout"})
      if (r.given.count(flag))
        warnings.push_back(
            std::string(flag) +
            " is unused: only --webhook-broker-id-label and --webhook-broker-id-annotation read Pods");
    return;
  }
  if (errors.size() != before) return;
  if (c.kube_api.empty()) c.kube_api = in_cluster_api();
  if (c.kube_api.empty()) {
    errors.push_back(
        "--webhook-broker-id-label/--webhook-broker-id-annotation need the Kubernetes API: --kube-api, "
        "or KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (set in every pod)");
    return;
  }
  if (auto url = parse_kube_api_url(c.kube_api))
    c.kube_api = *url;
  else
    errors.push_back(
        "--kube-api: '" + c.kube_api.substr(0, 300) +
        "' must be https://HOST[:PORT] (no path, query or credentials; plain http would send the token "
        "in clear)");
  const std::string in_pod = " (in a pod: automountServiceAccountToken must be true)";
  check_readable_file("--kube-token-file", c.kube_token_file, in_pod, errors);
  check_readable_file("--kube-ca-file", c.kube_ca_file, in_pod, errors);
}

void apply_modes(const RawFlags& r, Config& c, Errors& errors) {
  if (r.output == "table")
    c.output = OutputFormat::kTable;
  else if (r.output == "json")
    c.output = OutputFormat::kJson;
  else
    errors.push_back("--output must be table or json, not '" + r.output + "'");
  static const std::vector<std::string> levels = {"trace", "debug",    "info", "warn",
                                                  "error", "critical", "off"};
  if (std::find(levels.begin(), levels.end(), c.log_level) == levels.end())
    errors.push_back("--log-level must be one of trace, debug, info, warn, error, critical, off");
}

// Topic names never contain blanks ([a-zA-Z0-9._-]): a blank regex, or blanks at either end, match nothing
// and would leave every topic unjudged (include) or be a quoting mistake (exclude).
void check_topic_filters(const RawFlags& r, const Config& c, Errors& errors) {
  auto check = [&](const char* flag, const std::string& re) {
    if (!r.given.count(flag) && re.empty()) return;
    if (trim_blanks(re).empty())
      errors.push_back(std::string(flag) + ": blank regex");
    else if (trim_blanks(re) != re)
      errors.push_back(std::string(flag) + ": regex '" + re + "' has blanks at either end");
  };
  check("--topic-include", c.policy.topic_include);
  check("--topic-exclude", c.policy.topic_exclude);
}

// --disrupt-*: ids parsed, fleets checked against --fleet, --wait-safe only with a question to wait on.
void apply_disruption(const RawFlags& r, Config& c, Errors& errors) {
  c.disruption.list_cap = c.policy.list_cap;
  const std::size_t errors_before = errors.size();
  // Given but blank ('') is an empty list, an error as brokers= is a 400; never "no question asked".
  const bool brokers_given = !r.disrupt_brokers.empty() || r.given.count("--disrupt-brokers") > 0;
  if (brokers_given) {
    if (auto ids = parse_id_list(r.disrupt_brokers))
      c.disrupt.brokers = *ids;
    else
      errors.push_back("--disrupt-brokers: '" + r.disrupt_brokers + "' is not a list of ids/ranges like 3 or 1-3,101");
  }
  for (const auto& name : list_items("--disrupt-fleet", r.disrupt_fleets, errors)) {
    const bool known = name == c.policy.default_fleet ||
                       std::any_of(c.policy.fleets.begin(), c.policy.fleets.end(),
                                   [&](const FleetRule& f) { return f.name == name; });
    if (!known) errors.push_back("--disrupt-fleet: unknown fleet '" + name + "' (define it with --fleet)");
    c.disrupt.fleets.push_back(name);
  }
  for (auto& rack : list_items("--disrupt-rack", r.disrupt_racks, errors)) c.disrupt.racks.push_back(std::move(rack));
  const bool asked = brokers_given || !r.disrupt_fleets.empty() || !r.disrupt_racks.empty();
  if (asked && c.disrupt.empty() && errors.size() == errors_before)  // else the list's own error says why
    errors.push_back("--disrupt-*: no broker, fleet or rack given");
  if (asked && !c.once) errors.push_back("--disrupt-brokers/--disrupt-fleet/--disrupt-rack need --once");
  if (!r.wait_safe.empty()) {
    if (auto d = parse_duration(r.wait_safe))
      c.wait_safe = *d;
    else
      errors.push_back("--wait-safe: '" + r.wait_safe + "' is not a duration (use e.g. 30s, 30m, 1h)");
    if (!asked) errors.push_back("--wait-safe needs --disrupt-brokers, --disrupt-fleet or --disrupt-rack");
  }
}

// Compiles the policy's regexes; on failure says which flag holds the bad one.
void compile_policy(Config& c, Errors& errors) {
  try {
    c.policy.compile();
  } catch (const std::regex_error&) {
    auto check = [&](const std::string& flag, const std::string& re) {
      if (re.empty()) return;
      try {
        std::regex compiled(re);
      } catch (const std::regex_error& e) {
        errors.push_back(flag + ": invalid regex '" + re + "': " + e.what());
      }
    };
    check("--topic-include", c.policy.topic_include);
    check("--topic-exclude", c.policy.topic_exclude);
    for (const auto& f : c.policy.fleets) check("--fleet " + f.name, f.host_regex);
  }
}

// When CLI11 itself rejects the command line, the flags are not assigned: read --once / --output (and their
// environment variables) directly so a script asking for JSON still gets its error as JSON.
void guess_error_format(int argc, const char* const* argv, ParseOutcome& out) {
  std::string output;
  if (const char* e = std::getenv("ISRGUARD_OUTPUT")) output = e;
  if (const char* e = std::getenv("ISRGUARD_ONCE")) out.once = std::string(e) == "true" || std::string(e) == "1";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--once") out.once = true;
    if (a == "--output" && i + 1 < argc) output = argv[i + 1];
    if (a.rfind("--output=", 0) == 0) output = a.substr(9);
  }
  out.once_output = output == "json" ? OutputFormat::kJson : OutputFormat::kTable;
}

// Every validation step, in the order its errors are listed.
void validate(const RawFlags& r, Config& c, Errors& errors, Errors& warnings) {
  apply_durations(r, c, errors);
  apply_kafka(r, c, errors, warnings);
  apply_expected_brokers(r, c, errors);
  apply_fleets(r, c, errors);
  apply_gating(r, c, errors);
  check_topic_filters(r, c, errors);
  apply_limits(r, c, errors);
  apply_http(r, c, errors);
  apply_broker_id_keys(r, c, errors);
  apply_webhook(r, c, errors);
  apply_kube_api(r, c, errors, warnings);
  apply_modes(r, c, errors);
  apply_disruption(r, c, errors);
  apply_overrides_flags(r, c, errors);
  compile_policy(c, errors);
}

}  // namespace

ParseOutcome parse_config(int argc, const char* const* argv) {
  ParseOutcome out;
  Config c;
  RawFlags r;
  FlagsOutcome flags = read_flags(argc, argv, c, r);
  if (flags.result == FlagsOutcome::Result::kHelp) {
    out.exit_now = true;
    out.output = std::move(flags.help);
    return out;
  }
  if (flags.result == FlagsOutcome::Result::kRejected) {
    out.errors = std::move(flags.errors);
    out.exit_code = 2;
    guess_error_format(argc, argv, out);
    return out;
  }
  if (r.version) {
    out.exit_now = true;
    out.output = std::string("isrguard ") + ISRGUARD_VERSION + " (" + ISRGUARD_COMMIT + ")\n";
    return out;
  }

  validate(r, c, out.errors, out.warnings);
  out.once = c.once;
  out.once_output = c.output;
  if (!out.errors.empty()) {
    out.exit_code = 2;
    return out;
  }
  out.config = std::move(c);
  return out;
}


}  // namespace isrguard::service
