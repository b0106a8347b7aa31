#include "service/runtime/lifecycle.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <exception>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "service/runtime/http_server.h"
#include "service/runtime/kube_client.h"
#include "service/runtime/overrides_file.h"
#include "service/runtime/probe_loop.h"
#include "service/runtime/webhook_server.h"
#include "service/views/disruption_report.h"
#include "service/views/status_report.h"

namespace isrguard::service {
namespace {

// Descriptors besides HTTP connections: Kafka sockets (one or two per broker), logs, epoll, pipes.
constexpr std::size_t kReservedFiles = 256;

sigset_t process_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGUSR1);
  return s;
}

std::string describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

// Runs `work` on its own thread. The thread that constructs the Worker can wait for the work to end or for
// a shutdown signal, whichever comes first; or wait for the work alone up to a deadline. State is shared
// with the thread, so a Worker whose work is stuck can be abandoned (detach()) without joining it.
class Worker {
 public:
  explicit Worker(std::function<void()> work) : shared_(std::make_shared<Shared>()) {
    shared_->waiter = pthread_self();
    thread_ = std::thread([s = shared_, work = std::move(work)] {
      std::exception_ptr error;
      try {
        work();
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(s->mu);
      s->done = true;
      s->error = error;
      s->cv.notify_all();
      if (!s->abandoned) pthread_kill(s->waiter, SIGUSR1);  // wake a sigwait in wait_for_end_or_signal
    });
  }
  ~Worker() {
    if (thread_.joinable()) thread_.join();
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Calling thread only. Returns 0 when the work ended (see error()), else the signal (SIGTERM/SIGINT).
  int wait_for_end_or_signal() {
    const sigset_t signals = process_signals();
    for (;;) {
      int sig = 0;
      sigwait(&signals, &sig);
      if (sig != SIGUSR1) return sig;
      if (ended()) return 0;  // else a SIGUSR1 from elsewhere, or left over from an earlier Worker
    }
  }
  bool ended_by(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(shared_->mu);
    return shared_->cv.wait_until(lock, deadline, [&] { return shared_->done; });
  }
  bool ended() { return ended_by(std::chrono::steady_clock::time_point::min()); }
  std::exception_ptr error() {
    std::lock_guard<std::mutex> lock(shared_->mu);
    return shared_->error;
  }
  // Gives up on the work: it keeps running until it ends or the process does.
  void abandon() {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->abandoned = true;
    thread_.detach();
  }

 private:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;         // guarded by mu
    bool abandoned = false;    // guarded by mu: the waiter may be gone, do not signal it
    std::exception_ptr error;  // guarded by mu
    pthread_t waiter{};
  };
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

// What abandoned work still uses stays alive until the process ends: held from a global, never destroyed
// (so neither a destructor runs under that work nor does a leak checker report it).
void keep_until_exit(std::shared_ptr<void> p) {
  static std::mutex mu;
  static auto* kept = new std::vector<std::shared_ptr<void>>();
  std::lock_guard<std::mutex> lock(mu);
  kept->push_back(std::move(p));
}

std::unique_ptr<OverridesFile> overrides_file(const Config& c) {
  if (c.overrides_file.empty()) return nullptr;
  return std::make_unique<OverridesFile>(c.overrides_file, c.max_override_ttl);
}

const char* signal_name(int sig) { return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "signal"; }

// Destroys `source` on a worker thread and waits for it until `deadline`. False when it is still closing
// (it is then leaked to that thread).
bool destroy_by(std::unique_ptr<probes::MetadataSource> source,
                std::chrono::steady_clock::time_point deadline) {
  Worker closing([s = source.release()] { delete s; });
  if (closing.ended_by(deadline)) return true;
  closing.abandon();
  return false;
}

// One answer to "may these brokers go now?" from the loop's latest state; nullopt (with why) when it cannot
// be answered at all: no snapshot yet, a --disrupt-rack no broker reports, or an unknown broker id.
std::optional<DisruptionAnswer> answer_once(const Config& c, const PublishedState& state,
                                            std::chrono::system_clock::time_point wall, std::string* why) {
  if (!state.snapshot || !state.verdict) {
    *why = state.last_error ? "probe failed (" + state.last_error->kind + "): " + state.last_error->message
                            : "no snapshot";
    return std::nullopt;
  }
  auto targets = resolve_disruption(c.disrupt, *state.snapshot, *state.verdict, c.policy, why, c.disruption);
  if (!targets) return std::nullopt;
  // The acknowledgements in force, as the HTTP route honours them (the loop read --overrides-file).
  return assess_disruption(*state.snapshot, *state.verdict, std::move(*targets), state.reasons,
                           DisruptionAcks{state.overrides.active, wall}, c.disruption);
}

void print_answer(const Config& c, const PublishedState& state, const DisruptionAnswer& a,
                  std::chrono::system_clock::time_point wall, std::ostream& out) {
  if (c.output == OutputFormat::kJson)
    out << disruption_json(a, state, state.gate.ready, c.disruption, SteadyClock::now(), wall).dump(2)
        << "\n";
  else
    out << disruption_table(a, state, wall);
  out.flush();
}

// One probe of `loop` on a worker thread while this thread waits for SIGTERM/SIGINT. Returns 0 when the
// probe ended (rethrowing what it threw), else the signal: the probe is then abandoned, and the caller must
// keep the loop and its source alive until exit.
int probe_unless_signalled(ProbeLoop& loop, std::chrono::system_clock::time_point wall) {
  auto probing = std::make_unique<Worker>([&loop, wall] { loop.run_once(SteadyClock::now(), wall); });
  const int sig = probing->wait_for_end_or_signal();
  if (sig != 0) {
    probing->abandon();
    keep_until_exit(std::move(probing));
    return sig;
  }
  if (auto error = probing->error()) std::rethrow_exception(error);
  return 0;
}

// --disrupt-* ended by a signal, while waiting or mid-probe: not safe (exit 1). Prints the last answer when
// there is one, else (JSON) an error object, so stdout always carries an answer. Returns the exit code.
// `answered_in` is the state `answer` was judged on; `latest` the loop's state now.
int interrupted(const Config& c, int sig, const PublishedState* answered_in,
                const std::optional<DisruptionAnswer>& answer, const PublishedState& latest,
                std::chrono::system_clock::time_point wall, std::ostream& out) {
  std::cerr << "isrguard: interrupted while waiting (" << signal_name(sig) << "); not safe\n";
  if (answer && answered_in) {
    print_answer(c, *answered_in, *answer, wall, out);
  } else if (c.output == OutputFormat::kJson) {
    const std::string message = std::string("interrupted by ") + signal_name(sig) + " before an answer";
    out << once_error_json("interrupted", message, latest).dump(2) << "\n";
    out.flush();
  }
  return 1;
}

// The eviction webhook's handler when --webhook-port is set (null otherwise). Made before the HTTP listener,
// which renders its counts on /metrics.
std::unique_ptr<EvictionWebhook> make_webhook(const Config& c, ProbeLoop& loop) {
  if (c.webhook_port < 0) return nullptr;
  EvictionWebhookOptions o;
  o.rules = c.webhook_broker_pods;
  o.id_key_rules = c.webhook_broker_id_keys;
  if (!c.webhook_broker_id_keys.empty()) {
    o.pods = std::make_shared<KubeClient>(
        KubeApiOptions{c.kube_api, c.kube_token_file, c.kube_ca_file, c.kube_timeout});
    spdlog::info("eviction webhook reads Pods through {} (token file {}, CA {}, timeout {}ms)", c.kube_api,
                 c.kube_token_file, c.kube_ca_file, c.kube_timeout.count());
  }
  o.fresh_within = c.webhook_fresh_within;
  o.timeout = c.webhook_timeout;
  o.grant_ttl = c.webhook_grant_ttl;
  o.disruption = c.disruption;
  return std::make_unique<EvictionWebhook>(loop, std::move(o));
}

// The webhook's TLS listener (null without a webhook); throws when it cannot load its certificate or bind.
std::unique_ptr<WebhookServer> start_webhook(const Config& c, EvictionWebhook* webhook) {
  if (!webhook) return nullptr;
  WebhookServerOptions so;
  so.address = c.http_address;
  so.port = c.webhook_port;
  so.cert_file = c.webhook_cert_file;
  so.key_file = c.webhook_key_file;
  auto server = std::make_unique<WebhookServer>(*webhook, so);
  const int port = server->start();
  spdlog::info("eviction webhook listening on {}:{} (TLS, POST /validate-eviction)", c.http_address, port);
  return server;
}

}  // namespace

void block_process_signals() {
  const sigset_t signals = process_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

std::ostream& operator<<(std::ostream& os, const RunOutcome& o) {
  return os << "RunOutcome{exit_code=" << o.exit_code << " exit_immediately=" << o.exit_immediately << '}';
}

RunOutcome serve(const Config& c, std::unique_ptr<probes::MetadataSource> source,
                 std::chrono::milliseconds budget) {
  block_process_signals();
  auto loop = std::make_unique<ProbeLoop>(*source, c.policy, c.gate, c.stale_after, c.disruption);
  loop->close_on_connection_loss();
  loop->use_overrides(overrides_file(c));
  // Every connection is a descriptor: the default soft limit (often 1024) would cap connections below
  // --http-max-connections and fail accept() for the probe listener too.
  const std::size_t open_files = raise_open_files_limit();
  if (open_files < c.http_max_connections + 64 + kReservedFiles) {
    spdlog::warn("open files limit {} is below --http-max-connections {} + health 64 + {} reserved", open_files,
                 c.http_max_connections, kReservedFiles);
  }
  // The kubelet's own door (/livez, /readyz only) and the API/metrics listener; both throw on bind failure.
  auto health = std::make_unique<HttpServer>(*loop, HttpOptions::health_from_config(c));
  const auto webhook = make_webhook(c, *loop);
  HttpOptions http = HttpOptions::from_config(c);
  http.api.webhook = webhook.get();
  auto server = std::make_unique<HttpServer>(*loop, std::move(http));
  const int health_port = health->start();
  const int port = server->start();
  spdlog::info(
      "isrguard {} ({}) listening on {}:{} (probes on port {}); probing every {}ms (timeout {}ms), recovery "
      "hold {}ms",
      ISRGUARD_VERSION, ISRGUARD_COMMIT, c.http_address, port, health_port, c.poll_interval.count(),
      c.probe_timeout.count(), c.gate.recovery_hold.count());

  const auto webhook_server = start_webhook(c, webhook.get());

  auto probing =
      std::make_unique<Worker>([&loop = *loop, interval = c.poll_interval] { loop.run(interval); });
  const int sig = probing->wait_for_end_or_signal();
  const auto deadline = std::chrono::steady_clock::now() + budget;
  RunOutcome outcome;
  if (sig == 0) {
    // run() returns only after stop(), which nobody has called: the loop died by an exception.
    spdlog::critical("probe loop died: {}; exiting so that the pod is restarted", describe(probing->error()));
    outcome.exit_code = kExitLoopDied;
  } else {
    spdlog::info("received {}, shutting down", signal_name(sig));
  }
  if (webhook_server) webhook_server->stop();
  server->stop();
  health->stop();
  loop->stop();
  if (!probing->ended_by(deadline)) {
    // A probe is still waiting on Kafka (bounded by --probe-timeout). Nothing is left to flush: leave now
    // rather than outlive the shutdown budget. The loop and the source stay valid for that probe.
    spdlog::warn("probe still in flight at shutdown; exiting without waiting for it");
    probing->abandon();
    keep_until_exit(std::move(probing));
    keep_until_exit(std::move(loop));
    keep_until_exit(std::move(source));
    return {outcome.exit_code, true};
  }
  probing.reset();
  server.reset();
  health.reset();
  loop.reset();
  if (!destroy_by(std::move(source), deadline)) {
    spdlog::warn("Kafka client still closing at the end of the shutdown budget; exiting without waiting");
    return {outcome.exit_code, true};
  }
  spdlog::info("stopped");
  return outcome;
}

RunOutcome run_once_cli(const Config& c, std::unique_ptr<probes::MetadataSource> source, std::ostream& out) {
  block_process_signals();
  auto loop = std::make_unique<ProbeLoop>(*source, c.policy, GateConfig{std::chrono::milliseconds(0)},
                                         c.stale_after, c.disruption);
  loop->use_overrides(overrides_file(c));
  // One probe: no history for a next one, and no kafka_* view or /v1/partitions index (once_json and
  // once_table read neither).
  loop->single_probe();
  auto probing = std::make_unique<Worker>(
      [&loop = *loop] { loop.run_once(SteadyClock::now(), std::chrono::system_clock::now()); });
  const int sig = probing->wait_for_end_or_signal();
  if (sig != 0) {
    // Nothing was decided; the probe may hold the client for up to --probe-timeout: do not wait for it.
    spdlog::warn("interrupted by {} before the probe finished", signal_name(sig));
    probing->abandon();
    keep_until_exit(std::move(probing));
    keep_until_exit(std::move(loop));
    keep_until_exit(std::move(source));
    return {2, true};
  }
  if (auto error = probing->error()) {
    spdlog::error("probe failed with an exception: {}", describe(error));
    return {2, false};
  }
  const auto state = loop->current();
  if (c.output == OutputFormat::kJson)
    out << status_text(once_json(*state, c));
  else
    out << once_table(*state, c);
  out.flush();
  if (!state->snapshot) return {2, false};  // could not probe at all
  // The answer is out; what is left is freeing the snapshot and closing the client (a producer that never
  // produced: nothing to flush). On a big cluster that is a sizeable part of the whole run and changes
  // nothing the caller sees (figures: docs/scale.md): skip it.
  const bool healthy = once_healthy(*state);
  keep_until_exit(std::move(loop));
  keep_until_exit(std::move(source));
  return {healthy ? 0 : 1, true};
}

RunOutcome run_disruption_cli(const Config& c, std::unique_ptr<probes::MetadataSource> source,
                              std::ostream& out) {
  block_process_signals();
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  auto loop = std::make_unique<ProbeLoop>(*source, c.policy, GateConfig{std::chrono::milliseconds(0)},
                                         c.stale_after, c.disruption);
  // A freeze makes every answer unsafe; acknowledgements are honoured as by GET /v1/disruption.
  loop->use_overrides(overrides_file(c));
  const auto deadline = SteadyClock::now() + c.wait_safe;
  std::optional<DisruptionAnswer> answer;  // the last one, printed when a signal ends the wait
  std::shared_ptr<const PublishedState> state;
  auto wall = std::chrono::system_clock::now();
  for (;;) {
    wall = std::chrono::system_clock::now();
    if (const int sig = probe_unless_signalled(*loop, wall)) {
      const int code = interrupted(c, sig, state.get(), answer, *loop->current(), wall, out);
      keep_until_exit(std::move(loop));
      keep_until_exit(std::move(source));
      return {code, true};
    }
    state = loop->current();
    std::string why;
    answer = answer_once(c, *state, wall, &why);
    const bool bad_input = !answer && state->snapshot;  // e.g. an unknown rack: waiting cannot fix it
    if (answer && (answer->safe || SteadyClock::now() >= deadline)) {
      print_answer(c, *state, *answer, wall, out);
      return {answer->safe ? 0 : 1, false};
    }
    if (bad_input || (!answer && SteadyClock::now() >= deadline)) {
      std::cerr << "isrguard: " << why << "\n";
      if (c.output == OutputFormat::kJson) out << disruption_error_json(*state, c, why).dump(2) << "\n";
      out.flush();
      return {2, false};
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    std::cerr << "isrguard: waiting (" << left.count() / 1000
              << "s left): " << (answer ? disruption_summary(*answer) : why) << "\n";
    const auto pause = std::min(c.poll_interval, left);
    timespec ts{static_cast<time_t>(pause.count() / 1000), static_cast<long>(pause.count() % 1000) * 1'000'000};
    if (const int sig = sigtimedwait(&stop_signals, nullptr, &ts); sig > 0)
      return {interrupted(c, sig, state.get(), answer, *state, wall, out), false};
  }
}

}  // namespace isrguard::service
