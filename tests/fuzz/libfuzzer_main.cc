// libFuzzer driver (clang, -DISRGUARD_FUZZ=ON): one executable per target, chosen at compile time.
//   build/tests/fuzz/fuzz_http_api -max_total_time=60
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string problem = isrguard::fuzz::ISRGUARD_FUZZ_TARGET(data, size);
  if (!problem.empty()) {
    std::fprintf(stderr, "fuzz: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
