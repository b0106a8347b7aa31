#pragma once

// JSON scenario files for the kafkasim executable: the initial cluster plus timed steps
// (format documented in tests/kafkasim/README.md). Also used by the HTTP control endpoint, which applies
// the same step objects on demand.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/kafkasim/cluster.h"
#include "tests/kafkasim/model.h"

namespace isrguard::kafkasim {

// Bad scenario input (file, JSON syntax, schema); the message names the offending field.
class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Step {
  double at_s = 0;     // scenario seconds from the start of a cycle
  nlohmann::json raw;  // the step object as written (for /state and logs)
  std::function<void(Cluster&)> apply;
};

struct Scenario {
  ClusterSpec cluster;
  std::vector<Step> steps;   // sorted by at_s (stable)
  double loop_period_s = 0;  // cycle length with --loop
};

// Parses a whole scenario document. Throws ScenarioError.
Scenario parse_scenario(const nlohmann::json& doc);
Scenario load_scenario_file(const std::string& path);
// Parses one step object ({"action": "...", ...}); "at" is optional here. Throws ScenarioError.
Step parse_step(const nlohmann::json& step);

// JSON view of the live cluster (GET /state).
nlohmann::json state_json(const Cluster& c);

// Drives the steps of a scenario: either on wall-clock time (run()) or one group at a time (advance()).
// Thread-safe; run() and advance() may be mixed.
class Timeline {
 public:
  Timeline(Cluster& cluster, std::vector<Step> steps, double loop_period_s, bool loop);

  // Applies the next group of steps (all steps sharing the next `at`) and returns their JSON. At the end,
  // wraps around to the first step when looping, otherwise returns an empty array.
  nlohmann::json advance();
  // Applies steps when their time comes: scenario second s happens at start + s * time_scale wall seconds.
  // Returns when stop() is called, or after the last step without loop.
  void run(double time_scale);
  void stop();
  nlohmann::json status() const;

 private:
  nlohmann::json apply_group_locked();

  Cluster& cluster_;
  std::vector<Step> steps_;
  double loop_period_s_;
  bool loop_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  size_t next_ = 0;
  uint64_t cycle_ = 0;
  bool stopping_ = false;
};

}  // namespace isrguard::kafkasim
