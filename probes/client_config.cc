#include "probes/client_config.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "probes/rdkafka_common.h"

namespace isrguard::probes {
namespace {

using std::chrono::milliseconds;

// librdkafka bounds socket.connection.setup.timeout.ms to >= 1000.
constexpr milliseconds kMinConnectionSetupTimeout{1000};
constexpr int kMaxMockBrokers = 64;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};

// What is wrong with the adapter's own settings (timeouts, min.insync.replicas schedule, mock brokers).
std::vector<std::string> setting_errors(const RdKafkaSourceConfig& cfg) {
  std::vector<std::string> errors;
  if (cfg.probe_timeout < kMinProbeTimeout || cfg.probe_timeout > kMaxProbeTimeout)
    errors.push_back("probe timeout must be between " + std::to_string(kMinProbeTimeout.count()) + "ms and " +
                     std::to_string(kMaxProbeTimeout.count()) + "ms (got " +
                     std::to_string(cfg.probe_timeout.count()) + "ms)");
  if (cfg.min_isr_refresh <= milliseconds::zero())
    errors.push_back("min.insync.replicas refresh period must be > 0");
  if (cfg.min_isr_retry < milliseconds::zero())
    errors.push_back("min.insync.replicas retry spacing must be >= 0");
  if (cfg.min_isr_max_age < cfg.min_isr_refresh)
    errors.push_back("min.insync.replicas max age must be at least the refresh period");
  if (cfg.mock_brokers < 0 || cfg.mock_brokers > kMaxMockBrokers)
    errors.push_back("mock broker count must be between 0 and " + std::to_string(kMaxMockBrokers));
  return errors;
}

// Sets each user property on `conf`; one entry in `errors` per property librdkafka refuses (secret values
// redacted from its message). Returns the refused keys.
std::vector<std::string> set_user_properties(rd_kafka_conf_t* conf, const RdKafkaSourceConfig& cfg,
                                             std::vector<std::string>& errors) {
  char errstr[512];
  std::vector<std::string> bad_keys;
  for (const auto& [key, value] : cfg.properties) {
    errstr[0] = '\0';
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      // librdkafka's message quotes the value; never show a secret one.
      std::string why = errstr;
      if (is_secret_property(key) && value.size() > 0)
        for (auto pos = why.find(value); pos != std::string::npos; pos = why.find(value, pos + 10))
          why.replace(pos, value.size(), "<redacted>");
      bad_keys.push_back(key);
      errors.push_back("Kafka client property '" + key + "': " + why);
    }
  }
  return bad_keys;
}

// Throws std::invalid_argument naming the bad keys and listing every error, if there is any.
void throw_if_invalid(const std::vector<std::string>& errors, const std::vector<std::string>& bad_keys) {
  if (errors.empty()) return;
  std::string msg = "invalid Kafka client configuration";
  if (!bad_keys.empty()) {
    msg += " (bad keys:";
    for (const auto& k : bad_keys) msg += " " + k;
    msg += ")";
  }
  msg += ": ";
  for (std::size_t i = 0; i < errors.size(); ++i) msg += (i ? "; " : "") + errors[i];
  throw std::invalid_argument(msg);
}

// Adapter defaults; a user value wins unless it would unbound the probe.
void set_adapter_defaults(rd_kafka_conf_t* conf, const RdKafkaSourceConfig& cfg) {
  char errstr[512];
  auto set = [&](const std::string& key, const std::string& value) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
      throw std::logic_error("librdkafka rejected adapter default " + key + "=" + value + ": " + errstr);
  };
  auto user_ms = [&](const std::string& key) -> std::optional<long long> {
    const auto it = cfg.properties.find(key);
    if (it == cfg.properties.end()) return std::nullopt;
    return std::stoll(it->second);  // accepted by rd_kafka_conf_set before, so numeric
  };
  auto set_default = [&](const std::string& key, const std::string& value) {
    if (!cfg.properties.contains(key)) set(key, value);
  };
  auto cap = [&](const std::string& key, long long limit) {
    const auto user = user_ms(key);
    if (user && *user <= limit) return;
    if (user)
      spdlog::info("kafka client: {} lowered from {} to {} ms so that probes stay bounded", key, *user,
                   limit);
    set(key, std::to_string(limit));
  };
  const long long timeout_ms = cfg.probe_timeout.count();
  cap("socket.timeout.ms", timeout_ms);
  cap("socket.connection.setup.timeout.ms",
      std::max<long long>(timeout_ms, kMinConnectionSetupTimeout.count()));
  set_default("client.id", "isrguard");
  set_default("reconnect.backoff.ms", "100");
  set_default("reconnect.backoff.max.ms", "1000");
  set_default("topic.metadata.refresh.interval.ms", "60000");
  // Broker state changes reach the log callback only as debug lines of the "broker" context: the
  // earliest sign of a dropped connection (probes/connection_watch.h, docs/faults.md). Added to the user's
  // own debug contexts.
  const auto debug = cfg.properties.find("debug");
  if (debug == cfg.properties.end() || debug->second.empty())
    set("debug", "broker");
  else if (debug->second.find("broker") == std::string::npos && debug->second.find("all") == std::string::npos)
    set("debug", debug->second + ",broker");
  if (cfg.mock_brokers > 0) set("test.mock.num.brokers", std::to_string(cfg.mock_brokers));
}

}  // namespace

rd_kafka_conf_t* build_client_template(const RdKafkaSourceConfig& config, LogSink& sink) {
  std::unique_ptr<rd_kafka_conf_t, ConfDeleter> conf(rd_kafka_conf_new());
  std::vector<std::string> errors = setting_errors(config);
  const std::vector<std::string> bad_keys = set_user_properties(conf.get(), config, errors);
  const bool has_bootstrap =
      config.properties.contains("bootstrap.servers") || config.properties.contains("metadata.broker.list");
  if (!has_bootstrap && config.mock_brokers == 0)
    errors.push_back("Kafka client property 'bootstrap.servers' is not set");
  throw_if_invalid(errors, bad_keys);
  set_adapter_defaults(conf.get(), config);
  attach_log_sink(conf.get(), &sink);
  return conf.release();
}

std::vector<std::string> secret_values(const RdKafkaSourceConfig& config) {
  std::vector<std::string> secrets;
  for (const auto& [k, v] : config.properties)
    if (is_secret_property(k) && v.size() >= 3) secrets.push_back(v);
  return secrets;
}

std::string configured_bootstrap(const RdKafkaSourceConfig& config) {
  for (const char* key : {"bootstrap.servers", "metadata.broker.list"})
    if (const auto it = config.properties.find(key); it != config.properties.end()) return it->second;
  return "";
}

bool is_secret_property(const std::string& key) {
  std::string k;
  for (char c : key) k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  // Substrings, so that a whole malformed entry ("sasl.password:xyz") is recognised too. keystore.key:
  // Java's PEM private key; ssl_key: librdkafka's alias of ssl.key.pem; private: assertion private keys.
  for (const char* needle : {"password", "secret", "jaas", "token", "credential", "key.pem", "oauthbearer.config",
                             "keystore.key", "ssl_key", "private"})
    if (k.find(needle) != std::string::npos) return true;
  return false;
}

bool is_client_property(const std::string& key) {
  // librdkafka lists its properties (with aliases) only as a printed table: read its first column once.
  static const std::set<std::string, std::less<>> names = [] {
    std::set<std::string, std::less<>> out;
    char* buf = nullptr;
    std::size_t len = 0;
    FILE* f = open_memstream(&buf, &len);
    if (!f) return out;
    rd_kafka_conf_properties_show(f);
    std::fclose(f);
    std::istringstream table(std::string(buf, len));
    std::free(buf);
    for (std::string line; std::getline(table, line);) {
      const auto bar = line.find('|');
      if (bar == std::string::npos || line.rfind("Property", 0) == 0 || line[0] == '-') continue;
      std::string name = line.substr(0, line.find_first_of(" |"));
      if (!name.empty()) out.insert(std::move(name));
    }
    return out;
  }();
  return names.count(key) > 0;
}

}  // namespace isrguard::probes
