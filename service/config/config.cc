#include "service/config/config.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "probes/rdkafka_source.h"
#include "service/config/kafka_properties.h"
#include "service/judge/reasons.h"

#ifndef ISRGUARD_VERSION
#define ISRGUARD_VERSION "dev"
#endif
#ifndef ISRGUARD_COMMIT
#define ISRGUARD_COMMIT "unknown"
#endif

namespace isrguard::service {
namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::optional<std::int64_t> parse_int(const std::string& s) {
  std::int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end || s.empty()) return std::nullopt;
  return v;
}

std::string fmt_ms(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_id_ranges(const IdRanges& ranges) {
  std::string s;
  for (const auto& [lo, hi] : ranges)
    s += (s.empty() ? "" : ",") +
         (lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi));
  return s;
}

// Sorted unique ids -> ranges of consecutive ids.
IdRanges ranges_of(const std::vector<BrokerId>& ids) {
  IdRanges out;
  for (BrokerId id : ids) {
    if (!out.empty() && std::int64_t{out.back().second} + 1 == id)
      out.back().second = id;
    else
      out.emplace_back(id, id);
  }
  return out;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  const std::string t = trim(text);
  std::size_t i = 0;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
  if (i == 0) return std::nullopt;
  auto n = parse_int(t.substr(0, i));
  if (!n) return std::nullopt;
  const std::string unit = t.substr(i);
  std::int64_t factor = 0;
  if (unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else
    return std::nullopt;
  if (*n > (std::int64_t{1} << 40) / factor) return std::nullopt;  // absurdly long
  return std::chrono::milliseconds(*n * factor);
}

std::optional<IdRanges> parse_id_ranges(const std::string& text) {
  if (trim(text).empty() || text.back() == ',' || trim(text).back() == ',') return std::nullopt;
  IdRanges ranges;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    if (item.empty()) return std::nullopt;
    auto dash = item.find('-', 1);
    auto lo = parse_int(trim(item.substr(0, dash)));
    auto hi = dash == std::string::npos ? lo : parse_int(trim(item.substr(dash + 1)));
    if (!lo || !hi || *lo < 0 || *hi < *lo || *hi > 2'147'483'647) return std::nullopt;
    ranges.emplace_back(static_cast<BrokerId>(*lo), static_cast<BrokerId>(*hi));
  }
  std::sort(ranges.begin(), ranges.end());
  IdRanges merged;
  for (const auto& r : ranges) {
    if (!merged.empty() && std::int64_t{r.first} <= std::int64_t{merged.back().second} + 1)
      merged.back().second = std::max(merged.back().second, r.second);
    else
      merged.push_back(r);
  }
  return merged;
}

std::uint64_t id_count(const IdRanges& ranges) {
  std::uint64_t n = 0;
  for (const auto& [lo, hi] : ranges) n += static_cast<std::uint64_t>(std::int64_t{hi} - lo + 1);
  return n;
}

std::optional<std::vector<BrokerId>> parse_id_list(const std::string& text) {
  const auto ranges = parse_id_ranges(text);
  if (!ranges || id_count(*ranges) > kMaxExpectedBrokers) return std::nullopt;
  std::vector<BrokerId> out;
  for (const auto& [lo, hi] : *ranges)
    for (std::int64_t id = lo; id <= hi; ++id) out.push_back(static_cast<BrokerId>(id));
  return out;
}

std::vector<std::pair<std::string, std::string>> Config::describe() const {
  std::vector<std::pair<std::string, std::string>> d;
  d.emplace_back("bootstrap_servers", bootstrap_servers);
  d.emplace_back("mock_brokers", std::to_string(mock_brokers));
  d.emplace_back("poll_interval", fmt_ms(poll_interval));
  d.emplace_back("probe_timeout", fmt_ms(probe_timeout));
  d.emplace_back("config_refresh_interval", fmt_ms(config_refresh));
  d.emplace_back("stale_after", fmt_ms(stale_after));
  d.emplace_back("recovery_hold", fmt_ms(gate.recovery_hold));
  d.emplace_back("min_isr_max_age", fmt_ms(min_isr_max_age()));
  d.emplace_back("expected_brokers", format_id_ranges(ranges_of(policy.expected_brokers)));
  d.emplace_back("forget_missing_brokers_after", fmt_ms(policy.forget_missing_brokers_after));
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
  d.emplace_back("broker_slow_after", fmt_ms(policy.broker_slow_after));
  d.emplace_back("http_address", http_address);
  d.emplace_back("http_port", std::to_string(http_port));
  d.emplace_back("http_threads", std::to_string(http_threads));
  d.emplace_back("http_timeout", fmt_ms(http_timeout));
  d.emplace_back("http_max_connections", std::to_string(http_max_connections));
  d.emplace_back("health_port", std::to_string(health_port));
  d.emplace_back("metrics_partition_cap", std::to_string(metrics_partition_cap));
  d.emplace_back("overrides_file", overrides_file);
  d.emplace_back("max_override_ttl", fmt_ms(max_override_ttl));
  d.emplace_back("jmx_metrics", jmx_metrics ? "true" : "false");
  d.emplace_back("log_level", log_level);
  d.emplace_back("disruption_block_min_isr_risk", disruption.block_min_isr_risk ? "true" : "false");
  for (const auto& [k, v] : kafka_properties)
    d.emplace_back("kafka." + k, probes::is_secret_property(k) ? "<redacted>" : v);
  return d;
}

namespace {

// Flag values kept as typed until validation, so every error can quote what the user wrote. Filled by CLI11
// in parse_config; each apply_* step below reads one group and writes Config or appends to errors.
struct RawFlags {
  std::string poll = "2s", timeout = "10s", refresh = "5m", stale = "60s", hold = "30s", http_timeout = "5s";
  std::string broker_slow = "2s";
  std::string forget_brokers = "24h";
  std::string properties_file, expected, output = "table", max_override_ttl = "24h";
  std::vector<std::string> kafka_config, fleets, gate_on;
  std::string disrupt_brokers, wait_safe;
  std::vector<std::string> disrupt_fleets, disrupt_racks;
  bool gate_at_min = false, version = false;
  int list_cap = 128, metrics_cap = 200;
  std::set<std::string> given;  // flags set on the command line or by their environment variable
  long long http_max_connections = 1024;
};

using Errors = std::vector<std::string>;

CLI::Option* env(CLI::Option* o, const char* name) { return o->envname(name); }

void add_kafka_flags(CLI::App& app, Config& c, RawFlags& r) {
  env(app.add_option(
          "--bootstrap-servers", c.bootstrap_servers,
          "Kafka bootstrap servers host:port[,host:port...] (or bootstrap.servers in the properties)"),
      "ISRGUARD_BOOTSTRAP_SERVERS");
  env(app.add_option(
          "--kafka-properties", r.properties_file,
          "Kafka client .properties file (Java client or librdkafka names: security.protocol, ssl.*, "
          "sasl.jaas.config, ...); settings that only matter to producers/consumers are ignored; a regular "
          "file of at most 1 MiB"),
      "ISRGUARD_KAFKA_PROPERTIES");
  env(app.add_option("--kafka-config", r.kafka_config,
                     "Extra client property key=value, Java or librdkafka name (repeatable; overrides "
                     "the file; in the environment one per line, blank lines and # comments skipped)")
          ->delimiter('\n'),
      "ISRGUARD_KAFKA_CONFIG");
  env(app.add_option("--mock-brokers", c.mock_brokers,
                     "Use librdkafka's built-in mock cluster with N brokers instead of Kafka (demo/tests)")
          ->capture_default_str(),
      "ISRGUARD_MOCK_BROKERS");
}

void add_probe_flags(CLI::App& app, RawFlags& r) {
  env(app.add_option("--poll-interval", r.poll, "How often to probe Kafka (e.g. 5s, 500ms); each wait is jittered by up to ±20%")
          ->capture_default_str(),
      "ISRGUARD_POLL_INTERVAL");
  env(app.add_option("--probe-timeout", r.timeout,
                     "Upper bound for one whole probe (metadata + configs); also bounds socket.timeout.ms")
          ->capture_default_str(),
      "ISRGUARD_PROBE_TIMEOUT");
  env(app.add_option("--config-refresh-interval", r.refresh,
                     "How often topic min.insync.replicas is re-read (new topics are read at once); a value "
                     "read before is kept through failed re-reads for 3 intervals")
          ->capture_default_str(),
      "ISRGUARD_CONFIG_REFRESH_INTERVAL");
  env(app.add_option("--stale-after", r.stale,
                     "Not ready when the last good snapshot is older than this (must exceed poll interval + "
                     "probe timeout; not used by --once)")
          ->capture_default_str(),
      "ISRGUARD_STALE_AFTER");
  env(app.add_option("--broker-slow-after", r.broker_slow,
                     "A broker answering its per-broker check slower than this (or not within the probe "
                     "timeout) is brokers_unresponsive")
          ->capture_default_str(),
      "ISRGUARD_BROKER_SLOW_AFTER");
  env(app.add_option("--recovery-hold", r.hold,
                     "Reopen the gate only after the cluster was healthy continuously for this long")
          ->capture_default_str(),
      "ISRGUARD_RECOVERY_HOLD");
}

void add_judgement_flags(CLI::App& app, Config& c, RawFlags& r) {
  env(app.add_option(
          "--expected-brokers", r.expected,
          "Broker ids that must be present, e.g. 1-3,101-103 (missing ones close the gate); at most " +
              std::to_string(kMaxExpectedBrokers) + " ids"),
      "ISRGUARD_EXPECTED_BROKERS");
  env(app.add_option("--forget-missing-brokers-after", r.forget_brokers,
                     "Without --expected-brokers, a broker seen earlier and absent now closes the gate "
                     "(brokers_missing, 'seen before') until gone this long (0s = never remembered; at most "
                     "1024 brokers remembered)")
          ->capture_default_str(),
      "ISRGUARD_FORGET_MISSING_BROKERS_AFTER");
  env(app.add_option("--fleet", r.fleets,
                     "Label brokers: NAME=ids:1-30 or NAME=host:REGEX (full match); repeatable, first match "
                     "wins; unmatched brokers are 'default'. Several in one value: space-separated"),
      "ISRGUARD_FLEET");
  env(app.add_option("--topic-include", c.policy.topic_include,
                     "Only judge topics matching this regex (full match)"),
      "ISRGUARD_TOPIC_INCLUDE");
  env(app.add_option("--topic-exclude", c.policy.topic_exclude,
                     "Ignore topics matching this regex (full match)"),
      "ISRGUARD_TOPIC_EXCLUDE");
  env(app.add_option("--gate-on", r.gate_on,
                     "Comma-separated reason codes that close the gate (replaces the default: all but "
                     "at_min_isr_partitions, min_isr_risk_topics, min_isr_unknown_topics); never empty"),
      "ISRGUARD_GATE_ON");
  env(app.add_flag("--gate-on-at-min-isr", r.gate_at_min, "Also close the gate on partitions at min ISR"),
      "ISRGUARD_GATE_ON_AT_MIN_ISR");
  env(app.add_option("--default-min-isr", c.policy.default_min_isr,
                     "min.insync.replicas assumed for topics whose config cannot be read")
          ->capture_default_str(),
      "ISRGUARD_DEFAULT_MIN_ISR");
  env(app.add_option("--list-cap", r.list_cap, "Max partitions listed in status/verdicts (counts stay true)")
          ->capture_default_str(),
      "ISRGUARD_LIST_CAP");
}

void add_http_flags(CLI::App& app, Config& c, RawFlags& r) {
  env(app.add_option("--http-address", c.http_address, "Address to listen on")->capture_default_str(),
      "ISRGUARD_HTTP_ADDRESS");
  env(app.add_option("--http-port", c.http_port, "Port to listen on (0 = any free port)")
          ->capture_default_str(),
      "ISRGUARD_HTTP_PORT");
  env(app.add_option("--http-threads", c.http_threads,
                     "HTTP event threads (each multiplexes many connections)")
          ->capture_default_str(),
      "ISRGUARD_HTTP_THREADS");
  env(app.add_option("--http-timeout", r.http_timeout,
                     "HTTP idle timeout and whole-request deadline (connection closed past it)")
          ->capture_default_str(),
      "ISRGUARD_HTTP_TIMEOUT");
  env(app.add_option("--http-max-connections", r.http_max_connections,
                     "Open connections on the API port; beyond it new ones are closed at once")
          ->capture_default_str(),
      "ISRGUARD_HTTP_MAX_CONNECTIONS");
  env(app.add_option("--health-port", c.health_port,
                     "Port of the probe listener (/livez and /readyz only, for the kubelet; 0 = any free port)")
          ->capture_default_str(),
      "ISRGUARD_HEALTH_PORT");
  env(app.add_option("--metrics-partition-cap", r.metrics_cap,
                     "Max unhealthy partitions exported as per-partition series (and max topics as "
                     "per-topic series); per-partition series are also limited by --list-cap")
          ->capture_default_str(),
      "ISRGUARD_METRICS_PARTITION_CAP");
  env(app.add_option(
             "--jmx-metrics", c.jmx_metrics,
             "Export the kafka_* families named like Kafka's JMX metrics (false where the brokers' own "
             "JMX metrics are scraped too, e.g. Strimzi)")
          ->default_str("true"),
      "ISRGUARD_JMX_METRICS");
}

void add_mode_flags(CLI::App& app, Config& c, RawFlags& r) {
  env(app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")->capture_default_str(),
      "ISRGUARD_LOG_LEVEL");
  env(app.add_flag("--once", c.once,
                   "Probe once, print the verdict and exit: 0 healthy, 1 unhealthy, 2 error (for scripts)"),
      "ISRGUARD_ONCE");
  env(app.add_option("--output", r.output, "Output of --once: table or json")->capture_default_str(),
      "ISRGUARD_OUTPUT");
  app.add_flag("--version", r.version, "Print version and exit");
}

void add_disruption_flags(CLI::App& app, Config& c, RawFlags& r) {
  env(app.add_option("--disrupt-brokers", r.disrupt_brokers,
                     "With --once: may these brokers (e.g. 3 or 1-3,101) be stopped together now? Exit 0 "
                     "safe, 1 unsafe, 2 error"),
      "ISRGUARD_DISRUPT_BROKERS");
  env(app.add_option("--disrupt-fleet", r.disrupt_fleets,
                     "With --once: ask about every broker of these fleets (comma-separated; union with the "
                     "other --disrupt-* flags)")
          ->delimiter(','),
      "ISRGUARD_DISRUPT_FLEET");
  env(app.add_option("--disrupt-rack", r.disrupt_racks,
                     "With --once: ask about every broker whose broker.rack is one of these (comma-separated)")
          ->delimiter(','),
      "ISRGUARD_DISRUPT_RACK");
  env(app.add_option("--wait-safe", r.wait_safe,
                     "With --disrupt-*: re-probe every --poll-interval until safe (exit 0) or this long has "
                     "passed (exit 1), e.g. 30m"),
      "ISRGUARD_WAIT_SAFE");
  env(app.add_flag("--disruption-block-min-isr-risk", c.disruption.block_min_isr_risk,
                   "Let topics with replicas <= min.insync.replicas (RF 1, RF = min ISR) block disruptions "
                   "(by default they are reported, not blocking, as in Strimzi)"),
      "ISRGUARD_DISRUPTION_BLOCK_MIN_ISR_RISK");
}

void add_override_flags(CLI::App& app, Config& c, RawFlags& r) {
  env(app.add_option("--overrides-file", c.overrides_file,
                     "YAML file of operator overrides (freeze / acknowledge with expiry), normally a mounted "
                     "ConfigMap; re-read every poll, no restart (docs/overrides.md)"),
      "ISRGUARD_OVERRIDES_FILE");
  env(app.add_option("--max-override-ttl", r.max_override_ttl,
                     "Furthest ahead an override may expire (1m..168h); longer ones make the file invalid")
          ->capture_default_str(),
      "ISRGUARD_MAX_OVERRIDE_TTL");
  app.add_option("--check-overrides", c.check_overrides,
                 "Validate an overrides FILE, print its effective set and exit: 0 valid, 2 invalid (needs no "
                 "Kafka)");
}

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
    errors.push_back("--stale-after (" + fmt_ms(c.stale_after) +
                     ") must exceed --poll-interval + --probe-timeout (" +
                     fmt_ms(c.poll_interval + c.probe_timeout) + ")");
  if (c.http_timeout < std::chrono::milliseconds(100))
    errors.push_back("--http-timeout must be at least 100ms");
}

// Reads a .properties file into `merged`. It must be a regular file (symlinks followed, as Kubernetes mounts
// secrets) of at most kMaxPropertiesFileBytes: /dev/zero, a FIFO or a directory is refused.
void read_properties_file(const std::string& path, std::map<std::string, std::string>& merged,
                          Errors& errors) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    errors.push_back("--kafka-properties: cannot read '" + path + "'");
    return;
  }
  if (!fs::is_regular_file(st)) {
    errors.push_back("--kafka-properties: '" + path + "' is not a regular file");
    return;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
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

// "a,b,c" with every item non-blank; the trimmed items, or nullopt.
std::optional<std::vector<std::string>> split_list(const std::string& text) {
  if (trim(text).empty() || trim(text).back() == ',') return std::nullopt;
  std::vector<std::string> items;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (trim(item).empty()) return std::nullopt;
    items.push_back(trim(item));
  }
  return items;
}

// Kafka client properties from every source merged (the file first, then --kafka-config /
// ISRGUARD_KAFKA_CONFIG entries in order) and translated once (service/kafka_properties.h); bootstrap
// servers from the flag or the properties.
void apply_kafka(const RawFlags& r, Config& c, Errors& errors, Errors& warnings) {
  std::map<std::string, std::string> merged;
  if (r.given.count("--kafka-properties") && trim(r.properties_file).empty())
    errors.push_back("--kafka-properties: empty path");
  else if (!r.properties_file.empty())
    read_properties_file(r.properties_file, merged, errors);
  for (const auto& kv : r.kafka_config) {
    if (trim(kv).empty() || trim(kv)[0] == '#') continue;  // blank lines and comments in the environment
    const auto eq = kv.find('=');
    if (eq == std::string::npos || trim(kv.substr(0, eq)).empty()) {
      errors.push_back("--kafka-config: '" +
                       (probes::is_secret_property(kv) ? std::string("<redacted>") : kv) +
                       "' is not key=value");
      continue;
    }
    merged[trim(kv.substr(0, eq))] = trim(kv.substr(eq + 1));
  }
  auto translated = translate_java_properties(merged, probes::is_client_property);
  for (const auto& e : translated.errors) errors.push_back("Kafka client configuration: " + e);
  if (auto w = ignored_settings_warning(translated.ignored); !w.empty()) warnings.push_back(std::move(w));
  c.kafka_properties = std::move(translated.properties);
  if (r.given.count("--bootstrap-servers") && trim(c.bootstrap_servers).empty())
    errors.push_back("--bootstrap-servers: blank");
  if (c.bootstrap_servers.empty()) {
    if (auto it = c.kafka_properties.find("bootstrap.servers"); it != c.kafka_properties.end())
      c.bootstrap_servers = it->second;
  }
  if (!trim(c.bootstrap_servers).empty() && !split_list(c.bootstrap_servers))
    errors.push_back("--bootstrap-servers: '" + c.bootstrap_servers +
                     "' has an empty item (host:port,host:port)");
  c.bootstrap_servers = trim(c.bootstrap_servers);
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

// NAME=ids:LIST or NAME=host:REGEX -> FleetRule; nullopt when malformed.
std::optional<FleetRule> parse_fleet(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos) return std::nullopt;
  FleetRule f;
  f.name = trim(spec.substr(0, eq));
  const std::string rule = spec.substr(eq + 1);
  if (f.name.empty() || !std::regex_match(f.name, std::regex("[A-Za-z0-9_.-]+"))) return std::nullopt;
  if (rule.rfind("ids:", 0) == 0) {
    auto ranges = parse_id_ranges(rule.substr(4));  // ranges, never expanded: any size is cheap
    if (!ranges) return std::nullopt;
    f.id_ranges = std::move(*ranges);
    return f;
  }
  // A regex with blanks at either end never matches a host name: a quoting mistake.
  if (rule.rfind("host:", 0) == 0 && rule.size() > 5 && trim(rule.substr(5)) == rule.substr(5)) {
    f.host_regex = rule.substr(5);
    return f;
  }
  return std::nullopt;
}

// Each value holds one or more rules separated by blanks (the environment variable holds them all).
void apply_fleets(const RawFlags& r, Config& c, Errors& errors) {
  for (const auto& value : r.fleets) {
    if (trim(value).empty()) errors.push_back("--fleet: blank");
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
  if (trim(c.http_address).empty()) errors.push_back("--http-address: blank");
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
    if (trim(re).empty())
      errors.push_back(std::string(flag) + ": blank regex");
    else if (trim(re) != re)
      errors.push_back(std::string(flag) + ": regex '" + re + "' has blanks at either end");
  };
  check("--topic-include", c.policy.topic_include);
  check("--topic-exclude", c.policy.topic_exclude);
}

// --disrupt-*: ids parsed, fleets checked against --fleet, --wait-safe only with a question to wait on.
void apply_disruption(const RawFlags& r, Config& c, Errors& errors) {
  c.disruption.list_cap = c.policy.list_cap;
  if (!r.disrupt_brokers.empty()) {
    if (auto ids = parse_id_list(r.disrupt_brokers))
      c.disrupt.brokers = *ids;
    else
      errors.push_back("--disrupt-brokers: '" + r.disrupt_brokers + "' is not a list of ids/ranges like 3 or 1-3,101");
  }
  for (auto name : r.disrupt_fleets) {
    name = trim(name);
    if (name.empty()) continue;
    const bool known = name == c.policy.default_fleet ||
                       std::any_of(c.policy.fleets.begin(), c.policy.fleets.end(),
                                   [&](const FleetRule& f) { return f.name == name; });
    if (!known) errors.push_back("--disrupt-fleet: unknown fleet '" + name + "' (define it with --fleet)");
    c.disrupt.fleets.push_back(name);
  }
  for (auto rack : r.disrupt_racks)
    if (rack = trim(rack); !rack.empty()) c.disrupt.racks.push_back(rack);
  const bool asked = !r.disrupt_brokers.empty() || !r.disrupt_fleets.empty() || !r.disrupt_racks.empty();
  if (asked && c.disrupt.empty()) errors.push_back("--disrupt-*: no broker, fleet or rack given");
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

// Arguments CLI11 could not place: name unknown flags, never show values (a mistyped `--sasl-password x`
// must not print the password).
Errors unexpected_arguments(const std::vector<std::string>& remaining) {
  Errors errors;
  std::size_t values = 0;
  for (const auto& arg : remaining) {
    if (arg.size() > 1 && arg[0] == '-')
      errors.push_back("unknown flag " + arg.substr(0, arg.find('=')) + " (see --help)");
    else
      ++values;
  }
  if (values > 0)
    errors.push_back(std::to_string(values) + " unexpected argument value" + (values == 1 ? "" : "s") +
                     " (not shown: it may be a secret)");
  return errors;
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

}  // namespace

ParseOutcome parse_config(int argc, const char* const* argv) {
  ParseOutcome out;
  Config c;
  RawFlags r;
  CLI::App app{
      "isrguard: a Kubernetes readiness gate for Kafka. Polls cluster metadata and serves /readyz 200 only "
      "while\n"
      "no partition is offline, under-replicated or under min ISR and every expected broker is present, so "
      "a\n"
      "PodDisruptionBudget over the brokers and this pod refuses voluntary evictions while Kafka is "
      "unhealthy.\n"
      "Every flag can also be set by the environment variable shown (ISRGUARD_*); flags win.",
      "isrguard"};
  app.get_formatter()->column_width(44);
  add_kafka_flags(app, c, r);
  add_probe_flags(app, r);
  add_judgement_flags(app, c, r);
  add_http_flags(app, c, r);
  add_mode_flags(app, c, r);
  add_disruption_flags(app, c, r);
  add_override_flags(app, c, r);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out.exit_now = true;
    out.output = app.help();
    return out;
  } catch (const CLI::ExtrasError&) {
    out.errors = unexpected_arguments(app.remaining());
    out.exit_code = 2;
    guess_error_format(argc, argv, out);
    return out;
  } catch (const CLI::ParseError& e) {
    out.errors.push_back(e.what());  // about a known flag (e.g. a non-number for --http-port): no secrets
    out.exit_code = 2;
    guess_error_format(argc, argv, out);
    return out;
  }
  for (const CLI::Option* o : app.get_options())
    if (o->count() > 0) r.given.insert(o->get_name());
  if (r.version) {
    out.exit_now = true;
    out.output = std::string("isrguard ") + ISRGUARD_VERSION + " (" + ISRGUARD_COMMIT + ")\n";
    return out;
  }

  auto& errors = out.errors;
  apply_durations(r, c, errors);
  apply_kafka(r, c, errors, out.warnings);
  apply_expected_brokers(r, c, errors);
  apply_fleets(r, c, errors);
  apply_gating(r, c, errors);
  check_topic_filters(r, c, errors);
  apply_limits(r, c, errors);
  apply_http(r, c, errors);
  apply_modes(r, c, errors);
  apply_disruption(r, c, errors);
  apply_overrides_flags(r, c, errors);
  compile_policy(c, errors);
  out.once = c.once;
  out.once_output = c.output;

  if (!errors.empty()) {
    out.exit_code = 2;
    return out;
  }
  out.config = std::move(c);
  return out;
}

}  // namespace isrguard::service
