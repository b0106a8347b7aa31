#pragma once

// A MetadataSource that hands out scripted results, one per probe, repeating the last one; for tests that
// drive the probe loop without Kafka.
#include <deque>
#include <mutex>
#include <string>
#include <utility>

#include "probes/metadata_source.h"

namespace isrguard::testing {

class ScriptedSource : public probes::MetadataSource {
 public:
  void push(probes::ProbeResult r) {
    std::lock_guard<std::mutex> lock(mu_);
    results_.push_back(std::move(r));
  }
  // Replaces the script: every probe from now on returns `r`.
  void set(probes::ProbeResult r) {
    std::lock_guard<std::mutex> lock(mu_);
    results_.clear();
    results_.push_back(std::move(r));
  }
  probes::ProbeResult probe() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (results_.size() > 1) {
      auto r = results_.front();
      results_.pop_front();
      return r;
    }
    return results_.front();
  }

 private:
  std::mutex mu_;
  std::deque<probes::ProbeResult> results_;
};

inline probes::ProbeResult ok(probes::ClusterSnapshot s) {
  return {std::move(s), std::nullopt, std::chrono::milliseconds(3)};
}
inline probes::ProbeResult fail(std::string kind, std::string message = "all brokers down") {
  return {std::nullopt, probes::ProbeError{std::move(kind), std::move(message)},
          std::chrono::milliseconds(1000)};
}

}  // namespace isrguard::testing
