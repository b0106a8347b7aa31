// probes/split.h: where a pass splits its topics, and that both halves run, each item once, with exceptions
// carried back to the caller.
#include "probes/split.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace isrguard::probes {
namespace {

std::size_t split(const std::vector<std::size_t>& weights, std::size_t split_from) {
  return split_index(weights.size(), [&](std::size_t i) { return weights[i]; }, split_from);
}

TEST(SplitIndex, BalancesTheTotalWeight) {
  EXPECT_EQ(split({10, 10, 10, 10}, 0), 2u);
  EXPECT_EQ(split({30, 10, 10, 10}, 0), 1u);  // 30 | 30
  EXPECT_EQ(split({1, 1, 1, 100}, 0), 3u);    // the heavy one alone
  EXPECT_EQ(split({100, 1, 1, 1}, 0), 1u);
}

TEST(SplitIndex, DoesNotSplitBelowTheThresholdNeverSplitOrOneItem) {
  EXPECT_EQ(split({10, 10}, 21), 2u);  // 20 partitions: below 21
  EXPECT_EQ(split({10, 10}, 20), 1u);
  EXPECT_EQ(split({10, 10}, kNeverSplit), 2u);
  EXPECT_EQ(split({1000}, 0), 1u);
  EXPECT_EQ(split({}, 0), 0u);
}

TEST(SplitIndex, LeavesAnItemOnEachSideEvenWhenWeightsAreZero) {
  const std::size_t k = split({0, 0, 0}, 0);
  EXPECT_GE(k, 1u);
  EXPECT_LE(k, 2u);
}

TEST(RunBoth, RunsBothPartsTheSecondOnAnotherThread) {
  std::thread::id first, second;
  run_both([&] { first = std::this_thread::get_id(); }, [&] { second = std::this_thread::get_id(); });
  EXPECT_EQ(first, std::this_thread::get_id());
  EXPECT_NE(second, std::thread::id{});
  EXPECT_NE(second, first);
}

TEST(RunBoth, RethrowsAnExceptionOfEitherPartAfterBothEnded) {
  bool second_ran = false;
  EXPECT_THROW(run_both([] { throw std::runtime_error("first"); }, [&] { second_ran = true; }),
               std::runtime_error);
  EXPECT_TRUE(second_ran);
  bool first_ran = false;
  EXPECT_THROW(run_both([&] { first_ran = true; }, [] { throw std::logic_error("second"); }), std::logic_error);
  EXPECT_TRUE(first_ran);
}

TEST(SharedLoop, EveryItemOnceWhetherHelpedOrNot) {
  for (const bool helped : {false, true}) {
    std::vector<std::atomic<int>> seen(1000);
    std::mutex mu;
    std::set<std::thread::id> threads;
    SharedLoop loop(
        seen.size(), 7,
        [&](std::size_t i) {
          ++seen[i];
          std::lock_guard<std::mutex> lock(mu);
          threads.insert(std::this_thread::get_id());
        },
        helped);
    loop.finish();
    for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i].load(), 1) << "item " << i;
    if (!helped) {
      EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
    }
  }
}

TEST(SharedLoop, HelperStartsWithoutTheCallerAndFinishWaitsForIt) {
  std::atomic<int> done{0};
  SharedLoop loop(64, 1, [&](std::size_t) { ++done; }, true);
  // The helper works before finish(): wait (bounded) until it has made progress on its own.
  for (int spins = 0; done.load() == 0 && spins < 5'000'000; ++spins) std::this_thread::yield();
  EXPECT_GT(done.load(), 0);
  loop.finish();
  EXPECT_EQ(done.load(), 64);
}

TEST(SharedLoop, AFailedItemStopsNothingAndIsRethrownByFinish) {
  std::vector<std::atomic<int>> seen(200);
  SharedLoop loop(
      seen.size(), 3,
      [&](std::size_t i) {
        ++seen[i];
        if (i == 10) throw std::runtime_error("item 10");
      },
      true);
  EXPECT_THROW(loop.finish(), std::runtime_error);
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i].load(), 1) << "item " << i;
}

TEST(SharedLoop, BeforeRunsOnceAheadOfEveryItemOnTheHelperOrInFinish) {
  for (const bool helped : {false, true}) {
    std::vector<int> slots;  // sized by `before`, as the conversion sizes its topics
    std::thread::id before_on;
    SharedLoop loop(
        500, 4, [&](std::size_t i) { slots.at(i) += 1; }, helped,
        [&] {
          before_on = std::this_thread::get_id();
          slots.assign(500, 0);
        });
    loop.finish();
    EXPECT_EQ(slots, std::vector<int>(500, 1)) << "helped=" << helped;
    if (helped) {
      EXPECT_NE(before_on, std::this_thread::get_id());
    } else {
      EXPECT_EQ(before_on, std::this_thread::get_id());
    }
  }
}

TEST(SharedLoop, BeforeThatFailsRunsNoItemAndIsRethrown) {
  for (const bool helped : {false, true}) {
    std::atomic<int> items{0};
    SharedLoop loop(
        100, 4, [&](std::size_t) { ++items; }, helped, [] { throw std::runtime_error("no room"); });
    EXPECT_THROW(loop.finish(), std::runtime_error) << "helped=" << helped;
    EXPECT_EQ(items.load(), 0) << "helped=" << helped;
  }
}

}  // namespace
}  // namespace isrguard::probes
