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
void run_seeded(Target target, int cases) {
  std::mt19937_64 rng(kSeed);
  std::vector<std::uint8_t> bytes;
  for (int i = 0; i < cases; ++i) {
    bytes.resize(rng() % 96);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    const std::string problem = target(bytes.data(), bytes.size());
    ASSERT_EQ(problem, "") << "seed " << kSeed << " case " << i;
  }
}

TEST(SeededFuzz, HttpApiAnswersEveryRequestWithADocumentedStatus) { run_seeded(http_api_one, 200000); }
TEST(SeededFuzz, ConfigParserNeverThrowsAndNeverAcceptsOutOfRange) { run_seeded(config_one, 20000); }  // CLI11: ~0.2 ms/case

}  // namespace
}  // namespace isrguard::fuzz
