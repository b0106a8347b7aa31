#pragma once

// How the process runs and ends, for main (which only parses the configuration and builds the source) and
// for tests, which drive the same code in-process.
//
// Signals: SIGTERM and SIGINT are blocked in every thread (block_process_signals() before any thread starts)
// and taken by sigwait in the thread that called serve() / run_once_cli(), so shutdown is ordinary code.
// SIGUSR1 is internal: a finished worker thread sends it to that waiting thread to wake it.
//
// Exit codes: 0 stopped by SIGTERM/SIGINT (serve) or healthy (--once); 1 unhealthy (--once); 2 configuration
// or start-up error, no probe succeeded, or --once interrupted by a signal; 3 the probe loop died by an
// exception (a bug: exiting lets Kubernetes restart the pod instead of serving a frozen state).

#include <chrono>
#include <memory>
#include <ostream>

#include "probes/metadata_source.h"
#include "service/config/config.h"

namespace isrguard::service {

// From the signal to exit: stop HTTP, stop the probe loop, destroy the Kafka client. Kubernetes waits
// terminationGracePeriodSeconds (default 30 s) before SIGKILL; a drain should not wait on us at all.
inline constexpr std::chrono::milliseconds kShutdownBudget{1800};

inline constexpr int kExitLoopDied = 3;

// Blocks SIGTERM, SIGINT and SIGUSR1 in the calling thread; threads started afterwards inherit the mask.
void block_process_signals();

struct RunOutcome {
  int exit_code = 0;
  // True when work is still in flight (a probe or the client's close stuck on Kafka) and the caller must
  // end the process now with std::_Exit(exit_code): returning through destructors would wait for it.
  // Whatever that work uses is kept alive until the process ends. Also true when all that is left is freeing
  // memory and closing a client with nothing to flush (--once after its answer is printed).
  bool exit_immediately = false;

  bool operator==(const RunOutcome&) const = default;
};
std::ostream& operator<<(std::ostream& os, const RunOutcome& o);

// The service: serve HTTP and probe every poll interval until SIGTERM/SIGINT (exit 0) or until the probe
// loop dies by an exception (logged, exit kExitLoopDied). The whole stop, including destroying `source`, is
// bounded by `budget`. Throws std::runtime_error when the HTTP port cannot be bound (start-up error).
RunOutcome serve(const Config& config, std::unique_ptr<probes::MetadataSource> source,
                 std::chrono::milliseconds budget = kShutdownBudget);

// --once: one probe, the verdict printed to `out`; exit 0 healthy, 1 unhealthy, 2 could not probe. A
// SIGTERM/SIGINT before the probe ends stops it at once with exit 2 and nothing printed. Once a verdict is
// printed it asks the caller to exit at once (exit_immediately): the state and the client are not torn down.
RunOutcome run_once_cli(const Config& config, std::unique_ptr<probes::MetadataSource> source,
                        std::ostream& out);

// --once --disrupt-*: "may these brokers go now?" printed to `out`; exit 0 safe, 1 unsafe, 2 error. With
// --wait-safe, re-probes every --poll-interval until safe or the deadline, saying on stderr why it still
// waits; SIGTERM/SIGINT (taken by sigtimedwait as the pause between probes) end the wait as unsafe (exit 1).
RunOutcome run_disruption_cli(const Config& config, std::unique_ptr<probes::MetadataSource> source,
                              std::ostream& out);

}  // namespace isrguard::service
