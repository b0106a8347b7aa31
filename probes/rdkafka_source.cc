// The adapter itself: the client's life (creation, the mock cluster), the steps of a probe and the Metadata
// request with its retry. The log bridge (rdkafka_log), the client configuration (client_config), the
// conversion of the Metadata answer (metadata_conversion) and the DescribeConfigs exchange
// (describe_configs) have files of their own.

#include "probes/rdkafka_source.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "probes/client_config.h"
#include "probes/describe_configs.h"
#include "probes/metadata_conversion.h"
#include "probes/rdkafka_common.h"
#include "probes/rdkafka_log.h"

namespace isrguard::probes {
namespace {

using std::chrono::milliseconds;

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
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

}  // namespace

// ---- public helpers -------------------------------------------------------------------------------------

std::string error_name(std::int32_t code) {
  return rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(code));
}

std::vector<MockTopicSpec> demo_mock_topics() { return {{"audit-log", 1}, {"orders", 6}, {"payments", 3}}; }

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
  // The probe client's answer only (the short-lived clients' connections carry nothing else): the broker
  // whose connection carried it (librdkafka's orig_broker_id) and when it was in. That connection's other
  // requests (the broker's check) are answered in order, after it.
  std::int32_t served_by = -1;
  Clock::time_point answered_at;
};
// The answer a probe uses, and what of this probe still runs beside it: Metadata calls still waiting on a
// hung broker (bounded by the probe deadline; handed to RdKafkaSource::Impl::parked so the probe need not
// wait for them) and the freeing of a large answer (see free_metadata, joined at the end of the probe).
struct MetadataFetch : MetadataAnswer {
  MetadataFetch() = default;
  MetadataFetch(MetadataAnswer a) : MetadataAnswer(std::move(a)) {}  // NOLINT: implicit by design
  std::vector<std::future<MetadataAnswer>> pending;
  std::jthread freeing;
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
// Metadata unanswered this long after the probe's start: the per-broker checks go out beside it (see
// RdKafkaSource::Impl::fetch_metadata). Long enough for the Metadata request to be on the wire first, short
// beside any --broker-slow-after.
constexpr milliseconds kChecksBesideMetadata{50};
// How long a broker whose connection went down has to accept a new one before the drop counts as a loss
// (probes/connection_watch.h): a live broker accepts within milliseconds.
constexpr milliseconds kReconnectCheck{500};

MetadataAnswer ask_metadata(rd_kafka_t* rk, Clock::time_point deadline) {
  MetadataAnswer f;
  const rd_kafka_metadata_t* raw = nullptr;
  f.err = rd_kafka_metadata(rk, 1, nullptr, &raw, remaining_ms(deadline));
  f.answered_at = Clock::now();
  f.md.reset(raw);
  if (f.err != RD_KAFKA_RESP_ERR_NO_ERROR) return f;
  f.served_by = raw->orig_broker_id;
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
  a.served_by = -1;  // its own connection: not the probe client's
  rd_kafka_destroy_flags(client, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);  // the metadata outlives the client
  return a;
}

// Takes the first successful answer among `calls` (checked every few ms, `wait` passing the time between:
// the per-broker checks' answers are taken meanwhile); the others stay in `calls`, still running. Returns
// nullopt when every call ended without an answer.
std::optional<MetadataAnswer> first_answer(std::vector<std::future<MetadataAnswer>>& calls,
                                           const std::function<void(milliseconds)>& wait) {
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
    wait(kPollEvery);
  }
}

// ---- Impl -----------------------------------------------------------------------------------------------

struct RdKafkaSource::Impl {
  RdKafkaSourceConfig config;
  ConnectionWatch watch{kReconnectCheck};    // declared before sink, which reports to it: outlives it
  std::unique_ptr<LogSink> sink;             // declared before rk: outlives it
  rd_kafka_conf_t* conf_template = nullptr;  // validated; duplicated for each creation attempt
  rd_kafka_t* rk = nullptr;         // producer handle: never produces, so nothing to flush on destroy
  std::string bootstrap;            // for messages (never contains secrets)
  std::string last_create_error;    // logged once per distinct message
  ConfigReader configs;             // each probe's DescribeConfigs; keeps the min.insync.replicas cache
  bool wait_in_slices = true;  // until a broker has been usable; see await_usable_broker
  // Brokers of the last snapshot (the Metadata retry's candidates); empty before the first.
  std::vector<KnownBroker> known_brokers;
  std::size_t retry_offset = 0;  // rotates the retry's candidates from one retry to the next
  bool metadata_retried = false;  // the last probe needed the Metadata retry (logged on change only)
  bool metadata_seen = false;  // a probe's metadata request has succeeded on `rk`
  // Metadata calls a probe no longer waits for (a hung broker's, bounded by that probe's deadline): kept
  // here so the probe can publish without them, dropped once finished, joined before `rk` is destroyed.
  std::vector<std::future<MetadataAnswer>> parked;

  explicit Impl(RdKafkaSourceConfig c)
      : config(std::move(c)),
        configs(MinIsrCacheOptions{config.min_isr_refresh, config.min_isr_retry, config.min_isr_max_age}) {}

  ~Impl() {
    watch.set_listener({});  // closing the client drops every connection: not a loss to report
    parked.clear();          // joins the calls still using `rk`
    configs.abandon();       // a probe's queue on `rk`, if one was left
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
  bool metadata_retried_on_others() const;
  MetadataFetch fetch_metadata(Clock::time_point start, Clock::time_point deadline);
  bool metadata_arrived_within(int slice_ms);
  ProbeError fetch_error(const MetadataFetch& fetch);
  ProbeError metadata_failure(rd_kafka_resp_err_t err);
  std::string security_hint(const std::string& broker_error) const;
  std::string security_message(const ProbeError& e) const;
  std::string fill_snapshot(ClusterSnapshot& snap, MetadataFetch& fetch, Clock::time_point deadline);
  void count_disconnects(ClusterSnapshot& snap);
};

// Validates the configuration (throws std::invalid_argument) and builds the template every client is created
// from, with the log sink its callbacks go to.
void RdKafkaSource::Impl::build_template() {
  sink = std::make_unique<LogSink>(secret_values(config));
  conf_template = build_client_template(config, *sink);
  if (config.mock_brokers == 0) bootstrap = configured_bootstrap(config);
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
  sink->watch(rk, &watch);

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

// One probe, in steps: the client (created again if it could not be), the wait for a usable broker (until
// one has been), Metadata (with its retry), then the snapshot from it and the DescribeConfigs answers.
ProbeResult RdKafkaSource::Impl::probe() {
  const auto start = Clock::now();
  const auto taken_at = std::chrono::system_clock::now();
  const auto deadline = start + config.probe_timeout;
  auto elapsed = [&] { return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start); };
  auto fail = [&](std::string kind, std::string message) {
    configs.abandon();  // the checks sent beside Metadata, if any: not waited for
    ProbeResult r;
    r.error = ProbeError{std::move(kind), std::move(message)};
    r.duration = elapsed();
    return r;
  };

  if (!rk && !try_create())
    return fail("client", "cannot create Kafka client for " +
                              (bootstrap.empty() ? "mock cluster" : bootstrap) + ": " + last_create_error);

  rd_kafka_poll(rk, 0);  // serve error callbacks queued since the last probe

  if (wait_in_slices) {
    if (auto security = await_usable_broker(deadline)) return fail(security->kind, security_message(*security));
  }
  MetadataFetch fetch = fetch_metadata(start, deadline);
  // No usable broker for the whole call: the next probe waits in slices again (see await_usable_broker).
  wait_in_slices = fetch.err == RD_KAFKA_RESP_ERR__TRANSPORT;
  if (fetch.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ProbeError e = fetch_error(fetch);
    return fail(std::move(e.kind), std::move(e.message));
  }
  sink->clear_last_error();
  metadata_seen = true;
  spdlog::debug("probe: metadata of {} topics after {} ms", fetch.md->topic_cnt,
                std::chrono::duration_cast<milliseconds>(elapsed()).count());

  ClusterSnapshot snap;
  snap.taken_at = taken_at;
  // A hung broker's Metadata call may run until the deadline: the probe does not wait for it.
  std::erase_if(parked, [](const std::future<MetadataAnswer>& f) {
    return !f.valid() || f.wait_for(milliseconds(0)) == std::future_status::ready;
  });
  for (auto& call : fetch.pending)
    if (call.valid()) parked.push_back(std::move(call));
  if (std::string unstorable = fill_snapshot(snap, fetch, deadline); !unstorable.empty())
    return fail("metadata", std::move(unstorable));
  count_disconnects(snap);

  snap.duration = elapsed();
  ProbeResult r;
  r.duration = snap.duration;
  r.snapshot = std::move(snap);
  return r;
}

// Why the probe fails when no Metadata came: the authentication or TLS failure when that is what kept the
// brokers unusable, else the request's error with the last broker error (and what the retry tried).
ProbeError RdKafkaSource::Impl::fetch_error(const MetadataFetch& fetch) {
  rd_kafka_poll(rk, 0);  // pick up the broker error that explains it, if one arrived meanwhile
  if (auto security = sink->security_error(); security && fetch.err == RD_KAFKA_RESP_ERR__TRANSPORT)
    return ProbeError{security->kind, security_message(*security)};
  ProbeError e = metadata_failure(fetch.err);
  if (!fetch.failure.empty()) e.message = fetch.failure + "; " + e.message;
  return e;
}

namespace {

// librdkafka's copy of the answer is no longer needed once converted: freed while the DescribeConfigs answers
// come in. A large one on a thread of its own (fetch.freeing, joined at the end of the probe): unmapping it
// would take this thread's time from the answers (docs/scale.md).
void free_metadata(MetadataFetch& fetch, bool large) {
  if (large) {
    try {
      fetch.freeing = std::jthread([md = std::move(fetch.md)]() mutable { md.reset(); });
    } catch (const std::system_error&) {  // no thread to be had: freed here, with the lambda that held it
    }
  }
  fetch.md.reset();
}

}  // namespace

// The snapshot from the Metadata answer in `fetch` and this probe's DescribeConfigs answers. The topics are
// converted while the DescribeConfigs requests are built and sent (a large answer on a helper thread from now
// on), and while the brokers answer them (on this thread too, once they are sent): both take long enough at
// a large cluster to be worth overlapping (docs/scale.md). "" or why the topics cannot be stored.
std::string RdKafkaSource::Impl::fill_snapshot(ClusterSnapshot& snap, MetadataFetch& fetch,
                                               Clock::time_point deadline) {
  const rd_kafka_metadata_t& md = *fetch.md;
  snap.brokers = convert_brokers(md);
  snap.controller_id = fetch.controller_id;
  snap.cluster_id = fetch.cluster_id;
  known_brokers.clear();
  for (const auto& b : snap.brokers)
    known_brokers.push_back({b.id, b.host + ":" + std::to_string(b.port)});

  TopicConversion conversion(md, snap.topics, config.split_from_partitions);
  std::string unstorable;
  const ReadBounds bounds{
      deadline, config.broker_slow_after,
      [this](BrokerId id, Clock::time_point since) { return watch.refused_since(id, since); },
      fetch.served_by, fetch.answered_at};
  configs.read(rk, snap, topic_names(md), bounds, [&] {
    unstorable = conversion.finish();
    free_metadata(fetch, conversion.large());
  });
  return unstorable;
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

// All-topics Metadata within the probe budget, retried on other brokers when the broker librdkafka picked
// does not answer. librdkafka 2.0.2 has no API to choose the broker for Metadata, and asking the same client
// again often went to the same hung broker (docs/scale.md): so the retry asks up to kMetadataRetryBrokers
// brokers of the last snapshot at once, each through a short-lived client bootstrapped to that broker alone,
// and takes the first answer. The budget (T = probe timeout, S = broker_slow_after):
//   - the first call may wait the whole budget (a slow broker answering late is still used), on its own
//     thread;
//   - if it has not answered within kChecksBesideMetadata, the per-broker checks of the last snapshot's
//     brokers are sent (below), and their answers taken while the calls run;
//   - if it has not answered by min(T/2, S) (a broker silent for S is unresponsive: its question's own
//     bound), the retry's calls may take until 3T/4, leaving at least T/4 for the
//     DescribeConfigs round (ConfigReader::read, probes/describe_configs.cc), whose unanswered per-broker
//     check (sent beside Metadata, so its bound S has about passed by then) names the silent broker
//     (brokers_unresponsive): it stays in the snapshot, never reported healthy;
//   - the first answer of any call is used; with none, the probe fails naming the brokers asked.
// Without a previous snapshot listing two brokers or more (nothing else to ask) or against the mock cluster,
// one call gets the whole budget, and the checks go after it.
bool RdKafkaSource::Impl::metadata_retried_on_others() const {
  return known_brokers.size() >= 2 && config.mock_brokers == 0;
}

MetadataFetch RdKafkaSource::Impl::fetch_metadata(Clock::time_point start, Clock::time_point deadline) {
  if (!metadata_retried_on_others()) return ask_metadata(rk, deadline);
  std::vector<std::future<MetadataAnswer>> calls;
  rd_kafka_t* client = rk;
  calls.push_back(std::async(std::launch::async, [client, deadline] { return ask_metadata(client, deadline); }));
  const auto retry_after = std::min<milliseconds>(config.probe_timeout / 2, config.broker_slow_after);
  // Metadata not answered within kChecksBesideMetadata: the per-broker checks go out now, beside it, to the
  // last snapshot's brokers, so a broker that does not answer is unresponsive at broker_slow_after from here,
  // whichever broker Metadata went to (when it went to that broker, the retry below and the check's bound run
  // at once instead of one after the other). Not at once: a Metadata answer that comes quickly (the usual
  // case) leaves the checks to go after it, as they always did; and the Metadata request is on the wire
  // before the check, which a broker answers only after it on that connection (the check is then timed from
  // the Metadata answer: ReadBounds). Brokers that Metadata names only now are asked once it has answered
  // (ConfigReader::read). The waits are spent taking the checks' answers as they come (ConfigReader::serve).
  const auto checks_at = start + std::min<milliseconds>(kChecksBesideMetadata, retry_after / 4);
  bool checks_sent = false;
  auto send_checks = [&] {
    std::vector<BrokerId> ids;
    for (const auto& b : known_brokers) ids.push_back(b.id);
    configs.start_checks(rk, ids, deadline);
    checks_sent = true;
  };
  auto wait = [this](milliseconds d) { configs.serve(d); };
  constexpr milliseconds kPollEvery{5};
  while (calls[0].wait_for(milliseconds(0)) != std::future_status::ready) {
    const auto now = Clock::now();
    if (now >= start + retry_after) {
      if (!checks_sent) send_checks();  // a probe that started late (await_usable_broker)
      break;
    }
    if (!checks_sent && now >= checks_at) send_checks();
    const auto until = checks_sent ? start + retry_after : std::min(checks_at, start + retry_after);
    wait(std::clamp(std::chrono::ceil<milliseconds>(until - now), milliseconds(1), kPollEvery));
  }
  if (calls[0].wait_for(milliseconds(0)) == std::future_status::ready) {
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
  std::optional<MetadataAnswer> answer = first_answer(calls, wait);
  MetadataFetch fetch = answer ? std::move(*answer) : MetadataAnswer{};
  fetch.pending = std::move(calls);  // still running, each bounded: parked by the probe
  const std::string note = "no metadata within " + std::to_string(retry_after.count()) +
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

// Connections lost per broker since the previous probe (the connection watch: idle closes left out).
void RdKafkaSource::Impl::count_disconnects(ClusterSnapshot& snap) {
  const auto lost = watch.take_losses();
  for (auto& r : snap.broker_responses)
    if (const auto it = lost.find(r.id); it != lost.end()) r.disconnects = std::min(it->second, 1u << 30);
}

// ---- RdKafkaSource --------------------------------------------------------------------------------------

RdKafkaSource::RdKafkaSource(RdKafkaSourceConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {
  impl_->build_template();
  impl_->try_create();  // a failure is retried by each probe and reported as kind "client"
}

RdKafkaSource::~RdKafkaSource() = default;

ProbeResult RdKafkaSource::probe() { return impl_->probe(); }

void RdKafkaSource::on_connection_loss(ConnectionListener listener) {
  impl_->watch.set_listener(std::move(listener));
}

std::string RdKafkaSource::bootstrap_servers() const { return impl_->bootstrap; }

}  // namespace isrguard::probes
