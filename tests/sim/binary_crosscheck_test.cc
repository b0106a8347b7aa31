// The simulated probe against the real thing: for a handful of model states, the gating reasons the
// simulator's snapshot gets from the judgement equal those the real isrguard binary (--once) reports when
// kafkasim serves the same cluster over the Kafka protocol on loopback.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "service/judge/policy.h"
#include "service/judge/verdict.h"
#include "tests/kafkasim/cluster.h"
#include "tests/sim/scenario.h"
#include "tests/support/binary_process.h"

namespace isrguard::sim {
namespace {

std::set<std::string> simulated_gating(const KafkaModel& k) {
  std::map<int, int> seen;
  Rng rng(1);
  Ms duration = 0;
  const auto snap = simulated_probe(k, seen, 2000, rng, &duration);
  if (!snap) return {"probe_failed"};
  service::Policy policy = service::Policy::with_defaults();
  policy.compile();
  const auto codes = service::judge_first(*snap, policy, service::SteadyClock::now()).gating_codes();
  return {codes.begin(), codes.end()};
}

// kafkasim serving the model's cluster: every broker, the unregistered ones down, the hung ones hung.
std::set<std::string> binary_gating(const KafkaModel& k) {
  std::vector<int32_t> ids;
  for (int b = 1; b <= k.broker_count(); ++b) ids.push_back(b);
  kafkasim::ClusterSpec spec = kafkasim::make_cluster(ids);
  std::map<std::string, std::vector<kafkasim::PartitionSpec>> parts;
  std::map<std::string, int> min_isr;
  for (const auto& p : k.partitions()) {
    parts[p.topic].push_back(
        kafkasim::make_partition(p.id, p.leader, {p.replicas.begin(), p.replicas.end()},
                                 {p.isr.begin(), p.isr.end()}, static_cast<int16_t>(p.leader == -1 ? 5 : 0)));
    min_isr[p.topic] = p.min_isr;
  }
  for (auto& [name, ps] : parts)
    spec.topics.push_back(kafkasim::make_topic(name, ps, {{"min.insync.replicas", std::to_string(min_isr[name])}}));
  kafkasim::Cluster cluster(spec);
  cluster.start();
  cluster.set_controller(k.metadata().controller_id);
  const std::string bootstrap = cluster.bootstrap_servers();
  for (int b = 1; b <= k.broker_count(); ++b) {
    if (!k.broker(b).registered) cluster.broker_down(b);
    else if (k.broker(b).state == BrokerState::kHung) cluster.broker_hang(b);
  }
  const auto r = testing::run({"--bootstrap-servers", bootstrap, "--once", "--output", "json", "--probe-timeout",
                               "10s"});  // room for a sanitizer build; hung checks still end at --broker-slow-after
  std::set<std::string> codes;
  const nlohmann::json answer = nlohmann::json::parse(r.out);
  for (const auto& reason : answer.at("reasons"))
    if (reason.at("gating").get<bool>()) codes.insert(reason.at("code").get<std::string>());
  return codes;
}

KafkaModel cluster() { return KafkaModel(4, {{"a", 6, 3, 2}, {"b", 4, 2, 1}}, 0); }

struct State {
  const char* name;
  std::function<void(KafkaModel&)> make;
};

TEST(SimBinaryCrossCheck, SimulatedProbeJudgesAsTheRealBinary) {
  const std::vector<State> states = {
      {"healthy", [](KafkaModel&) {}},
      {"broker 2 shut down", [](KafkaModel& k) { k.begin_shutdown(2, 0), k.process_exit(2, 0); }},
      {"broker 2 back, not caught up",
       [](KafkaModel& k) { k.begin_shutdown(2, 0), k.process_exit(2, 0), k.start(2), k.register_broker(2); }},
      {"broker 3 crashed, session expired", [](KafkaModel& k) { k.crash(3, 0), k.expire_session(3); }},
      {"brokers 1 and 2 crashed: offline",
       [](KafkaModel& k) { k.crash(1, 0), k.expire_session(1), k.crash(2, 0), k.expire_session(2); }},
      {"broker 4 hung", [](KafkaModel& k) { k.hang(4, 0); }},
  };
  for (const auto& st : states) {
    KafkaModel k = cluster();
    st.make(k);
    const auto sim = simulated_gating(k);
    EXPECT_EQ(sim, binary_gating(k)) << st.name;
    if (std::string(st.name) == "healthy") EXPECT_TRUE(sim.empty());
    else EXPECT_FALSE(sim.empty()) << st.name;
  }
}

}  // namespace
}  // namespace isrguard::sim
