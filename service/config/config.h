#pragma once

// Start-up configuration: flags, each with an ISRGUARD_* environment variable, plus Kafka client properties
// from a .properties file and repeated --kafka-config key=value. Parsed once in main; immutable. The flags
// themselves (CLI11, --help): service/config/flags.h; the syntax of their values (durations, id ranges,
// fleets, lists): service/config/value_parsers.h; this file's parse_config validates them all.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "service/judge/disruption.h"
#include "service/judge/eviction.h"
#include "service/judge/gate.h"
#include "service/judge/policy.h"

namespace isrguard::service {

enum class OutputFormat { kTable, kJson };

struct Config {
  // Kafka client.
  std::string bootstrap_servers;                        // --bootstrap-servers (may come from properties)
  std::map<std::string, std::string> kafka_properties;  // merged: file first, then --kafka-config
  int mock_brokers = 0;  // --mock-brokers N: librdkafka's built-in mock cluster (demo/tests only)

  // Probing.
  // 2 s: a steady probe takes a small part of it even at 1M partitions (figures: docs/scale.md), and a
  // shorter interval samples short outages more often (each probe also lands at a jittered phase, see
  // ProbeLoop).
  std::chrono::milliseconds poll_interval{std::chrono::seconds(2)};
  std::chrono::milliseconds probe_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds config_refresh{std::chrono::minutes(5)};
  std::chrono::milliseconds stale_after{std::chrono::seconds(60)};
  // How long a min.insync.replicas value read before survives failed re-reads (then it is reported unknown):
  // three refresh periods, so two refreshes in a row may fail. Derived from --config-refresh-interval so
  // every interval the flag accepts is valid.
  std::chrono::milliseconds min_isr_max_age() const { return 3 * config_refresh; }

  // Judgement.
  Policy policy = Policy::with_defaults();
  GateConfig gate;

  // HTTP.
  std::string http_address = "0.0.0.0";
  int http_port = 8080;
  int http_threads = 8;
  std::chrono::milliseconds http_timeout{std::chrono::seconds(5)};  // idle and whole-request deadline
  std::size_t http_max_connections = 1024;  // beyond it new connections are closed at once
  // The kubelet's own listener (/livez and /readyz only) on http_address; see docs/http.md.
  int health_port = 8081;

  // Metrics: per-partition series only for unhealthy partitions, at most this many.
  std::size_t metrics_partition_cap = 200;
  // Export the kafka_* families named like Kafka's JMX metrics (off where the brokers' JMX is scraped too).
  bool jmx_metrics = true;

  // Disruption questions (service/judge/disruption.h). With --once and a --disrupt-* flag, isrguard answers "may
  // these brokers go now?" instead of printing the verdict.
  DisruptionQuery disrupt;                    // --disrupt-brokers / --disrupt-fleet / --disrupt-rack (union)
  std::chrono::milliseconds wait_safe{0};     // --wait-safe: re-probe until safe or this long (0 = ask once)
  DisruptionOptions disruption;               // --disruption-block-min-isr-risk; list_cap = --list-cap
  // Operator overrides (service/judge/overrides.h, read by service/config/overrides_yaml.h): YAML file re-read
  // every poll; empty = none.
  std::string overrides_file;
  std::chrono::milliseconds max_override_ttl{std::chrono::hours(24)};  // furthest `expires` accepted

  // The pods/eviction admission webhook (service/runtime/eviction_webhook.h, docs/deploy.md#eviction-webhook):
  // its own TLS listener on http_address, off unless --webhook-port is set (-1 = off, 0 = any free port).
  int webhook_port = -1;
  std::string webhook_cert_file, webhook_key_file;  // PEM; re-read when they change
  std::vector<BrokerPodRule> webhook_broker_pods;   // --webhook-broker-pods (repeatable)
  std::chrono::milliseconds webhook_fresh_within{std::chrono::seconds(5)};  // probe now when older
  std::chrono::milliseconds webhook_timeout{std::chrono::seconds(8)};       // below timeoutSeconds (10)
  std::chrono::milliseconds webhook_grant_ttl{std::chrono::minutes(10)};    // a grant counts down at most this long
  // Pods that carry their broker id in a label or annotation (--webhook-broker-id-label / -annotation
  // NAMESPACE=KEY, at most one rule per namespace): the webhook reads the Pod through the Kubernetes API.
  std::vector<BrokerIdKeyRule> webhook_broker_id_keys;
  // The Kubernetes API, used only with webhook_broker_id_keys. kube_api: https://host[:port], from --kube-api
  // or in a pod from KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT; the token file is re-read for every
  // read.
  std::string kube_api;
  std::string kube_token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string kube_ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::chrono::milliseconds kube_timeout{std::chrono::seconds(2)};  // one Pod read; below webhook_timeout

  // Modes.
  bool once = false;
  std::string check_overrides;  // --check-overrides FILE: validate FILE, print the effective set, exit 0/2
  OutputFormat output = OutputFormat::kTable;
  std::string log_level = "info";

  // Effective settings for /v1/status and logs, with secret values (probes::is_secret_property) replaced by
  // "<redacted>".
  std::vector<std::pair<std::string, std::string>> describe() const;
};

struct ParseOutcome {
  std::optional<Config> config;     // set when valid
  std::vector<std::string> errors;    // every problem found, all at once
  std::vector<std::string> warnings;  // valid but worth one log line (e.g. ignored Java client settings)
  // How --once wants errors shown, known even when the configuration is invalid (best effort: the
  // defaults when the flags themselves could not be parsed).
  bool once = false;
  OutputFormat once_output = OutputFormat::kTable;
  int exit_code = 0;                // 0 help/version printed or ok, 2 invalid
  bool exit_now = false;            // --help / --version: print `output` and exit with exit_code
  std::string output;
};

ParseOutcome parse_config(int argc, const char* const* argv);

}  // namespace isrguard::service
