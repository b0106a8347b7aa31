// Seeded random inputs through the fuzz bodies (fuzz_targets.h), for a bounded number of cases so the run
// is reproducible and short in CI (a few seconds). A failure prints the seed and the case index; the bytes
// become a regression test below. For open-ended fuzzing use the libFuzzer drivers (-DISRGUARD_FUZZ=ON).
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "tests/fuzz/fuzz_targets.h"

namespace isrguard::fuzz {
namespace {

constexpr std::uint64_t kSeed = 20261129;

template <typename Target>
void run_seeded(Target target, int cases, std::uint64_t seed = kSeed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> bytes;
  for (int i = 0; i < cases; ++i) {
    bytes.resize(rng() % 96);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    const std::string problem = target(bytes.data(), bytes.size());
    ASSERT_EQ(problem, "") << "seed " << seed << " case " << i;
  }
}

TEST(SeededFuzz, HttpApiAnswersEveryRequestWithADocumentedStatus) { run_seeded(http_api_one, 200000); }
// The command line parser costs ~0.5-1.3 ms per case (CLI11 builds the whole flag table each time): 20,000
// cases in four shards of their own seeds, so ctest runs them side by side and each stays well inside its
// timeout in a sanitizer build.
TEST(SeededFuzz, ConfigParserNeverThrowsAndNeverAcceptsOutOfRangeShard1) { run_seeded(config_one, 5000, kSeed + 1); }
TEST(SeededFuzz, ConfigParserNeverThrowsAndNeverAcceptsOutOfRangeShard2) { run_seeded(config_one, 5000, kSeed + 2); }
TEST(SeededFuzz, ConfigParserNeverThrowsAndNeverAcceptsOutOfRangeShard3) { run_seeded(config_one, 5000, kSeed + 3); }
TEST(SeededFuzz, ConfigParserNeverThrowsAndNeverAcceptsOutOfRangeShard4) { run_seeded(config_one, 5000, kSeed + 4); }

}  // namespace
}  // namespace isrguard::fuzz
