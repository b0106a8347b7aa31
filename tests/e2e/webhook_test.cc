// The pods/eviction admission webhook end to end: the real isrguard executable against kafkasim, spoken to over
// TLS (a test CA generated at run time, kafkasim::TestPki) with AdmissionReview admission.k8s.io/v1 bodies
// shaped as kube-apiserver sends them for POST .../pods/<name>/eviction.
//
// Cluster: brokers 1-6, "left" 6 x RF3 on {1,2,3}, "right" 6 x RF3 on {4,5,6}, min.insync.replicas 2; broker 2
// down and out of every ISR. So broker 1 shares partitions with 2 (evicting it leaves ISR [3]: blocked), broker 4
// shares none (ISR [5,6] left: allowed), and 4 and 5 are each safe alone but not together.
// cpp-httplib's HTTPS client: CPPHTTPLIB_OPENSSL_SUPPORT comes with its pkg-config flags.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/kafkasim/cluster.h"
#include "tests/kafkasim/tls.h"
#include "tests/support/await.h"
#include "tests/support/binary_process.h"

namespace isrguard {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::seconds;
using testing::await;
using testing::slurp;

constexpr auto kBound = seconds(30);  // generous: the machine is shared

struct Review {
  int http = 0;  // 0: no answer (connection or TLS failure)
  std::string body;
  json response;  // AdmissionReview.response when http == 200
  bool allowed() const { return http == 200 && response.value("allowed", false); }
  std::string message() const { return response.contains("status") ? response["status"].value("message", "") : ""; }
};

// What kube-apiserver sends for an eviction of pod `ns`/`name` (k8s.io/api/admission/v1).
json eviction_review(const std::string& uid, const std::string& ns, const std::string& name, bool dry_run) {
  return {{"apiVersion", "admission.k8s.io/v1"},
          {"kind", "AdmissionReview"},
          {"request",
           {{"uid", uid},
            {"kind", {{"group", "policy"}, {"version", "v1"}, {"kind", "Eviction"}}},
            {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
            {"subResource", "eviction"},
            {"requestKind", {{"group", "policy"}, {"version", "v1"}, {"kind", "Eviction"}}},
            {"requestResource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
            {"requestSubResource", "eviction"},
            {"name", name},
            {"namespace", ns},
            {"operation", "CREATE"},
            {"userInfo", {{"username", "system:admin"}, {"groups", {"system:masters"}}}},
            {"object",
             {{"apiVersion", "policy/v1"}, {"kind", "Eviction"}, {"metadata", {{"name", name}, {"namespace", ns}}}}},
            {"oldObject", nullptr},
            {"dryRun", dry_run},
            {"options", {{"apiVersion", "meta.k8s.io/v1"}, {"kind", "CreateOptions"}}}}}};
}

void write_file(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  std::ofstream(tmp) << text;
  fs::rename(tmp, path);  // atomic, as a Secret volume update
}

class WebhookE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // a server closing on an oversized body must fail the request, not the test
    dir_ = fs::temp_directory_path() / ("isrguard-wh-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    install_pki(kafkasim::TestPki::generate("isrguard webhook test CA"));
    auto spec = kafkasim::make_cluster({1, 2, 3, 4, 5, 6});
    spec.broker_defaults["min.insync.replicas"] = "2";
    spec.topics.push_back(kafkasim::make_topic("left", kafkasim::round_robin_partitions(6, 3, {1, 2, 3})));
    spec.topics.push_back(kafkasim::make_topic("right", kafkasim::round_robin_partitions(6, 3, {4, 5, 6})));
    cluster_ = std::make_unique<kafkasim::Cluster>(spec);
    cluster_->start();
    cluster_->broker_down(2);
    cluster_->remove_from_isrs(2);
    cluster_->elect_leaders();
  }
  void TearDown() override {
    stop_isrguard();
    fs::remove_all(dir_);
  }

  // Writes the PKI's server pair where isrguard reads it and the CA where the client reads it.
  void install_pki(const kafkasim::TestPki& pki) {
    write_file(dir_ / "tls.crt", pki.server_cert_pem);
    write_file(dir_ / "tls.key", pki.server_key_pem);
    pki.write_ca((dir_ / "ca.crt").string());
  }

  void start(std::vector<std::string> extra = {}) {
    out_ = (dir_ / "out").string();
    err_ = (dir_ / "err").string();
    std::vector<std::string> args = {"--bootstrap-servers", cluster_->bootstrap_servers(), "--http-address",
                                     "127.0.0.1", "--http-port", "0", "--health-port", "0", "--probe-timeout",
                                     "2s", "--webhook-port", "0",
                                     "--webhook-cert-file", (dir_ / "tls.crt").string(), "--webhook-key-file",
                                     (dir_ / "tls.key").string(), "--webhook-broker-pods", "kafka/kafka-"};
    if (std::find(extra.begin(), extra.end(), "--poll-interval") == extra.end()) extra.insert(extra.end(), {"--poll-interval", "200ms"});
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = testing::spawn(args, out_, err_);
    ASSERT_TRUE(await(
        [&] {
          std::smatch m;
          const auto log = slurp(err_);
          if (std::regex_search(log, m, std::regex(R"(eviction webhook listening on 127\.0\.0\.1:(\d+))")))
            port_ = std::stoi(m[1]);
          if (std::regex_search(log, m, std::regex(R"(\) listening on 127\.0\.0\.1:(\d+))")))
            http_port_ = std::stoi(m[1]);
          return port_ > 0 && http_port_ > 0;
        },
        kBound))
        << slurp(err_);
  }
  void stop_isrguard() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    await([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, seconds(10));
    pid_ = -1;
  }

  std::unique_ptr<httplib::SSLClient> client(const fs::path& ca) const {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", port_);
    c->set_ca_cert_path(ca.string().c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(seconds(5));
    c->set_read_timeout(seconds(15));
    return c;
  }
  Review post(const std::string& body, const std::string& path = "/validate-eviction") const {
    auto c = client(dir_ / "ca.crt");
    Review r;
    auto res = c->Post(path, body, "application/json");
    if (!res) return r;
    r.http = res->status;
    r.body = res->body;
    if (r.http == 200) {
      const json doc = json::parse(r.body);
      EXPECT_EQ(doc["apiVersion"], "admission.k8s.io/v1");
      EXPECT_EQ(doc["kind"], "AdmissionReview");
      r.response = doc["response"];
    }
    return r;
  }
  Review evict(const std::string& name, bool dry_run = false, const std::string& ns = "kafka") const {
    const std::string uid = "uid-" + name + (dry_run ? "-dry" : "");
    Review r = post(eviction_review(uid, ns, name, dry_run).dump());
    if (r.http == 200) {
      EXPECT_EQ(r.response.value("uid", ""), uid);  // echoed
    }
    return r;
  }
  // Until isrguard has a successful probe: a dry-run eviction of broker 4 (safe) is allowed.
  void await_first_probe() {
    ASSERT_TRUE(await([&] { return evict("kafka-4", true).allowed(); }, kBound)) << slurp(err_);
  }

  fs::path dir_;
  std::unique_ptr<kafkasim::Cluster> cluster_;
  std::string out_, err_;
  pid_t pid_ = -1;
  int port_ = 0;       // the webhook's TLS listener
  int http_port_ = 0;  // the plain API/metrics listener
};

// The value of series `series` (labels as rendered) on isrguard's /metrics; -1 when absent or unreachable.
double metric(int http_port, const std::string& series) {
  httplib::Client c("127.0.0.1", http_port);
  const auto res = c.Get("/metrics");
  if (!res || res->status != 200) return -1;
  std::istringstream in(res->body);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

TEST_F(WebhookE2e, BrokerSharingPartitionsWithADownBrokerIsDeniedWith429AndWhy) {
  start();
  await_first_probe();
  const Review r = evict("kafka-1");
  ASSERT_EQ(r.http, 200) << r.body;
  EXPECT_FALSE(r.allowed());
  EXPECT_EQ(r.response["status"]["code"], 429);
  EXPECT_EQ(r.response["status"]["reason"], "TooManyRequests");
  const std::string m = r.message();
  EXPECT_NE(m.find("broker 1 (pod kafka/kafka-1)"), std::string::npos) << m;
  EXPECT_NE(m.find("partitions_blocking"), std::string::npos) << m;
  EXPECT_NE(m.find("-> [3] (min ISR 2, under_min_isr)"), std::string::npos) << m;
  EXPECT_NE(m.find("retry later"), std::string::npos) << m;
}

TEST_F(WebhookE2e, BrokerSharingNoPartitionWithTheDownBrokerIsAllowed) {
  start();
  await_first_probe();
  const Review r = evict("kafka-4");
  EXPECT_TRUE(r.allowed()) << r.body;
  EXPECT_FALSE(r.response.contains("status")) << r.body;
}

TEST_F(WebhookE2e, TwoConcurrentEvictionsSafeAloneUnsafeTogetherExactlyOnePasses) {
  start();
  await_first_probe();
  ASSERT_TRUE(evict("kafka-5", true).allowed());  // 5 alone is safe too
  Review a, b;
  std::thread ta([&] { a = evict("kafka-4"); }), tb([&] { b = evict("kafka-5"); });
  ta.join();
  tb.join();
  ASSERT_EQ(a.http, 200) << a.body;
  ASSERT_EQ(b.http, 200) << b.body;
  EXPECT_NE(a.allowed(), b.allowed()) << a.body << "\n" << b.body;
  const Review& denied = a.allowed() ? b : a;
  EXPECT_NE(denied.message().find("eviction granted, not back in sync"), std::string::npos) << denied.message();
}

TEST_F(WebhookE2e, DryRunAnswersWithoutRecordingAGrant) {
  start();
  await_first_probe();
  EXPECT_TRUE(evict("kafka-4", true).allowed());
  EXPECT_TRUE(evict("kafka-4", true).allowed());
  EXPECT_TRUE(evict("kafka-5").allowed());  // no grant of 4 counted against it
  EXPECT_FALSE(evict("kafka-4", true).allowed());  // now 5's grant is
}

TEST_F(WebhookE2e, PodsThatAreNotBrokersAreAllowed) {
  start();
  await_first_probe();
  EXPECT_TRUE(evict("web-0").allowed());
  EXPECT_TRUE(evict("kafka-1", false, "other").allowed());  // another namespace
  EXPECT_TRUE(evict("kafka-x").allowed());
  EXPECT_FALSE(evict("kafka-1").allowed());
}

TEST_F(WebhookE2e, MalformedAndOversizedBodiesAre400AndTheServiceGoesOn) {
  start();
  await_first_probe();
  for (const std::string& bad :
       {std::string("{"), std::string("[]"), std::string("{\"apiVersion\":\"admission.k8s.io/v1beta1\"}"),
        json{{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", {{"uid", 7}}}}.dump(),
        json{{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", json::object()}}.dump(),
        std::string(200000, '['), std::string(60000, '['), std::string(70000, ' ') + eviction_review("u", "kafka", "kafka-4", true).dump()}) {
    const Review r = post(bad);
    EXPECT_EQ(r.http, 400) << bad.substr(0, 80) << " -> " << r.body;
  }
  EXPECT_EQ(post("{}", "/other").http, 404);
  EXPECT_TRUE(evict("kafka-4", true).allowed());  // still serving
}

TEST_F(WebhookE2e, DecisionsAreCountedOnMetricsByOutcomeAndReason) {
  start();
  await_first_probe();
  const std::string denied = R"(isrguard_webhook_decisions_total{dry_run="false",outcome="denied",reason="partitions_blocking"})";
  const std::string not_broker = R"(isrguard_webhook_decisions_total{dry_run="false",outcome="allowed",reason="not_a_broker"})";
  const std::string invalid = R"(isrguard_webhook_decisions_total{dry_run="false",outcome="invalid",reason="invalid_review"})";
  const std::string count = "isrguard_webhook_decision_duration_seconds_count";
  EXPECT_EQ(metric(http_port_, denied), 0);
  EXPECT_EQ(metric(http_port_, not_broker), 0);
  EXPECT_EQ(metric(http_port_, invalid), 0);
  const double before = metric(http_port_, count);  // await_first_probe's dry runs
  EXPECT_GE(before, 1);
  EXPECT_FALSE(evict("kafka-1").allowed());
  EXPECT_TRUE(evict("web-0").allowed());
  EXPECT_EQ(post("{").http, 400);
  EXPECT_EQ(metric(http_port_, denied), 1);
  EXPECT_EQ(metric(http_port_, not_broker), 1);
  EXPECT_EQ(metric(http_port_, invalid), 1);
  EXPECT_EQ(metric(http_port_, count), before + 3);
  EXPECT_GE(metric(http_port_, R"(isrguard_webhook_decisions_total{dry_run="true",outcome="allowed",reason="safe"})"), 1);
}

TEST_F(WebhookE2e, StaleViewWithKafkaUnreachableIsDeniedWithinTheTimeout) {
  start({"--webhook-fresh-within", "0ms", "--webhook-timeout", "1s", "--poll-interval", "30s"});
  await_first_probe();
  cluster_->stop();
  const auto asked = std::chrono::steady_clock::now();
  const Review r = evict("kafka-4");
  const auto took = std::chrono::steady_clock::now() - asked;
  ASSERT_EQ(r.http, 200) << r.body;
  EXPECT_FALSE(r.allowed());
  EXPECT_EQ(r.response["status"]["code"], 429);
  EXPECT_TRUE(r.message().find("view_stale") != std::string::npos ||
              r.message().find("probe_failed") != std::string::npos)
      << r.message();
  EXPECT_LT(took, seconds(10));  // answered by isrguard (1 s timeout), not by the client giving up
}

TEST_F(WebhookE2e, CertificateRotationWithoutRestart) {
  start();
  await_first_probe();
  const fs::path old_ca = dir_ / "old-ca.crt";
  fs::copy_file(dir_ / "ca.crt", old_ca);
  install_pki(kafkasim::TestPki::generate("isrguard webhook rotated CA"));
  ASSERT_TRUE(await([&] { return evict("kafka-4", true).allowed(); }, kBound)) << slurp(err_);
  auto with_old = client(old_ca);
  EXPECT_FALSE(with_old->Post("/validate-eviction", "{}", "application/json"));  // old CA no longer verifies
  EXPECT_NE(slurp(err_).find("webhook certificate reloaded"), std::string::npos);
  EXPECT_EQ(slurp(err_).find("PRIVATE KEY"), std::string::npos);  // the key never logged
}

}  // namespace
}  // namespace isrguard
