#pragma once

// Two-way data parallelism for the passes a probe makes over every partition (conversion, history, verdict,
// per-broker safety). Each pass is linear in the partitions and, at a large cluster, long enough on one core
// to be worth the second, which sits idle once Kafka has answered (docs/scale.md). A pass splits its topics
// at one index into two parts of about equal partition count; the calling thread runs the first part, one
// new thread the second, and the caller merges the two results in order, so the outcome is the same as one
// pass over all topics (tests compare both).

#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <limits>
#include <thread>
#include <vector>

#include "probes/snapshot.h"

namespace isrguard::probes {

// Below this many partitions a pass stays on the calling thread: it is too short for a second thread to pay
// for starting one (docs/scale.md has the figures).
inline constexpr std::size_t kSplitFromPartitions = 50'000;
inline constexpr std::size_t kNeverSplit = std::numeric_limits<std::size_t>::max();
// The helper threads' name (top -H shows it; the memory test counts their allocations by it).
inline constexpr char kHelperThreadName[] = "isrguard-split";

// kSplitFromPartitions, or kNeverSplit when the machine reports one CPU (or cannot tell). Asked once.
std::size_t default_split_from();

// The index k that splits items [0, n) into [0, k) and [k, n) of about equal total weight (weight(i) for item
// i), or n when the total is below `split_from` (no split).
std::size_t split_index(std::size_t n, const std::function<std::size_t(std::size_t)>& weight,
                        std::size_t split_from);
// split_index over a snapshot's topics, weighed by their partitions: the split of the service's passes.
std::size_t split_topics(const std::vector<TopicInfo>& topics, std::size_t split_from);

// Runs first() on the calling thread and second() on a new one, and returns once both have ended; an
// exception from either is rethrown then (the first part's first). When no thread can be started, runs
// second() here after first().
void run_both(const std::function<void()>& first, const std::function<void()>& second);

// work(i) for every i in [0, n), shared by the calling thread and, when `helped`, one helper thread started
// at construction: each claims the next `chunk` items in turn, so the calling thread may do something else
// first and join in later (finish()). For passes whose results do not depend on which thread made them
// (each item writes only its own slot). `before` (optional) runs once before any item: first thing on the
// helper, or in finish() when there is none (e.g. sizing the slots, off the calling thread's path).
class SharedLoop {
 public:
  SharedLoop(std::size_t n, std::size_t chunk, std::function<void(std::size_t)> work, bool helped,
             std::function<void()> before = {});
  ~SharedLoop();  // waits for the helper
  SharedLoop(const SharedLoop&) = delete;
  SharedLoop& operator=(const SharedLoop&) = delete;

  // Takes chunks on the calling thread until none is left, waits for the helper, and rethrows the first
  // exception either met (a failed item stops neither thread: the others are still done).
  void finish();

 private:
  void drain(std::exception_ptr& error);

  const std::size_t n_, chunk_;
  const std::function<void(std::size_t)> work_;
  const std::function<void()> before_;
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> ready_{false};  // before_ has ended (on the helper)
  std::exception_ptr helper_error_;
  std::thread helper_;
};

}  // namespace isrguard::probes
