#pragma once

// Wall-clock time as text, for every layer that prints a time (judge's override descriptions, the views).

#include <chrono>
#include <string>

namespace isrguard::service {

// RFC 3339 UTC with milliseconds, e.g. 2026-11-23T14:05:09.123Z.
std::string format_time(std::chrono::system_clock::time_point t);

}  // namespace isrguard::service
