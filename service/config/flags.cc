#include "service/config/flags.h"

#include <CLI/CLI.hpp>

#include "service/config/value_parsers.h"

namespace isrguard::service {
namespace {

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

void add_webhook_flags(CLI::App& app, Config& c, RawFlags& r) {
  env(app.add_option("--webhook-port", c.webhook_port,
                     "TLS port of the pods/eviction admission webhook (POST /validate-eviction) on --http-address; "
                     "-1 = off, 0 = any free port")
          ->capture_default_str(),
      "ISRGUARD_WEBHOOK_PORT");
  env(app.add_option("--webhook-cert-file", c.webhook_cert_file,
                     "Webhook TLS certificate (PEM, chain after it); re-read when it changes"),
      "ISRGUARD_WEBHOOK_CERT_FILE");
  env(app.add_option("--webhook-key-file", c.webhook_key_file, "Webhook TLS private key (PEM); re-read when it changes"),
      "ISRGUARD_WEBHOOK_KEY_FILE");
  env(app.add_option(
          "--webhook-broker-pods", r.webhook_broker_pods,
          "Pods that are brokers: NAMESPACE/PREFIX[+OFFSET] maps pod PREFIX<n> to broker n+OFFSET "
          "(repeatable; e.g. kafka/my-cluster-pool-a- for Strimzi node pools, kafka/kafka-+100 for a "
          "StatefulSet with broker.id = ordinal + 100); pods no rule maps (nor a label or annotation "
          "rule) are allowed at once"),
      "ISRGUARD_WEBHOOK_BROKER_PODS");
  env(app.add_option("--webhook-fresh-within", r.webhook_fresh,
                     "Judge an eviction on a probe at most this old; older: probe now, deny if none in time")
          ->capture_default_str(),
      "ISRGUARD_WEBHOOK_FRESH_WITHIN");
  env(app.add_option("--webhook-timeout", r.webhook_timeout,
                     "Answer every eviction within this (keep it below the webhook's timeoutSeconds)")
          ->capture_default_str(),
      "ISRGUARD_WEBHOOK_TIMEOUT");
  env(app.add_option("--webhook-grant-ttl", r.webhook_grant_ttl,
                     "A granted eviction counts its broker as down until it is seen down and back in sync, "
                     "or this long")
          ->capture_default_str(),
      "ISRGUARD_WEBHOOK_GRANT_TTL");
}

// The webhook's label and annotation rules and the Kubernetes API they read Pods through.
void add_kube_flags(CLI::App& app, Config& c, RawFlags& r) {
  env(app.add_option(
          "--webhook-broker-id-label", r.webhook_id_labels,
          "Pods that carry their broker id in a label: NAMESPACE=KEY (repeatable, one rule per "
          "namespace; e.g. kafka=isrguard.io/broker-id). The webhook reads the Pod through the "
          "Kubernetes API: label absent -> --webhook-broker-pods decide; a failed read is a denial"),
      "ISRGUARD_WEBHOOK_BROKER_ID_LABEL");
  env(app.add_option("--webhook-broker-id-annotation", r.webhook_id_annotations,
                     "As --webhook-broker-id-label, with an annotation holding the broker id"),
      "ISRGUARD_WEBHOOK_BROKER_ID_ANNOTATION");
  env(app.add_option(
          "--kube-api", c.kube_api,
          "Kubernetes API server (https://HOST[:PORT]) for the --webhook-broker-id-* rules; default in "
          "a pod: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"),
      "ISRGUARD_KUBE_API");
  env(app.add_option(
             "--kube-token-file", c.kube_token_file,
             "Bearer token file (the service account's; re-read for every Pod read, so rotation needs no "
             "restart)")
          ->capture_default_str(),
      "ISRGUARD_KUBE_TOKEN_FILE");
  env(app.add_option("--kube-ca-file", c.kube_ca_file, "CA bundle (PEM) that verifies the API server")
          ->capture_default_str(),
      "ISRGUARD_KUBE_CA_FILE");
  env(app.add_option(
             "--kube-timeout", r.kube_timeout,
             "Bound of one Pod read (connection and TLS included); below --webhook-timeout, which also "
             "bounds it")
          ->capture_default_str(),
      "ISRGUARD_KUBE_TIMEOUT");
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
                     "other --disrupt-* flags)"),
      "ISRGUARD_DISRUPT_FLEET");
  env(app.add_option("--disrupt-rack", r.disrupt_racks,
                     "With --once: ask about every broker whose broker.rack is one of these (comma-separated)"),
      "ISRGUARD_DISRUPT_RACK");
  env(app.add_option("--wait-safe", r.wait_safe,
                     "With --disrupt-*: re-probe every --poll-interval until safe (exit 0) or this long has "
                     "passed (exit 1), e.g. 30m"),
      "ISRGUARD_WAIT_SAFE");
  env(app.add_flag("--disruption-block-min-isr-risk", c.disruption.block_min_isr_risk,
                   "Let partitions with replicas <= min.insync.replicas (RF 1, RF = min ISR) block disruptions "
                   "(by default they are reported, not blocking, as in Strimzi)"),
      "ISRGUARD_DISRUPTION_BLOCK_MIN_ISR_RISK");
  env(app.add_flag("--disrupt-unknown-as-gone", c.disruption.unknown_ids_as_gone,
                   "Take a --disrupt-brokers / ?brokers= id unknown to the cluster (not in metadata, not "
                   "expected, not seen before) as already gone instead of refusing the question (exit 2 / "
                   "HTTP 400)"),
      "ISRGUARD_DISRUPT_UNKNOWN_AS_GONE");
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

// Arguments CLI11 could not place: name unknown flags, never show values (a mistyped `--sasl-password x`
// must not print the password).
std::vector<std::string> unexpected_arguments(const std::vector<std::string>& remaining) {
  std::vector<std::string> errors;
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

}  // namespace

FlagsOutcome read_flags(int argc, const char* const* argv, Config& c, RawFlags& r) {
  FlagsOutcome out;
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
  add_webhook_flags(app, c, r);
  add_kube_flags(app, c, r);
  add_mode_flags(app, c, r);
  add_disruption_flags(app, c, r);
  add_override_flags(app, c, r);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out.result = FlagsOutcome::Result::kHelp;
    out.help = app.help();
    return out;
  } catch (const CLI::ExtrasError&) {
    out.result = FlagsOutcome::Result::kRejected;
    out.errors = unexpected_arguments(app.remaining());
    return out;
  } catch (const CLI::ParseError& e) {
    out.result = FlagsOutcome::Result::kRejected;
    out.errors.push_back(e.what());  // about a known flag (e.g. a non-number for --http-port): no secrets
    return out;
  }
  for (const CLI::Option* o : app.get_options())
    if (o->count() > 0) r.given.insert(o->get_name());
  return out;
}

}  // namespace isrguard::service
