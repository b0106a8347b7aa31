// The simulator's models checked one by one against the facts docs/safety.md lists.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "tests/sim/model.h"

namespace isrguard::sim {
namespace {

std::string read(const std::string& rel) {
  std::ifstream in(std::string(ISRGUARD_SOURCE_DIR) + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---------------------------------------------------------------- settings follow the manifests
TEST(SimSettings, ReadinessProbeAndEnvComeFromTheDeployment) {
  const Settings s = shipped_settings(ISRGUARD_SOURCE_DIR);
  const std::string text = read("manifests/base/deployment.yaml");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(readinessProbe:[\s\S]*?periodSeconds: (\d+))")));
  EXPECT_EQ(s.kubelet_period, std::stoll(m[1].str()) * 1000);
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(readinessProbe:[\s\S]*?failureThreshold: (\d+))")));
  EXPECT_EQ(s.failure_threshold, std::stoi(m[1].str()));
  ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(ISRGUARD_POLL_INTERVAL\s*\n\s*value: (\d+)s)")));
  EXPECT_EQ(s.poll_interval, std::stoll(m[1].str()) * 1000);
}

// Values the deployment does not set fall back to the flag defaults, which docs/flags.md lists.
TEST(SimSettings, DefaultsMatchTheFlagsDoc) {
  const std::string flags = read("docs/flags.md");
  const Settings d;
  EXPECT_NE(flags.find("--poll-interval TEXT=" + std::to_string(d.poll_interval / 1000) + "s"), std::string::npos);
  EXPECT_NE(flags.find("--probe-timeout TEXT=" + std::to_string(d.probe_timeout / 1000) + "s"), std::string::npos);
  EXPECT_NE(flags.find("--stale-after TEXT=" + std::to_string(d.stale_after / 1000) + "s"), std::string::npos);
  EXPECT_NE(flags.find("--recovery-hold TEXT=" + std::to_string(d.recovery_hold / 1000) + "s"), std::string::npos);
}

// The simulator sets minAvailable = selected pods - 1, the rule every shipped pdb.yaml states and follows.
TEST(SimSettings, ShippedPdbsAreSelectedPodsMinusOne) {
  for (const char* overlay : {"statefulset", "strimzi"}) {
    const std::string text = read(std::string("manifests/overlays/") + overlay + "/pdb.yaml");
    std::smatch sel, min;
    ASSERT_TRUE(std::regex_search(text, sel, std::regex(R"(selected pods\s*=[^=\n]*= (\d+))"))) << overlay;
    ASSERT_TRUE(std::regex_search(text, min, std::regex(R"(\n\s*minAvailable: (\d+))"))) << overlay;
    EXPECT_EQ(std::stoi(min[1].str()), std::stoi(sel[1].str()) - 1) << overlay;
  }
}

// ---------------------------------------------------------------- PDB and Eviction API
std::vector<PdbPod> pods(const std::string& states) {  // R ready, N not ready, T terminating, P pending
  std::vector<PdbPod> out;
  for (std::size_t i = 0; i < states.size(); ++i)
    out.push_back({"p" + std::to_string(i), states[i] != 'P', states[i] == 'R', states[i] == 'T'});
  return out;
}

TEST(SimPdb, AllowedIsReadyPodsMinusMinAvailableNeverNegative) {
  struct Row {
    const char* states;
    int min_available, healthy, allowed;
  };
  for (const Row& r : {Row{"RRRRRRR", 6, 7, 1}, Row{"RRRRRRN", 6, 6, 0}, Row{"RRRRRNN", 6, 5, 0},
                       Row{"RRRRRRT", 6, 6, 0}, Row{"RRRRRRP", 6, 6, 0}, Row{"RRR", 1, 3, 2}}) {
    const PdbStatus s = recount(pods(r.states), r.min_available, {}, 0);
    EXPECT_EQ(s.current_healthy, r.healthy) << r.states;
    EXPECT_EQ(s.disruptions_allowed, r.allowed) << r.states;
    EXPECT_EQ(s.expected, static_cast<int>(std::string(r.states).size()));
  }
}

TEST(SimPdb, EvictionSpendsTheBudgetAtomicallyThenRefuses) {
  auto ps = pods("RRRR");
  PdbStatus s = recount(ps, 3, {}, 0);
  EXPECT_EQ(evict(ps[0], s, 10), EvictionCode::kCreated);
  EXPECT_EQ(s.disruptions_allowed, 0);
  EXPECT_EQ(s.disrupted_pods.at("p0"), 10);
  EXPECT_EQ(evict(ps[1], s, 11), EvictionCode::kTooManyRequests);
}

TEST(SimPdb, DisruptedPodIsNotHealthyUntilTerminatingOrTwoMinutesOld) {
  auto ps = pods("RRRR");
  PdbStatus s = recount(ps, 3, {}, 0);
  ASSERT_EQ(evict(ps[0], s, 0), EvictionCode::kCreated);
  EXPECT_EQ(recount(ps, 3, s, 1000).disruptions_allowed, 0);  // still Ready, not yet terminating
  EXPECT_EQ(recount(ps, 3, s, kDisruptedPodTimeout + 1).disruptions_allowed, 1);  // entry expired
  ps[0].terminating = true;
  const PdbStatus after = recount(ps, 3, s, 1000);
  EXPECT_TRUE(after.disrupted_pods.empty());
  EXPECT_EQ(after.disruptions_allowed, 0);
}

TEST(SimPdb, IfHealthyBudgetEvictsANotReadyPodOnlyWhileTheBudgetIsMet) {
  auto ps = pods("RRRN");
  PdbStatus s = recount(ps, 3, {}, 0);
  EXPECT_EQ(evict(ps[3], s, 0), EvictionCode::kCreated);  // healthy 3 >= desired 3
  EXPECT_EQ(s.disruptions_allowed, 0);
  EXPECT_TRUE(s.disrupted_pods.empty());
  auto worse = pods("RRNN");
  PdbStatus w = recount(worse, 3, {}, 0);
  EXPECT_EQ(evict(worse[3], w, 0), EvictionCode::kTooManyRequests);
}

TEST(SimPdb, TerminatingAndPendingPodsAreEvictedWithoutACheck) {
  auto ps = pods("RRTP");
  PdbStatus s = recount(ps, 3, {}, 0);
  ASSERT_EQ(s.disruptions_allowed, 0);
  EXPECT_EQ(evict(ps[2], s, 0), EvictionCode::kCreated);
  EXPECT_EQ(evict(ps[3], s, 0), EvictionCode::kCreated);
}

TEST(SimPdb, DryRunAnswersWithoutSpending) {
  auto ps = pods("RRRR");
  PdbStatus s = recount(ps, 3, {}, 0);
  EXPECT_EQ(evict(ps[0], s, 0, true), EvictionCode::kCreated);
  EXPECT_EQ(s.disruptions_allowed, 1);
  EXPECT_TRUE(s.disrupted_pods.empty());
}

TEST(SimKubelet, ThresholdsCountConsecutiveResults) {
  ReadinessProber p(2, 3);
  EXPECT_FALSE(p.observe(true));
  EXPECT_TRUE(p.observe(true));
  EXPECT_TRUE(p.observe(false));
  EXPECT_TRUE(p.observe(false));
  EXPECT_TRUE(p.observe(true));  // a success resets the failures
  EXPECT_TRUE(p.observe(false));
  EXPECT_TRUE(p.observe(false));
  EXPECT_FALSE(p.observe(false));
}

// ---------------------------------------------------------------- Kafka
KafkaModel three() { return KafkaModel(3, {{"t", 3, 3, 2}}, 0); }

TEST(SimKafka, PlacementSpreadsReplicasAndLeaders) {
  const KafkaModel k = three();
  ASSERT_EQ(k.partitions().size(), 3u);
  EXPECT_EQ(k.partitions()[0].replicas, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(k.partitions()[1].replicas, (std::vector<int>{2, 3, 1}));
  EXPECT_EQ(k.partitions()[2].leader, 3);
}

TEST(SimKafka, ControlledShutdownMovesLeadershipAndLeavesIsrsAtOnce) {
  KafkaModel k = three();
  k.begin_shutdown(1, 0);
  for (const auto& p : k.partitions()) {
    EXPECT_FALSE(probes::contains_id(p.isr, 1));
    EXPECT_NE(p.leader, 1);
  }
  EXPECT_TRUE(k.broker(1).registered);  // listed until the process exits
  k.process_exit(1, 5000);
  EXPECT_FALSE(k.broker(1).registered);
}

TEST(SimKafka, CrashKeepsMetadataUntilTheSessionExpires) {
  KafkaModel k = three();
  k.crash(2, 0);
  EXPECT_TRUE(probes::contains_id(k.partitions()[0].isr, 2));  // metadata still lists it
  EXPECT_EQ(k.true_in_sync(k.partitions()[0]), 2);             // the truth does not
  EXPECT_TRUE(k.broker(2).registered);
  k.expire_session(2);
  EXPECT_FALSE(probes::contains_id(k.partitions()[0].isr, 2));
  EXPECT_NE(k.partitions()[1].leader, 2);
  EXPECT_FALSE(k.broker(2).registered);
}

TEST(SimKafka, HungBrokerDropsOutOnlyAsFollowerAfterTheLagTime) {
  KafkaModel k = three();
  k.hang(1, 0);
  k.drop_lagging_follower(1);
  EXPECT_TRUE(probes::contains_id(k.partitions()[0].isr, 1));   // it leads partition 0: nobody shrinks it
  EXPECT_FALSE(probes::contains_id(k.partitions()[1].isr, 1));  // follower of 2's partition: dropped
  EXPECT_TRUE(k.broker(1).registered);
}

TEST(SimKafka, RestartedBrokerRejoinsIsrsOnlyAfterCatchingUp) {
  KafkaModel k = three();
  k.begin_shutdown(3, 0);
  k.process_exit(3, 1000);
  k.start(3);
  k.register_broker(3);
  EXPECT_EQ(k.true_in_sync(k.partitions()[0]), 2);
  EXPECT_FALSE(k.unsafe_to_take(1).empty());  // min ISR 2: taking 1 leaves 1 in sync
  k.rejoin_isr(3);
  EXPECT_EQ(k.true_in_sync(k.partitions()[0]), 3);
  EXPECT_TRUE(k.unsafe_to_take(1).empty());
}

TEST(SimKafka, MetadataIsWhatTheControllerRecords) {
  KafkaModel k = three();
  k.crash(1, 0);
  k.expire_session(1);
  const auto s = k.metadata();
  ASSERT_EQ(s.brokers.size(), 2u);
  EXPECT_EQ(s.controller_id, 2);
  ASSERT_EQ(s.topics.size(), 1u);
  EXPECT_EQ(s.topics[0].min_insync_replicas, 2);
  EXPECT_EQ(s.topics[0].partitions[0].leader, 2);
}

// The cached snapshot is the one built afresh after every kind of change.
TEST(SimKafka, CachedMetadataFollowsEveryChange) {
  KafkaModel k(5, {{"a", 6, 3, 2}, {"b", 4, 2, 1}}, 1);
  Rng r(11);
  for (int step = 0; step < 2000; ++step) {
    const int b = static_cast<int>(r.between(1, 5));
    switch (r.between(0, 8)) {
      case 0: k.begin_shutdown(b, step); break;
      case 1: k.process_exit(b, step); break;
      case 2: k.crash(b, step); break;
      case 3: k.expire_session(b); break;
      case 4: k.hang(b, step); break;
      case 5: k.drop_lagging_follower(b); break;
      case 6: k.start(b); break;
      case 7: k.register_broker(b); break;
      default: k.rejoin_isr(b); break;
    }
    ASSERT_EQ(k.metadata(), k.build_metadata()) << "step " << step;
    ASSERT_EQ(k.metadata(), k.build_metadata()) << "step " << step << ", asked twice";
  }
}

TEST(SimRng, SameSeedSameStream) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next(), b.next());
  EXPECT_NE(Rng(42).next(), c.next());
  Rng r(7);
  for (int i = 0; i < 1000; ++i) {
    const Ms v = r.between(3, 5);
    EXPECT_TRUE(v >= 3 && v <= 5);
  }
}

}  // namespace
}  // namespace isrguard::sim
