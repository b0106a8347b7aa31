#pragma once
// Batches of seeded scenarios and their summary: what the CI test asserts and the bench's table reports.

#include <cstdint>
#include <string>
#include <vector>

#include "tests/sim/scenario.h"

namespace isrguard::sim {

struct Summary {
  std::int64_t scenarios = 0;
  std::int64_t grants = 0;
  std::int64_t violations = 0;
  std::int64_t races = 0;
  std::int64_t stuck = 0;            // drains of a cluster with no fault not completed within the horizon
  std::int64_t stuck_with_fault = 0;  // the same with a fault (reported, not a failure)
  Ms worst_window = 0;
  double mean_completion_s = 0;  // over completed scenarios
  std::vector<std::string> first_details;  // at most 8 violation lines, replayable by seed
};

// Scenarios make_spec(seed, size) for seed in [first, first + count).
Summary run_batch(Size size, std::uint64_t first, std::int64_t count, const Settings& settings);

std::string to_string(const Summary& s);

// Sets one named field of Settings from text ("poll_interval", "5000"; times in ms, "gate" 0/1). Throws
// std::invalid_argument for an unknown name.
void apply_setting(Settings& s, const std::string& name, const std::string& value);

}  // namespace isrguard::sim
