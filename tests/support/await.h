#pragma once

// Await a condition with a deadline instead of sleeping for a fixed time.
#include <chrono>
#include <functional>
#include <thread>

namespace isrguard::testing {

// Polls `cond` until true or `within` passes; returns the last result. Small pauses between polls keep a
// busy 2-core machine responsive; the wait ends as soon as the condition holds.
inline bool await(const std::function<bool()>& cond, std::chrono::milliseconds within,
                  std::chrono::milliseconds every = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
  return true;
}

}  // namespace isrguard::testing
