// The Kubernetes API client of the eviction webhook's label and annotation rules
// (service/runtime/kube_client.h) and the webhook's decisions through it
// (service/runtime/eviction_webhook.h), against a fake API server: an HTTPS cpp-httplib server on 127.0.0.1,
// port 0, its certificate signed by a test CA made at run time (kafkasim::TestPki). Conditions are awaited,
// never slept for.
//
// Cluster of the webhook tests: brokers 1-6, "left" 3 x RF3 on {1,2,3} with broker 2 out of every ISR,
// "right" 3 x RF3 on {4,5,6}, min ISR 2. Evicting broker 1 would leave a "left" partition at ISR [3]
// (denied); evicting broker 4 leaves "right" at 2 of 3 (allowed).
#include "service/runtime/kube_client.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "service/runtime/eviction_webhook.h"
#include "service/views/kube_pod.h"
#include "tests/kafkasim/tls.h"
#include "tests/support/await.h"
#include "tests/support/builders.h"
#include "tests/support/scripted_source.h"

namespace isrguard::service {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Status = PodLookup::Status;

constexpr const char* kToken = "tok-3f9a1c0e77d24b5e8c1a-SECRET";
constexpr const char* kRotatedToken = "tok-rotated-9b2e41d07c5a-SECRET";

void write_file(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  std::ofstream(tmp, std::ios::binary) << text;
  fs::rename(tmp, path);  // atomic, as the kubelet swaps a projected token
}

json pod(const std::string& ns, const std::string& name, json labels = json::object(),
         json annotations = json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}, {"annotations", annotations}}},
          {"spec", {{"nodeName", "node-1"}}}};
}

json status_body(int code, const std::string& message) {
  return {
      {"apiVersion", "v1"}, {"kind", "Status"}, {"status", "Failure"}, {"message", message}, {"code", code}};
}

// A fake kube-apiserver: GET /api/v1/namespaces/NS/pods/NAME answered by `answer` (set by the test); every
// request's Authorization header recorded. `hold` makes answers wait until release() (or the server stops).
class FakeApiServer {
 public:
  using Answer = std::function<void(const std::string& ns, const std::string& name, httplib::Response&)>;

  explicit FakeApiServer(const fs::path& dir) : pki_(kafkasim::TestPki::generate("fake kube-apiserver CA")) {
    write_file(dir / "server.crt", pki_.server_cert_pem);
    write_file(dir / "server.key", pki_.server_key_pem);
    pki_.write_ca((dir / "ca.crt").string());
    server_ =
        std::make_unique<httplib::SSLServer>((dir / "server.crt").c_str(), (dir / "server.key").c_str());
    server_->Get(R"(/api/v1/namespaces/([^/]+)/pods/([^/]+))",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   std::unique_lock<std::mutex> lock(mu_);
                   authorizations_.push_back(req.get_header_value("Authorization"));
                   cv_.wait(lock, [&] { return !hold_ || stopping_; });
                   answer_(req.matches[1], req.matches[2], res);
                 });
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    EXPECT_TRUE(testing::await([&] { return server_->is_running(); }, seconds(10)));
  }
  ~FakeApiServer() { stop(); }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  void answer(Answer a) {
    std::lock_guard<std::mutex> lock(mu_);
    answer_ = std::move(a);
  }
  void answer_json(int status, const json& body) {
    answer([status, text = body.dump()](const std::string&, const std::string&, httplib::Response& res) {
      res.status = status;
      res.set_content(text, "application/json");
    });
  }
  void hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      hold_ = false;
    }
    cv_.notify_all();
  }
  std::vector<std::string> authorizations() {
    std::lock_guard<std::mutex> lock(mu_);
    return authorizations_;
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

 private:
  kafkasim::TestPki pki_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  Answer answer_ = [](const std::string&, const std::string&, httplib::Response& res) { res.status = 500; };
  bool hold_ = false, stopping_ = false;
  std::vector<std::string> authorizations_;
};

// Log lines of isrguard (spdlog's default logger) captured for the test's life.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
    spdlog::set_level(spdlog::level::trace);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

class KubeClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("isrguard-kube-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    server_ = std::make_unique<FakeApiServer>(dir_);
    write_file(dir_ / "token", std::string(kToken) + "\n");
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }
  KubeApiOptions options(milliseconds timeout = seconds(5)) const {
    return {server_->url(), (dir_ / "token").string(), (dir_ / "ca.crt").string(), timeout};
  }
  PodLookup read(KubeClient& client, const std::string& name = "broker-a",
                 milliseconds deadline_in = seconds(10)) const {
    return client.read_pod("kafka", name, SteadyClock::now() + deadline_in);
  }

  fs::path dir_;
  std::unique_ptr<FakeApiServer> server_;
};

TEST_F(KubeClientTest, ReadsTheLabelsAndAnnotationsWithTheBearerToken) {
  server_->answer_json(200, pod("kafka", "broker-a", {{"isrguard.io/broker-id", "7"}}, {{"note", "x"}}));
  KubeClient client(options());
  const PodLookup got = read(client);
  EXPECT_EQ(got.status, Status::kOk) << got.detail;
  EXPECT_EQ(got.metadata.labels,
            (std::map<std::string, std::string, std::less<>>{{"isrguard.io/broker-id", "7"}}));
  EXPECT_EQ(got.metadata.annotations, (std::map<std::string, std::string, std::less<>>{{"note", "x"}}));
  EXPECT_EQ(server_->authorizations(), std::vector<std::string>{std::string("Bearer ") + kToken});
}

TEST_F(KubeClientTest, ARotatedTokenFileIsUsedFromTheNextRead) {
  server_->answer_json(200, pod("kafka", "broker-a"));
  KubeClient client(options());
  EXPECT_EQ(read(client).status, Status::kOk);
  write_file(dir_ / "token", kRotatedToken);
  EXPECT_EQ(read(client).status, Status::kOk);
  EXPECT_EQ(server_->authorizations(), (std::vector<std::string>{std::string("Bearer ") + kToken,
                                                                 std::string("Bearer ") + kRotatedToken}));
}

TEST_F(KubeClientTest, WithoutAReadableTokenNoRequestIsSentAndTheReadFails) {
  server_->answer_json(200, pod("kafka", "broker-a"));
  for (const std::string token : {"", " \n", "two words"}) {
    write_file(dir_ / "token", token);
    KubeClient client(options());
    const PodLookup got = read(client);
    EXPECT_EQ(got.status, Status::kFailed) << "'" << token << "'";
  }
  fs::remove(dir_ / "token");
  KubeClient client(options());
  EXPECT_EQ(read(client).status, Status::kFailed);
  EXPECT_TRUE(server_->authorizations().empty()) << "an anonymous or malformed request was sent";
}

TEST_F(KubeClientTest, ATokenFileThatTurnsUnreadableKeepsTheLastGoodToken) {
  server_->answer_json(200, pod("kafka", "broker-a"));
  KubeClient client(options());
  EXPECT_EQ(read(client).status, Status::kOk);
  fs::remove(dir_ / "token");
  EXPECT_EQ(read(client).status, Status::kOk);
  EXPECT_EQ(server_->authorizations(),
            (std::vector<std::string>{std::string("Bearer ") + kToken, std::string("Bearer ") + kToken}));
}

TEST_F(KubeClientTest, ErrorStatusesMapToTheirLookupStatusQuotingTheStatusMessage) {
  const std::vector<std::pair<int, Status>> rows = {
      {401, Status::kUnauthorized}, {403, Status::kForbidden},   {404, Status::kNotFound},
      {500, Status::kServerError},  {503, Status::kServerError}, {429, Status::kServerError}};
  KubeClient client(options());
  for (const auto& [code, want] : rows) {
    server_->answer_json(code, status_body(code, "message for " + std::to_string(code)));
    const PodLookup got = read(client);
    EXPECT_EQ(got.status, want) << code;
    EXPECT_NE(got.detail.find("GET /api/v1/namespaces/kafka/pods/broker-a: HTTP " + std::to_string(code) +
                              ": message for " + std::to_string(code)),
              std::string::npos)
        << got.detail;
  }
}

TEST_F(KubeClientTest, AnswersThatAreNotThePodAskedForAreInvalid) {
  const std::vector<std::string> bodies = {
      "{",
      "[]",
      "null",
      json{{"apiVersion", "v1"},
           {"kind", "Service"},
           {"metadata", {{"name", "broker-a"}, {"namespace", "kafka"}}}}
          .dump(),
      pod("kafka", "broker-b").dump(),
      pod("other", "broker-a").dump(),
      pod("kafka", "broker-a", {{"isrguard.io/broker-id", 7}}).dump(),
      pod("kafka", "broker-a", json::array()).dump(),
      pod("kafka", "broker-a", json::object(), "annotations").dump(),
  };
  KubeClient client(options());
  for (const auto& body : bodies) {
    server_->answer([body](const std::string&, const std::string&, httplib::Response& res) {
      res.set_content(body, "application/json");
    });
    const PodLookup got = read(client);
    EXPECT_EQ(got.status, Status::kInvalid) << body << " -> " << got.detail;
    EXPECT_TRUE(got.metadata.labels.empty() && got.metadata.annotations.empty()) << body;
  }
}

TEST_F(KubeClientTest, ABodyOverTheCapIsTooLargeAndOneAtTheCapIsRead) {
  KubeClient client(options());
  json at_cap = pod("kafka", "broker-a", {{"isrguard.io/broker-id", "1"}});
  at_cap["metadata"]["annotations"]["padding"] = "";
  const std::size_t base = at_cap.dump().size();
  at_cap["metadata"]["annotations"]["padding"] = std::string(kMaxPodBytes - base, 'x');
  const std::string exact = at_cap.dump();
  ASSERT_EQ(exact.size(), kMaxPodBytes);
  for (const auto& [body, want] :
       {std::pair{exact, Status::kOk}, std::pair{exact + " ", Status::kTooLarge}}) {
    server_->answer([body](const std::string&, const std::string&, httplib::Response& res) {
      res.set_content(body, "application/json");
    });
    const PodLookup got = read(client);
    EXPECT_EQ(got.status, want) << body.size() << " bytes: " << got.detail;
  }
}

// The cap bounds what is read, not only what is parsed: an endless body ends the transfer at the cap (without
// it the read would run into its timeout).
TEST_F(KubeClientTest, AnEndlessBodyIsCutAtTheCap) {
  server_->answer([](const std::string&, const std::string&, httplib::Response& res) {
    res.set_chunked_content_provider(
        "application/json", [sent = std::size_t{0}](std::size_t, httplib::DataSink& sink) mutable {
          const std::string chunk(64 * 1024, ' ');
          sent += chunk.size();
          return sent < 1024 * kMaxPodBytes && sink.write(chunk.data(), chunk.size());
        });
  });
  KubeClient client(options(seconds(30)));
  const PodLookup got = read(client, "broker-a", seconds(30));
  EXPECT_EQ(got.status, Status::kTooLarge) << got.detail;
}

TEST_F(KubeClientTest, NoAnswerWithinItsOwnTimeoutOrTheDeadlineIsATimeout) {
  server_->answer_json(200, pod("kafka", "broker-a"));
  server_->hold();
  KubeClient own_bound(options(milliseconds(300)));
  const PodLookup got = read(own_bound);
  EXPECT_EQ(got.status, Status::kTimeout) << got.detail;
  EXPECT_NE(got.detail.find("no answer within 300ms"), std::string::npos) << got.detail;
  KubeClient long_bound(options(seconds(60)));
  const PodLookup by_deadline = read(long_bound, "broker-a", milliseconds(300));
  EXPECT_EQ(by_deadline.status, Status::kTimeout) << by_deadline.detail;
  EXPECT_EQ(read(long_bound, "broker-a", milliseconds(0)).status, Status::kTimeout);
  server_->release();
  EXPECT_EQ(read(long_bound).status, Status::kOk);
}

TEST_F(KubeClientTest, AServerTheCaDoesNotVouchForOrNoServerAtAllFails) {
  server_->answer_json(200, pod("kafka", "broker-a"));
  kafkasim::TestPki::generate("another CA").write_ca((dir_ / "other-ca.crt").string());
  KubeApiOptions o = options();
  o.ca_file = (dir_ / "other-ca.crt").string();
  KubeClient untrusted(o);
  const PodLookup tls = read(untrusted);
  EXPECT_EQ(tls.status, Status::kFailed) << tls.detail;
  EXPECT_TRUE(server_->authorizations().empty()) << "the token went to an unverified server";
  server_->stop();
  KubeClient refused(options());
  const PodLookup down = read(refused);
  EXPECT_EQ(down.status, Status::kFailed) << down.detail;
  EXPECT_NE(down.detail.find("GET /api/v1/namespaces/kafka/pods/broker-a: "), std::string::npos)
      << down.detail;
}

TEST_F(KubeClientTest, PlainHttpIsRefusedWithoutSendingTheToken) {
  KubeApiOptions o = options();
  o.url = "http://127.0.0.1:" + std::to_string(server_->port());
  KubeClient client(o);
  const PodLookup got = read(client);
  EXPECT_EQ(got.status, Status::kFailed);
  EXPECT_NE(got.detail.find("\"http\" not supported"), std::string::npos) << got.detail;
  EXPECT_TRUE(server_->authorizations().empty());
}

// ---- the webhook's decisions through the client
// ------------------------------------------------------------

std::string eviction(const std::string& ns, const std::string& name) {
  return json{{"apiVersion", "admission.k8s.io/v1"},
              {"kind", "AdmissionReview"},
              {"request",
               {{"uid", "uid-" + name},
                {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
                {"subResource", "eviction"},
                {"name", name},
                {"namespace", ns},
                {"operation", "CREATE"},
                {"userInfo", {{"username", "system:admin"}}},
                {"object", {{"apiVersion", "policy/v1"}, {"kind", "Eviction"}}},
                {"dryRun", true}}}}
      .dump();
}

struct Answer {
  bool allowed = false;
  std::string message;
  int code = 0;
};

class WebhookPodsTest : public KubeClientTest {
 protected:
  void SetUp() override {
    KubeClientTest::SetUp();
    testing::SnapshotBuilder b;
    b.brokers({1, 2, 3, 4, 5, 6}).zookeeper();
    testing::TopicBuilder left("left");
    left.min_isr(2);
    left.p(1, {1, 2, 3}, {1, 3}).p(3, {2, 3, 1}, {3, 1}).p(3, {3, 1, 2}, {3, 1});
    b.topic(left.build()).topic(testing::healthy_topic("right", 3, 3, {4, 5, 6}, 2));
    source_.set(testing::ok(b.build()));
    Policy policy = Policy::with_defaults();
    policy.compile();
    loop_ = std::make_unique<ProbeLoop>(source_, policy, GateConfig{seconds(0)}, seconds(60));
    loop_->run_once(SteadyClock::now(), std::chrono::system_clock::now());
  }
  // The client's idle connection closes before the server stops (which would wait out its keep-alive).
  void TearDown() override {
    webhook_.reset();
    KubeClientTest::TearDown();
  }
  void make(std::vector<BrokerIdKeyRule> keys, std::vector<BrokerPodRule> names = {}) {
    EvictionWebhookOptions o;
    o.rules = std::move(names);
    o.id_key_rules = std::move(keys);
    o.pods = std::make_shared<KubeClient>(options(milliseconds(500)));
    o.fresh_within = seconds(60);
    o.timeout = seconds(5);
    webhook_ = std::make_unique<EvictionWebhook>(*loop_, std::move(o));
  }
  Answer evict(const std::string& name, const std::string& ns = "kafka") {
    const HttpResponse r = webhook_->handle(eviction(ns, name));
    EXPECT_EQ(r.status, 200) << r.body;
    const json doc = json::parse(r.body);
    last_body_ = r.body;
    const json& res = doc["response"];
    Answer a{res.value("allowed", false), "", 0};
    if (res.contains("status")) {
      a.message = res["status"].value("message", "");
      a.code = res["status"].value("code", 0);
    }
    return a;
  }
  std::uint64_t decisions(const std::string& outcome, const std::string& reason) const {
    const auto st = webhook_->webhook_stats();
    const auto it = st.decisions.find(WebhookDecisionKey{outcome, reason, true});
    return it == st.decisions.end() ? 0 : it->second;
  }
  // Serves `pods` (by name; others 404).
  void serve(std::map<std::string, json> pods) {
    server_->answer(
        [pods = std::move(pods)](const std::string& ns, const std::string& name, httplib::Response& res) {
          const auto it = pods.find(name);
          if (it == pods.end() || ns != "kafka") {
            res.status = 404;
            res.set_content(status_body(404, "pods \"" + name + "\" not found").dump(), "application/json");
            return;
          }
          res.set_content(it->second.dump(), "application/json");
        });
  }

  testing::ScriptedSource source_;
  std::unique_ptr<ProbeLoop> loop_;
  std::unique_ptr<EvictionWebhook> webhook_;
  std::string last_body_;
};

BrokerIdKeyRule label_rule(const std::string& key = "isrguard.io/broker-id") {
  return {"kafka", BrokerIdKeyRule::Source::kLabel, key};
}

TEST_F(WebhookPodsTest, ALabelledBrokerIsJudgedByTheIdItsLabelCarries) {
  make({label_rule()});
  serve({{"broker-blue", pod("kafka", "broker-blue", {{"isrguard.io/broker-id", "1"}})},
         {"broker-green", pod("kafka", "broker-green", {{"isrguard.io/broker-id", "4"}})}});
  const Answer blue = evict("broker-blue");
  EXPECT_FALSE(blue.allowed);
  EXPECT_EQ(blue.code, 429);
  EXPECT_NE(blue.message.find("evicting broker 1 (pod kafka/broker-blue)"), std::string::npos)
      << blue.message;
  EXPECT_NE(blue.message.find("partitions_blocking"), std::string::npos) << blue.message;
  EXPECT_TRUE(evict("broker-green").allowed) << last_body_;
  EXPECT_EQ(decisions("denied", "partitions_blocking"), 1u);
  EXPECT_EQ(decisions("allowed", "safe"), 1u);
  EXPECT_EQ(webhook_->webhook_stats().pod_read_latency.count, 2u);
}

TEST_F(WebhookPodsTest, AnAnnotationRuleReadsTheAnnotationNotTheLabel) {
  make({{"kafka", BrokerIdKeyRule::Source::kAnnotation, "example.com/broker.id"}});
  serve({{"broker-blue",
          pod("kafka", "broker-blue", {{"example.com/broker.id", "4"}}, {{"example.com/broker.id", "1"}})}});
  const Answer a = evict("broker-blue");
  EXPECT_FALSE(a.allowed);
  EXPECT_NE(a.message.find("evicting broker 1 (pod kafka/broker-blue)"), std::string::npos) << a.message;
}

TEST_F(WebhookPodsTest, APodWithoutTheLabelIsNotABroker) {
  make({label_rule()});
  serve({{"kafka-exporter-6f9c7", pod("kafka", "kafka-exporter-6f9c7", {{"app", "exporter"}})}});
  EXPECT_TRUE(evict("kafka-exporter-6f9c7").allowed) << last_body_;
  EXPECT_EQ(decisions("allowed", "not_a_broker"), 1u);
}

TEST_F(WebhookPodsTest, ALabelThatIsNotABrokerIdIsDenied) {
  make({label_rule()});
  for (const std::string value : {"x", "-1", "01", "+4", "4 ", "", "2147483648", "99999999999"}) {
    serve({{"broker-odd", pod("kafka", "broker-odd", {{"isrguard.io/broker-id", value}})}});
    const Answer a = evict("broker-odd");
    EXPECT_FALSE(a.allowed) << "'" << value << "'";
    EXPECT_EQ(a.code, 429);
    EXPECT_NE(a.message.find("denied (broker_id_invalid)"), std::string::npos) << a.message;
    EXPECT_NE(a.message.find("label isrguard.io/broker-id is '" + value + "'"), std::string::npos)
        << a.message;
  }
  EXPECT_EQ(decisions("denied", "broker_id_invalid"), 8u);
}

TEST_F(WebhookPodsTest, NameRulesDecideWhenTheLabelIsAbsentAndMustAgreeWhenItIsPresent) {
  make({label_rule()}, {BrokerPodRule{"kafka", "kafka-", 0}});
  serve({{"kafka-4", pod("kafka", "kafka-4")},
         {"kafka-1", pod("kafka", "kafka-1", {{"isrguard.io/broker-id", "4"}})},
         {"kafka-5", pod("kafka", "kafka-5", {{"isrguard.io/broker-id", "5"}})}});
  EXPECT_TRUE(evict("kafka-4").allowed) << last_body_;  // by name: broker 4
  EXPECT_TRUE(evict("kafka-5").allowed) << last_body_;  // label and name agree
  const Answer conflict = evict("kafka-1");
  EXPECT_FALSE(conflict.allowed);
  EXPECT_NE(conflict.message.find("denied (broker_id_conflict)"), std::string::npos) << conflict.message;
  EXPECT_NE(conflict.message.find("says broker 4 but --webhook-broker-pods maps the name to broker 1"),
            std::string::npos)
      << conflict.message;
}

TEST_F(WebhookPodsTest, NamespacesWithoutALabelRuleReadNoPod) {
  make({label_rule()}, {BrokerPodRule{"other", "kafka-", 0}});
  EXPECT_FALSE(evict("kafka-1", "other").allowed);  // by name, no read
  EXPECT_TRUE(evict("web-0", "default").allowed);
  EXPECT_TRUE(server_->authorizations().empty());
}

TEST_F(WebhookPodsTest, EveryFailedReadIsDeniedWithItsOwnReasonAndRetryLater) {
  make({label_rule()});
  struct Row {
    std::function<void()> arrange;
    std::string reason;
  };
  const auto status = [&](int code) {
    return [&, code] { server_->answer_json(code, status_body(code, "nope")); };
  };
  const std::vector<Row> rows = {
      {status(401), "pod_read_unauthorized"},
      {status(403), "pod_read_forbidden"},
      {status(404), "pod_not_found"},
      {status(500), "pod_read_server_error"},
      {[&] { server_->answer_json(200, json::array()); }, "pod_read_invalid"},
      {[&] {
         server_->answer_json(200, pod("kafka", "broker-a", {{"pad", std::string(kMaxPodBytes, 'x')}}));
       },
       "pod_read_too_large"},
      {[&] {
         server_->answer_json(200, pod("kafka", "broker-a"));
         server_->hold();
       },
       "pod_read_timeout"},
  };
  for (const auto& row : rows) {
    row.arrange();
    const Answer a = evict("broker-a");
    server_->release();
    EXPECT_FALSE(a.allowed) << row.reason;
    EXPECT_EQ(a.code, 429) << row.reason;
    EXPECT_NE(
        a.message.find("isrguard: evicting pod kafka/broker-a: denied (" + row.reason +
                       "): cannot tell which broker it runs: GET /api/v1/namespaces/kafka/pods/broker-a: "),
        std::string::npos)
        << a.message;
    EXPECT_NE(a.message.find("; retry later"), std::string::npos) << a.message;
    EXPECT_EQ(decisions("denied", row.reason), 1u) << row.reason;
  }
  server_->stop();
  const Answer down = evict("broker-a");
  EXPECT_FALSE(down.allowed);
  EXPECT_NE(down.message.find("denied (pod_read_failed)"), std::string::npos) << down.message;
}

// The token is sent (so the check below is not vacuous) but never shown: not in answers, logs or stats.
TEST_F(WebhookPodsTest, TheTokenNeverAppearsInAnyOutput) {
  LogCapture logs;
  make({label_rule()});
  std::string outputs;
  for (int code : {200, 401, 403, 404, 500}) {
    server_->answer([code](const std::string&, const std::string& name, httplib::Response& res) {
      res.status = code;
      res.set_content(code == 200 ? pod("kafka", name, {{"isrguard.io/broker-id", "1"}}).dump()
                                  : status_body(code, "refused").dump(),
                      "application/json");
    });
    evict("broker-a");
    outputs += last_body_;
  }
  fs::remove(dir_ / "token");  // unreadable: logged, last good token used
  evict("broker-a");
  outputs += last_body_;
  std::ostringstream stats;
  for (const auto& [key, n] : webhook_->webhook_stats().decisions) stats << key.outcome << key.reason << n;
  outputs += stats.str() + logs.text();
  const auto sent = server_->authorizations();
  ASSERT_EQ(sent.size(), 6u);
  EXPECT_EQ(sent.back(), std::string("Bearer ") + kToken);
  EXPECT_NE(logs.text().find("cannot read the token file"), std::string::npos) << logs.text();
  EXPECT_EQ(outputs.find("tok-"), std::string::npos) << outputs;
  EXPECT_EQ(outputs.find("SECRET"), std::string::npos) << outputs;
}

}  // namespace
}  // namespace isrguard::service
