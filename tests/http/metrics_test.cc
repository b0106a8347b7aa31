// /metrics: the contract in docs/metrics.md, series of vanished brokers vanish, caps hold, and every state's
// exposition passes Prometheus' own `promtool check metrics`.
#include "service/views/metrics.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "service/runtime/probe_loop.h"
#include "tests/support/builders.h"
#include "tests/support/scripted_source.h"

namespace isrguard::service {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::healthy_topic;
using testing::SnapshotBuilder;
using testing::TopicBuilder;

struct Metrics : ::testing::Test {
  Metrics() {
    policy = Policy::with_defaults();
    policy.expected_brokers = {1, 2, 3};
    policy.fleets = {FleetRule{"ec2", {{1, 2}}, ""}, FleetRule{"k8s", {{3, 3}}, ""}};
    policy.compile();
    loop = std::make_unique<ProbeLoop>(source, policy, GateConfig{seconds(0)}, seconds(60));
    ctx.partition_cap = 2;
    ctx.version = "1.2.3";
    ctx.commit = "deadbee";
  }
  std::string probe_and_render(probes::ProbeResult r) {
    source.set(std::move(r));
    loop->run_once(t0, std::chrono::system_clock::now());
    return render();
  }
  std::string render(const WebhookStats* webhook = nullptr) {
    auto s = loop->current();
    return render_metrics(*s, readiness_at(*s, t0, seconds(60), policy), policy, ctx, t0,
                          std::chrono::system_clock::now(), webhook);
  }
  // The value of the one series `name{labels}` (labels as rendered, sorted by name), or nullopt.
  static std::optional<double> value(const std::string& text, const std::string& series) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    }
    return std::nullopt;
  }
  static int series_count(const std::string& text, const std::string& name) {
    std::istringstream in(text);
    std::string line;
    int n = 0;
    while (std::getline(in, line))
      if (line.rfind(name + "{", 0) == 0 || line.rfind(name + " ", 0) == 0) ++n;
    return n;
  }

  const SteadyClock::time_point t0 = SteadyClock::now();
  testing::ScriptedSource source;
  Policy policy;
  std::unique_ptr<ProbeLoop> loop;
  MetricsContext ctx;
};

probes::ClusterSnapshot healthy() {
  return SnapshotBuilder()
      .brokers({1, 2, 3})
      .zookeeper()  // metadata's controller id is the controller
      .controller(2)
      .topic(healthy_topic("orders", 6, 3, {1, 2, 3}, 2))
      .build();
}
probes::ClusterSnapshot broker3_lost() {
  return SnapshotBuilder()
      .brokers({1, 2})
      .controller(2)
      .topic(TopicBuilder("orders")
                 .min_isr(2)
                 .p(1, {1, 2, 3}, {1, 2})
                 .p(-1, {3, 1, 2}, {3})
                 .p(2, {2, 3, 1}, {2})
                 .p(1, {1, 3, 2}, {1, 2}))
      .build();
}

// Runs promtool on the text; returns its exit status and output.
std::pair<int, std::string> promtool_check(const std::string& text) {
  char path[] = "/tmp/isrguard-metrics-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << text;
  const std::string cmd = std::string(ISRGUARD_PROMTOOL) + " check metrics < " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  const int status = p ? pclose(p) : -1;
  std::remove(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_F(Metrics, HealthyClusterAsJmxEquivalents) {
  const auto text = probe_and_render(testing::ok(healthy()));
  EXPECT_EQ(value(text, "isrguard_ready"), 1);
  EXPECT_EQ(value(text, "kafka_controller_kafkacontroller_offlinepartitionscount"), 0);
  EXPECT_EQ(value(text, "kafka_controller_kafkacontroller_globalpartitioncount"), 6);
  EXPECT_EQ(value(text, "kafka_controller_kafkacontroller_globaltopiccount"), 1);
  EXPECT_EQ(value(text, "kafka_server_replicamanager_leadercount{broker_id=\"1\",fleet=\"ec2\"}"), 2);
  EXPECT_EQ(value(text, "kafka_server_replicamanager_partitioncount{broker_id=\"3\",fleet=\"k8s\"}"), 6);
  EXPECT_EQ(
      value(text, "kafka_controller_kafkacontroller_activecontrollercount{broker_id=\"2\",fleet=\"ec2\"}"),
      1);
  EXPECT_EQ(
      value(text, "kafka_controller_kafkacontroller_activecontrollercount{broker_id=\"1\",fleet=\"ec2\"}"),
      0);
  EXPECT_EQ(value(text, "isrguard_brokers{fleet=\"k8s\",state=\"up\"}"), 1);
  EXPECT_EQ(value(text, "isrguard_gate_state{state=\"open\"}"), 1);
  EXPECT_EQ(value(text, "isrguard_reason_active{gating=\"true\",reason=\"offline_partitions\"}"), 0);
  EXPECT_EQ(value(text, "isrguard_build_info{commit=\"deadbee\",version=\"1.2.3\"}"), 1);
  EXPECT_EQ(value(text, "isrguard_probe_duration_seconds_count"), 1);
  EXPECT_EQ(value(text, "isrguard_probe_duration_seconds_bucket{le=\"+Inf\"}"), 1);
  EXPECT_EQ(series_count(text, "isrguard_partition_unhealthy"), 0);
  auto [rc, out] = promtool_check(text);
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(Metrics, BrokerLossSetsPerBrokerAndClusterSeries) {
  probe_and_render(testing::ok(healthy()));
  const auto text = probe_and_render(testing::ok(broker3_lost()));
  EXPECT_EQ(value(text, "isrguard_ready"), 0);
  EXPECT_EQ(value(text, "kafka_controller_kafkacontroller_offlinepartitionscount"), 1);
  // URP led: broker 1 leads p0 and p3 (both missing 3), broker 2 leads p2.
  EXPECT_EQ(
      value(text, "kafka_server_replicamanager_underreplicatedpartitions{broker_id=\"1\",fleet=\"ec2\"}"), 2);
  EXPECT_EQ(
      value(text, "kafka_server_replicamanager_underreplicatedpartitions{broker_id=\"2\",fleet=\"ec2\"}"), 1);
  EXPECT_EQ(
      value(text, "kafka_server_replicamanager_underminisrpartitioncount{broker_id=\"2\",fleet=\"ec2\"}"), 1);
  EXPECT_EQ(value(text, "kafka_server_replicamanager_atminisrpartitioncount{broker_id=\"1\",fleet=\"ec2\"}"),
            2);
  // The missing expected broker keeps an up=0 series and zero counts; fleets side by side.
  EXPECT_EQ(value(text, "isrguard_broker_up{broker_id=\"3\",fleet=\"k8s\"}"), 0);
  EXPECT_EQ(value(text, "isrguard_brokers{fleet=\"k8s\",state=\"missing\"}"), 1);
  EXPECT_EQ(value(text, "isrguard_brokers{fleet=\"ec2\",state=\"up\"}"), 2);
  EXPECT_EQ(value(text, "isrguard_reason_active{gating=\"true\",reason=\"brokers_missing\"}"), 1);
  EXPECT_EQ(value(text, "isrguard_reason_affected{reason=\"under_replicated_partitions\"}"),
            3);  // the offline one is not URP
  EXPECT_EQ(value(text, "isrguard_partitions{state=\"offline\"}"), 1);
  EXPECT_EQ(value(text, "isrguard_gate_state{state=\"closed\"}"), 1);
  // Per-partition series capped at 2 partitions, the rest counted as dropped.
  EXPECT_EQ(value(text, "isrguard_partition_series_dropped"), 2);
  EXPECT_EQ(value(text, "isrguard_partition_unhealthy{partition=\"1\",state=\"offline\",topic=\"orders\"}"),
            1);
  EXPECT_EQ(value(text, "isrguard_topic_unhealthy_partitions{state=\"under_replicated\",topic=\"orders\"}"),
            3);
  auto [rc, out] = promtool_check(text);
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(Metrics, ABrokerThatLeftTheClusterIsMissingUntilForgotten) {
  policy.expected_brokers = {};  // not expected, but seen: missing until --forget-missing-brokers-after
  policy.compile();
  loop = std::make_unique<ProbeLoop>(source, policy, GateConfig{seconds(0)}, seconds(60));
  probe_and_render(testing::ok(healthy()));
  auto after = probe_and_render(
      testing::ok(SnapshotBuilder().brokers({1, 2}).topic(healthy_topic("orders", 6, 2, {1, 2}, 1)).build()));
  EXPECT_EQ(value(after, "isrguard_broker_up{broker_id=\"3\",fleet=\"k8s\"}"), 0);
  EXPECT_EQ(value(after, "isrguard_reason_active{gating=\"true\",reason=\"brokers_missing\"}"), 1);
}

TEST_F(Metrics, SeriesOfABrokerThatLeftTheClusterDisappearOnceForgotten) {
  policy.expected_brokers = {};  // not expected and not remembered: once gone from metadata, gone from /metrics
  policy.forget_missing_brokers_after = seconds(0);
  policy.compile();
  loop = std::make_unique<ProbeLoop>(source, policy, GateConfig{seconds(0)}, seconds(60));
  auto before = probe_and_render(testing::ok(healthy()));
  EXPECT_TRUE(value(before, "kafka_server_replicamanager_leadercount{broker_id=\"3\",fleet=\"k8s\"}"));
  auto after = probe_and_render(
      testing::ok(SnapshotBuilder().brokers({1, 2}).topic(healthy_topic("orders", 6, 2, {1, 2}, 1)).build()));
  EXPECT_EQ(after.find("broker_id=\"3\""), std::string::npos) << after;
  EXPECT_EQ(value(after, "kafka_server_replicamanager_leadercount{broker_id=\"2\",fleet=\"ec2\"}"), 3);
}

TEST_F(Metrics, BeforeTheFirstProbeAndWhileProbesFail) {
  auto initial = render();
  EXPECT_EQ(value(initial, "isrguard_ready"), 0);
  EXPECT_EQ(value(initial, "isrguard_snapshot_age_seconds"), -1);
  EXPECT_EQ(value(initial, "isrguard_last_successful_probe_timestamp_seconds"), 0);
  EXPECT_EQ(value(initial, "isrguard_gate_state{state=\"initializing\"}"), 1);
  EXPECT_EQ(series_count(initial, "kafka_server_replicamanager_leadercount"), 0);
  auto [rc0, out0] = promtool_check(initial);
  EXPECT_EQ(rc0, 0) << out0;

  auto failing = probe_and_render(testing::fail("timeout"));
  EXPECT_EQ(value(failing, "isrguard_probe_failures_total{kind=\"timeout\"}"), 1);
  EXPECT_EQ(value(failing, "isrguard_probe_failures_total{kind=\"transport\"}"), 0);
  EXPECT_EQ(value(failing, "isrguard_probe_failures_total{kind=\"auth\"}"), 0);
  EXPECT_EQ(value(failing, "isrguard_probe_failures_total{kind=\"tls\"}"), 0);
  EXPECT_EQ(value(failing, "isrguard_reason_active{gating=\"true\",reason=\"probe_failed\"}"), 1);
  EXPECT_EQ(value(failing, "isrguard_probes_total"), 1);
  auto [rc1, out1] = promtool_check(failing);
  EXPECT_EQ(rc1, 0) << out1;
}

TEST_F(Metrics, LabelValuesAreEscaped) {
  // Topic names may hold characters that need escaping in the exposition format; promtool must still parse
  // it.
  auto text =
      probe_and_render(testing::ok(SnapshotBuilder()
                                       .brokers({1, 2})
                                       .topic(TopicBuilder("we\"ird\\topic").min_isr(1).p(1, {1, 2}, {1}))
                                       .build()));
  auto [rc, out] = promtool_check(text);
  EXPECT_EQ(rc, 0) << out << text;
}

// The kafka_* families follow Kafka's definitions (service/judge/jmx_view.h), over all topics; isrguard's own
// judgement of the selected topics stays under isrguard_* names.
TEST_F(Metrics, KafkaFamiliesMeanWhatKafkaMeans) {
  policy.topic_exclude = "ignored";
  policy.compile();
  loop = std::make_unique<ProbeLoop>(source, policy, GateConfig{seconds(0)}, seconds(60));
  const auto text = probe_and_render(testing::ok(SnapshotBuilder()
                                                     .brokers({1, 2, 3})
                                                     .zookeeper()
                                                     .topic(healthy_topic("orders", 6, 3, {1, 2, 3}, 3))
                                                     .topic(TopicBuilder("ignored").min_isr(1).p(-1, {1}, {}))
                                                     .build()));
  // Kafka: ISR 3 == min(min.insync.replicas 3, 3 replicas) is "at min ISR" although nothing is degraded.
  EXPECT_EQ(value(text, "kafka_server_replicamanager_atminisrpartitioncount{broker_id=\"1\",fleet=\"ec2\"}"),
            2);
  EXPECT_EQ(
      value(text,
            "isrguard_broker_led_unhealthy_partitions{broker_id=\"1\",fleet=\"ec2\",state=\"at_min_isr\"}"),
      0);
  // The controller counts every topic; isrguard's partition states only the selected ones.
  EXPECT_EQ(value(text, "kafka_controller_kafkacontroller_offlinepartitionscount"), 1);
  EXPECT_EQ(value(text, "kafka_controller_kafkacontroller_globaltopiccount"), 2);
  EXPECT_EQ(value(text, "kafka_controller_kafkacontroller_globalpartitioncount"), 7);
  EXPECT_EQ(value(text, "kafka_controller_kafkacontroller_preferredreplicaimbalancecount"), 1);
  EXPECT_EQ(value(text, "kafka_server_replicamanager_partitioncount{broker_id=\"1\",fleet=\"ec2\"}"), 7);
  EXPECT_EQ(value(text, "isrguard_partitions{state=\"offline\"}"), 0);
  EXPECT_EQ(value(text, "isrguard_partitions_selected"), 6);
  EXPECT_EQ(value(text, "isrguard_broker_replicas{broker_id=\"1\",fleet=\"ec2\"}"), 6);
  auto [rc, out] = promtool_check(text);
  EXPECT_EQ(rc, 0) << out;
}

// JMX has no series for a dead broker; isrguard_broker_up says it is missing.
TEST_F(Metrics, NoKafkaSeriesForAMissingBroker) {
  const auto text = probe_and_render(testing::ok(broker3_lost()));
  for (const char* name :
       {"kafka_server_replicamanager_leadercount", "kafka_server_replicamanager_partitioncount",
        "kafka_server_replicamanager_underreplicatedpartitions",
        "kafka_server_replicamanager_underminisrpartitioncount",
        "kafka_server_replicamanager_atminisrpartitioncount"}) {
    EXPECT_EQ(series_count(text, name), 2) << name;
    EXPECT_FALSE(value(text, std::string(name) + "{broker_id=\"3\",fleet=\"k8s\"}")) << name;
  }
  EXPECT_EQ(value(text, "isrguard_broker_up{broker_id=\"3\",fleet=\"k8s\"}"), 0);
  EXPECT_EQ(value(text, "isrguard_broker_replicas{broker_id=\"3\",fleet=\"k8s\"}"), 4);
  EXPECT_EQ(value(text, "isrguard_broker_out_of_sync_replicas{broker_id=\"3\",fleet=\"k8s\"}"), 3);
}

// In KRaft the metadata's controller id is a random live broker: no ActiveControllerCount rather than a fake.
TEST_F(Metrics, ActiveControllerCountOnlyInZooKeeperMode) {
  auto kraft = SnapshotBuilder().brokers({1, 2, 3}).kraft().controller(2).build();
  auto text = probe_and_render(testing::ok(kraft));
  EXPECT_EQ(series_count(text, "kafka_controller_kafkacontroller_activecontrollercount"), 0) << text;
  EXPECT_EQ(value(text, "isrguard_kafka_mode{mode=\"kraft\"}"), 1);
  EXPECT_EQ(value(text, "isrguard_kafka_mode{mode=\"zookeeper\"}"), 0);
  auto unknown = SnapshotBuilder().brokers({1, 2, 3}).controller(2).build();  // brokers not checked
  text = probe_and_render(testing::ok(unknown));
  EXPECT_EQ(series_count(text, "kafka_controller_kafkacontroller_activecontrollercount"), 0) << text;
  EXPECT_EQ(value(text, "isrguard_kafka_mode{mode=\"unknown\"}"), 1);
  text = probe_and_render(testing::ok(healthy()));
  EXPECT_EQ(series_count(text, "kafka_controller_kafkacontroller_activecontrollercount"), 3);
  EXPECT_EQ(value(text, "isrguard_kafka_mode{mode=\"zookeeper\"}"), 1);
}

TEST_F(Metrics, JmxNamedFamiliesCanBeSwitchedOff) {
  ctx.jmx_names = false;
  const auto text = probe_and_render(testing::ok(broker3_lost()));
  EXPECT_FALSE(std::regex_search(text, std::regex("(^|\n)(# (HELP|TYPE) )?kafka_"))) << text;
  EXPECT_EQ(value(text, "isrguard_kafka_mode{mode=\"unknown\"}"), 1);
  EXPECT_EQ(value(text, "isrguard_ready"), 0);
  EXPECT_EQ(value(text,
                  "isrguard_broker_led_unhealthy_partitions{broker_id=\"1\",fleet=\"ec2\",state=\"under_"
                  "replicated\"}"),
            2);
  auto [rc, out] = promtool_check(text);
  EXPECT_EQ(rc, 0) << out;
}

// isrguard's own per-broker judgement: selected topics, at min ISR only while degraded, every expected
// broker.
TEST_F(Metrics, IsrguardPerBrokerJudgement) {
  const auto text = probe_and_render(testing::ok(broker3_lost()));
  auto led = [&](int id, const char* fleet, const char* state) {
    return value(text, "isrguard_broker_led_unhealthy_partitions{broker_id=\"" + std::to_string(id) +
                           "\",fleet=\"" + fleet + "\",state=\"" + state + "\"}");
  };
  EXPECT_EQ(led(1, "ec2", "under_replicated"), 2);
  EXPECT_EQ(led(1, "ec2", "at_min_isr"), 2);
  EXPECT_EQ(led(2, "ec2", "under_min_isr"), 1);
  EXPECT_EQ(led(3, "k8s", "under_replicated"), 0);
  EXPECT_EQ(value(text, "isrguard_broker_leader_partitions{broker_id=\"1\",fleet=\"ec2\"}"), 2);
}

// kafka_exporter-style per-partition gauges for the listed unhealthy partitions, under the same cap.
TEST_F(Metrics, PartitionDetailsForListedUnhealthyPartitionsOnly) {
  auto text = probe_and_render(testing::ok(healthy()));
  EXPECT_EQ(series_count(text, "isrguard_partition_in_sync_replicas"), 0);
  text = probe_and_render(testing::ok(broker3_lost()));
  EXPECT_EQ(value(text, "isrguard_partition_in_sync_replicas{partition=\"0\",topic=\"orders\"}"), 2);
  EXPECT_EQ(value(text, "isrguard_partition_replicas{partition=\"0\",topic=\"orders\"}"), 3);
  EXPECT_EQ(value(text, "isrguard_partition_leader{partition=\"0\",topic=\"orders\"}"), 1);
  EXPECT_EQ(value(text, "isrguard_partition_leader{partition=\"1\",topic=\"orders\"}"), -1);
  for (const char* name :
       {"isrguard_partition_in_sync_replicas", "isrguard_partition_replicas", "isrguard_partition_leader"})
    EXPECT_EQ(series_count(text, name), 2) << name;  // ctx.partition_cap
}

// kminion-style info series: topics (capped, with the count left out) and brokers present in metadata.
TEST_F(Metrics, TopicAndBrokerInfo) {
  const auto text = probe_and_render(testing::ok(SnapshotBuilder()
                                                     .broker(1, "b1.example", 9092)
                                                     .broker(2, "b2.example", 9093)
                                                     .rack(1, "eu-west-1a")
                                                     .topic(healthy_topic("a", 3, 2, {1, 2}, 2))
                                                     .topic(TopicBuilder("b").no_min_isr().p(1, {1}, {1}))
                                                     .topic(healthy_topic("c", 1, 1, {1}, 1))
                                                     .build()));
  EXPECT_EQ(value(text,
                  "isrguard_topic_info{min_insync_replicas=\"2\",min_insync_replicas_source=\"config\","
                  "partitions=\"3\",replication_factor=\"2\",topic=\"a\"}"),
            1);
  EXPECT_EQ(value(text,
                  "isrguard_topic_info{min_insync_replicas=\"1\",min_insync_replicas_source=\"default\","
                  "partitions=\"1\",replication_factor=\"1\",topic=\"b\"}"),
            1);
  EXPECT_EQ(series_count(text, "isrguard_topic_info"), 2);  // ctx.partition_cap
  EXPECT_EQ(value(text, "isrguard_topic_info_series_dropped"), 1);
  EXPECT_EQ(value(text,
                  "isrguard_broker_info{address=\"b1.example\",broker_id=\"1\",fleet=\"ec2\",port=\"9092\","
                  "rack=\"eu-west-1a\"}"),
            1);
  EXPECT_EQ(value(text,
                  "isrguard_broker_info{address=\"b2.example\",broker_id=\"2\",fleet=\"ec2\",port=\"9093\","
                  "rack=\"\"}"),
            1);
  EXPECT_EQ(series_count(text, "isrguard_broker_info"), 2);  // expected broker 3 is missing: no info
  auto [rc, out] = promtool_check(text);
  EXPECT_EQ(rc, 0) << out;
}

TEST(MetricsPromtool, RejectsABrokenExposition) {
  // Proves the promtool check above can fail.
  auto [rc, out] = promtool_check("isrguard_ready{ 1\n");
  EXPECT_NE(rc, 0);
}

TEST_F(Metrics, PerBrokerDisruptionSafetyWithRackLabels) {
  auto racked = SnapshotBuilder()
                    .racked(1, "zone-a")
                    .racked(2, "zone-b")
                    .racked(3, "zone-c")
                    .controller(2)
                    .topic(healthy_topic("orders", 6, 3, {1, 2, 3}, 2))
                    .build();
  auto text = probe_and_render(testing::ok(racked));
  EXPECT_EQ(value(text, "isrguard_broker_safe_to_disrupt{broker_id=\"1\",fleet=\"ec2\",rack=\"zone-a\"}"), 1);
  EXPECT_EQ(value(text, "isrguard_broker_disruption_blocking_partitions{broker_id=\"3\",fleet=\"k8s\",rack=\"zone-c\"}"),
            0);

  // orders-0 and -3 ([1,2,3] / [1,3,2], ISR [1,2]) block 1 and 2; orders-2 ([2,3,1], ISR [2]) blocks 2;
  // the lost broker 3 changes nothing any more.
  text = probe_and_render(testing::ok(broker3_lost()));
  EXPECT_EQ(value(text, "isrguard_broker_safe_to_disrupt{broker_id=\"1\",fleet=\"ec2\",rack=\"\"}"), 0);
  EXPECT_EQ(value(text, "isrguard_broker_disruption_blocking_partitions{broker_id=\"1\",fleet=\"ec2\",rack=\"\"}"), 2);
  EXPECT_EQ(value(text, "isrguard_broker_disruption_blocking_partitions{broker_id=\"2\",fleet=\"ec2\",rack=\"\"}"), 3);
  EXPECT_EQ(value(text, "isrguard_broker_safe_to_disrupt{broker_id=\"3\",fleet=\"k8s\",rack=\"\"}"), 1);
  auto [rc, out] = promtool_check(text);
  EXPECT_EQ(rc, 0) << out;

  // While the probe fails nobody may go: the answer cannot be known.
  text = probe_and_render(testing::fail("timeout"));
  EXPECT_EQ(value(text, "isrguard_broker_safe_to_disrupt{broker_id=\"3\",fleet=\"k8s\",rack=\"\"}"), 0);
  EXPECT_EQ(series_count(text, "isrguard_broker_safe_to_disrupt"), 3);
}

TEST_F(Metrics, NoWebhookFamiliesWhenTheWebhookIsOff) {
  const auto text = probe_and_render(testing::ok(healthy()));
  EXPECT_EQ(text.find("isrguard_webhook_"), std::string::npos);
}

TEST_F(Metrics, WebhookDecisionsByOutcomeReasonAndDryRunWithLatency) {
  probe_and_render(testing::ok(healthy()));
  WebhookStats st;
  st.decisions[{"denied", "partitions_blocking", false}] = 3;
  st.decisions[{"allowed", "safe", true}] = 2;
  st.decisions[{"invalid", "invalid_review", false}] = 1;
  for (const double s : {0.0004, 0.002, 0.003, 0.2, 30.0}) st.latency.observe(s);
  const auto text = render(&st);
  const auto series = [](const char* dry, const char* outcome, const char* reason) {
    return std::string("isrguard_webhook_decisions_total{dry_run=\"") + dry + "\",outcome=\"" + outcome +
           "\",reason=\"" + reason + "\"}";
  };
  EXPECT_EQ(value(text, series("false", "denied", "partitions_blocking")), 3);
  EXPECT_EQ(value(text, series("true", "allowed", "safe")), 2);
  EXPECT_EQ(value(text, series("false", "invalid", "invalid_review")), 1);
  // The documented reasons are present before they happen, with and without dryRun.
  EXPECT_EQ(value(text, series("false", "allowed", "safe")), 0);
  EXPECT_EQ(value(text, series("true", "denied", "view_stale")), 0);
  EXPECT_EQ(value(text, series("false", "denied", "override_freeze")), 0);
  EXPECT_EQ(value(text, series("false", "denied", "pod_read_forbidden")), 0);
  EXPECT_EQ(value(text, series("true", "denied", "broker_id_invalid")), 0);
  EXPECT_EQ(series_count(text, "isrguard_webhook_decisions_total"), 2 * (3 + 22) + 1);
  EXPECT_EQ(value(text, "isrguard_webhook_decision_duration_seconds_bucket{le=\"0.001\"}"), 1);
  EXPECT_EQ(value(text, "isrguard_webhook_decision_duration_seconds_bucket{le=\"0.005\"}"), 3);
  EXPECT_EQ(value(text, "isrguard_webhook_decision_duration_seconds_bucket{le=\"10\"}"), 4);
  EXPECT_EQ(value(text, "isrguard_webhook_decision_duration_seconds_bucket{le=\"+Inf\"}"), 5);
  EXPECT_EQ(value(text, "isrguard_webhook_decision_duration_seconds_count"), 5);
  auto [rc, out] = promtool_check(text);
  EXPECT_EQ(rc, 0) << out;
}

}  // namespace
}  // namespace isrguard::service

namespace isrguard::service {
namespace {

// The metric names of docs/metrics.md: the first cell of each row of a table whose header starts
// `| metric |`, when it is one `name` (other tables, such as the probe failure kinds, are not metrics).
std::set<std::string> documented_families() {
  std::ifstream in(ISRGUARD_METRICS_DOC);
  EXPECT_TRUE(in) << ISRGUARD_METRICS_DOC;
  std::set<std::string> out;
  const std::regex row(R"(^\| `([a-z_:][a-z0-9_:]*)` \|)");
  bool metric_table = false;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '|') metric_table = false;
    else if (line.rfind("| metric |", 0) == 0) metric_table = true;
    std::smatch m;
    if (metric_table && std::regex_search(line, m, row)) out.insert(m[1]);
  }
  return out;
}

// The families of an exposition, from its `# TYPE name type` lines.
std::set<std::string> rendered_families(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  const std::regex type(R"(^# TYPE ([^ ]+) [a-z]+$)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, type)) out.insert(m[1]);
  }
  return out;
}

// Every family /metrics renders is documented in docs/metrics.md, and every documented one is rendered in
// one of these states (ZooKeeper and KRaft, healthy, a broker lost, a known version band, before the first
// probe, the webhook on), so neither side can drift.
TEST_F(Metrics, EveryRenderedFamilyIsDocumentedAndEveryDocumentedOneRendered) {
  const std::set<std::string> documented = documented_families();
  ASSERT_GT(documented.size(), 30u);
  std::set<std::string> rendered = rendered_families(render());  // before the first probe
  for (const auto& snapshot :
       {healthy(), broker3_lost(),
        SnapshotBuilder().brokers({1, 2, 3}).kraft().kafka_version("3.6-IV2").controller(2)
            .topic(healthy_topic("orders", 6, 3, {1, 2, 3}, 2)).build()}) {
    const auto families = rendered_families(probe_and_render(testing::ok(snapshot)));
    rendered.insert(families.begin(), families.end());
  }
  source.set(testing::fail("timeout", "no answer"));
  loop->run_once(t0 + seconds(1), std::chrono::system_clock::now());
  const auto failing = rendered_families(render());
  rendered.insert(failing.begin(), failing.end());
  WebhookStats webhook_on;  // the webhook's families exist only with --webhook-port
  const auto with_webhook = rendered_families(render(&webhook_on));
  rendered.insert(with_webhook.begin(), with_webhook.end());

  for (const auto& name : rendered) EXPECT_TRUE(documented.count(name)) << name << " is not in docs/metrics.md";
  for (const auto& name : documented) EXPECT_TRUE(rendered.count(name)) << name << " (docs/metrics.md) is never rendered";
  EXPECT_TRUE(rendered.count("isrguard_kafka_info"));
}

}  // namespace
}  // namespace isrguard::service

namespace isrguard::service {
namespace {

// Every reason isrguard_webhook_decisions_total renders from the start is named in its docs/metrics.md row,
// and the row's count of series is the rendered one, so a new reason cannot go undocumented.
TEST_F(Metrics, EveryWebhookReasonRenderedIsDocumented) {
  probe_and_render(testing::ok(healthy()));
  WebhookStats st;
  const std::string text = render(&st);
  std::ifstream in(ISRGUARD_METRICS_DOC);
  std::string row;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("| `isrguard_webhook_decisions_total` |", 0) == 0) row = line;
  ASSERT_FALSE(row.empty()) << "no isrguard_webhook_decisions_total row in docs/metrics.md";
  std::set<std::string> reasons;
  const std::regex reason(R"(reason="([a-z_]+)\")");
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (line.rfind("isrguard_webhook_decisions_total{", 0) == 0 && std::regex_search(line, m, reason))
      reasons.insert(m[1]);
  }
  EXPECT_GT(reasons.size(), 20u);
  for (const auto& r : reasons)
    EXPECT_NE(row.find("`" + r + "`"), std::string::npos) << r << " is not in the row";
  const auto n = series_count(text, "isrguard_webhook_decisions_total");
  EXPECT_NE(row.find("These " + std::to_string(n) + " series"), std::string::npos) << n;
}

}  // namespace
}  // namespace isrguard::service
