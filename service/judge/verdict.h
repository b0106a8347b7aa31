#pragma once

// The judgement: snapshot + policy + history -> verdict (a list of reasons plus the counts behind them).
// Each partition is judged by the rules of service/judge/partition_rules.h (classify_partition).
// Pure functions over value types: time is passed in; no I/O, no threads.

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "probes/snapshot.h"
#include "probes/split.h"
#include "service/judge/history.h"
#include "service/judge/policy.h"
#include "service/judge/verdict_types.h"

namespace isrguard::service {

// The whole verdict at `now` (steady clock), with `history` already advanced with this snapshot
// (service/judge/history.h). Reasons probe_failed / snapshot_stale are not produced here: the probe loop
// adds them (ProbeLoop::run_once in service/runtime/probe_loop.cc). Topics of `split_from` partitions or more
// are judged on two threads (probes/split.h); the verdict is the same either way.
Verdict judge(const ClusterSnapshot& snapshot, const Policy& policy, const History& history,
              SteadyClock::time_point now, std::size_t split_from = probes::default_split_from());
// A freshly started isrguard's verdict: the history of this one snapshot.
Verdict judge(const ClusterSnapshot& snapshot, const Policy& policy);
// The same verdict as judge(snapshot, policy, advance(History{}, snapshot, policy, now), now), without building
// that history (each partition's first baseline is worked out as it is judged): for a probe no other follows
// (--once, ProbeLoop::single_probe).
Verdict judge_first(const ClusterSnapshot& snapshot, const Policy& policy, SteadyClock::time_point now,
                    std::size_t split_from = probes::default_split_from());

}  // namespace isrguard::service
