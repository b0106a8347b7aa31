// MinIsrCache: which topics each probe asks for min.insync.replicas, and what the snapshot then says.
// Time is injected; nothing sleeps.
#include "probes/min_isr_cache.h"

#include <gtest/gtest.h>

namespace isrguard::probes {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using Ask = MinIsrAsk;
using Outcomes = std::map<std::string, MinIsrOutcome>;

const MinIsrCache::Clock::time_point t0{};
const MinIsrCacheOptions kOptions{minutes(5), seconds(30), minutes(15)};

// Plans at `now` and answers every asked topic with `answer`.
Ask plan_and_answer(MinIsrCache& cache, const std::vector<std::string>& present,
                    MinIsrCache::Clock::time_point now, const MinIsrOutcome& answer) {
  Ask ask = cache.plan(present, now);
  Outcomes out;
  for (const auto& t : ask.topics) out[t] = answer;
  cache.record(ask, out, now);
  return ask;
}

TEST(MinIsrCache, FirstPlanAsksEveryTopicSortedAsFullRefresh) {
  MinIsrCache cache(kOptions);
  EXPECT_EQ(cache.plan({"orders", "audit", "payments"}, t0), (Ask{{"audit", "orders", "payments"}, true}));
}

TEST(MinIsrCache, NothingToAskRightAfterEverythingWasRead) {
  MinIsrCache cache(kOptions);
  plan_and_answer(cache, {"a", "b"}, t0, MinIsrOutcome::read(2));
  EXPECT_EQ(cache.plan({"a", "b"}, t0 + seconds(5)), (Ask{{}, false}));
  EXPECT_EQ(cache.lookup("a", t0 + seconds(5)), MinIsrOutcome::read(2));
}

TEST(MinIsrCache, NewTopicIsAskedAloneOnTheNextProbe) {
  MinIsrCache cache(kOptions);
  plan_and_answer(cache, {"a", "b"}, t0, MinIsrOutcome::read(2));
  EXPECT_EQ(cache.plan({"a", "b", "c"}, t0 + seconds(5)), (Ask{{"c"}, false}));
  EXPECT_EQ(cache.lookup("c", t0 + seconds(5)), MinIsrOutcome::failed("not read yet"));
}

TEST(MinIsrCache, RefreshPeriodAsksEveryTopicAgain) {
  MinIsrCache cache(kOptions);
  plan_and_answer(cache, {"a", "b"}, t0, MinIsrOutcome::read(2));
  EXPECT_EQ(cache.plan({"a", "b"}, t0 + minutes(5) - seconds(1)), (Ask{{}, false}));
  EXPECT_EQ(cache.plan({"a", "b"}, t0 + minutes(5)), (Ask{{"a", "b"}, true}));
}

TEST(MinIsrCache, NewTopicReadBetweenRefreshesDoesNotShiftTheRefreshSchedule) {
  MinIsrCache cache(kOptions);
  plan_and_answer(cache, {"a"}, t0, MinIsrOutcome::read(2));
  plan_and_answer(cache, {"a", "b"}, t0 + minutes(2), MinIsrOutcome::read(3));
  EXPECT_EQ(cache.plan({"a", "b"}, t0 + minutes(5)), (Ask{{"a", "b"}, true}));
}

TEST(MinIsrCache, RefreshedValueReplacesTheOldOne) {
  MinIsrCache cache(kOptions);
  plan_and_answer(cache, {"a"}, t0, MinIsrOutcome::read(2));
  plan_and_answer(cache, {"a"}, t0 + minutes(5), MinIsrOutcome::read(1));
  EXPECT_EQ(cache.lookup("a", t0 + minutes(5)), MinIsrOutcome::read(1));
}

TEST(MinIsrCache, FailedReadIsReportedAndRetriedOnlyAfterRetrySpacing) {
  MinIsrCache cache(kOptions);
  plan_and_answer(cache, {"a", "b"}, t0, MinIsrOutcome::read(2));
  // b is new at +10s and its read fails.
  const auto failed_at = t0 + seconds(10);
  cache.record(cache.plan({"a", "b", "c"}, failed_at),
               {{"c", MinIsrOutcome::failed("TOPIC_AUTHORIZATION_FAILED")}}, failed_at);
  EXPECT_EQ(cache.lookup("c", failed_at), MinIsrOutcome::failed("TOPIC_AUTHORIZATION_FAILED"));
  EXPECT_EQ(cache.plan({"a", "b", "c"}, failed_at + seconds(29)), (Ask{{}, false}));
  EXPECT_EQ(cache.plan({"a", "b", "c"}, failed_at + seconds(30)), (Ask{{"c"}, false}));
}

TEST(MinIsrCache, RetriedReadThatSucceedsClearsTheError) {
  MinIsrCache cache(kOptions);
  plan_and_answer(cache, {"a"}, t0, MinIsrOutcome::failed("REQUEST_TIMED_OUT"));
  plan_and_answer(cache, {"a"}, t0 + seconds(30), MinIsrOutcome::read(2));
  EXPECT_EQ(cache.lookup("a", t0 + seconds(30)), MinIsrOutcome::read(2));
  EXPECT_EQ(cache.plan({"a"}, t0 + seconds(60)), (Ask{{}, false}));
}

TEST(MinIsrCache, AskedTopicWithoutAnAnswerCountsAsFailed) {
  MinIsrCache cache(kOptions);
  const Ask ask = cache.plan({"a", "b"}, t0);
  cache.record(ask, {{"a", MinIsrOutcome::read(2)}}, t0);
  EXPECT_EQ(cache.lookup("a", t0), MinIsrOutcome::read(2));
  EXPECT_EQ(cache.lookup("b", t0), MinIsrOutcome::failed("no result for topic"));
  EXPECT_EQ(cache.plan({"a", "b"}, t0 + seconds(30)), (Ask{{"b"}, false}));
}

TEST(MinIsrCache, AnswersForTopicsNotAskedAreIgnored) {
  MinIsrCache cache(kOptions);
  const Ask ask = cache.plan({"a"}, t0);
  cache.record(ask, {{"a", MinIsrOutcome::read(2)}, {"zzz", MinIsrOutcome::read(3)}}, t0);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.lookup("zzz", t0), MinIsrOutcome::failed("not read yet"));
}

TEST(MinIsrCache, DeletedTopicsAreDroppedAndAskedAgainIfRecreated) {
  MinIsrCache cache(kOptions);
  plan_and_answer(cache, {"a", "b"}, t0, MinIsrOutcome::read(2));
  EXPECT_EQ(cache.plan({"a"}, t0 + seconds(5)), (Ask{{}, false}));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.lookup("b", t0 + seconds(5)), MinIsrOutcome::failed("not read yet"));
  EXPECT_EQ(cache.plan({"a", "b"}, t0 + seconds(10)), (Ask{{"b"}, false}));
}

TEST(MinIsrCache, FailedRefreshKeepsThePreviousValueUntilMaxAge) {
  MinIsrCache cache(kOptions);
  plan_and_answer(cache, {"a"}, t0, MinIsrOutcome::read(2));
  plan_and_answer(cache, {"a"}, t0 + minutes(5), MinIsrOutcome::failed("REQUEST_TIMED_OUT"));
  EXPECT_EQ(cache.lookup("a", t0 + minutes(5)), MinIsrOutcome::read(2));
  // Still retried at the retry spacing.
  EXPECT_EQ(cache.plan({"a"}, t0 + minutes(5) + seconds(30)), (Ask{{"a"}, false}));
  // Past max age (15 min after the last successful read) the value is unknown, with the last reason.
  EXPECT_EQ(cache.lookup("a", t0 + minutes(15) + seconds(1)), MinIsrOutcome::failed("REQUEST_TIMED_OUT"));
}

// Max age is inclusive, and the same whether or not a refresh failed at that moment: a value exactly
// max_age old is still used, one a millisecond older is not.
TEST(MinIsrCache, ValueExactlyMaxAgeOldIsStillUsedEvenIfItsRefreshJustFailed) {
  MinIsrCache cache(kOptions);
  plan_and_answer(cache, {"a", "b"}, t0, MinIsrOutcome::read(2));
  EXPECT_EQ(cache.lookup("b", t0 + minutes(15)), MinIsrOutcome::read(2));
  plan_and_answer(cache, {"a"}, t0 + minutes(15), MinIsrOutcome::failed("REQUEST_TIMED_OUT"));
  EXPECT_EQ(cache.lookup("a", t0 + minutes(15)), MinIsrOutcome::read(2));
  EXPECT_EQ(cache.lookup("a", t0 + minutes(15) + std::chrono::milliseconds(1)),
            MinIsrOutcome::failed("REQUEST_TIMED_OUT"));
}

TEST(MinIsrCache, FailedFullRefreshIsNotRepeatedOnEveryProbe) {
  MinIsrCache cache(kOptions);
  plan_and_answer(cache, {"a", "b"}, t0, MinIsrOutcome::failed("DescribeConfigs: no answer"));
  EXPECT_EQ(cache.plan({"a", "b"}, t0 + seconds(5)), (Ask{{}, false}));
  EXPECT_EQ(cache.plan({"a", "b"}, t0 + seconds(30)), (Ask{{"a", "b"}, false}));
}

TEST(MinIsrCache, UnansweredPlanIsAskedAgainOnTheNextProbe) {
  // A plan whose outcome was never recorded leaves the topics due.
  MinIsrCache cache(kOptions);
  EXPECT_EQ(cache.plan({"a"}, t0), (Ask{{"a"}, true}));
  EXPECT_EQ(cache.plan({"a"}, t0 + seconds(1)), (Ask{{"a"}, true}));
}

}  // namespace
}  // namespace isrguard::probes
