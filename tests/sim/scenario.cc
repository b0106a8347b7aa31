#include "tests/sim/scenario.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <sstream>

#include "service/judge/disruption.h"
#include "service/judge/eviction.h"
#include "service/judge/gate.h"
#include "service/judge/history.h"
#include "service/judge/policy.h"
#include "service/judge/reasons.h"
#include "service/judge/verdict.h"
#include "service/runtime/probe_loop.h"

namespace isrguard::sim {

std::string to_string(Driver d) {
  switch (d) {
    case Driver::kDrainOne: return "drain_one";
    case Driver::kDrainParallel: return "drain_parallel";
    case Driver::kRolling: return "rolling";
    case Driver::kKarpenter: return "karpenter";
    case Driver::kEc2Hook: return "ec2_hook";
  }
  return "?";
}
std::string to_string(Fault f) {
  switch (f) {
    case Fault::kNone: return "none";
    case Fault::kCrash: return "crash";
    case Fault::kHang: return "hang";
    case Fault::kSlowRestart: return "slow_restart";
  }
  return "?";
}

Ms detection_bound(Fault f, const Settings& s) {
  if (f == Fault::kCrash || f == Fault::kSlowRestart) return s.crash_detect + s.controller_lag_max;
  const auto poll = static_cast<Ms>(static_cast<double>(s.poll_interval) * (1.0 + service::kPollJitter));
  return poll + s.probe_timeout + s.kubelet_period * s.failure_threshold + s.controller_lag_max;
}

ScenarioSpec make_spec(std::uint64_t seed, Size size) {
  Rng r(seed * 0x2545f4914f6cdd1dULL + 17);
  ScenarioSpec s;
  s.seed = seed;
  const bool small = size == Size::kSmall;
  s.brokers = static_cast<int>(small ? r.between(3, 6) : r.between(6, 30));
  const int topics = static_cast<int>(small ? r.between(1, 3) : r.between(2, 8));
  for (int t = 0; t < topics; ++t) {
    const int rf = static_cast<int>(r.between(2, std::min(5, s.brokers)));
    const int min_isr = static_cast<int>(r.between(1, rf - 1));
    const int parts = static_cast<int>(small ? r.between(1, 6) : r.between(4, 30));
    s.topics.push_back({"t" + std::to_string(t), parts, rf, min_isr});
  }
  s.placement_offset = static_cast<int>(r.between(0, s.brokers - 1));
  s.driver = static_cast<Driver>(r.between(0, 4));
  const Ms f = r.between(0, 99);
  s.fault = f < 40 ? Fault::kNone : f < 60 ? Fault::kCrash : f < 80 ? Fault::kHang : Fault::kSlowRestart;
  s.fault_broker = static_cast<int>(r.between(1, s.brokers));
  s.fault_at = r.between(0, 180000);
  s.driver_at = r.between(0, 90000);
  s.isrguard_node = static_cast<int>(r.between(1, s.brokers));
  return s;
}

namespace {

using service::SteadyClock;
SteadyClock::time_point steady(Ms t) { return SteadyClock::time_point(std::chrono::milliseconds(t + 1000000)); }
std::chrono::system_clock::time_point wall(Ms t) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'000 + t));
}

// What one probe of isrguard's produced: a snapshot (none: the probe failed) and when the probe ended.
struct ProbeResult {
  std::optional<probes::ClusterSnapshot> snapshot;
  Ms end = 0;
};

// One isrguard process's judgement state, driven as service/runtime/probe_loop.cc drives it.
struct Guard {
  explicit Guard(const Settings& s) : gate(service::GateConfig{std::chrono::milliseconds(s.recovery_hold)}) {}
  int generation = 0;
  service::Gate gate;
  service::History history;
  std::optional<service::Verdict> verdict;
  std::optional<probes::ClusterSnapshot> snapshot;
  Ms last_success = -1;
  bool last_failed = false;  // the latest probe failed (probe_failed feeds the gate)
  bool in_flight = false;    // a probe started and not finished
  std::map<int, int> seen_incarnation;  // per broker, as librdkafka's connection would notice a restart
  bool ready() const { return gate.status().ready; }
};

struct Pod {
  std::string name;
  int broker = 0;  // 0: the isrguard pod
  int node = 0;
  bool exists = true;
  bool running = true;
  bool ready = true;
  bool terminating = false;
  int generation = 0;
};

// One pods/eviction call to the admission webhook (Settings::webhook), waiting for its turn.
struct WebhookCall {
  std::string pod;
  bool karpenter = false;
  int attempt = 0;
  Ms arrival = 0;
};

struct Event {
  Ms at;
  std::uint64_t seq;
  std::function<void()> run;
  bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

class World;

class PdbDecider : public EvictionDecider {
 public:
  PdbDecider(PdbStatus& status) : status_(status) {}
  EvictionCode decide(const PdbPod& pod, Ms now) override { return evict(pod, status_, now); }

 private:
  PdbStatus& status_;
};

class World {
 public:
  World(const ScenarioSpec& spec, const Settings& s, bool trace);
  Outcome run();

 private:
  // scheduling and tracing
  void at(Ms t, std::function<void()> fn) { queue_.push(Event{t, seq_++, std::move(fn)}); }
  void log(const std::string& what);  // callers test tracing_ first: no string is built when not tracing
  // isrguard
  ProbeResult probe(Ms t, std::map<int, int>& seen);
  void guard_probe(int generation);
  void guard_finish(int generation, const ProbeResult& r, Ms started);
  std::vector<std::string> gating(const Guard& g, Ms now) const;
  void kubelet_probe(int generation);
  // Kubernetes
  std::vector<PdbPod> selected() const;
  void pod_changed();
  PdbPod as_pdb(const Pod& p) const { return {p.name, p.running, p.ready, p.terminating}; }
  Pod& broker_pod(int b) { return pods_[static_cast<std::size_t>(b)]; }
  // brokers
  void start_broker(int b, Ms startup_scale, bool new_pod);
  void broker_registered(int b, int incarnation);
  void catch_up(int b, int incarnation);
  void terminate_broker(int b);
  void start_isrguard();
  // faults and drivers
  void inject_fault();
  void drain(int node, bool karpenter, std::function<void()> done);
  void try_evict(const std::string& name, bool karpenter, int attempt);
  void answer(const std::string& name, bool karpenter, int attempt, EvictionCode code);
  // the admission webhook
  void webhook_call(WebhookCall c);
  void webhook_next();
  void webhook_probed(Ms started);
  void webhook_done();
  void webhook_decide(const WebhookCall& c);
  service::EvictionView webhook_view(service::EvictionGrants& grants, std::vector<service::Reason>& reasons);
  service::EvictionDecision webhook_judgement(int b, const std::string& pod, service::EvictionGrants& grants);
  bool webhook_would_allow(int b);
  void pod_gone(int index);
  void run_sequence(std::vector<int> nodes, int concurrency, bool karpenter);
  void ec2_hook(int b, std::vector<int> rest);
  bool grant(int b);
  void track_window();
  void set_ready(std::size_t index, bool ready);
  void start_driver();
  void next_drain();
  void finish();
  void ec2_step();
  void ec2_decide(int b, const ProbeResult& r, Ms started);

  ScenarioSpec spec_;
  Settings s_;
  bool tracing_;
  Rng rng_;
  KafkaModel kafka_;
  service::Policy policy_ = service::Policy::with_defaults();
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  std::uint64_t seq_ = 0;
  Ms now_ = 0;
  std::vector<Pod> pods_;  // [0] isrguard, [b] broker b
  PdbStatus pdb_;
  int min_available_ = 0;
  std::unique_ptr<EvictionDecider> decider_;
  Guard guard_;
  int guard_generations_ = 0;  // every start of a probe chain (pod start, webhook's probe now) takes a new one
  ReadinessProber prober_;
  std::deque<WebhookCall> webhook_calls_;  // decisions run one after the other, in arrival order
  bool webhook_busy_ = false;
  WebhookCall webhook_current_;       // the decision waiting for a probe while webhook_busy_
  Ms webhook_asked_ = 0;              // when it asked for a probe
  std::uint64_t webhook_decisions_ = 0;  // numbers the waiting decisions (their deadline events)
  Ms decision_view_ = -1;  // start of the probe the webhook's latest decision judged
  service::EvictionGrants grants_;
  std::map<int, bool> would_allow_;  // webhook_would_allow's memo, cleared when the view or the grants change
  std::map<int, std::vector<std::function<void()>>> drain_waiters_;  // node -> drains waiting for it
  Ms exposed_since_ = -1;
  bool k8s_ = true;
  bool dirty_ = true;
  Ms driver_start_ = 0;
  std::vector<int> pending_nodes_;  // nodes not yet drained, next at the back
  bool karpenter_ = false;
  std::vector<int> ec2_queue_;  // brokers whose instance is still to be replaced, next at the front
  std::map<int, int> hook_seen_;
  service::History hook_history_;
  int drains_left_ = 0;
  int next_node_ = 1000;
  Outcome out_;
  std::ostringstream trace_;
};

World::World(const ScenarioSpec& spec, const Settings& s, bool trace)
    : spec_(spec),
      s_(s),
      tracing_(trace),
      rng_(spec.seed),
      kafka_(spec.brokers, spec.topics, spec.placement_offset),
      guard_(s),
      prober_(s.success_threshold, s.failure_threshold),
      grants_(std::chrono::milliseconds(s.webhook_grant_ttl)) {
  policy_.compile();
  kafka_.set_metadata_cache(s.cache_metadata);
  out_.seed = spec.seed;
  k8s_ = spec.driver != Driver::kEc2Hook;
  pods_.push_back(Pod{"isrguard", 0, spec.isrguard_node, false, false, false, false, 0});
  for (int b = 1; b <= spec.brokers; ++b) pods_.push_back(Pod{"kafka-" + std::to_string(b), b, b, k8s_});
  const int selected_pods = spec.brokers + (s.gate && !s.webhook ? 1 : 0);
  min_available_ = selected_pods - 1;  // the shipped rule (manifests/overlays/*/pdb.yaml)
  pdb_ = recount(selected(), min_available_, {}, 0);
  decider_ = std::make_unique<PdbDecider>(pdb_);
}

void World::log(const std::string& what) {
  if (tracing_) trace_ << "t=" << now_ << " " << what << "\n";
}

// ---------------------------------------------------------------- isrguard's probe and judgement
ProbeResult World::probe(Ms t, std::map<int, int>& seen) {
  ProbeResult r;
  r.snapshot = simulated_probe(kafka_, seen, s_.probe_timeout, rng_, &r.end);
  r.end += t;
  if (r.snapshot) r.snapshot->taken_at = wall(t);
  return r;
}

void World::guard_probe(int generation) {
  if (generation != guard_.generation || !pods_[0].exists || pods_[0].terminating) return;
  const Ms started = now_;
  guard_.in_flight = true;
  ProbeResult r = probe(now_, guard_.seen_incarnation);
  const Ms end = r.end;
  at(end, [this, generation, r = std::move(r), started] { guard_finish(generation, r, started); });
}

// As ProbeLoop::run_once: advance the history and judge a good snapshot; the gate observes the gating
// reasons (with probe_failed / snapshot_stale) at the probe's end; the next probe starts a jittered interval
// after this one started.
void World::guard_finish(int generation, const ProbeResult& r, Ms started) {
  if (generation != guard_.generation) return;
  guard_.in_flight = false;
  const bool ok = r.snapshot.has_value();
  if (ok) {
    guard_.history = service::advance(guard_.history, *r.snapshot, policy_, steady(started));
    guard_.verdict = service::judge(*r.snapshot, policy_, guard_.history, steady(started));
    guard_.last_success = started;
    if (s_.webhook) guard_.snapshot = r.snapshot;  // the webhook decides on the published snapshot
    would_allow_.clear();
    dirty_ = dirty_ || s_.webhook;  // the webhook's view changed: the window may have ended
  }
  guard_.last_failed = !ok;
  std::vector<std::string> codes = guard_.verdict ? guard_.verdict->gating_codes() : std::vector<std::string>{};
  if (!ok) codes.emplace_back(service::reason::kProbeFailed);
  if (guard_.last_success >= 0 && started - guard_.last_success > s_.stale_after)
    codes.emplace_back(service::reason::kSnapshotStale);
  bool changed = false;
  const auto st = guard_.gate.observe(codes, steady(now_), &changed);
  if (changed && tracing_) log(std::string("gate ") + std::string(service::to_string(st.state)));
  const double factor = 1.0 - service::kPollJitter + 2.0 * service::kPollJitter * rng_.unit();
  const Ms next = std::max(now_, started + static_cast<Ms>(static_cast<double>(s_.poll_interval) * factor));
  at(next, [this, generation] { guard_probe(generation); });
  if (webhook_busy_) webhook_probed(started);
}

void World::kubelet_probe(int generation) {
  if (generation != pods_[0].generation || !pods_[0].exists || pods_[0].terminating) return;
  set_ready(0, prober_.observe(guard_.ready()));
  at(now_ + s_.kubelet_period, [this, generation] { kubelet_probe(generation); });
}

// ---------------------------------------------------------------- Kubernetes
std::vector<PdbPod> World::selected() const {
  std::vector<PdbPod> out;
  for (const auto& p : pods_)
    if (p.exists && (p.broker > 0 || (s_.gate && !s_.webhook))) out.push_back(as_pdb(p));
  return out;
}

void World::set_ready(std::size_t index, bool ready) {
  Pod& p = pods_[index];
  if (!k8s_ || p.ready == ready || !p.exists) return;
  p.ready = ready;
  if (tracing_) log(p.name + (ready ? " Ready" : " NotReady"));
  pod_changed();
}

void World::pod_changed() {
  dirty_ = true;
  at(now_ + rng_.between(50, s_.controller_lag_max), [this] {
    pdb_ = recount(selected(), min_available_, pdb_, now_);
    dirty_ = true;
    if (tracing_)
      log("pdb healthy=" + std::to_string(pdb_.current_healthy) + " allowed=" +
          std::to_string(pdb_.disruptions_allowed));
  });
}

void World::start_isrguard() {
  Pod& p = pods_[0];
  p.exists = p.running = true;
  p.ready = p.terminating = false;
  p.node = next_node_++;
  const int gen = ++p.generation;
  guard_ = Guard(s_);
  const int chain = guard_.generation = ++guard_generations_;
  would_allow_.clear();
  prober_ = ReadinessProber(s_.success_threshold, s_.failure_threshold);
  if (tracing_) log("isrguard started");
  pod_changed();
  at(now_ + 1000, [this, chain] { guard_probe(chain); });
  at(now_ + rng_.between(1000, s_.kubelet_period), [this, gen] { kubelet_probe(gen); });
}

// ---------------------------------------------------------------- brokers
// A new pod (after a deletion) lands on a new node; a container restart (after a crash) stays where it is.
void World::start_broker(int b, Ms startup_scale, bool new_pod) {
  kafka_.start(b);
  dirty_ = true;
  const int inc = kafka_.broker(b).incarnation;
  Pod& p = broker_pod(b);
  if (k8s_) {
    p.exists = p.running = true;
    p.ready = p.terminating = false;
    if (new_pod) p.node = next_node_++;
    pod_changed();
  }
  if (tracing_) log("broker " + std::to_string(b) + " starts");
  if (s_.broker_ready_after >= 0)
    at(now_ + s_.broker_ready_after, [this, b, inc] {
      if (kafka_.broker(b).incarnation == inc) set_ready(static_cast<std::size_t>(b), true);
    });
  const Ms startup = rng_.between(s_.broker_startup_min, s_.broker_startup_max) * startup_scale;
  at(now_ + startup, [this, b, inc] { broker_registered(b, inc); });
}

void World::broker_registered(int b, int inc) {
  if (kafka_.broker(b).incarnation != inc || kafka_.broker(b).state != BrokerState::kStarting) return;
  kafka_.register_broker(b);
  dirty_ = true;
  if (tracing_) log("broker " + std::to_string(b) + " registered");
  if (s_.broker_ready_after < 0) set_ready(static_cast<std::size_t>(b), true);
  const Ms down = now_ - kafka_.broker(b).down_since;
  const Ms lag = s_.catch_up_min + static_cast<Ms>(static_cast<double>(down) * s_.catch_up_per_down);
  at(now_ + lag, [this, b, inc] { catch_up(b, inc); });
}

void World::catch_up(int b, int inc) {
  if (kafka_.broker(b).incarnation != inc || kafka_.broker(b).state != BrokerState::kUp) return;
  dirty_ = true;
  if (kafka_.rejoin_isr(b)) {
    if (tracing_) log("broker " + std::to_string(b) + " caught up");
    return;
  }
  at(now_ + 1000, [this, b, inc] { catch_up(b, inc); });  // some leader is down: keep fetching
}

// A granted eviction (or an EC2 termination): SIGTERM -> controlled shutdown -> exit -> replacement.
void World::terminate_broker(int b) {
  Pod& p = broker_pod(b);
  if (k8s_) {
    p.terminating = true;
    pod_changed();
  }
  kafka_.begin_shutdown(b, now_);
  dirty_ = true;
  at(now_ + rng_.between(s_.shutdown_min, s_.shutdown_max), [this, b] {
    kafka_.process_exit(b, now_);
    dirty_ = true;
    if (tracing_) log("broker " + std::to_string(b) + " exited");
    if (k8s_) pod_gone(b);
    at(now_ + rng_.between(s_.reschedule_min, s_.reschedule_max), [this, b] {
      start_broker(b, 1, true);
      if (!k8s_ && !ec2_queue_.empty() && ec2_queue_.front() == b) {  // the new instance is InService
        ec2_queue_.erase(ec2_queue_.begin());
        ec2_step();
      }
    });
  });
}

void World::pod_gone(int index) {
  Pod& p = pods_[static_cast<std::size_t>(index)];
  const int node = p.node;
  p.exists = p.ready = p.running = p.terminating = false;
  p.node = -1;
  if (tracing_) log(p.name + " deleted");
  pod_changed();
  const bool empty = std::none_of(pods_.begin(), pods_.end(), [&](const Pod& q) { return q.exists && q.node == node; });
  auto it = drain_waiters_.find(node);
  if (!empty || it == drain_waiters_.end()) return;
  auto waiters = std::move(it->second);
  drain_waiters_.erase(it);
  for (auto& w : waiters) w();
}

// ---------------------------------------------------------------- involuntary faults
void World::inject_fault() {
  const int b = spec_.fault_broker;
  if (kafka_.broker(b).state != BrokerState::kUp || (k8s_ && broker_pod(b).terminating)) {
    if (tracing_) log("fault skipped: broker " + std::to_string(b) + " not up");
    return;
  }
  dirty_ = true;
  const Ms fault_at = now_;
  if (tracing_) log(to_string(spec_.fault) + " broker " + std::to_string(b));
  auto crash = [this, b, fault_at](Ms startup_scale) {
    kafka_.crash(b, now_);
    kafka_.set_fault_at(b, fault_at);
    dirty_ = true;
    at(now_ + s_.crash_detect, [this, b] { set_ready(static_cast<std::size_t>(b), false); });
    at(now_ + s_.session_timeout, [this, b] {
      if (kafka_.broker(b).state != BrokerState::kUp && kafka_.broker(b).registered) {
        kafka_.expire_session(b);
        dirty_ = true;
        if (tracing_) log("broker " + std::to_string(b) + " session expired");
      }
    });
    at(now_ + 10000, [this, b, startup_scale] { start_broker(b, startup_scale, false); });  // kubelet's restart back-off
  };
  if (spec_.fault == Fault::kHang) {
    kafka_.hang(b, now_);
    at(now_ + s_.replica_lag_max, [this, b] {
      if (kafka_.broker(b).state == BrokerState::kHung) kafka_.drop_lagging_follower(b), dirty_ = true;
    });
    at(now_ + rng_.between(30000, 90000), [this, b, crash] {  // the liveness probe kills it
      if (kafka_.broker(b).state == BrokerState::kHung) crash(1);
    });
    return;
  }
  crash(spec_.fault == Fault::kSlowRestart ? 4 : 1);
}

// ---------------------------------------------------------------- drivers
// The safety property, checked on the true state when a broker is granted leave (docs/safety.md).
bool World::grant(int b) {
  out_.grants++;
  const auto bad = kafka_.unsafe_to_take(b);
  if (bad.empty()) return true;
  // With the webhook the bound is exact: a fault after the start of the probe its decision used.
  bool race = false;
  for (int x = 1; x <= kafka_.broker_count(); ++x) {
    const Ms f = kafka_.broker(x).fault_at;
    const bool unseen = s_.webhook && k8s_ ? f >= decision_view_ : now_ - f <= detection_bound(spec_.fault, s_);
    race = race || (f >= 0 && unseen);
  }
  (race ? out_.races : out_.violations)++;
  std::ostringstream d;
  d << (race ? "race" : "violation") << " seed=" << spec_.seed << " t=" << now_ << " broker=" << b << ":";
  for (const auto* p : bad)
    d << " " << p->topic << "-" << p->id << "(in-sync " << kafka_.true_in_sync(*p) << ", min " << p->min_isr << ")";
  if (out_.details.size() < 16) out_.details.push_back(d.str());
  if (tracing_) log(d.str());
  return false;
}

void World::try_evict(const std::string& name, bool karpenter, int attempt) {
  const auto it = std::find_if(pods_.begin(), pods_.end(), [&](const Pod& p) { return p.name == name; });
  if (!it->exists || it->terminating) return;
  if (s_.webhook && it->broker > 0) {
    webhook_call(WebhookCall{name, karpenter, attempt, now_});
    return;
  }
  // With the webhook there is no PDB: the Eviction API grants what the webhook admitted (other pods: all).
  answer(name, karpenter, attempt, s_.webhook ? EvictionCode::kCreated : decider_->decide(as_pdb(*it), now_));
}

// The Eviction API's answer to a drain: a 429 is retried, a 201 terminates the pod.
void World::answer(const std::string& name, bool karpenter, int attempt, EvictionCode code) {
  const auto it = std::find_if(pods_.begin(), pods_.end(), [&](const Pod& p) { return p.name == name; });
  if (!it->exists || it->terminating) return;
  if (tracing_) log("evict " + name + " -> " + std::to_string(static_cast<int>(code)));
  dirty_ = true;
  if (code == EvictionCode::kTooManyRequests) {
    const Ms wait = karpenter ? std::min<Ms>(100LL << std::min(attempt, 7), 10000) : s_.drain_retry;
    at(now_ + wait, [this, name, karpenter, attempt] { try_evict(name, karpenter, attempt + 1); });
    return;
  }
  if (it->broker > 0) {
    grant(it->broker);
    terminate_broker(it->broker);
    return;
  }
  it->terminating = true;  // the isrguard pod: stops at SIGTERM, replaced on another node
  guard_.generation = -1;
  pod_changed();
  at(now_ + 1000, [this] {
    pod_gone(0);
    at(now_ + rng_.between(s_.reschedule_min, s_.reschedule_max), [this] { start_isrguard(); });
  });
}

// ---------------------------------------------------------------- the admission webhook (Settings::webhook)
// As service/runtime/eviction_webhook.cc: while isrguard's pod is gone or terminating the API server cannot
// call the webhook and refuses (failurePolicy Fail; modelled as a refusal the drain retries). Otherwise the
// call waits for the decisions before it (deny decision_busy once its timeout has passed).
void World::webhook_call(WebhookCall c) {
  if (!pods_[0].exists || pods_[0].terminating) {
    if (tracing_) log("webhook unreachable for " + c.pod);
    answer(c.pod, c.karpenter, c.attempt, EvictionCode::kTooManyRequests);
    return;
  }
  webhook_calls_.push_back(std::move(c));
  if (!webhook_busy_) webhook_next();
}

// The next decision: on the published view if its last success started within fresh_within of the call's
// arrival; else it waits for a fresh probe (EvictionWebhook::fresh_state), until its timeout: view_stale.
void World::webhook_next() {
  while (!webhook_calls_.empty()) {
    WebhookCall c = std::move(webhook_calls_.front());
    webhook_calls_.pop_front();
    if (now_ >= c.arrival + s_.webhook_timeout) {
      answer(c.pod, c.karpenter, c.attempt, EvictionCode::kTooManyRequests);  // decision_busy
      continue;
    }
    if (guard_.last_success >= 0 && guard_.last_success >= c.arrival - s_.webhook_fresh_within) {
      webhook_decide(c);
      continue;
    }
    webhook_busy_ = true;
    webhook_current_ = std::move(c);
    webhook_asked_ = now_;
    const std::uint64_t id = ++webhook_decisions_;
    at(webhook_current_.arrival + s_.webhook_timeout, [this, id] {
      if (!webhook_busy_ || id != webhook_decisions_) return;
      answer(webhook_current_.pod, webhook_current_.karpenter, webhook_current_.attempt,
             EvictionCode::kTooManyRequests);  // view_stale
      webhook_done();
    });
    webhook_probed(-1);
    return;
  }
}

// A probe of isrguard's ended (`started`; -1: none yet) while a decision waits: decide when the view is fresh
// or this probe was asked for after the call (its failure is then the answer); else ask the loop to probe now
// (request_probe: a probe in flight finishes first; a pending one is superseded by a new chain whose next
// probe follows a jittered interval later).
void World::webhook_probed(Ms started) {
  const Ms fresh_from = webhook_current_.arrival - s_.webhook_fresh_within;
  const bool fresh = guard_.last_success >= 0 && guard_.last_success >= fresh_from;
  if (fresh || started >= webhook_asked_) {
    webhook_decide(webhook_current_);
    webhook_done();
    return;
  }
  if (guard_.in_flight || !pods_[0].exists || pods_[0].terminating) return;
  webhook_asked_ = now_;
  const int chain = guard_.generation = ++guard_generations_;
  guard_probe(chain);
}

void World::webhook_done() {
  webhook_busy_ = false;
  webhook_next();
}

// decide_eviction on the view, with the grant recorded when allowed; answered at once.
void World::webhook_decide(const WebhookCall& c) {
  const auto it = std::find_if(pods_.begin(), pods_.end(), [&](const Pod& p) { return p.name == c.pod; });
  if (!it->exists || it->terminating) return;
  const bool serving = pods_[0].exists && !pods_[0].terminating;
  const bool fresh = guard_.last_success >= 0 && guard_.last_success >= c.arrival - s_.webhook_fresh_within;
  service::EvictionDecision d{false, std::string(service::eviction_reason::kViewStale), ""};
  if (serving && fresh && guard_.verdict && guard_.snapshot) d = webhook_judgement(it->broker, c.pod, grants_);
  if (d.allowed && s_.webhook_grants && !grants_.record(it->broker, wall(now_))) d.allowed = false;
  would_allow_.clear();
  decision_view_ = guard_.last_success;
  if (tracing_) log("webhook " + c.pod + " " + d.reason);
  answer(c.pod, c.karpenter, c.attempt, d.allowed ? EvictionCode::kCreated : EvictionCode::kTooManyRequests);
}

// The view decide_eviction (service/judge/eviction.h) reads for broker `b`: isrguard's latest snapshot and
// verdict, the reasons feeding the gate (the verdict's, plus probe_failed after a failed probe) and the
// grants observed on that view. `reasons` holds the reasons the view points at.
service::EvictionView World::webhook_view(service::EvictionGrants& grants, std::vector<service::Reason>& reasons) {
  reasons = guard_.verdict->reasons;
  if (guard_.last_failed)
    reasons.push_back(service::Reason{std::string(service::reason::kProbeFailed), 1, "",
                                      policy_.gates(service::reason::kProbeFailed)});
  grants.observe(*guard_.verdict, wall(now_));
  service::EvictionView view;
  view.snapshot = &*guard_.snapshot;
  view.verdict = &*guard_.verdict;
  view.policy = &policy_;
  view.reasons = reasons;
  view.acks = service::DisruptionAcks{{}, wall(now_)};
  view.pending = grants.pending();
  return view;
}

service::EvictionDecision World::webhook_judgement(int b, const std::string& pod, service::EvictionGrants& grants) {
  std::vector<service::Reason> reasons;
  const service::EvictionView view = webhook_view(grants, reasons);
  return service::decide_eviction(b, "kafka/" + pod, view);
}

// Whether the webhook, asked now, would admit evicting broker `b` on its latest view (for the worst window;
// on a copy of the grants, so that measuring changes nothing). decide_eviction's rule without its message:
// assess_disruption of {b} plus the pending grants. A view older than fresh_within counts as refusing: asked
// now, the webhook would first probe the true state.
bool World::webhook_would_allow(int b) {
  if (!pods_[0].exists || pods_[0].terminating || !guard_.verdict || !guard_.snapshot) return false;
  if (guard_.last_success < now_ - s_.webhook_fresh_within) return false;
  const auto memo = would_allow_.find(b);
  if (memo != would_allow_.end()) return memo->second;
  service::EvictionGrants copy = grants_;
  std::vector<service::Reason> reasons;
  const service::EvictionView view = webhook_view(copy, reasons);
  service::DisruptionQuery query;
  query.brokers.push_back(b);
  for (const auto& g : view.pending)
    if (g.id != b) query.brokers.push_back(g.id);
  std::string error;
  auto targets = service::resolve_disruption(query, *view.snapshot, *view.verdict, policy_, &error);
  const bool allowed =
      targets && service::assess_disruption(*view.snapshot, *view.verdict, std::move(*targets), view.reasons,
                                            view.acks, view.options)
                     .safe;
  would_allow_[b] = allowed;
  return allowed;
}

// kubectl drain (or Karpenter's termination of one node): cordon, evict every pod on it at once, retry each
// refusal, done when every pod on the node is deleted.
void World::drain(int node, bool karpenter, std::function<void()> done) {
  if (tracing_) log("drain node " + std::to_string(node));
  std::vector<std::string> names;
  for (const auto& p : pods_)
    if (p.exists && p.node == node) names.push_back(p.name);
  if (names.empty()) {
    done();
    return;
  }
  drain_waiters_[node].push_back(std::move(done));
  for (const auto& n : names) try_evict(n, karpenter, 0);
}

void World::next_drain() {
  if (pending_nodes_.empty()) return;
  const int node = pending_nodes_.back();
  pending_nodes_.pop_back();
  drain(node, karpenter_, [this] {
    if (--drains_left_ == 0) finish();
    else next_drain();
  });
}

void World::finish() {
  out_.completed = true;
  out_.completion = now_ - driver_start_;
  if (tracing_) log("driver done");
}

void World::start_driver() {
  driver_start_ = now_;
  if (tracing_) log("driver " + to_string(spec_.driver));
  if (spec_.fault != Fault::kNone) at(now_ + spec_.fault_at, [this] { inject_fault(); });
  std::vector<int> nodes;
  for (int b = 1; b <= spec_.brokers; ++b) nodes.push_back(b);
  if (spec_.driver == Driver::kEc2Hook) {
    ec2_queue_ = nodes;
    ec2_step();
    return;
  }
  for (std::size_t i = nodes.size(); i > 1; --i) std::swap(nodes[i - 1], nodes[rng_.next() % i]);
  int concurrency = 1;
  if (spec_.driver == Driver::kDrainOne) nodes.resize(1);
  if (spec_.driver == Driver::kDrainParallel) {
    nodes.resize(static_cast<std::size_t>(std::min(spec_.brokers, std::max(2, s_.parallel_drains))));
    concurrency = static_cast<int>(nodes.size());
  }
  if (spec_.driver == Driver::kKarpenter) concurrency = std::max(1, s_.parallel_drains);
  karpenter_ = spec_.driver == Driver::kKarpenter;
  pending_nodes_.assign(nodes.rbegin(), nodes.rend());
  drains_left_ = static_cast<int>(nodes.size());
  for (int i = 0; i < concurrency; ++i) next_drain();
}

// An EC2 Auto Scaling lifecycle hook running `isrguard --disrupt-broker B --wait-safe ...` before each
// instance of the refresh is terminated: a probe every poll interval, each judged as run_disruption_cli
// judges it (history kept across its probes, recovery hold 0), until the answer is safe.
void World::ec2_step() {
  if (ec2_queue_.empty()) {
    finish();
    return;
  }
  const int b = ec2_queue_.front();
  const Ms started = now_;
  ProbeResult r = probe(now_, hook_seen_);
  const Ms end = r.end;
  at(end, [this, b, r = std::move(r), started] { ec2_decide(b, r, started); });
}

void World::ec2_decide(int b, const ProbeResult& r, Ms started) {
  bool safe = false;
  if (r.snapshot) {
    hook_history_ = service::advance(hook_history_, *r.snapshot, policy_, steady(started));
    const auto verdict = service::judge(*r.snapshot, policy_, hook_history_, steady(started));
    std::string why;
    auto targets = service::resolve_disruption(service::DisruptionQuery{{b}, {}, {}}, *r.snapshot, verdict,
                                               policy_, &why);
    if (targets)
      safe = service::assess_disruption(*r.snapshot, verdict, *targets, verdict.reasons,
                                        service::DisruptionAcks{{}, wall(now_)}, service::DisruptionOptions{})
                 .safe;
  }
  if (tracing_) log("wait-safe broker " + std::to_string(b) + (safe ? " safe" : " unsafe"));
  if (!safe) {
    at(std::max(now_, started + s_.poll_interval), [this] { ec2_step(); });
    return;
  }
  grant(b);
  terminate_broker(b);
}

// Exposure: the true state makes some Ready broker pod unsafe to evict while the PDB would allow it (with
// the webhook: while the webhook's latest view would admit evicting that broker).
void World::track_window() {
  if (!k8s_) return;
  bool unsafe = false;
  if (s_.webhook || pdb_.disruptions_allowed > 0)
    for (int b = 1; b <= spec_.brokers && !unsafe; ++b) {
      const Pod& p = broker_pod(b);
      unsafe = p.exists && p.ready && !p.terminating && !kafka_.unsafe_to_take(b).empty() &&
               (!s_.webhook || webhook_would_allow(b));
    }
  if (unsafe && exposed_since_ < 0) exposed_since_ = now_;
  if (!unsafe && exposed_since_ >= 0) {
    out_.worst_window = std::max(out_.worst_window, now_ - exposed_since_);
    exposed_since_ = -1;
  }
}

Outcome World::run() {
  if (k8s_ && (s_.gate || s_.webhook)) {
    start_isrguard();
    pods_[0].node = spec_.isrguard_node;
  }
  at(60000 + spec_.driver_at, [this] { start_driver(); });
  constexpr Ms kHorizon = 8LL * 3600 * 1000;
  while (!queue_.empty() && !out_.completed) {
    Event e = std::move(const_cast<Event&>(queue_.top()));
    queue_.pop();
    if (e.at > kHorizon) break;
    now_ = e.at;
    e.run();
    if (dirty_) track_window();
    dirty_ = false;
  }
  if (exposed_since_ >= 0) out_.worst_window = std::max(out_.worst_window, now_ - exposed_since_);
  out_.trace = trace_.str();
  return out_;
}

}  // namespace

// The snapshot is the model's state when the probe starts; the probe ends when its slowest part answers:
// Metadata from a serving broker (a hung one first costs half the probe timeout, the adapter's retry), the
// per-broker check from every listed broker (a hung one costs the whole budget, a dead one is refused).
std::optional<probes::ClusterSnapshot> simulated_probe(const KafkaModel& kafka, std::map<int, int>& seen,
                                                       Ms probe_timeout, Rng& rng, Ms* duration) {
  std::vector<int> listed;
  bool any_serving = false;
  for (int b = 1; b <= kafka.broker_count(); ++b) {
    if (!kafka.broker(b).registered) continue;
    listed.push_back(b);
    const auto st = kafka.broker(b).state;
    any_serving = any_serving || st == BrokerState::kUp || st == BrokerState::kStopping;
  }
  *duration = probe_timeout;
  if (!any_serving) return std::nullopt;
  const auto picked = kafka.broker(listed[rng.next() % listed.size()]).state;
  Ms lat = rng.between(1, 20);
  if (picked == BrokerState::kHung) lat += probe_timeout / 2;
  else if (picked == BrokerState::kDown) lat += rng.between(1, 50);
  probes::ClusterSnapshot snap = kafka.metadata();
  Ms end = lat;
  for (const auto& broker : snap.brokers) {
    const auto& bm = kafka.broker(broker.id);
    probes::BrokerResponse resp;
    resp.id = broker.id;
    const auto it = seen.find(broker.id);
    const bool restarted = it != seen.end() && it->second != bm.incarnation;
    seen[broker.id] = bm.incarnation;
    resp.disconnects = restarted || bm.state == BrokerState::kDown ? 1 : 0;
    const Ms answer = rng.between(1, 30);
    if (bm.state == BrokerState::kUp || bm.state == BrokerState::kStopping) {
      resp.answered = true;
      resp.latency = std::chrono::milliseconds(answer);
      end = std::max(end, lat + answer);
    } else if (bm.state == BrokerState::kHung) {
      resp.error = "timed out";
      resp.latency = std::chrono::milliseconds(probe_timeout);
      end = probe_timeout;
    } else {
      resp.error = "connection refused";
    }
    snap.broker_responses.push_back(resp);
  }
  snap.duration = std::chrono::milliseconds(end);
  *duration = end;
  return snap;
}

Outcome run_scenario(const ScenarioSpec& spec, const Settings& settings, bool trace) {
  World w(spec, settings, trace);
  return w.run();
}

}  // namespace isrguard::sim
