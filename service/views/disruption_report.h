#pragma once

// Views of a disruption answer (service/judge/disruption.h): the JSON of GET /v1/disruption and of
// `isrguard --once --disrupt-* --output json`, the --once table, and the one-line summary --wait-safe prints
// while it waits. Pure functions of (answer, state, now).

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "service/config/config.h"
#include "service/judge/disruption.h"
#include "service/views/state.h"

namespace isrguard::service {

// `now` (steady) gives the snapshot age, `wall_now` the acknowledgements' time left; the gate is the state's
// (readiness decides "ready").
nlohmann::ordered_json disruption_json(const DisruptionAnswer& answer, const PublishedState& state,
                                       bool ready, const DisruptionOptions& options,
                                       SteadyClock::time_point now,
                                       std::chrono::system_clock::time_point wall_now);

// --once --disrupt-* --output json when there is no answer (exit 2): the --once error object (status_report.h
// once_error_json), with the probe's error when the probe failed, else kind "query" and `why` (a rack no
// broker reports, fleets without brokers).
nlohmann::ordered_json disruption_error_json(const PublishedState& state, const Config& config,
                                             const std::string& why);

// `now` (wall) gives the acknowledgements' time left.
std::string disruption_table(const DisruptionAnswer& answer, const PublishedState& state,
                             std::chrono::system_clock::time_point now);

// "UNSAFE: 9 partitions would block (events-2 under_min_isr isr_after=[3] min_isr=2; ...)" or "SAFE".
std::string disruption_summary(const DisruptionAnswer& answer);

}  // namespace isrguard::service
