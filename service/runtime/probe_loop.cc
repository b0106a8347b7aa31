#include "service/runtime/probe_loop.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <utility>

#include "service/runtime/malloc_tuning.h"
#include "service/judge/reasons.h"
#include "service/views/status_report.h"

namespace isrguard::service {
namespace {

std::string join_codes(const std::vector<std::string>& codes) {
  std::string s;
  for (const auto& c : codes) s += (s.empty() ? "" : ",") + c;
  return s.empty() ? "none" : s;
}

// Starts the detail of a brokers_reconnected reason a connection loss added (before a probe judged it).
constexpr std::string_view kLossDetailPrefix = "connection lost since the last probe: ";

std::int64_t ms_between(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

}  // namespace

std::chrono::milliseconds jittered_interval(std::chrono::milliseconds interval, double u) {
  const double factor = 1.0 - kPollJitter + 2.0 * kPollJitter * std::clamp(u, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(interval.count()) * factor));
}

ProbeLoop::ProbeLoop(probes::MetadataSource& source, Policy policy, GateConfig gate,
                     std::chrono::milliseconds stale_after, DisruptionOptions disruption)
    : source_(source),
      policy_(std::move(policy)),
      gate_(gate),
      stale_after_(stale_after),
      disruption_(disruption) {
  const auto now = SteadyClock::now();
  working_.started_at = now;
  working_.loop_heartbeat = now;
  working_.gate = gate_.status();
  working_.gate.since = now;  // initializing since start (the Gate's default is the clock's epoch: boot)
  working_.gate_since_wall = std::chrono::system_clock::now();
  published_ = std::make_shared<const PublishedState>(working_);
}

void ProbeLoop::run_once(SteadyClock::time_point now, std::chrono::system_clock::time_point wall) {
  if (single_probe_ && working_.probes_total > 0)
    throw std::logic_error("ProbeLoop::single_probe(): run_once() called a second time");
  probes::ProbeResult result = source_.probe();
  PublishedState& s = working_;
  ++s.probes_total;
  s.probe_duration.observe(std::chrono::duration<double>(result.duration).count());
  const bool ok = result.ok();
  if (ok)
    adopt_snapshot(s, std::move(*result.snapshot), now, wall);
  else
    record_failure(s, result.error.value_or(probes::ProbeError{"metadata", "probe returned nothing"}), wall);
  std::lock_guard events(events_mu_);
  // Losses before this probe started are in its own count (BrokerResponse::disconnects): judged.
  std::erase_if(losses_, [&](const Loss& l) { return l.at < now; });
  std::vector<std::string> gating = assess(s, ok, now, wall);
  add_connection_losses(s, gating);

  // The gate sees the probe's end: a healthy snapshot is known healthy only once the probe has finished (a
  // probe that started while brokers were down may take seconds to find them back), so the recovery hold
  // counts from there, never from the start.
  const SteadyClock::time_point probe_end =
      now + std::chrono::duration_cast<SteadyClock::duration>(result.duration);
  observe_gate(s, gating, probe_end, wall);
  s.loop_heartbeat = SteadyClock::now();
  publish(s);
}

void ProbeLoop::close_on_connection_loss() {
  watching_ = true;
  source_.on_connection_loss([this](const probes::ConnectionLoss& loss) { connection_lost(loss); });
}

ProbeLoop::~ProbeLoop() {
  if (watching_) source_.on_connection_loss({});  // returns once a call in progress has ended
}

// The published state with the loss added to its reasons and the gate observed now: closed at once.
void ProbeLoop::connection_lost(const probes::ConnectionLoss& loss) {
  std::lock_guard events(events_mu_);
  const auto now = SteadyClock::now();
  losses_.push_back(Loss{now, loss});
  PublishedState s = *current();
  std::erase_if(s.reasons, [](const Reason& r) { return r.detail.starts_with(kLossDetailPrefix); });
  std::vector<std::string> gating;
  for (const auto& r : s.reasons)
    if (r.gating) gating.push_back(r.code);
  add_connection_losses(s, gating);
  observe_gate(s, gating, now, std::chrono::system_clock::now());
  publish(s);
}

// brokers_reconnected for the losses no probe has judged yet, unless the verdict already names it.
void ProbeLoop::add_connection_losses(PublishedState& s, std::vector<std::string>& gating) const {
  if (losses_.empty()) return;
  const auto code = std::string(reason::kBrokersReconnected);
  if (std::any_of(s.reasons.begin(), s.reasons.end(), [&](const Reason& r) { return r.code == code; })) return;
  std::vector<probes::BrokerId> ids;
  std::string detail(kLossDetailPrefix);
  for (const auto& l : losses_) {
    if (std::find(ids.begin(), ids.end(), l.loss.id) != ids.end()) continue;
    detail += (ids.empty() ? "" : "; ") + l.loss.detail;
    ids.push_back(l.loss.id);
  }
  const bool gates = policy_.gates(reason::kBrokersReconnected);
  s.reasons.push_back(Reason{code, static_cast<std::int64_t>(ids.size()), detail, gates});
  if (gates) gating.push_back(code);
}

// A successful probe: the history advanced by its snapshot, the verdict, and the serve views.
void ProbeLoop::adopt_snapshot(PublishedState& s, probes::ClusterSnapshot&& taken,
                               SteadyClock::time_point now, std::chrono::system_clock::time_point wall) {
  const bool was_failing = s.last_error.has_value();
  const auto t0 = SteadyClock::now();
  auto snapshot = std::make_shared<const probes::ClusterSnapshot>(std::move(taken));
  if (!single_probe_)
    s.history =
        std::make_shared<const History>(advance(s.history ? *s.history : History{}, *snapshot, policy_, now));
  const auto t1 = SteadyClock::now();
  s.verdict = std::make_shared<const Verdict>(single_probe_ ? judge_first(*snapshot, policy_, now)
                                                            : judge(*snapshot, policy_, *s.history, now));
  const auto t2 = SteadyClock::now();
  if (serve_views_) s.kafka = std::make_shared<const KafkaView>(kafka_view(*snapshot, policy_, s.history.get()));
  s.snapshot = std::move(snapshot);
  if (serve_views_)
    s.unhealthy_partitions =
        std::make_shared<const std::vector<IndexedPartition>>(index_unhealthy_partitions(s, policy_));
  spdlog::debug("probe: history {} ms, judge {} ms, serve views {} ms", ms_between(t0, t1), ms_between(t1, t2),
                ms_between(t2, SteadyClock::now()));
  s.last_success = now;
  s.last_success_wall = wall;
  if (was_failing)
    spdlog::info("probe recovered after {} error: {}", s.last_error->kind, s.last_error->message);
  s.last_error.reset();
  s.last_error_at.reset();
}

// A failed probe: counted by kind; logged when it starts failing or fails differently. The last good
// snapshot and verdict stay.
void ProbeLoop::record_failure(PublishedState& s, const probes::ProbeError& err,
                               std::chrono::system_clock::time_point wall) {
  const bool was_failing = s.last_error.has_value();
  ++s.probe_failures[err.kind];
  if (!was_failing || s.last_error->kind != err.kind)
    spdlog::warn("probe failing ({}): {}", err.kind, err.message);
  s.last_error = err;
  s.last_error_at = wall;
}

// Assessment: the last good verdict's reasons, plus the probe's own health, then the operator overrides and
// the per-broker safety. Returns the codes of the reasons that gate.
std::vector<std::string> ProbeLoop::assess(PublishedState& s, bool new_snapshot, SteadyClock::time_point now,
                                           std::chrono::system_clock::time_point wall) {
  s.reasons = s.verdict ? s.verdict->reasons : std::vector<Reason>{};
  if (s.last_error) {
    s.reasons.push_back(Reason{std::string(reason::kProbeFailed), 1,
                               s.last_error->kind + ": " + s.last_error->message,
                               policy_.gates(reason::kProbeFailed)});
  }
  if (s.last_success && now - *s.last_success > stale_after_) {
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - *s.last_success);
    s.reasons.push_back(Reason{std::string(reason::kSnapshotStale), 1,
                               "last good snapshot is " + std::to_string(age.count()) + "s old (limit " +
                                   std::to_string(stale_after_.count() / 1000) + "s)",
                               policy_.gates(reason::kSnapshotStale)});
  }
  apply_operator_overrides(s, wall);
  const auto safety_start = SteadyClock::now();
  assess_broker_safety(s, new_snapshot, wall);
  spdlog::debug("probe: broker safety {} ms", ms_between(safety_start, SteadyClock::now()));
  std::vector<std::string> gating;
  for (const auto& r : s.reasons)
    if (r.gating) gating.push_back(r.code);
  return gating;
}

void ProbeLoop::observe_gate(PublishedState& s, const std::vector<std::string>& gating,
                             SteadyClock::time_point probe_end, std::chrono::system_clock::time_point wall) {
  bool changed = false;
  const GateState before = gate_.status().state;
  s.gate = gate_.observe(gating, probe_end, &changed);
  if (changed) {
    s.gate_since_wall = wall;
    spdlog::info("gate {} -> {} (ready={}) reasons={}", to_string(before), to_string(s.gate.state),
                 s.gate.ready, join_codes(gating));
  }
}

void ProbeLoop::publish(const PublishedState& s) {
  auto next = std::make_shared<const PublishedState>(s);
  std::shared_ptr<const PublishedState> previous;
  {
    std::lock_guard<std::mutex> lock(mu_);
    previous = std::exchange(published_, std::move(next));
  }
  published_cv_.notify_all();
  // The previous state (with the previous snapshot, unless a reader still holds it) is freed here, outside
  // the lock: freeing a large snapshot takes long enough to matter (docs/scale.md), and /readyz must never
  // wait for it.
  previous.reset();
  release_free_memory();
}

void ProbeLoop::apply_operator_overrides(PublishedState& s, std::chrono::system_clock::time_point wall) {
  if (!overrides_) return;
  s.overrides = overrides_->poll(wall);
  s.reasons = apply_overrides(s.reasons, s.verdict.get(), s.overrides.active, wall);
  if (!s.overrides.valid)
    s.reasons.push_back(Reason{std::string(reason::kOverridesInvalid), 1,
                               s.overrides.path + ": " + s.overrides.error + " (the last valid set stays in force)",
                               policy_.gates(reason::kOverridesInvalid)});
}

// After the overrides: the per-broker pass honours the acknowledgements in force at this poll, so it is
// recomputed with each new snapshot and whenever that set changed (a file edit while the probe fails).
void ProbeLoop::assess_broker_safety(PublishedState& s, bool new_snapshot,
                                     std::chrono::system_clock::time_point wall) {
  if (!s.snapshot || !s.verdict || (!new_snapshot && s.overrides.active == safety_acks_)) return;
  s.broker_safety = std::make_shared<const std::vector<BrokerSafety>>(
      broker_safety(*s.snapshot, *s.verdict, disruption_, DisruptionAcks{s.overrides.active, wall}));
  safety_acks_ = s.overrides.active;
}

void ProbeLoop::run(std::chrono::milliseconds interval, const std::function<double()>& draw_u) {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto draw = [&] { return draw_u ? draw_u() : unit(rng); };
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    probe_requested_ = false;
    lock.unlock();
    const auto started = SteadyClock::now();
    run_once(started, std::chrono::system_clock::now());
    const auto next = started + jittered_interval(interval, draw());
    lock.lock();
    cv_.wait_until(lock, next, [this] { return stopping_ || probe_requested_; });
  }
}

void ProbeLoop::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

void ProbeLoop::request_probe() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    probe_requested_ = true;
  }
  cv_.notify_all();
}

std::shared_ptr<const PublishedState> ProbeLoop::await_state(
    const std::function<bool(const PublishedState&)>& ready, SteadyClock::time_point deadline) const {
  std::unique_lock<std::mutex> lock(mu_);
  published_cv_.wait_until(lock, deadline, [&] { return stopping_ || (published_ && ready(*published_)); });
  return published_;
}

std::shared_ptr<const PublishedState> ProbeLoop::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return published_;
}

}  // namespace isrguard::service
