#pragma once

// Internal to probes/ (includes librdkafka): the time budget and error text every file of the librdkafka
// adapter (rdkafka_source.cc and the files it is carved into) uses.

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <string>

namespace isrguard::probes {

using Clock = std::chrono::steady_clock;

// librdkafka bounds socket.timeout.ms to [10, 300000]: the probe timeout must lie within them, and no call
// waits longer than the upper bound.
inline constexpr std::chrono::milliseconds kMinProbeTimeout{10};
inline constexpr std::chrono::milliseconds kMaxProbeTimeout{300000};

// What is left until `deadline`, as librdkafka's timeout arguments take it: whole ms rounded up, 0 once
// passed, at most kMaxProbeTimeout.
inline int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, kMaxProbeTimeout.count()));
}

// "NAME (description)" of a librdkafka error code.
inline std::string err_text(rd_kafka_resp_err_t err) {
  return std::string(rd_kafka_err2name(err)) + " (" + rd_kafka_err2str(err) + ")";
}

}  // namespace isrguard::probes
