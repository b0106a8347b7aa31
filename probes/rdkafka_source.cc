#include "probes/rdkafka_source.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <limits>
#include <mutex>
#include <set>
#include <span>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <thread>
#include <utility>

namespace isrguard::probes {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kMinIsrConfig = "min.insync.replicas";
// librdkafka bounds socket.timeout.ms to [10, 300000] and socket.connection.setup.timeout.ms to >= 1000.
constexpr milliseconds kMinProbeTimeout{10};
constexpr milliseconds kMaxProbeTimeout{300000};
constexpr milliseconds kMinConnectionSetupTimeout{1000};
constexpr int kMaxMockBrokers = 64;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, kMaxProbeTimeout.count()));
}

std::string err_text(rd_kafka_resp_err_t err) {
  return std::string(rd_kafka_err2name(err)) + " (" + rd_kafka_err2str(err) + ")";
}

// ---- logging -------------------------------------------------------------------------------------------

// Receives librdkafka's log and error callbacks (from librdkafka's threads) and writes them to spdlog.
// Owned by Impl and outlives the rd_kafka_t handle. Guards against spam: a message that differs only in
// numbers (ports, ms, counts) from one logged in the last minute is counted, not logged; the count is shown
// with the next one logged. Values of secret properties are replaced by "<redacted>" in every line.
class LogSink {
 public:
  explicit LogSink(std::vector<std::string> secret_values) : secrets_(std::move(secret_values)) {}

  void log(int syslog_level, const char* fac, const char* buf) {
    const spdlog::level::level_enum level = syslog_level <= 3   ? spdlog::level::err
                                            : syslog_level == 4 ? spdlog::level::warn
                                            : syslog_level == 5 ? spdlog::level::info
                                                                : spdlog::level::debug;
    std::string msg = scrub(buf ? buf : "");
    const std::string fac_s = fac ? fac : "";
    std::size_t suppressed = 0;
    {
      std::lock_guard lock(mu_);
      if (recent_.size() > 512) recent_.clear();  // bound memory; at worst one repeated line
      const std::string key = fac_s + '|' + normalized(msg);
      const auto now = Clock::now();
      auto [it, inserted] = recent_.try_emplace(key, Recent{now, 0});
      if (!inserted) {
        if (now - it->second.logged_at < kRepeatWindow) {
          ++it->second.suppressed;
          return;
        }
        suppressed = it->second.suppressed;
        it->second = Recent{now, 0};
      }
    }
    if (suppressed > 0)
      spdlog::log(level, "librdkafka {}: {} ({} similar suppressed in the last minute)", fac_s, msg,
                  suppressed);
    else
      spdlog::log(level, "librdkafka {}: {}", fac_s, msg);
  }

  // Errors from error_cb. They repeat the broker failures librdkafka also logs, and the probe reports its
  // outcome, so they are kept (for probe error messages) and logged at debug only; fatal ones at error.
  void error(rd_kafka_t* rk, int err, const char* reason) {
    std::string text = scrub(reason ? reason : "");
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char fatal[512] = "";
      const rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
      spdlog::error("librdkafka fatal error {}: {}", rd_kafka_err2name(orig), scrub(fatal));
    } else {
      spdlog::debug("librdkafka error {}: {}", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)),
                    text);
    }
    std::lock_guard lock(mu_);
    if (const char* kind = security_kind(err)) {
      security_error_ = ProbeError{kind, text};
      security_error_at_ = Clock::now();
    }
    // "3/3 brokers are down" follows the broker error that explains it: keep the explanation.
    if (err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || last_error_.empty()) last_error_ = std::move(text);
  }

  // The last authentication or TLS failure since the last clear. Kept apart from last_error(): librdkafka
  // reports an identical failure only once per 30 s, and the reconnects in between fail as plain transport
  // errors.
  // Older than kSecurityErrorTtl it is history: librdkafka would have repeated it by then (see above).
  std::optional<ProbeError> security_error() const {
    std::lock_guard lock(mu_);
    if (Clock::now() - security_error_at_ > kSecurityErrorTtl) return std::nullopt;
    return security_error_;
  }

  // librdkafka statistics (stats_cb, every statistics.interval.ms): keeps each broker's cumulative
  // disconnect count by node id. Malformed JSON is ignored (the counts stay as they were).
  void stats(const char* json, size_t len) {
    std::map<std::int32_t, std::uint64_t> counts;
    try {
      const auto j = nlohmann::json::parse(json, json + len);
      for (const auto& [name, b] : j.at("brokers").items()) {
        const auto id = b.value("nodeid", -1);
        if (id >= 0) counts[id] = b.value("disconnects", std::uint64_t{0});
      }
    } catch (const nlohmann::json::exception&) {
      return;
    }
    std::lock_guard lock(mu_);
    disconnects_ = std::move(counts);
  }
  std::map<std::int32_t, std::uint64_t> disconnects() const {
    std::lock_guard lock(mu_);
    return disconnects_;
  }

  // Last error_cb reason since the last clear (empty when none): "host:port/id: Connect to ... failed: ...".
  std::string last_error() const {
    std::lock_guard lock(mu_);
    return last_error_;
  }
  void clear_last_error() {
    std::lock_guard lock(mu_);
    last_error_.clear();
    security_error_.reset();
  }

  std::string scrub(std::string s) const {
    for (const auto& secret : secrets_) {
      for (auto pos = s.find(secret); pos != std::string::npos; pos = s.find(secret, pos + 10))
        s.replace(pos, secret.size(), "<redacted>");
    }
    return s;
  }

 private:
  static constexpr auto kRepeatWindow = std::chrono::minutes(1);
  static constexpr auto kSecurityErrorTtl = std::chrono::seconds(60);
  struct Recent {
    Clock::time_point logged_at;
    std::size_t suppressed = 0;
  };

  static std::string normalized(const std::string& msg) {
    std::string out;
    out.reserve(msg.size());
    for (char c : msg) {
      const bool digit = std::isdigit(static_cast<unsigned char>(c)) != 0;
      if (!digit)
        out.push_back(c);
      else if (out.empty() || out.back() != '#')
        out.push_back('#');
    }
    // librdkafka appends its own repeat count; the same failure with a count is still the same failure.
    constexpr std::string_view kCount = ", # identical error(s) suppressed";
    if (const auto pos = out.find(kCount); pos != std::string::npos) out.erase(pos, kCount.size());
    return out;
  }

  const std::vector<std::string> secrets_;  // immutable after construction: read without the lock
  // "auth" / "tls" for errors that mean the client's security settings do not match the broker's.
  static const char* security_kind(int err) {
    switch (err) {
      case RD_KAFKA_RESP_ERR__AUTHENTICATION:
      case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
      case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
      case RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE:
        return "auth";
      case RD_KAFKA_RESP_ERR__SSL:
        return "tls";
      default:
        return nullptr;
    }
  }

  mutable std::mutex mu_;
  std::unordered_map<std::string, Recent> recent_;
  std::string last_error_;
  std::map<std::int32_t, std::uint64_t> disconnects_;  // by broker id, cumulative
  std::optional<ProbeError> security_error_;
  Clock::time_point security_error_at_{};
};

void log_cb(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  if (auto* sink = static_cast<LogSink*>(rd_kafka_opaque(rk))) sink->log(level, fac, buf);
}

void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  if (auto* sink = static_cast<LogSink*>(opaque)) sink->error(rk, err, reason);
}

int stats_cb(rd_kafka_t*, char* json, size_t len, void* opaque) {
  if (auto* sink = static_cast<LogSink*>(opaque)) sink->stats(json, len);
  return 0;  // librdkafka frees `json`
}

// ---- small RAII helpers ---------------------------------------------------------------------------------

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
struct Resources {
  std::vector<rd_kafka_ConfigResource_t*> v;
  ~Resources() { rd_kafka_ConfigResource_destroy_array(v.data(), v.size()); }
};

std::string kind_of(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
      return "timeout";
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
      return "transport";
    default:
      return "metadata";
  }
}

std::optional<std::int32_t> parse_int(const char* s) {
  if (!s) return std::nullopt;
  const std::string_view v(s);
  std::int32_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return out;
}

// Why the topic DescribeConfigs would certainly time out, or "" when it can be sent. librdkafka sends it to
// the controller named in metadata and waits (up to the request timeout) until that broker is up. When
// metadata names no controller, or one that is not a broker (librdkafka's mock cluster says 0), say so
// instead of spending the budget.
std::string min_isr_not_askable(const ClusterSnapshot& snap) {
  if (snap.controller_id < 0) return "DescribeConfigs not sent: metadata names no controller";
  const bool known = std::any_of(snap.brokers.begin(), snap.brokers.end(),
                                 [&](const Broker& b) { return b.id == snap.controller_id; });
  if (!known)
    return "DescribeConfigs not sent: metadata names controller " + std::to_string(snap.controller_id) +
           ", which is not among the brokers";
  return "";
}

// One topic's partitions into its table: one pass to size the table exactly, one to fill it (no copy
// per partition). "" or why the topic cannot be stored: a list longer than the table allows (librdkafka
// itself refuses lists longer than its RD_KAFKAP_BROKERS_MAX; this guards the table, whatever it accepts).
std::string convert_partitions(const rd_kafka_metadata_topic_t& t, PartitionTable& out) {
  auto replicas = [](const rd_kafka_metadata_partition_t& p) {
    return std::span<const BrokerId>(p.replicas, static_cast<std::size_t>(std::max(p.replica_cnt, 0)));
  };
  auto isr = [](const rd_kafka_metadata_partition_t& p) {
    return std::span<const BrokerId>(p.isrs, static_cast<std::size_t>(std::max(p.isr_cnt, 0)));
  };
  std::size_t ids = 0;
  bool sorted = true;
  for (int j = 0; j < t.partition_cnt; ++j) {
    const auto& p = t.partitions[j];
    if (replicas(p).size() > PartitionTable::kMaxListLength || isr(p).size() > PartitionTable::kMaxListLength)
      return "topic " + std::string(t.topic ? t.topic : "") + " partition " + std::to_string(p.id) +
             " lists " + std::to_string(p.replica_cnt) + " replicas and " + std::to_string(p.isr_cnt) +
             " ISR ids (at most " + std::to_string(PartitionTable::kMaxListLength) + " are supported)";
    ids += PartitionTable::ids_needed(replicas(p), isr(p));
    sorted = sorted && (j == 0 || t.partitions[j - 1].id < p.id);
  }
  out.reserve(static_cast<std::size_t>(std::max(t.partition_cnt, 0)), ids);
  for (int j = 0; j < t.partition_cnt; ++j) {
    const auto& p = t.partitions[j];
    out.push_back(PartitionView{p.id, p.leader, replicas(p), isr(p), KafkaError{p.err}});
  }
  if (!sorted) out.sort_by_id();
  return "";
}

// Converts the topics of a metadata answer into snap.topics (one slot per topic, filled in any order):
// started at construction, on a helper thread too when the answer is large (probes/split.h), so the
// conversion runs while the calling thread sends the DescribeConfigs requests; finish() joins in.
class TopicConversion {
 public:
  TopicConversion(const rd_kafka_metadata_t& md, std::vector<TopicInfo>& out, std::size_t split_from)
      : md_(md),
        out_(out),
        large_(is_large(md, split_from)),
        loop_(static_cast<std::size_t>(std::max(md.topic_cnt, 0)), kChunk, [this](std::size_t i) { convert(i); },
              large_,
              // Sizing the slots touches ~100 bytes per topic of fresh memory: on the helper, when there is one.
              [this, n = static_cast<std::size_t>(std::max(md.topic_cnt, 0))] { out_.assign(n, TopicInfo{}); }) {}

  // True when the answer is large enough for two threads.
  bool large() const { return large_; }

  // Converts what is left, then sorts the topics by name. "" or why (the first unstorable topic in the
  // answer's order) they cannot be stored.
  std::string finish() {
    loop_.finish();
    if (!why_.empty()) return why_;
    auto by_name = [](const TopicInfo& a, const TopicInfo& b) { return a.name < b.name; };
    if (!std::is_sorted(out_.begin(), out_.end(), by_name)) std::sort(out_.begin(), out_.end(), by_name);
    return "";
  }

 private:
  static constexpr std::size_t kChunk = 32;  // topics claimed at a time

  static bool is_large(const rd_kafka_metadata_t& md, std::size_t split_from) {
    std::size_t partitions = 0;
    if (split_from == kNeverSplit) return false;
    for (int i = 0; i < md.topic_cnt && partitions < split_from; ++i)
      partitions += static_cast<std::size_t>(std::max(md.topics[i].partition_cnt, 0));
    return partitions >= split_from;
  }

  void convert(std::size_t i) {
    const auto& t = md_.topics[i];
    TopicInfo& topic = out_[i];
    topic.name = t.topic ? t.topic : "";
    topic.error = KafkaError{t.err};
    if (std::string why = convert_partitions(t, topic.partitions); !why.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (i < why_at_) {
        why_at_ = i;
        why_ = std::move(why);
      }
    }
  }

  const rd_kafka_metadata_t& md_;
  std::vector<TopicInfo>& out_;
  std::mutex mu_;
  std::size_t why_at_ = std::numeric_limits<std::size_t>::max();
  std::string why_;
  const bool large_;
  SharedLoop loop_;  // last: starts converting once the rest is set up
};

}  // namespace

// ---- public helpers -------------------------------------------------------------------------------------

std::string error_name(std::int32_t code) {
  return rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(code));
}

std::vector<MockTopicSpec> demo_mock_topics() { return {{"audit-log", 1}, {"orders", 6}, {"payments", 3}}; }

bool is_secret_property(const std::string& key) {
  std::string k;
  for (char c : key) k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (const char* needle :
       {"password", "secret", "jaas", "token", "credential", "key.pem", "oauthbearer.config"})
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

std::ostream& operator<<(std::ostream& os, const RdKafkaSourceConfig& c) {
  os << "RdKafkaSourceConfig{timeout=" << c.probe_timeout.count()
     << "ms min_isr_refresh=" << c.min_isr_refresh.count() << "ms min_isr_retry=" << c.min_isr_retry.count()
     << "ms min_isr_max_age=" << c.min_isr_max_age.count() << "ms mock_brokers=" << c.mock_brokers;
  for (const auto& [k, v] : c.properties) os << ' ' << k << '=' << (is_secret_property(k) ? "<redacted>" : v);
  return os << '}';
}

std::ostream& operator<<(std::ostream& os, const MockTopicSpec& t) {
  return os << "MockTopic{" << t.name << " partitions=" << t.partitions << '}';
}

// ---- Metadata -------------------------------------------------------------------------------------------

// One all-topics Metadata answer (or the error), with the controller and cluster ids cached from it.
struct MetadataAnswer {
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
  std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter> md;
  std::int32_t controller_id = -1;
  std::string cluster_id;
  std::string failure;  // set when a retry also failed: what was tried, for the probe error
};
// The answer a probe uses, and a Metadata call of this probe still waiting on a hung broker (bounded by the
// probe deadline): joined when the fetch is destroyed, at the end of the probe.
struct MetadataFetch : MetadataAnswer {
  MetadataFetch() = default;
  MetadataFetch(MetadataAnswer a) : MetadataAnswer(std::move(a)) {}  // NOLINT: implicit by design
  std::vector<std::future<MetadataAnswer>> pending;
};

// A broker of the last snapshot, as the Metadata retry addresses it.
struct KnownBroker {
  std::int32_t id = 0;
  std::string address;  // host:port
  std::string text() const { return std::to_string(id) + " (" + address + ")"; }
};

// At most this many brokers are asked at once when Metadata is retried: enough that one hung broker among
// them cannot stop the retry, few enough that the short-lived clients stay cheap.
constexpr std::size_t kMetadataRetryBrokers = 3;

MetadataAnswer ask_metadata(rd_kafka_t* rk, Clock::time_point deadline) {
  MetadataAnswer f;
  const rd_kafka_metadata_t* raw = nullptr;
  f.err = rd_kafka_metadata(rk, 1, nullptr, &raw, remaining_ms(deadline));
  f.md.reset(raw);
  if (f.err != RD_KAFKA_RESP_ERR_NO_ERROR) return f;
  // Both are cached from the metadata response just received, so these return at once; the budget only
  // matters for brokers too old to report them (then they return "unknown" without waiting, see librdkafka).
  f.controller_id = rd_kafka_controllerid(rk, remaining_ms(deadline));
  if (char* id = rd_kafka_clusterid(rk, remaining_ms(deadline))) {
    f.cluster_id = id;
    rd_kafka_mem_free(rk, id);
  }
  return f;
}

// Metadata from one broker only: a short-lived client (the probe's own configuration, security included)
// bootstrapped to that broker's address alone, so its request can go nowhere else. No statistics: the
// probe's disconnect counts come from the long-lived client only.
MetadataAnswer ask_broker_alone(const rd_kafka_conf_t* conf_template, const std::string& address,
                                Clock::time_point deadline) {
  MetadataAnswer a;
  char errstr[512] = "";
  rd_kafka_conf_t* conf = rd_kafka_conf_dup(conf_template);
  if (rd_kafka_conf_set(conf, "bootstrap.servers", address.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "statistics.interval.ms", "0", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    a.err = RD_KAFKA_RESP_ERR__INVALID_ARG;
    return a;
  }
  rd_kafka_t* client = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!client) {
    rd_kafka_conf_destroy(conf);  // not consumed on failure
    a.err = RD_KAFKA_RESP_ERR__FAIL;
    return a;
  }
  a = ask_metadata(client, deadline);
  rd_kafka_destroy_flags(client, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);  // the metadata outlives the client
  return a;
}

// Takes the first successful answer among `calls` (checked every few ms); the others stay in `calls`, still
// running. Returns nullopt when every call ended without an answer.
std::optional<MetadataAnswer> first_answer(std::vector<std::future<MetadataAnswer>>& calls) {
  constexpr milliseconds kPollEvery{5};
  while (true) {
    bool running = false;
    for (auto& c : calls) {
      if (!c.valid()) continue;
      if (c.wait_for(milliseconds(0)) != std::future_status::ready) {
        running = true;
        continue;
      }
      MetadataAnswer a = c.get();  // leaves `c` invalid
      if (a.err == RD_KAFKA_RESP_ERR_NO_ERROR) return a;
    }
    if (!running) return std::nullopt;
    std::this_thread::sleep_for(kPollEvery);
  }
}

// ---- Impl -----------------------------------------------------------------------------------------------

struct RdKafkaSource::Impl {
  RdKafkaSourceConfig config;
  std::unique_ptr<LogSink> sink;             // declared before rk: outlives it
  rd_kafka_conf_t* conf_template = nullptr;  // validated; duplicated for each creation attempt
  rd_kafka_t* rk = nullptr;         // producer handle: never produces, so nothing to flush on destroy
  std::string bootstrap;            // for messages (never contains secrets)
  std::string last_create_error;    // logged once per distinct message
  std::string last_config_problem;  // logged once per distinct message
  MinIsrCache min_isr;
  std::map<std::int32_t, std::uint64_t> disconnects_seen;  // cumulative counts at the previous probe
  bool wait_in_slices = true;  // until a broker has been usable; see await_usable_broker
  // Brokers of the last snapshot (the Metadata retry's candidates); empty before the first.
  std::vector<KnownBroker> known_brokers;
  std::size_t retry_offset = 0;  // rotates the retry's candidates from one retry to the next
  bool metadata_retried = false;  // the last probe needed the Metadata retry (logged on change only)
  bool metadata_seen = false;  // a probe's metadata request has succeeded on `rk`

  explicit Impl(RdKafkaSourceConfig c)
      : config(std::move(c)),
        min_isr(MinIsrCacheOptions{config.min_isr_refresh, config.min_isr_retry, config.min_isr_max_age}) {}

  ~Impl() {
    if (rk) {
      const auto start = Clock::now();
      rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
      spdlog::debug("kafka client closed in {} ms",
                    std::chrono::duration_cast<milliseconds>(Clock::now() - start).count());
    }
    if (conf_template) rd_kafka_conf_destroy(conf_template);
  }

  void build_template();
  bool try_create();
  ProbeResult probe();
  std::optional<ProbeError> await_usable_broker(Clock::time_point deadline);
  MetadataFetch fetch_metadata(Clock::time_point start, Clock::time_point deadline);
  bool metadata_arrived_within(int slice_ms);
  ProbeError metadata_failure(rd_kafka_resp_err_t err);
  std::string security_hint(const std::string& broker_error) const;
  std::string security_message(const ProbeError& e) const;
  // Sends the DescribeConfigs of this probe, runs `meanwhile` (the conversion), then collects the answers.
  void read_configs(ClusterSnapshot& snap, const std::vector<std::string>& topic_names,
                    Clock::time_point deadline, const std::function<void()>& meanwhile);
  void count_disconnects(ClusterSnapshot& snap);
  void log_config_problem(const std::map<std::string, MinIsrOutcome>& outcomes);
};

void RdKafkaSource::Impl::build_template() {
  std::vector<std::string> errors;
  const auto& cfg = config;
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

  std::vector<std::string> secrets;
  for (const auto& [k, v] : cfg.properties)
    if (is_secret_property(k) && v.size() >= 3) secrets.push_back(v);
  sink = std::make_unique<LogSink>(std::move(secrets));

  conf_template = rd_kafka_conf_new();
  char errstr[512];
  std::vector<std::string> bad_keys;
  for (const auto& [key, value] : cfg.properties) {
    errstr[0] = '\0';
    if (rd_kafka_conf_set(conf_template, key.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      // librdkafka's message quotes the value; never show a secret one.
      std::string why = errstr;
      if (is_secret_property(key) && value.size() > 0)
        for (auto pos = why.find(value); pos != std::string::npos; pos = why.find(value, pos + 10))
          why.replace(pos, value.size(), "<redacted>");
      bad_keys.push_back(key);
      errors.push_back("Kafka client property '" + key + "': " + why);
    }
  }
  const bool has_bootstrap =
      cfg.properties.contains("bootstrap.servers") || cfg.properties.contains("metadata.broker.list");
  if (!has_bootstrap && cfg.mock_brokers == 0)
    errors.push_back("Kafka client property 'bootstrap.servers' is not set");

  if (!errors.empty()) {
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
  auto set = [&](const std::string& key, const std::string& value) {
    if (rd_kafka_conf_set(conf_template, key.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK)
      throw std::logic_error("librdkafka rejected adapter default " + key + "=" + value + ": " + errstr);
  };
  auto user_ms = [&](const std::string& key) -> std::optional<long long> {
    const auto it = cfg.properties.find(key);
    if (it == cfg.properties.end()) return std::nullopt;
    return std::stoll(it->second);  // accepted by rd_kafka_conf_set above, so numeric
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
  // Per-broker disconnect counts for BrokerResponse::disconnects (1 s is librdkafka's granularity).
  set_default("statistics.interval.ms", "1000");
  if (cfg.mock_brokers > 0) set("test.mock.num.brokers", std::to_string(cfg.mock_brokers));

  rd_kafka_conf_set_opaque(conf_template, sink.get());
  rd_kafka_conf_set_log_cb(conf_template, log_cb);
  rd_kafka_conf_set_error_cb(conf_template, error_cb);
  rd_kafka_conf_set_stats_cb(conf_template, stats_cb);

  if (cfg.mock_brokers == 0) {
    const auto it = cfg.properties.find("bootstrap.servers");
    bootstrap = it != cfg.properties.end() ? it->second : cfg.properties.at("metadata.broker.list");
  }
}

bool RdKafkaSource::Impl::try_create() {
  char errstr[512] = "";
  rd_kafka_conf_t* conf = rd_kafka_conf_dup(conf_template);
  rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    rd_kafka_conf_destroy(conf);  // not consumed on failure
    std::string why = sink->scrub(errstr);
    if (why != last_create_error) spdlog::error("kafka client cannot be created: {}", why);
    last_create_error = std::move(why);
    return false;
  }
  if (!last_create_error.empty()) spdlog::info("kafka client created");
  last_create_error.clear();

  if (config.mock_brokers > 0) {
    rd_kafka_mock_cluster_t* mcluster = rd_kafka_handle_mock_cluster(rk);
    if (!mcluster) {
      last_create_error = "test.mock.num.brokers set but librdkafka created no mock cluster";
      rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
      rk = nullptr;
      return false;
    }
    bootstrap = rd_kafka_mock_cluster_bootstraps(mcluster);
    for (const auto& t : demo_mock_topics()) {
      const rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mcluster, t.name.c_str(), t.partitions,
                                                                 std::min(3, config.mock_brokers));
      if (err) spdlog::warn("mock cluster: cannot create topic {}: {}", t.name, err_text(err));
    }
    spdlog::info("using librdkafka's mock cluster: {} brokers at {}", config.mock_brokers, bootstrap);
  }
  return true;
}

ProbeResult RdKafkaSource::Impl::probe() {
  const auto start = Clock::now();
  const auto taken_at = std::chrono::system_clock::now();
  const auto deadline = start + config.probe_timeout;
  auto elapsed = [&] { return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start); };
  auto fail = [&](std::string kind, std::string message) {
    ProbeResult r;
    r.error = ProbeError{std::move(kind), std::move(message)};
    r.duration = elapsed();
    return r;
  };

  if (!rk && !try_create())
    return fail("client", "cannot create Kafka client for " +
                              (bootstrap.empty() ? "mock cluster" : bootstrap) + ": " + last_create_error);

  rd_kafka_poll(rk, 0);  // serve error and statistics callbacks queued since the last probe

  if (wait_in_slices) {
    if (auto security = await_usable_broker(deadline)) return fail(security->kind, security_message(*security));
  }
  MetadataFetch fetch = fetch_metadata(start, deadline);
  const rd_kafka_resp_err_t err = fetch.err;
  // No usable broker for the whole call: the next probe waits in slices again (see await_usable_broker).
  wait_in_slices = err == RD_KAFKA_RESP_ERR__TRANSPORT;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_poll(rk, 0);  // pick up the broker error that explains it, if one arrived meanwhile
    if (auto security = sink->security_error(); security && err == RD_KAFKA_RESP_ERR__TRANSPORT)
      return fail(security->kind, security_message(*security));
    ProbeError e = metadata_failure(err);
    if (!fetch.failure.empty()) e.message = fetch.failure + "; " + e.message;
    return fail(std::move(e.kind), std::move(e.message));
  }
  sink->clear_last_error();
  metadata_seen = true;
  const rd_kafka_metadata_t* md = fetch.md.get();
  spdlog::debug("probe: metadata of {} topics after {} ms", md->topic_cnt,
                std::chrono::duration_cast<milliseconds>(elapsed()).count());

  ClusterSnapshot snap;
  snap.taken_at = taken_at;
  snap.brokers.reserve(static_cast<std::size_t>(std::max(md->broker_cnt, 0)));
  for (int i = 0; i < md->broker_cnt; ++i) {
    const auto& b = md->brokers[i];
    snap.brokers.push_back(Broker{b.id, b.host ? b.host : "", b.port, std::nullopt, std::nullopt});
  }
  std::sort(snap.brokers.begin(), snap.brokers.end(),
            [](const Broker& a, const Broker& b) { return a.id < b.id; });

  snap.controller_id = fetch.controller_id;
  snap.cluster_id = fetch.cluster_id;
  known_brokers.clear();
  for (const auto& b : snap.brokers)
    known_brokers.push_back({b.id, b.host + ":" + std::to_string(b.port)});

  // The topics are converted while the DescribeConfigs requests are built and sent (a large answer on a
  // helper thread from now on), and while the brokers answer them (on this thread too, once they are sent):
  // at 1M partitions each of these takes tens of milliseconds.
  TopicConversion conversion(*md, snap.topics, config.split_from_partitions);
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(md->topic_cnt));
  for (int i = 0; i < md->topic_cnt; ++i) names.emplace_back(md->topics[i].topic ? md->topics[i].topic : "");
  std::string unstorable;
  std::jthread freeing;  // joined when the probe returns, whichever way
  read_configs(snap, names, deadline, [&] {
    unstorable = conversion.finish();
    // librdkafka's copy is no longer needed: free it while the answers come in. A large one on a thread of its
    // own: unmapping ~100 MB at 1M partitions takes milliseconds this thread spends on the answers.
    if (conversion.large()) {
      try {
        freeing = std::jthread([md = std::move(fetch.md)]() mutable { md.reset(); });
      } catch (const std::system_error&) {  // no thread to be had: freed here, with the lambda that held it
      }
    }
    fetch.md.reset();
  });
  if (!unstorable.empty()) return fail("metadata", std::move(unstorable));
  count_disconnects(snap);

  snap.duration = elapsed();
  ProbeResult r;
  r.duration = snap.duration;
  r.snapshot = std::move(snap);
  return r;
}

// Waits (within the probe budget) until librdkafka has a usable broker connection, in short slices, because
// rd_kafka_metadata itself waits for a usable broker for its whole timeout, and a broker that rejects our
// credentials or certificate never becomes usable: the SASL or TLS error arrives within milliseconds, and is
// returned here at once. nullopt: go on with the real request (a broker is usable, answered slowly, or the
// budget is spent and the real request reports that).
// Used only until a broker has been usable (the first probe, and after a probe found none): on a working
// connection an extra request would only queue ahead of the real one on a slow broker.
// Each slice sends nothing before any metadata has arrived (see metadata_arrived_within); afterwards it asks
// with rd_kafka_metadata(all_topics=0), which librdkafka 2.0.2 sends as an all-topics request when no topic
// is known locally — acceptable only on this rare path.
std::optional<ProbeError> RdKafkaSource::Impl::await_usable_broker(Clock::time_point deadline) {
  constexpr int kSliceMs = 100;
  while (true) {
    const int slice = std::min(kSliceMs, remaining_ms(deadline));
    if (!metadata_seen) {
      if (metadata_arrived_within(slice)) return std::nullopt;
    } else {
      const rd_kafka_metadata_t* raw = nullptr;
      const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, nullptr, &raw, slice);
      if (raw) rd_kafka_metadata_destroy(raw);
      if (err != RD_KAFKA_RESP_ERR__TRANSPORT) return std::nullopt;
    }
    rd_kafka_poll(rk, 0);  // serves error_cb: records authentication / TLS failures
    if (auto security = sink->security_error()) return security;
    if (remaining_ms(deadline) <= 0) return std::nullopt;
  }
}

// All-topics Metadata within the probe budget, retried on other brokers when the broker librdkafka picked does
// not answer. librdkafka 2.0.2 has no API to choose the broker for Metadata, and asking the same client again
// went to the same hung broker in about half of the runs against kafkasim: so the retry asks up to
// kMetadataRetryBrokers brokers of the last snapshot at once, each through a short-lived client bootstrapped
// to that broker alone, and takes the first answer. The budget (T = probe timeout):
//   - the first call may wait the whole budget (a slow broker answering late is still used), on its own
//     thread;
//   - if it has not answered by T/2, the retry's calls may take until 3T/4, leaving at least T/4 for the
//     DescribeConfigs round (read_configs), whose unanswered per-broker check names the silent broker
//     (brokers_unresponsive): it stays in the snapshot, never reported healthy;
//   - the first answer of any call is used; with none, the probe fails naming the brokers asked.
// Without a previous snapshot listing two brokers or more (nothing else to ask) or against the mock cluster,
// one call gets the whole budget.
MetadataFetch RdKafkaSource::Impl::fetch_metadata(Clock::time_point start, Clock::time_point deadline) {
  if (known_brokers.size() < 2 || config.mock_brokers > 0) return ask_metadata(rk, deadline);
  std::vector<std::future<MetadataAnswer>> calls;
  rd_kafka_t* client = rk;
  calls.push_back(std::async(std::launch::async, [client, deadline] { return ask_metadata(client, deadline); }));
  if (calls[0].wait_until(start + config.probe_timeout / 2) == std::future_status::ready) {
    if (metadata_retried) spdlog::info("metadata answered again without a retry");
    metadata_retried = false;
    return calls[0].get();
  }

  const auto retry_deadline = start + config.probe_timeout * 3 / 4;
  std::string asked;
  const std::size_t n = std::min(kMetadataRetryBrokers, known_brokers.size());
  for (std::size_t k = 0; k < n; ++k) {
    const KnownBroker& b = known_brokers[(retry_offset + k) % known_brokers.size()];
    asked += (asked.empty() ? "" : ", ") + b.text();
    calls.push_back(std::async(std::launch::async, ask_broker_alone, conf_template, b.address, retry_deadline));
  }
  retry_offset += n;
  std::optional<MetadataAnswer> answer = first_answer(calls);
  MetadataFetch fetch = answer ? std::move(*answer) : MetadataAnswer{};
  fetch.pending = std::move(calls);  // still running: joined at the end of the probe, each bounded
  const std::string note = "no metadata within " + std::to_string((config.probe_timeout / 2).count()) +
                           " ms; asked brokers " + asked + " each alone";
  if (!answer) {
    fetch.failure = note + ", and none answered";  // the probe error says it (logged by the probe loop)
    return fetch;
  }
  if (!metadata_retried)
    spdlog::warn("{}: one answered (the silent broker shows as unresponsive; logged once until Metadata "
                 "is answered without a retry again)",
                 note);
  metadata_retried = true;
  return fetch;
}

// True when a broker answered a Metadata request within `slice_ms` (or before). librdkafka sends a
// brokers-only one as soon as a connection is usable; rd_kafka_controllerid waits for an answer without
// sending anything, returns the controller once one is known, and returns -1 at once when an answer named
// none (so an early -1 also means an answer came).
bool RdKafkaSource::Impl::metadata_arrived_within(int slice_ms) {
  const auto start = Clock::now();
  if (rd_kafka_controllerid(rk, slice_ms) >= 0) return true;
  return Clock::now() - start < milliseconds(slice_ms) / 2;
}

std::string RdKafkaSource::Impl::security_message(const ProbeError& e) const {
  return (e.kind == "auth" ? "authentication failed" : "TLS failed") + std::string(" (bootstrap ") + bootstrap +
         "): " + e.message;
}

ProbeError RdKafkaSource::Impl::metadata_failure(rd_kafka_resp_err_t err) {
  const std::string kind = kind_of(err);
  std::string msg;
  if (kind == "timeout")
    msg = "no metadata from " + bootstrap + " within " + std::to_string(config.probe_timeout.count()) + " ms";
  else if (kind == "transport")
    msg = "no Kafka broker reachable (bootstrap " + bootstrap + ")";
  else
    msg = "metadata request to " + bootstrap + " failed";
  msg += ": " + err_text(err);
  if (const std::string last = sink->last_error(); !last.empty()) {
    msg += "; last broker error: " + last;
    if (kind != "metadata") msg += security_hint(last);
  }
  return ProbeError{kind, msg};
}

// A broker that accepts the connection and then drops it usually speaks another security protocol than
// the client: say so, since "no broker reachable" sends people looking for a network problem.
std::string RdKafkaSource::Impl::security_hint(const std::string& broker_error) const {
  if (broker_error.find("Disconnected") == std::string::npos) return "";
  const auto it = config.properties.find("security.protocol");
  std::string protocol = it == config.properties.end() ? "plaintext" : it->second;
  std::transform(protocol.begin(), protocol.end(), protocol.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (protocol == "plaintext")
    return "; hint: the listener may need security settings (security.protocol=SSL, SASL_SSL or "
           "SASL_PLAINTEXT with ssl.* / sasl.* in --kafka-properties)";
  if (broker_error.find("PLAINTEXT broker listener") != std::string::npos)
    return "; hint: the listener may not use TLS (security.protocol is " + it->second + ")";
  return "; hint: check that security.protocol (" + it->second + ") matches the listener";
}

// ---- DescribeConfigs: topic min.insync.replicas and the per-broker check -------------------------------

namespace {

constexpr const char* kBrokerRackConfig = "broker.rack";
constexpr const char* kProcessRolesConfig = "process.roles";
const std::string kNoAnswer = "no answer within the probe timeout";
// Topics per DescribeConfigs request. librdkafka 2.0.2 matches each resource of an answer to its request by a
// linear search (strcmp): one request for 10,000 topics cost ~50M compares on its main thread, ~0.3 s of CPU.
constexpr std::size_t kTopicsPerRequest = 500;
// AdminOptions opaque of a request: topic batch k is -1 - k; broker i (index in snap.brokers) is i + 1.
std::intptr_t topics_tag(std::size_t batch) { return -1 - static_cast<std::intptr_t>(batch); }

// Config entries of one resource in an answer, by name (null values left out).
std::map<std::string, std::string> config_values(const rd_kafka_ConfigResource_t* r) {
  std::map<std::string, std::string> out;
  size_t cnt = 0;
  const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(r, &cnt);
  for (size_t j = 0; j < cnt; ++j)
    if (const char* v = rd_kafka_ConfigEntry_value(entries[j])) out[rd_kafka_ConfigEntry_name(entries[j])] = v;
  return out;
}

std::string resource_error(const rd_kafka_ConfigResource_t* r) {
  const rd_kafka_resp_err_t e = rd_kafka_ConfigResource_error(r);
  if (!e) return "";
  const char* s = rd_kafka_ConfigResource_error_string(r);
  return std::string(rd_kafka_err2name(e)) + (s && *s ? std::string(": ") + s : "");
}

// The resources of a DescribeConfigs answer, or why there are none.
std::vector<const rd_kafka_ConfigResource_t*> answer_resources(rd_kafka_event_t* ev, std::string& why) {
  if (const rd_kafka_resp_err_t e = rd_kafka_event_error(ev)) {
    const char* s = rd_kafka_event_error_string(ev);
    why = std::string(rd_kafka_err2name(e)) + ": " + (s ? s : "");
    return {};
  }
  const rd_kafka_DescribeConfigs_result_t* result = rd_kafka_event_DescribeConfigs_result(ev);
  if (!result) {
    why = "unexpected event " + std::string(rd_kafka_event_name(ev));
    return {};
  }
  size_t n = 0;
  const rd_kafka_ConfigResource_t** resources = rd_kafka_DescribeConfigs_result_resources(result, &n);
  std::vector<const rd_kafka_ConfigResource_t*> out;
  for (size_t i = 0; i < n; ++i)
    if (resources[i]) out.push_back(resources[i]);  // fewer answered than asked: those count as "no result"
  return out;
}

// min.insync.replicas of every topic in one answer.
std::map<std::string, MinIsrOutcome> min_isr_outcomes(rd_kafka_event_t* ev,
                                                      const std::vector<std::string>& topics) {
  std::map<std::string, MinIsrOutcome> out;
  std::string why;
  const auto resources = answer_resources(ev, why);
  if (!why.empty()) {
    for (const auto& t : topics) out[t] = MinIsrOutcome::failed("DescribeConfigs failed: " + why);
    return out;
  }
  for (const rd_kafka_ConfigResource_t* r : resources) {
    const std::string name = rd_kafka_ConfigResource_name(r);
    if (std::string err = resource_error(r); !err.empty()) {
      out[name] = MinIsrOutcome::failed(err);
      continue;
    }
    const auto values = config_values(r);
    const auto it = values.find(kMinIsrConfig);
    if (it == values.end()) {
      out[name] = MinIsrOutcome::failed(std::string(kMinIsrConfig) + " missing from DescribeConfigs answer");
      continue;
    }
    const auto parsed = parse_int(it->second.c_str());
    out[name] = parsed && *parsed >= 1 ? MinIsrOutcome::read(*parsed)
                                       : MinIsrOutcome::failed("unusable " + std::string(kMinIsrConfig) +
                                                               " value '" + it->second + "'");
  }
  return out;
}

// Fills one broker's check (and its rack / process.roles) from its answer.
void record_broker_answer(rd_kafka_event_t* ev, Broker& broker, BrokerResponse& response) {
  const rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
  // Local errors mean no answer came (timed out, connection lost). librdkafka knows from the ApiVersions
  // handshake when a broker cannot serve DescribeConfigs (its own mock cluster): that broker did answer.
  response.answered = err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE;
  const auto resources = answer_resources(ev, response.error);
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) response.error = kNoAnswer + (" (" + response.error + ")");
  for (const rd_kafka_ConfigResource_t* r : resources) {
    response.error = resource_error(r);
    const auto values = config_values(r);
    if (const auto it = values.find(kBrokerRackConfig); it != values.end() && !it->second.empty())
      broker.rack = it->second;
    if (const auto it = values.find(kProcessRolesConfig); it != values.end() && !it->second.empty())
      broker.process_roles = it->second;
  }
}

// Admin requests of one probe: sent together, answered on one queue, collected until the deadline.
class AdminRound {
 public:
  AdminRound(rd_kafka_t* rk, Clock::time_point deadline)
      : rk_(rk), deadline_(deadline), queue_(rd_kafka_queue_new(rk)) {}

  // DescribeConfigs for `resources` tagged `tag`; false (with `why`) when it could not be sent.
  bool send(std::vector<rd_kafka_ConfigResource_t*>& resources, std::intptr_t tag, std::string& why) {
    const int budget = remaining_ms(deadline_);
    if (budget <= 0) {
      why = "DescribeConfigs not sent: probe timeout used up";
      return false;
    }
    char errstr[512];
    const std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> options(
        rd_kafka_AdminOptions_new(rk_, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS));
    if (rd_kafka_AdminOptions_set_request_timeout(options.get(), budget, errstr, sizeof errstr)) {
      why = std::string("DescribeConfigs not sent: ") + errstr;
      return false;
    }
    rd_kafka_AdminOptions_set_opaque(options.get(), reinterpret_cast<void*>(tag));
    rd_kafka_DescribeConfigs(rk_, resources.data(), resources.size(), options.get(), queue_.get());
    ++outstanding_;
    return true;
  }

  // Calls on_answer(tag, event) for each answer until all arrived or the deadline passed.
  template <typename F>
  void collect(F&& on_answer) {
    while (outstanding_ > 0) {
      const std::unique_ptr<rd_kafka_event_t, EventDeleter> ev(
          rd_kafka_queue_poll(queue_.get(), remaining_ms(deadline_)));
      if (!ev) return;  // deadline: the rest stay unanswered
      if (rd_kafka_event_type(ev.get()) != RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT &&
          !rd_kafka_event_error(ev.get()))
        continue;
      --outstanding_;
      on_answer(reinterpret_cast<std::intptr_t>(rd_kafka_event_opaque(ev.get())), ev.get());
    }
  }

 private:
  rd_kafka_t* rk_;
  const Clock::time_point deadline_;
  const std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue_;
  int outstanding_ = 0;
};

}  // namespace

// Sends the topic DescribeConfigs (when min.insync.replicas is due) and one per-broker check to every broker
// at once, so they share what is left of the budget, then fills the snapshot from the answers.
void RdKafkaSource::Impl::read_configs(ClusterSnapshot& snap, const std::vector<std::string>& topic_names,
                                       Clock::time_point deadline, const std::function<void()>& meanwhile) {
  AdminRound round(rk, deadline);

  const auto ask_at = Clock::now();
  const MinIsrAsk ask = min_isr.plan(topic_names, ask_at);
  std::map<std::string, MinIsrOutcome> outcomes;
  // Sent batches of ask.topics, in order: batch k is ask.topics[k * kTopicsPerRequest, ...).
  std::vector<std::vector<std::string>> batches;
  if (!ask.empty()) {
    std::string why = min_isr_not_askable(snap);
    for (std::size_t start = 0; why.empty() && start < ask.topics.size(); start += kTopicsPerRequest) {
      const auto end = ask.topics.begin() + static_cast<std::ptrdiff_t>(
                                                std::min(ask.topics.size(), start + kTopicsPerRequest));
      std::vector<std::string> batch(ask.topics.begin() + static_cast<std::ptrdiff_t>(start), end);
      Resources res;
      for (const auto& t : batch) {
        res.v.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t.c_str()));
        // Names the one config we want, so the request asks for it only (the request carries entry names
        // only; librdkafka 2.0.2 rejects a NULL value, so pass an empty one — it is not sent).
        if (const rd_kafka_resp_err_t e = rd_kafka_ConfigResource_set_config(res.v.back(), kMinIsrConfig, "")) {
          why = "DescribeConfigs not sent: cannot name " + std::string(kMinIsrConfig) + ": " + err_text(e);
          break;
        }
      }
      if (why.empty() && round.send(res.v, topics_tag(batches.size()), why)) batches.push_back(std::move(batch));
    }
    // Topics of the batches that could not be sent.
    for (std::size_t i = batches.size() * kTopicsPerRequest; i < ask.topics.size(); ++i)
      outcomes[ask.topics[i]] = MinIsrOutcome::failed(why);
  }

  // librdkafka 2.0.2 allows one BROKER resource per DescribeConfigs call and sends it to that broker
  // (rd_kafka_ConfigResource_get_single_broker_id): one call per broker.
  snap.broker_responses.clear();
  std::vector<Clock::time_point> sent_at;
  for (std::size_t i = 0; i < snap.brokers.size(); ++i) {
    const std::string id = std::to_string(snap.brokers[i].id);
    Resources res;
    res.v.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_BROKER, id.c_str()));
    rd_kafka_ConfigResource_set_config(res.v.back(), kBrokerRackConfig, "");
    rd_kafka_ConfigResource_set_config(res.v.back(), kProcessRolesConfig, "");
    BrokerResponse r;
    r.id = snap.brokers[i].id;
    sent_at.push_back(Clock::now());
    if (!round.send(res.v, static_cast<std::intptr_t>(i + 1), r.error)) r.error = "not asked: " + r.error;
    snap.broker_responses.push_back(std::move(r));
  }

  const auto sent = Clock::now();
  meanwhile();
  const auto converted = Clock::now();
  std::vector<bool> batch_answered(batches.size(), false);
  round.collect([&](std::intptr_t tag, rd_kafka_event_t* ev) {
    if (tag < 0) {
      const auto k = static_cast<std::size_t>(-1 - tag);
      if (k >= batches.size()) return;
      outcomes.merge(min_isr_outcomes(ev, batches[k]));
      batch_answered[k] = true;
      return;
    }
    const auto i = static_cast<std::size_t>(tag - 1);
    if (i >= snap.brokers.size()) return;
    auto& r = snap.broker_responses[i];
    r.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent_at[i]);
    record_broker_answer(ev, snap.brokers[i], r);
  });

  const auto now = Clock::now();
  auto ms = [](Clock::duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); };
  spdlog::debug("probe: DescribeConfigs ({} topics, {} brokers) sent in {} ms, then conversion {} ms, then {} ms "
                "more for the answers",
                ask.topics.size(), snap.brokers.size(), ms(sent - ask_at), ms(converted - sent), ms(now - converted));
  for (std::size_t i = 0; i < snap.broker_responses.size(); ++i) {
    auto& r = snap.broker_responses[i];
    if (r.answered || !r.error.empty()) continue;
    r.latency = std::chrono::duration_cast<std::chrono::microseconds>(now - sent_at[i]);
    r.error = kNoAnswer;
  }
  for (std::size_t k = 0; k < batches.size(); ++k) {
    if (batch_answered[k]) continue;
    for (const auto& t : batches[k])
      outcomes[t] = MinIsrOutcome::failed("DescribeConfigs: no answer within the probe timeout");
  }
  if (!ask.empty()) {
    log_config_problem(outcomes);
    min_isr.record(ask, outcomes, ask_at);
  }
  for (auto& t : snap.topics) {
    const MinIsrOutcome o = min_isr.lookup(t.name, now);
    t.min_insync_replicas = o.value;
    if (!o.value) snap.config_errors.push_back("topic " + t.name + ": " + o.error);
  }
}

// Connection drops per broker since the previous probe, from the latest librdkafka statistics.
void RdKafkaSource::Impl::count_disconnects(ClusterSnapshot& snap) {
  rd_kafka_poll(rk, 0);  // serve statistics emitted during this probe
  const auto now = sink->disconnects();
  for (auto& r : snap.broker_responses) {
    // Counts start at 0 when the client is created: a broker not in the previous statistics had none.
    const auto cur = now.find(r.id);
    const auto seen = disconnects_seen.find(r.id);
    const std::uint64_t before = seen == disconnects_seen.end() ? 0 : seen->second;
    if (cur == now.end() || cur->second < before) continue;
    r.disconnects = static_cast<std::uint32_t>(std::min<std::uint64_t>(cur->second - before, 1u << 30));
  }
  disconnects_seen = now;
}

// One log line when the reason min.insync.replicas cannot be read changes, not one per probe.
void RdKafkaSource::Impl::log_config_problem(const std::map<std::string, MinIsrOutcome>& outcomes) {
  std::size_t failed = 0;
  std::string first;
  for (const auto& [topic, o] : outcomes) {
    if (o.value) continue;
    if (failed++ == 0) first = "topic " + topic + ": " + o.error;
  }
  if (failed == 0) {
    if (!last_config_problem.empty()) spdlog::info("min.insync.replicas read again for all asked topics");
    last_config_problem.clear();
    return;
  }
  if (first != last_config_problem)
    spdlog::warn(
        "min.insync.replicas unreadable for {} of {} asked topics (e.g. {}); the configured default applies",
        failed, outcomes.size(), first);
  last_config_problem = first;
}

// ---- RdKafkaSource --------------------------------------------------------------------------------------

RdKafkaSource::RdKafkaSource(RdKafkaSourceConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {
  impl_->build_template();
  impl_->try_create();  // a failure is retried by each probe and reported as kind "client"
}

RdKafkaSource::~RdKafkaSource() = default;

ProbeResult RdKafkaSource::probe() { return impl_->probe(); }

std::string RdKafkaSource::bootstrap_servers() const { return impl_->bootstrap; }

}  // namespace isrguard::probes
