#pragma once

// Fuzz bodies shared by the seeded random test run in CI (seeded_fuzz_test.cc) and the libFuzzer drivers
// (libfuzzer_main.cc, built with -DISRGUARD_FUZZ=ON and clang). Each turns arbitrary bytes into an input,
// runs the code under test and returns what went wrong ("" = nothing): never an exception, a crash, or an
// answer outside the documented set.
#include <cstddef>
#include <cstdint>
#include <string>

namespace isrguard::fuzz {

// Bytes -> (method, path, query parameters) -> Api::handle over a fixed unhealthy cluster state.
std::string http_api_one(const std::uint8_t* data, std::size_t size);

// Bytes -> argv of known flags with arbitrary values -> parse_config.
std::string config_one(const std::uint8_t* data, std::size_t size);

}  // namespace isrguard::fuzz
