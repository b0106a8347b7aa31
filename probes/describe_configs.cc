#include "probes/describe_configs.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

namespace isrguard::probes {
namespace {

using std::chrono::milliseconds;

constexpr const char* kMinIsrConfig = "min.insync.replicas";
constexpr const char* kBrokerRackConfig = "broker.rack";
constexpr const char* kProcessRolesConfig = "process.roles";
constexpr const char* kInterBrokerProtocolConfig = "inter.broker.protocol.version";
const std::string kNoAnswer = "no answer within the probe timeout";
// Topics per DescribeConfigs request. librdkafka 2.0.2 matches each resource of an answer to its request by a
// linear search (strcmp), so the cost of one request grows with the square of its topics, all of it on
// librdkafka's main thread (docs/scale.md).
constexpr std::size_t kTopicsPerRequest = 500;
// AdminOptions opaque of a request: topic batch k is -1 - k; broker check i (index in the round's checks) is
// i + 1.
std::intptr_t topics_tag(std::size_t batch) { return -1 - static_cast<std::intptr_t>(batch); }

// ---- small RAII helpers ---------------------------------------------------------------------------------

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

// ---- reading answers --------------------------------------------------------------------------------------

std::optional<std::int32_t> parse_int(const char* s) {
  if (!s) return std::nullopt;
  const std::string_view v(s);
  std::int32_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return out;
}

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
    if (const auto it = values.find(kMinIsrConfig); it != values.end())
      if (const auto v = parse_int(it->second.c_str()); v && *v >= 1) broker.min_insync_replicas = *v;
    if (const auto it = values.find(kInterBrokerProtocolConfig); it != values.end() && !it->second.empty())
      broker.inter_broker_protocol_version = it->second;
  }
}

// ---- sending ----------------------------------------------------------------------------------------------

using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

// Admin requests of one probe: answered on one queue, collected until the deadline.
class AdminRound {
 public:
  AdminRound(rd_kafka_t* rk, Clock::time_point deadline)
      : rk_(rk), deadline_(deadline), queue_(rd_kafka_queue_new(rk)) {}

  rd_kafka_t* client() const { return rk_; }

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

  // Waits up to `wait_ms` (never past the deadline) for one answer and hands it to on_answer(tag, event);
  // false when none came.
  template <typename F>
  bool take_one(int wait_ms, F&& on_answer) {
    if (outstanding_ == 0) return false;
    EventPtr ev(rd_kafka_queue_poll(queue_.get(), std::clamp(wait_ms, 0, remaining_ms(deadline_))));
    if (!ev) return false;
    if (rd_kafka_event_type(ev.get()) != RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT &&
        !rd_kafka_event_error(ev.get()))
      return false;
    --outstanding_;
    const auto tag = reinterpret_cast<std::intptr_t>(rd_kafka_event_opaque(ev.get()));
    on_answer(tag, std::move(ev));
    return true;
  }

  // Calls on_answer(tag, event) for each answer until all arrived, the deadline passed, or settled(now)
  // says the answers still missing are not waited for (checked at least every kSettleCheck).
  template <typename F, typename S>
  void collect(F&& on_answer, S&& settled) {
    constexpr int kSettleCheckMs = 10;
    while (outstanding_ > 0) {
      if (settled(Clock::now())) return;
      if (remaining_ms(deadline_) <= 0) return;  // deadline: the rest stay unanswered
      take_one(kSettleCheckMs, on_answer);
    }
  }

 private:
  rd_kafka_t* rk_;
  const Clock::time_point deadline_;
  const std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue_;
  int outstanding_ = 0;
};

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

// The topic side of one round: what MinIsrCache asked for, the batches sent, and the outcomes so far.
struct TopicRequests {
  MinIsrAsk ask;
  // Sent batches of ask.topics, in order: batch k is ask.topics[k * kTopicsPerRequest, ...).
  std::vector<std::vector<std::string>> batches;
  std::vector<bool> answered;  // by batch
  std::map<std::string, MinIsrOutcome> outcomes;
};

// One TOPIC resource per topic of `batch` into `res`, each naming min.insync.replicas; "" or why not.
std::string min_isr_resources(const std::vector<std::string>& batch, Resources& res) {
  for (const auto& t : batch) {
    res.v.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, t.c_str()));
    // Names the one config we want, so the request asks for it only (the request carries entry names
    // only; librdkafka 2.0.2 rejects a NULL value, so pass an empty one — it is not sent).
    if (const rd_kafka_resp_err_t e = rd_kafka_ConfigResource_set_config(res.v.back(), kMinIsrConfig, ""))
      return "DescribeConfigs not sent: cannot name " + std::string(kMinIsrConfig) + ": " + err_text(e);
  }
  return "";
}

// Sends the asked topics in batches of kTopicsPerRequest, stopping at the first that cannot be sent (none
// when the controller cannot answer); the topics of the batches not sent fail with the reason.
void send_topic_batches(AdminRound& round, const ClusterSnapshot& snap, TopicRequests& t) {
  const std::vector<std::string>& topics = t.ask.topics;
  std::string why = min_isr_not_askable(snap);
  for (std::size_t start = 0; why.empty() && start < topics.size(); start += kTopicsPerRequest) {
    const auto first = topics.begin() + static_cast<std::ptrdiff_t>(start);
    const auto end = first + static_cast<std::ptrdiff_t>(std::min(kTopicsPerRequest, topics.size() - start));
    std::vector<std::string> batch(first, end);
    Resources res;
    why = min_isr_resources(batch, res);
    if (why.empty() && round.send(res.v, topics_tag(t.batches.size()), why))
      t.batches.push_back(std::move(batch));
  }
  for (std::size_t i = t.batches.size() * kTopicsPerRequest; i < topics.size(); ++i)
    t.outcomes[topics[i]] = MinIsrOutcome::failed(why);
  t.answered.assign(t.batches.size(), false);
}

// One broker's check as a probe follows it: sent beside Metadata (the previous snapshot's brokers) or once
// Metadata named the broker, and its answer, kept as it came (with when) until the snapshot's brokers are
// known.
struct BrokerCheck {
  BrokerId id = 0;
  Clock::time_point sent_at;
  std::string not_asked;  // why it could not be sent; "" once sent
  EventPtr answer;        // null until it came
  Clock::time_point answered_at;
};

// Sends the check of broker `id` (the request tagged `tag`) into `check`. librdkafka 2.0.2 allows one
// BROKER resource per DescribeConfigs call and sends it to that broker
// (rd_kafka_ConfigResource_get_single_broker_id): one call per broker.
void send_broker_check(AdminRound& round, BrokerId id, std::intptr_t tag, BrokerCheck& check) {
  const std::string name = std::to_string(id);
  Resources res;
  res.v.push_back(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_BROKER, name.c_str()));
  rd_kafka_ConfigResource_set_config(res.v.back(), kBrokerRackConfig, "");
  rd_kafka_ConfigResource_set_config(res.v.back(), kProcessRolesConfig, "");
  rd_kafka_ConfigResource_set_config(res.v.back(), kMinIsrConfig, "");
  rd_kafka_ConfigResource_set_config(res.v.back(), kInterBrokerProtocolConfig, "");
  check.id = id;
  check.sent_at = Clock::now();
  std::string why;
  if (!round.send(res.v, tag, why)) check.not_asked = why;
}

// A check's answer counts as the broker answering (see record_broker_answer).
bool answered(const BrokerCheck& c) {
  if (!c.answer) return false;
  const rd_kafka_resp_err_t err = rd_kafka_event_error(c.answer.get());
  return err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE;
}

// ---- collecting -------------------------------------------------------------------------------------------

// The answer to topic batch `tag` (< 0).
void record_topic_answer(TopicRequests& t, std::intptr_t tag, rd_kafka_event_t* ev) {
  const auto k = static_cast<std::size_t>(-1 - tag);
  if (k >= t.batches.size()) return;
  t.outcomes.merge(min_isr_outcomes(ev, t.batches[k]));
  t.answered[k] = true;
}

// How long check `c` has taken against its bound at `now` (its answer's time when it has one).
std::chrono::microseconds taken(const BrokerCheck& c, const ReadBounds& bounds, Clock::time_point now) {
  return check_latency(c.id, c.sent_at, c.answer ? c.answered_at : now, bounds);
}

// True when every check in `slots` (those of the snapshot's brokers) has an answer or a bound at `now` and
// the topic batches need no more waiting (ReadBounds).
bool settled(const std::vector<BrokerCheck>& checks, const std::vector<std::size_t>& slots,
             const TopicRequests& t, const ReadBounds& bounds, Clock::time_point now) {
  bool some_unresponsive = false;
  for (const std::size_t k : slots) {
    const BrokerCheck& c = checks[k];
    if (!c.not_asked.empty()) {
      some_unresponsive = true;
      continue;
    }
    if (c.answer) {  // librdkafka's own error (no answer), or an answer slower than the bound
      some_unresponsive |= !answered(c) || taken(c, bounds, now) > bounds.broker_slow_after;
      continue;
    }
    const bool bound_passed = taken(c, bounds, now) > bounds.broker_slow_after ||
                              (bounds.refused_since && bounds.refused_since(c.id, c.sent_at));
    if (!bound_passed) return false;
    some_unresponsive = true;
  }
  const bool topics_done = std::all_of(t.answered.begin(), t.answered.end(), [](bool a) { return a; });
  return topics_done || some_unresponsive;
}

// The response of check `c` at `now` (the end of the collection) into `broker` (its rack, process.roles, ...)
// and the returned BrokerResponse: the answer, or what cut it off.
BrokerResponse broker_response(const BrokerCheck& c, Broker& broker, const ReadBounds& bounds,
                               Clock::time_point now) {
  BrokerResponse r;
  r.id = c.id;
  if (!c.not_asked.empty()) {
    r.error = "not asked: " + c.not_asked;
    return r;
  }
  r.latency = taken(c, bounds, now);
  if (c.answer)
    record_broker_answer(c.answer.get(), broker, r);
  else if (bounds.refused_since && bounds.refused_since(c.id, c.sent_at))
    r.error = "connection lost, reconnect refused";
  else
    r.error = now < bounds.deadline ? "still unanswered" : kNoAnswer;
  return r;
}

// Topic batches the bounds cut off.
void mark_unanswered(TopicRequests& t) {
  for (std::size_t k = 0; k < t.batches.size(); ++k) {
    if (t.answered[k]) continue;
    for (const auto& topic : t.batches[k])
      t.outcomes[topic] = MinIsrOutcome::failed("DescribeConfigs: no answer within the probe timeout");
  }
}

// Every topic's min.insync.replicas as the cache has it at `now`, or why it is unknown.
void apply_min_isr(const MinIsrCache& min_isr, ClusterSnapshot& snap, Clock::time_point now) {
  for (auto& t : snap.topics) {
    const MinIsrOutcome o = min_isr.lookup(t.name, now);
    t.min_insync_replicas = o.value;
    if (!o.value) snap.config_errors.push_back("topic " + t.name + ": " + o.error);
  }
}

}  // namespace

// One probe's requests, on one queue: the per-broker checks (request tag = index in `checks` + 1) and the
// topic batches (tags below 0).
struct ConfigReader::Round {
  Round(rd_kafka_t* rk, Clock::time_point deadline) : admin(rk, deadline) {}

  void take(std::intptr_t tag, EventPtr ev) {
    if (tag < 0) {
      record_topic_answer(topics, tag, ev.get());
      return;
    }
    const auto i = static_cast<std::size_t>(tag - 1);
    if (i >= checks.size()) return;
    checks[i].answered_at = Clock::now();
    checks[i].answer = std::move(ev);
  }
  void send_check(BrokerId id) {
    BrokerCheck& c = checks.emplace_back();
    send_broker_check(admin, id, static_cast<std::intptr_t>(checks.size()), c);
  }

  AdminRound admin;
  std::vector<BrokerCheck> checks;
  TopicRequests topics;
};

ConfigReader::ConfigReader(const MinIsrCacheOptions& options) : min_isr_(options) {}
ConfigReader::~ConfigReader() = default;

void ConfigReader::start_checks(rd_kafka_t* rk, const std::vector<BrokerId>& brokers,
                                Clock::time_point deadline) {
  round_ = std::make_unique<Round>(rk, deadline);
  for (const BrokerId id : brokers) round_->send_check(id);
}

void ConfigReader::serve(milliseconds wait) {
  if (!round_) {
    std::this_thread::sleep_for(wait);
    return;
  }
  const auto until = Clock::now() + wait;
  const int ms = static_cast<int>(std::max<long long>(1, wait.count()));
  if (!round_->admin.take_one(ms,
                              [this](std::intptr_t tag, EventPtr ev) { round_->take(tag, std::move(ev)); }))
    std::this_thread::sleep_until(until);  // nothing out: a plain wait
}

void ConfigReader::abandon() { round_.reset(); }

// Sends what start_checks did not (the check of each broker of snap.brokers not asked yet, and the topic
// DescribeConfigs when min.insync.replicas is due), so all share what is left of the budget, then fills the
// snapshot from the answers.
void ConfigReader::read(rd_kafka_t* rk, ClusterSnapshot& snap, const std::vector<std::string>& topic_names,
                        const ReadBounds& bounds, const std::function<void()>& meanwhile) {
  if (!round_ || round_->admin.client() != rk) round_ = std::make_unique<Round>(rk, bounds.deadline);
  const std::unique_ptr<Round> round = std::move(round_);
  const auto ask_at = Clock::now();
  TopicRequests& topics = round->topics;
  topics.ask = min_isr_.plan(topic_names, ask_at);
  if (!topics.ask.empty()) send_topic_batches(round->admin, snap, topics);
  // Each broker's check: the one sent beside Metadata, or one sent now (a broker new in metadata, or every
  // broker when Metadata answered quickly). Checks of brokers no longer in metadata are left out (the
  // verdict sees those brokers missing).
  const std::size_t early = round->checks.size();
  std::vector<std::size_t> slots;
  for (const Broker& b : snap.brokers) {
    const auto it =
        std::find_if(round->checks.begin(), round->checks.begin() + static_cast<std::ptrdiff_t>(early),
                     [&](const BrokerCheck& c) { return c.id == b.id; });
    if (it != round->checks.begin() + static_cast<std::ptrdiff_t>(early)) {
      slots.push_back(static_cast<std::size_t>(it - round->checks.begin()));
      continue;
    }
    round->send_check(b.id);
    slots.push_back(round->checks.size() - 1);
  }

  const auto sent = Clock::now();
  meanwhile();
  const auto converted = Clock::now();
  round->admin.collect(
      [&](std::intptr_t tag, EventPtr ev) { round->take(tag, std::move(ev)); },
      [&](Clock::time_point at) { return settled(round->checks, slots, topics, bounds, at); });

  const auto now = Clock::now();
  auto ms = [](Clock::duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); };
  spdlog::debug(
      "probe: DescribeConfigs ({} topics, {} brokers, {} of them asked beside Metadata) sent "
      "in {} ms, then conversion {} ms, then {} ms more for the answers",
      topics.ask.topics.size(), snap.brokers.size(), slots.size() - (round->checks.size() - early),
      ms(sent - ask_at), ms(converted - sent), ms(now - converted));
  snap.broker_responses.clear();
  for (std::size_t i = 0; i < snap.brokers.size(); ++i)
    snap.broker_responses.push_back(broker_response(round->checks[slots[i]], snap.brokers[i], bounds, now));
  mark_unanswered(topics);
  if (!topics.ask.empty()) {
    log_config_problem(topics.outcomes);
    min_isr_.record(topics.ask, topics.outcomes, ask_at);
  }
  apply_min_isr(min_isr_, snap, now);
}

void ConfigReader::log_config_problem(const std::map<std::string, MinIsrOutcome>& outcomes) {
  std::size_t failed = 0;
  std::string first;
  for (const auto& [topic, o] : outcomes) {
    if (o.value) continue;
    if (failed++ == 0) first = "topic " + topic + ": " + o.error;
  }
  if (failed == 0) {
    if (!last_config_problem_.empty()) spdlog::info("min.insync.replicas read again for all asked topics");
    last_config_problem_.clear();
    return;
  }
  if (first != last_config_problem_)
    spdlog::warn(
        "min.insync.replicas unreadable for {} of {} asked topics (e.g. {}); the configured default applies",
        failed, outcomes.size(), first);
  last_config_problem_ = first;
}

std::chrono::microseconds check_latency(BrokerId id, Clock::time_point sent_at, Clock::time_point until,
                                        const ReadBounds& bounds) {
  using std::chrono::microseconds;
  if (id != bounds.metadata_broker || sent_at >= bounds.metadata_answered_at)
    return std::chrono::duration_cast<microseconds>(until - sent_at);
  // Sent before the Metadata answer on the connection that carried it: the broker answers it after that
  // answer. Noted earlier than that answer only when the Metadata call's thread noted its answer late.
  return std::max(microseconds(0),
                  std::chrono::duration_cast<microseconds>(until - bounds.metadata_answered_at));
}

}  // namespace isrguard::probes
