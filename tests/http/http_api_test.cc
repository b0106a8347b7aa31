// The HTTP API as a pure mapping from (request, published state, now) to response: every route, status
// code and body rule, without sockets. State comes from a real ProbeLoop fed by a scripted source, with an
// injected clock.
#include "service/views/http_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "service/runtime/probe_loop.h"
#include "service/judge/reasons.h"
#include "tests/support/builders.h"
#include "tests/support/scripted_source.h"

namespace isrguard::service {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::healthy_topic;
using testing::SnapshotBuilder;
using testing::TopicBuilder;

probes::ClusterSnapshot healthy() {
  return SnapshotBuilder()
      .brokers({1, 2, 3})
      .topic(healthy_topic("orders", 3, 3, {1, 2, 3}, 2))
      .topic(healthy_topic("payments", 2, 3, {1, 2, 3}, 2))
      .build();
}
// Broker 3 gone: its ISR entries dropped; orders-1 lost its leader (it was 3, no ISR member took over).
probes::ClusterSnapshot broker3_lost() {
  return SnapshotBuilder()
      .brokers({1, 2})
      .topic(TopicBuilder("orders")
                 .min_isr(2)
                 .p(1, {1, 2, 3}, {1, 2})
                 .p(-1, {3, 1, 2}, {3})
                 .p(2, {2, 3, 1}, {2, 1}))
      .topic(TopicBuilder("payments").min_isr(2).p(1, {1, 2, 3}, {1, 2}).p(2, {2, 3, 1}, {2, 1}))
      .build();
}

struct Fixture : ::testing::Test {
  Fixture() {
    policy = Policy::with_defaults();
    policy.expected_brokers = {1, 2, 3};
    policy.fleets = {FleetRule{"ec2", {{1, 2}}, ""}, FleetRule{"k8s", {{3, 3}}, ""}};
    policy.list_cap = 2;
    policy.compile();
    loop = std::make_unique<ProbeLoop>(source, policy, GateConfig{seconds(30)}, seconds(60));
    options.stale_after = seconds(60);
    options.live_after = seconds(40);
    options.status.config = {{"bootstrap_servers", "b1:9092"}, {"kafka.sasl.password", "<redacted>"}};
    options.status.version = "9.9.9";
    options.status.commit = "abc123";
    options.status.list_cap = 1;
    options.metrics.partition_cap = 1;
    options.metrics.version = "9.9.9";
    options.metrics.commit = "abc123";
    api = std::make_unique<Api>(*loop, policy, options);
  }
  // Probe at t0 + `at`.
  void probe_at(seconds at, probes::ProbeResult r) {
    source.set(std::move(r));
    loop->run_once(t0 + at, wall0 + at);
  }
  HttpResponse get(const std::string& path, seconds at, std::multimap<std::string, std::string> params = {}) {
    return api->handle(HttpRequest{"GET", path, std::move(params)}, t0 + at, wall0 + at);
  }
  json get_json(const std::string& path, seconds at, std::multimap<std::string, std::string> params = {}) {
    auto r = get(path, at, std::move(params));
    EXPECT_EQ(r.content_type, "application/json");
    return json::parse(r.body);
  }

  const SteadyClock::time_point t0 = SteadyClock::now();
  const std::chrono::system_clock::time_point wall0 =
      std::chrono::system_clock::time_point(seconds(1'800'000'000));
  testing::ScriptedSource source;
  Policy policy;
  std::unique_ptr<ProbeLoop> loop;
  ApiOptions options;
  std::unique_ptr<Api> api;
};

std::vector<std::string> codes_of(const json& reasons) {
  std::vector<std::string> out;
  for (const auto& r : reasons) out.push_back(r["code"]);
  return out;
}

TEST_F(Fixture, UnknownPathIs404AndWrongMethodIs405) {
  EXPECT_EQ(get("/nope", seconds(0)).status, 404);
  auto r = api->handle(HttpRequest{"POST", "/readyz", {}}, t0, wall0);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers, (std::vector<std::pair<std::string, std::string>>{{"Allow", "GET, HEAD"}}));
  EXPECT_EQ(api->handle(HttpRequest{"DELETE", "/nope", {}}, t0, wall0).status, 404);
  EXPECT_EQ(api->handle(HttpRequest{"HEAD", "/livez", {}}, t0, wall0).status, 200);
}

TEST_F(Fixture, NotReadyBeforeTheFirstProbe) {
  auto r = get("/readyz", seconds(0));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready: initializing\n");
  auto v = get("/readyz", seconds(0), {{"verbose", ""}});
  EXPECT_NE(v.body.find("[-]first_probe failed: no successful probe yet\n"), std::string::npos) << v.body;
  EXPECT_NE(v.body.find("readyz check failed\n"), std::string::npos);
  auto s = get_json("/v1/status", seconds(0));
  EXPECT_EQ(s["ready"], false);
  EXPECT_EQ(s["gate"]["state"], "initializing");
  EXPECT_TRUE(s["cluster"].is_null());
  EXPECT_TRUE(s["snapshot_age_seconds"].is_null());
}

TEST_F(Fixture, ReadyOnlyAfterTheRecoveryHold) {
  probe_at(seconds(0), testing::ok(healthy()));
  EXPECT_EQ(get("/readyz", seconds(1)).status, 503);
  auto verbose = get("/readyz", seconds(1), {{"verbose", "1"}}).body;
  EXPECT_NE(verbose.find("[-]gate failed: recovering"), std::string::npos) << verbose;
  probe_at(seconds(30), testing::ok(healthy()));
  auto r = get("/readyz", seconds(31));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(get("/readyz", seconds(31), {{"verbose", ""}}).body,
            "[+]first_probe ok\n"
            "[+]offline_partitions ok\n"
            "[+]under_replicated_partitions ok\n"
            "[+]under_min_isr_partitions ok\n"
            "[+]brokers_missing ok\n"
            "[+]brokers_unresponsive ok\n"
            "[+]brokers_reconnected ok\n"
            "[+]controller_unknown ok\n"
            "[+]metadata_errors ok\n"
            "[+]probe_failed ok\n"
            "[+]snapshot_stale ok\n"
            "[+]override_freeze ok\n"
            "[+]gate ok\n"
            "readyz check passed\n");
}

// kube-apiserver's healthz handler (k8s.io/apiserver v0.36.3, pkg/server/healthz/healthz.go) writes
// "[+]<name> ok" for a passing check and "[-]<name> failed: ..." for a failing one, may add "warn: ..."
// lines, and ends with "<name> check passed" or "<name> check failed". Tools that parse it rely on exactly
// that.
TEST_F(Fixture, VerboseReadyzFollowsTheKubeApiserverFormat) {
  const std::regex check(R"(\[\+\][a-z_]+ ok|\[-\][a-z_]+ failed: .+|warn: .+)");
  auto expect_format = [&](seconds at, const std::string& last) {
    std::istringstream body(get("/readyz", at, {{"verbose", ""}}).body);
    std::vector<std::string> lines;
    for (std::string line; std::getline(body, line);) lines.push_back(line);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.back(), last);
    for (std::size_t i = 0; i + 1 < lines.size(); ++i)
      EXPECT_TRUE(std::regex_match(lines[i], check)) << "line " << i << ": " << lines[i];
  };
  probe_at(seconds(0), testing::ok(healthy()));
  probe_at(seconds(30), testing::ok(healthy()));
  expect_format(seconds(31), "readyz check passed");
  probe_at(seconds(35), testing::ok(broker3_lost()));  // at_min_isr_partitions active but not gating
  expect_format(seconds(36), "readyz check failed");
  const auto failed = get("/readyz", seconds(36), {{"verbose", ""}}).body;
  EXPECT_NE(failed.find("[-]gate failed: closed\n"), std::string::npos) << failed;
  EXPECT_NE(failed.find("warn: at_min_isr_partitions reported, not gating: "), std::string::npos) << failed;
}

TEST_F(Fixture, BrokerLossClosesWithEveryReasonNamed) {
  probe_at(seconds(0), testing::ok(healthy()));
  probe_at(seconds(30), testing::ok(healthy()));
  probe_at(seconds(35), testing::ok(broker3_lost()));
  auto r = get("/readyz", seconds(36));
  EXPECT_EQ(r.status, 503);
  // at_min_isr_partitions is reported (ISR {1,2} == min ISR 2) but does not gate by default.
  EXPECT_EQ(r.body, "not ready: offline_partitions,under_replicated_partitions,brokers_missing\n");
  auto verbose = get("/readyz", seconds(36), {{"verbose", ""}}).body;
  EXPECT_NE(verbose.find("[-]brokers_missing failed: "), std::string::npos) << verbose;
  EXPECT_NE(verbose.find("[+]probe_failed ok\n"), std::string::npos);

  auto s = get_json("/v1/status", seconds(36));
  EXPECT_EQ(s["ready"], false);
  EXPECT_EQ(codes_of(s["reasons"]),
            (std::vector<std::string>{"offline_partitions", "under_replicated_partitions",
                                      "at_min_isr_partitions", "brokers_missing"}));
  EXPECT_EQ(s["gate"]["state"], "closed");
  EXPECT_EQ(s["gate"]["transitions"], 3);
  // The gate closed when that probe ended (35 s + its 3 ms).
  EXPECT_DOUBLE_EQ(s["gate"]["seconds_in_state"].get<double>(), 0.997);
  EXPECT_DOUBLE_EQ(s["snapshot_age_seconds"].get<double>(), 1.0);
  // Brokers side by side with fleet and state; the missing one is listed with zero counts.
  ASSERT_EQ(s["brokers"].size(), 3u);
  EXPECT_EQ(s["brokers"][2]["id"], 3);
  EXPECT_EQ(s["brokers"][2]["fleet"], "k8s");
  EXPECT_EQ(s["brokers"][2]["state"], "missing");
  EXPECT_EQ(s["brokers"][0]["fleet"], "ec2");
  EXPECT_EQ(s["brokers"][0]["state"], "up");
  EXPECT_EQ(s["brokers"][0]["under_replicated_led"], 2);  // orders-0, payments-0
  // Capped list, true total: orders-0, orders-1, orders-2 and payments-0, payments-1 lost broker 3.
  EXPECT_EQ(s["unhealthy_partitions"]["total"], 5);
  EXPECT_EQ(s["unhealthy_partitions"]["items"].size(), 2u);
  EXPECT_EQ(s["unhealthy_partitions"]["items"][1]["topic"], "orders");
  EXPECT_EQ(s["unhealthy_partitions"]["items"][1]["partition"], 1);
  EXPECT_EQ(s["unhealthy_partitions"]["items"][1]["leader"], -1);
  EXPECT_EQ(s["counts"]["offline"], 1);
  // Unhealthy topics: capped list (status list cap 1), true total.
  EXPECT_EQ(s["unhealthy_topics"]["total"], 2);
  ASSERT_EQ(s["unhealthy_topics"]["items"].size(), 1u);
  EXPECT_EQ(s["unhealthy_topics"]["items"][0]["name"], "orders");
  EXPECT_EQ(s["unhealthy_topics"]["items"][0]["offline"], 1);
  EXPECT_EQ(s["config"]["kafka.sasl.password"], "<redacted>");
  EXPECT_EQ(s["version"], "9.9.9");
}

TEST_F(Fixture, ProbeFailureIsReportedWithItsKind) {
  probe_at(seconds(0), testing::ok(healthy()));
  probe_at(seconds(5), testing::fail("timeout", "metadata request timed out after 10000ms"));
  auto r = get("/readyz", seconds(6));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready: probe_failed\n");
  auto s = get_json("/v1/status", seconds(6));
  EXPECT_EQ(s["probe"]["last_error"]["kind"], "timeout");
  EXPECT_EQ(s["probe"]["failures"]["timeout"], 1);
  EXPECT_EQ(s["probe"]["total"], 2);
}

TEST_F(Fixture, StaleSnapshotClosesEvenWithoutANewProbe) {
  probe_at(seconds(0), testing::ok(healthy()));
  probe_at(seconds(30), testing::ok(healthy()));
  EXPECT_EQ(get("/readyz", seconds(31)).status, 200);
  // The loop wedged: no probe for 91 s; readiness is computed at read time and fails closed.
  auto r = get("/readyz", seconds(121));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "not ready: snapshot_stale\n");
}

TEST_F(Fixture, LivezFollowsTheLoopHeartbeatNotKafka) {
  probe_at(seconds(0), testing::fail("transport", "all brokers down"));
  // The heartbeat is stamped with the real clock at the end of run_once: judge relative to it.
  const auto beat = loop->current()->loop_heartbeat;
  const auto rel = [&](seconds s) { return std::chrono::duration_cast<seconds>(beat - t0) + s; };
  EXPECT_EQ(get("/livez", rel(seconds(10))).status, 200);  // Kafka down is not a liveness failure
  auto dead = get("/livez", rel(seconds(45)));
  EXPECT_EQ(dead.status, 503);
  EXPECT_NE(dead.body.find("probe loop silent"), std::string::npos);
}

TEST_F(Fixture, PartitionsFilterByStateAndTopicWithLimit) {
  probe_at(seconds(0), testing::ok(broker3_lost()));
  auto all = get_json("/v1/partitions", seconds(1));
  EXPECT_EQ(all["total"], 5);
  EXPECT_EQ(all["listed"], 2);  // default limit = list cap
  auto offline = get_json("/v1/partitions", seconds(1), {{"state", "offline"}});
  EXPECT_EQ(offline["total"], 1);
  EXPECT_EQ(offline["items"][0]["partition"], 1);
  auto pay = get_json("/v1/partitions", seconds(1),
                      {{"topic", "payments"}, {"state", "under_replicated,offline"}, {"limit", "10"}});
  EXPECT_EQ(pay["total"], 2);
  EXPECT_EQ(pay["listed"], 2);
  auto healthy_ones = get_json("/v1/partitions", seconds(1), {{"state", "healthy"}});
  EXPECT_EQ(healthy_ones["total"], 0);
  EXPECT_EQ(get("/v1/partitions", seconds(1), {{"state", "sad"}}).status, 400);
  EXPECT_EQ(get("/v1/partitions", seconds(1), {{"limit", "-3"}}).status, 400);
  EXPECT_EQ(get("/v1/partitions", seconds(1), {{"limit", "99999999"}}).status, 400);
  EXPECT_EQ(get("/v1/partitions", seconds(1), {{"limit", "10001"}}).status, 400);
  EXPECT_EQ(get("/v1/partitions", seconds(1), {{"limit", "10000"}}).status, 200);  // the ceiling is inclusive
}

// The probe loop indexes the unhealthy partitions once per probe; /v1/partitions answers from that index
// exactly what a walk over every partition answers, for every state, topic and limit.
TEST_F(Fixture, PartitionsFromTheProbeIndexEqualAFullWalk) {
  probe_at(seconds(0), testing::ok(broker3_lost()));
  const auto indexed = loop->current();
  ASSERT_NE(indexed->unhealthy_partitions, nullptr);
  EXPECT_EQ(indexed->unhealthy_partitions->size(), 5u);  // every partition of broker3_lost is unhealthy
  PublishedState walked = *indexed;
  walked.unhealthy_partitions = nullptr;
  std::vector<std::vector<std::string>> state_sets = {{}, {"unhealthy"}, {"healthy"}, {"healthy", "offline"}};
  for (auto st : pstate::kAll) state_sets.push_back({std::string(st)});
  state_sets.push_back({"under_replicated", "offline"});
  for (const auto& states : state_sets) {
    for (const std::optional<std::string>& topic :
         {std::optional<std::string>{}, std::optional<std::string>{"orders"}, std::optional<std::string>{"payments"},
          std::optional<std::string>{"nope"}}) {
      for (std::size_t limit : {0, 1, 2, 10}) {
        const PartitionQuery q{states, topic, limit};
        std::string e1, e2;
        const auto a = partitions_json(*indexed, policy, q, &e1);
        const auto b = partitions_json(walked, policy, q, &e2);
        ASSERT_TRUE(a && b) << e1 << e2;
        EXPECT_EQ(*a, *b) << a->dump() << "\n" << b->dump();
      }
    }
  }
  // And the index is what answers: without its entries nothing unhealthy is listed.
  PublishedState emptied = *indexed;
  emptied.unhealthy_partitions = std::make_shared<const std::vector<IndexedPartition>>();
  EXPECT_EQ((*partitions_json(emptied, policy, PartitionQuery{}, nullptr))["total"], 0);
}

TEST_F(Fixture, PartitionsBeforeTheFirstProbeAreEmpty) {
  auto j = get_json("/v1/partitions", seconds(0));
  EXPECT_EQ(j["total"], 0);
  EXPECT_TRUE(j["items"].empty());
}

TEST_F(Fixture, BeforeTheFirstProbeTimeInStateCountsFromStartNotFromBoot) {
  // The steady clock's epoch is the machine's boot: a gate "since" left at the epoch reads as its uptime.
  auto s = get_json("/v1/status", seconds(3));
  EXPECT_EQ(s["gate"]["state"], "initializing");
  EXPECT_GE(s["gate"]["seconds_in_state"].get<double>(), 2.0);
  EXPECT_LE(s["gate"]["seconds_in_state"].get<double>(), 4.0);
}

double metric_value(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST_F(Fixture, MetricsReadinessIsComputedAtRenderTimeLikeReadyz) {
  probe_at(seconds(0), testing::ok(healthy()));
  probe_at(seconds(30), testing::ok(healthy()));
  EXPECT_EQ(metric_value(get("/metrics", seconds(31)).body, "isrguard_ready"), 1);
  // No probe since: the gate still says open, but the snapshot is stale at render time (stale_after 60 s).
  ASSERT_TRUE(loop->current()->gate.ready);
  EXPECT_EQ(metric_value(get("/metrics", seconds(91)).body, "isrguard_ready"), 0);
  EXPECT_EQ(get("/readyz", seconds(91)).status, 503);
}

TEST(ApiOptions, LivenessWindowCoversASlowProbeAndMore) {
  // An iteration takes up to poll interval + probe timeout; a loop that is merely slow must stay live
  // (a restart would hide the problem). The documented window: 2 x (interval + timeout) + 10 s.
  Config c;
  c.poll_interval = seconds(5);
  c.probe_timeout = seconds(10);
  EXPECT_EQ(ApiOptions::from_config(c).live_after, seconds(40));
}

TEST_F(Fixture, LivezStaysUpThroughOneWholeSlowIterationWithConfiguredWindow) {
  Config c;
  c.poll_interval = seconds(5);
  c.probe_timeout = seconds(10);
  const Api configured(*loop, policy, ApiOptions::from_config(c));
  probe_at(seconds(0), testing::fail("timeout", "metadata request timed out"));
  const auto beat = loop->current()->loop_heartbeat;
  auto livez_after = [&](seconds silence) {
    return configured.handle(HttpRequest{"GET", "/livez", {}}, beat + silence, wall0).status;
  };
  EXPECT_EQ(livez_after(seconds(15)), 200);  // one poll interval + one whole probe timeout
  EXPECT_EQ(livez_after(seconds(40)), 200);
  EXPECT_EQ(livez_after(seconds(41)), 503);
}

// ---- /v1/disruption ----

TEST_F(Fixture, DisruptionBeforeTheFirstProbeIs503AndBadInputIs400) {
  EXPECT_EQ(get("/v1/disruption", seconds(0), {{"brokers", "1"}}).status, 503);
  EXPECT_EQ(get("/v1/disruption", seconds(0), {{"brokers", "one"}}).status, 400);  // checked before the state
  probe_at(seconds(0), testing::ok(healthy()));
  const std::pair<std::multimap<std::string, std::string>, std::string> bad[] = {
      {{}, "no brokers to disrupt: give brokers=, fleet= or rack="},
      {{{"brokers", "3,x"}}, "brokers: '3,x' is not a list of broker ids like 3,101 or 1-3"},
      {{{"brokers", ""}}, "brokers: '' is not a list of broker ids like 3,101 or 1-3"},
      {{{"fleet", "gke"}}, "unknown fleet 'gke'; fleets: default,ec2,k8s"},
      {{{"rack", "us-east-1a"}}, "unknown rack 'us-east-1a': no broker reports broker.rack"},
  };
  for (const auto& [params, error] : bad) {
    auto r = get("/v1/disruption", seconds(1), params);
    EXPECT_EQ(r.status, 400) << error;
    EXPECT_EQ(json::parse(r.body), (json{{"error", error}})) << r.body;
  }
}

TEST_F(Fixture, DisruptionHealthyBrokerIs200WithTheResolvedSet) {
  probe_at(seconds(0), testing::ok(healthy()));
  auto r = get("/v1/disruption", seconds(2), {{"brokers", "1"}});
  EXPECT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["safe"], true);
  EXPECT_EQ(j["brokers"], json::parse(R"([{"id":1,"fleet":"ec2","rack":null,"present":true,"known":true}])"));
  EXPECT_EQ(j["counts"]["affected"], 5);
  EXPECT_EQ(j["counts"]["at_min_isr"], 5);  // RF 3, min ISR 2: one of three gone leaves exactly min
  EXPECT_EQ(j["blocking"], json::parse(R"({"total":0,"items":[]})"));
  EXPECT_EQ(j["gate"], json::parse(R"({"state":"recovering","ready":false})"));
  EXPECT_EQ(j["snapshot_age_seconds"], 2.0);
  // Two of three replicas of every partition: unsafe.
  auto two = get("/v1/disruption", seconds(2), {{"fleet", "ec2"}});
  EXPECT_EQ(two.status, 409);
  EXPECT_EQ(json::parse(two.body)["counts"]["blocking"], 5);
}

TEST_F(Fixture, DisruptionWithAnUnknownBrokerIdIs400NamingIt) {
  probe_at(seconds(0), testing::ok(healthy()));
  auto r = get("/v1/disruption", seconds(2), {{"brokers", "1"}, {"brokers", "99"}});
  EXPECT_EQ(r.status, 400) << r.body;
  const auto j = json::parse(r.body);
  ASSERT_TRUE(j.contains("error")) << r.body;
  EXPECT_NE(j["error"].get<std::string>().find("unknown broker id 99"), std::string::npos) << r.body;
  EXPECT_NE(j["error"].get<std::string>().find("known ids: 1,2,3"), std::string::npos) << r.body;
}

TEST_F(Fixture, DisruptionAfterBrokerLossNamesTheBlockingPartitions) {
  probe_at(seconds(0), testing::ok(broker3_lost()));
  auto r = get("/v1/disruption", seconds(0), {{"brokers", "1"}});
  EXPECT_EQ(r.status, 409) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["safe"], false);
  EXPECT_EQ(j["absent_brokers"], json::array({3}));
  EXPECT_EQ(j["blocking"]["total"], 4);
  EXPECT_EQ(j["blocking"]["items"][0], json::parse(R"({"topic":"orders","partition":0,"leader":1,
      "replicas":[1,2,3],"isr":[1,2],"isr_after":[2],"min_isr":2,"outcome":"under_min_isr","min_isr_risk":false,
      "min_isr_source":"topic"})"));
  // orders-1 is already offline (its only in-sync replica is the lost broker 3): reported, not blocking.
  EXPECT_EQ(j["already_unhealthy"]["total"], 1);
  EXPECT_EQ(j["already_unhealthy"]["items"][0]["outcome"], "offline");
  EXPECT_EQ(j["already_unhealthy"]["items"][0]["blocking"], false);
  // The lost broker itself: already gone, nothing changes.
  EXPECT_EQ(get("/v1/disruption", seconds(0), {{"brokers", "3"}}).status, 200);
}

TEST_F(Fixture, DisruptionIsUnknownWhileTheProbeFails) {
  probe_at(seconds(0), testing::ok(healthy()));
  probe_at(seconds(5), testing::fail("timeout", "metadata request timed out after 10000ms"));
  auto r = get("/v1/disruption", seconds(5), {{"brokers", "1"}});
  EXPECT_EQ(r.status, 409);
  auto j = json::parse(r.body);
  ASSERT_EQ(j["unknown"].size(), 1u);
  EXPECT_EQ(j["unknown"][0]["code"], "probe_failed");
  EXPECT_EQ(j["blocking"]["total"], 0);
  // Stale: the read-time reason counts too, even without a new probe.
  probe_at(seconds(6), testing::ok(healthy()));
  auto stale = json::parse(get("/v1/disruption", seconds(100), {{"brokers", "1"}}).body);
  EXPECT_EQ(stale["unknown"][0]["code"], "snapshot_stale");
}

TEST_F(Fixture, StatusShowsEachBrokersDisruptionSafety) {
  probe_at(seconds(0), testing::ok(broker3_lost()));
  auto s = get_json("/v1/status", seconds(0));
  ASSERT_EQ(s["brokers"].size(), 3u);
  EXPECT_EQ(s["brokers"][0]["rack"], nullptr);
  EXPECT_EQ(s["brokers"][0]["safe_to_disrupt"], false);
  EXPECT_EQ(s["brokers"][0]["disruption_blocking_partitions"], 4);
  EXPECT_EQ(s["brokers"][2]["id"], 3);
  EXPECT_EQ(s["brokers"][2]["safe_to_disrupt"], true);
  EXPECT_EQ(s["brokers"][2]["disruption_blocking_partitions"], 0);
}

}  // namespace
}  // namespace isrguard::service

namespace isrguard::service {
namespace {

// Query parameters: each named once except `state`, values that mean what they say, and bytes that are not
// UTF-8 answered 400 (they used to reach the JSON writer, which threw: 500 and an error line per request).
TEST_F(Fixture, VerboseFalseOrZeroIsNotVerbose) {
  const auto terse = get("/readyz", seconds(0));
  const auto verbose = get("/readyz", seconds(0), {{"verbose", "true"}});
  ASSERT_NE(terse.body, verbose.body);
  EXPECT_EQ(get("/readyz", seconds(0), {{"verbose", "false"}}), terse);
  EXPECT_EQ(get("/readyz", seconds(0), {{"verbose", "0"}}), terse);
  EXPECT_EQ(get("/readyz", seconds(0), {{"verbose", "1"}}), verbose);
  EXPECT_EQ(get("/readyz", seconds(0), {{"verbose", ""}}), verbose);  // bare ?verbose
  EXPECT_EQ(get("/readyz", seconds(0), {{"verbose", "maybe"}}).status, 400);
}

TEST_F(Fixture, RepeatingASingleValuedParameterIs400) {
  probe_at(seconds(0), testing::ok(broker3_lost()));
  const auto twice = [&](const std::string& path, const std::string& key, const std::string& a,
                         const std::string& b) { return get(path, seconds(1), {{key, a}, {key, b}}); };
  EXPECT_EQ(twice("/v1/partitions", "limit", "2", "-1").status, 400);
  EXPECT_EQ(twice("/v1/partitions", "topic", "payments", "orders").status, 400);
  EXPECT_EQ(twice("/readyz", "verbose", "1", "0").status, 400);
  // `state` is the one documented repeatable parameter: the values add up.
  EXPECT_EQ(get_json("/v1/partitions", seconds(1), {{"state", "offline"}, {"state", "under_replicated"}})["total"],
            get_json("/v1/partitions", seconds(1), {{"state", "offline,under_replicated"}})["total"]);
}

TEST_F(Fixture, InvalidUtf8InTheQueryIs400) {
  probe_at(seconds(0), testing::ok(broker3_lost()));
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"topic", "\xFF"}, {"state", "offline,\xC3"}, {"limit", "\xE2\x82"}, {"\xFF", "1"}, {"topic", "a\xC0\xAF"}}) {
    HttpResponse r;
    EXPECT_NO_THROW(r = get("/v1/partitions", seconds(1), {{key, value}})) << key << "=" << value;
    EXPECT_EQ(r.status, 400) << key << "=" << value;
    EXPECT_TRUE(json::accept(r.body)) << r.body;
    EXPECT_EQ(get("/readyz", seconds(1), {{key, value}}).status, 400);
  }
  // Valid multi-byte UTF-8 is a topic name like any other (none matches here).
  EXPECT_EQ(get("/v1/partitions", seconds(1), {{"topic", "z\xC3\xBCrich"}}).status, 200);
}

}  // namespace
}  // namespace isrguard::service

// ---- Query repetition, list syntax and size at the caps (issue 22, items 7, 12 and 13) ----

namespace isrguard::service {
namespace {

using Params = std::multimap<std::string, std::string>;

Params repeated(Params p, const std::string& key, const std::string& value, int times) {
  for (int i = 0; i < times; ++i) p.emplace(key, value);
  return p;
}
// brokers=0-49&brokers=50-99&...: `n` parameters of `width` distinct ids each.
Params distinct_ranges(int n, int width) {
  Params p;
  for (int i = 0; i < n; ++i)
    p.emplace("brokers", std::to_string(i * width) + "-" + std::to_string(i * width + width - 1));
  return p;
}

// Each disruption parameter repeated N times, alone and mixed: the answer is the answer to the union, the
// union of brokers= ids is capped as one list is (distinct ranges used to add up to 80,000 ids: a 9.8 MB
// answer from a 788-byte request), and more than kMaxQueryParameters parameters is a 400.
TEST_F(Fixture, RepeatedDisruptionParametersAnswerTheirCappedUnion) {
  probe_at(seconds(0), testing::ok(healthy()));
  struct Row {
    std::string name;
    Params params;
    Params same_as;  // empty: a 400 naming `error` instead
    std::string error;
  };
  const Row rows[] = {
      {"brokers x32", repeated({}, "brokers", "1-3", 32), {{"brokers", "1-3"}}, ""},
      {"fleet x32", repeated({}, "fleet", "ec2", 32), {{"fleet", "ec2"}}, ""},
      {"mixed", repeated(repeated(repeated({}, "brokers", "3", 10), "fleet", "ec2", 10), "brokers", "2,1", 12),
       {{"brokers", "1-3"}},
       ""},
      {"overlapping ranges", {{"brokers", "2-3"}, {"brokers", "1-2"}}, {{"brokers", "1-3"}}, ""},
      {"distinct ranges up to the cap", distinct_ranges(20, 100), {{"brokers", "0-1999"}}, ""},
      {"distinct ranges past the cap", distinct_ranges(21, 100), {},
       "brokers: 2100 ids asked; at most 2000 across all brokers= parameters"},
      {"the issue's 40 ranges", distinct_ranges(30, 2000), {},
       "brokers: 60000 ids asked; at most 2000 across all brokers= parameters"},
      {"one id past the cap", {{"brokers", "0-1999"}, {"brokers", "5000"}}, {},
       "brokers: 2001 ids asked; at most 2000 across all brokers= parameters"},
      {"32 parameters", repeated({}, "brokers", "2", 32), {{"brokers", "2"}}, ""},
      {"33 parameters", repeated({}, "brokers", "1", 33), {}, "too many query parameters (33); at most 32"},
      {"33 mixed parameters", repeated(repeated({}, "brokers", "1", 20), "other", "x", 13), {},
       "too many query parameters (33); at most 32"},
  };
  for (const auto& row : rows) {
    const HttpResponse r = get("/v1/disruption", seconds(1), row.params);
    EXPECT_LT(r.body.size(), 1u << 20) << row.name;
    if (row.same_as.empty()) {
      EXPECT_EQ(r.status, 400) << row.name;
      EXPECT_EQ(json::parse(r.body), (json{{"error", row.error}})) << row.name << ": " << r.body.substr(0, 300);
    } else {
      const HttpResponse want = get("/v1/disruption", seconds(1), row.same_as);
      EXPECT_EQ(r, want) << row.name;
    }
  }
}

// The limits on parameters hold on every route, not only /v1/disruption.
TEST_F(Fixture, TooManyQueryParametersIs400OnEveryRoute) {
  probe_at(seconds(0), testing::ok(healthy()));
  for (const char* path : {"/readyz", "/livez", "/v1/status", "/v1/partitions", "/metrics"}) {
    EXPECT_EQ(get(path, seconds(1), repeated({}, "x", "1", 32)), get(path, seconds(1))) << path;
    const HttpResponse r = get(path, seconds(1), repeated({}, "x", "1", 33));
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_EQ(json::parse(r.body), (json{{"error", "too many query parameters (33); at most 32"}})) << path;
  }
}

// A trailing, leading, doubled or blank list item is a 400 in every list parameter (`rack=a,` used to be
// read as `rack=a` while `brokers=1,` was a 400); ids are clean decimal ids or nothing.
TEST_F(Fixture, AnEmptyListItemOrAnUncleanIdIs400Everywhere) {
  probe_at(seconds(0), testing::ok(SnapshotBuilder()
                                       .racked(1, "a")
                                       .racked(2, "b")
                                       .racked(3, "c")
                                       .topic(healthy_topic("orders", 3, 3, {1, 2, 3}, 2))
                                       .build()));
  ASSERT_EQ(get("/v1/disruption", seconds(1), {{"rack", "a"}}).status, 200);
  ASSERT_EQ(get("/v1/disruption", seconds(1), {{"fleet", "ec2"}}).status, 409);
  ASSERT_EQ(get("/v1/partitions", seconds(1), {{"state", "offline"}}).status, 200);
  const std::pair<std::string, std::string> bad[] = {
      {"rack", "a,"},          {"rack", ",a"},        {"rack", "a,,b"},     {"rack", "a, ,b"},  {"rack", " "},
      {"fleet", "ec2,"},       {"fleet", ",ec2"},     {"fleet", ""},        {"brokers", "1,"},  {"brokers", ",1"},
      {"brokers", "1,,2"},     {"brokers", ""},       {"brokers", " 3"},    {"brokers", "3 "},  {"brokers", "+3"},
      {"brokers", "03"},       {"brokers", "1-03"},   {"brokers", "1--3"},  {"brokers", "-3"},  {"brokers", "3-"},
      {"brokers", std::string("3\0" "01", 4)},        {"brokers", "3\t"},   {"brokers", "0x3"}, {"brokers", "2147483648"},
  };
  for (const auto& [key, value] : bad) {
    const HttpResponse r = get("/v1/disruption", seconds(1), {{key, value}});
    EXPECT_EQ(r.status, 400) << key << "=" << value << ": " << r.body;
  }
  for (const char* value : {"offline,", ",offline", "offline,,at_min_isr", " "})
    EXPECT_EQ(get("/v1/partitions", seconds(1), {{"state", value}}).status, 400) << value;
  // Clean ids still read as before: 0, ranges, several items.
  EXPECT_EQ(get("/v1/disruption", seconds(1), {{"brokers", "0,2-3"}}).status,
            get("/v1/disruption", seconds(1), {{"brokers", "2,3"}, {"brokers", "0"}}).status);
}

// /v1/status at the --expected-brokers cap stays under the documented 1 MiB whether the expected brokers are
// missing or present, up to all 2,000 present, each with a long host name (Strimzi's per-broker service in a
// long namespace), a rack, every counter non-zero and an error from its per-broker check. A missing broker's
// entry is compact (defaults left out); each entry is one line (status_text). Indented as the rest of the
// document, with every key, 2,000 present brokers took ~1.56 MB (now ~0.84 MB).
TEST(StatusSize, UnderOneMebibyteAtTheExpectedBrokerCap) {
  Policy policy = Policy::with_defaults();
  for (BrokerId id = 1; id <= 2000; ++id) policy.expected_brokers.push_back(id);
  policy.fleets = {FleetRule{"ec2", {{1, 1000}}, ""}, FleetRule{"k8s", {{1001, 2000}}, ""}};
  policy.compile();
  for (const int present : {0, 3, 200, 1000, 2000}) {
    testing::ScriptedSource source;
    ProbeLoop loop(source, policy, GateConfig{seconds(30)}, seconds(60));
    SnapshotBuilder snapshot;
    std::vector<BrokerId> ids;
    for (BrokerId id = 1; id <= present; ++id) {
      snapshot.broker(id, "production-kafka-" + std::to_string(id) +
                              ".production-kafka-brokers.kafka-payments-production.svc.cluster.local", 9094);
      snapshot.rack(id, "us-east-1" + std::string(1, static_cast<char>('a' + id % 3)));
      snapshot.response(id, milliseconds(2999), false, "no answer within the probe timeout (Local: Timed out)");
      ids.push_back(id);
    }
    // Every present broker leads and hosts partitions (RF 3 over all of them).
    if (present > 0) snapshot.topic(healthy_topic("orders", 2 * present, 3, ids, 2));
    const auto t0 = SteadyClock::now();
    const auto wall0 = std::chrono::system_clock::time_point(seconds(1'800'000'000));
    source.set(testing::ok(snapshot.build()));
    loop.run_once(t0, wall0);
    ApiOptions options;
    options.status.config = {{"expected_brokers", "1-2000"}};
    Api api(loop, policy, options);
    const HttpResponse r = api.handle(HttpRequest{"GET", "/v1/status", {}}, t0 + seconds(1), wall0 + seconds(1));
    ASSERT_EQ(r.status, 200);
    const json j = json::parse(r.body);
    EXPECT_EQ(j["brokers"].size(), 2000u) << present;
    EXPECT_EQ(j["counts"]["brokers_missing"], 2000 - present) << present;
    EXPECT_LT(r.body.size(), 1u << 20) << present << " brokers present: " << r.body.size() << " bytes";
    if (present == 2000) {
      RecordProperty("status_bytes_2000_present", static_cast<int>(r.body.size()));
      const json& b = j["brokers"][1999];  // the full entry of a present broker, on one line
      EXPECT_EQ(b["state"], "up");
      EXPECT_EQ(b["leader_count"], 2);
      EXPECT_EQ(b["response"]["error"], "no answer within the probe timeout (Local: Timed out)");
      EXPECT_NE(r.body.find("\n    {\"id\":2000,\"host\":\"production-kafka-2000."), std::string::npos);
    }
  }
}

// status_text writes the document as dump(2) would, except one line per broker entry; parsed, it is the
// same document.
TEST(StatusText, OneLinePerBrokerSameDocument) {
  using ojson = nlohmann::ordered_json;
  const ojson doc = ojson{{"ready", true},
                        {"brokers", ojson::array({ojson{{"id", 1}, {"rack", "a"}}, ojson{{"id", 2}, {"rack", nullptr}}})},
                        {"config", ojson{{"x", "\x01brokers\x01"}}}};
  ojson plain = doc;
  plain["config"]["x"] = "y";
  const std::string text = status_text(plain);
  EXPECT_EQ(text, "{\n  \"ready\": true,\n  \"brokers\": [\n    {\"id\":1,\"rack\":\"a\"},\n    "
                  "{\"id\":2,\"rack\":null}\n  ],\n  \"config\": {\n    \"x\": \"y\"\n  }\n}\n");
  EXPECT_EQ(ojson::parse(text), plain);
  // A value holding the placeholder's bytes: indented as usual, never a broken document.
  EXPECT_EQ(status_text(doc), doc.dump(2) + "\n");
  const ojson none = ojson{{"brokers", ojson::array()}};
  EXPECT_EQ(status_text(none), none.dump(2) + "\n");
}

}  // namespace
}  // namespace isrguard::service

namespace isrguard::service {
namespace {

// The server's query parser (the query is taken from the request target before libmicrohttpd can parse it):
// split at '&' and the first '=', '+' is a space, %XX decoded with its length kept (a %00 is a NUL byte, not
// the end of the value), an invalid escape kept as it is, empty parameters skipped.
TEST(ParseQuery, SplitsDecodesAndKeepsEveryByte) {
  using Params = std::multimap<std::string, std::string>;
  const std::pair<std::string, Params> rows[] = {
      {"", {}},
      {"verbose", {{"verbose", ""}}},
      {"brokers=3,101&fleet=ec2", {{"brokers", "3,101"}, {"fleet", "ec2"}}},
      {"brokers=1&brokers=2", {{"brokers", "1"}, {"brokers", "2"}}},
      {"brokers=3%001", {{"brokers", std::string("3\0" "1", 3)}}},
      {"a=b=c", {{"a", "b=c"}}},
      {"rack=us+east%2D1a", {{"rack", "us east-1a"}}},
      {"topic=%ZZ%4", {{"topic", "%ZZ%4"}}},
      {"&&a=1&&", {{"a", "1"}}},
      {"%FF=%C3", {{"\xFF", "\xC3"}}},
      {"=x", {{"", "x"}}},
  };
  for (const auto& [raw, want] : rows) EXPECT_EQ(parse_query(raw), want) << raw;
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "b=1&";
  EXPECT_EQ(parse_query(many).size(), 1000u);
}

}  // namespace
}  // namespace isrguard::service
