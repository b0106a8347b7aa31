// Operator overrides end to end: the real isrguard executable against kafkasim, with its overrides file laid
// out as the kubelet lays out a mounted ConfigMap (overrides.yaml -> ..data/overrides.yaml, ..data -> a
// timestamped directory, updates by an atomic rename of ..data), so every change is a symlink swap.
// Short --poll-interval and --recovery-hold keep it fast; every wait awaits a condition with a generous bound.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "service/judge/wall_time.h"
#include "service/judge/overrides.h"
#include "service/views/status_report.h"
#include "tests/kafkasim/cluster.h"
#include "tests/support/await.h"
#include "tests/support/binary_process.h"

namespace isrguard {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using testing::await;
using testing::slurp;

constexpr auto kBound = seconds(30);  // generous: the machine is shared; normally well under 2 s

std::string in(seconds from_now) { return service::format_time(std::chrono::system_clock::now() + from_now); }

std::string freeze(const std::string& expires) {
  return "overrides:\n  - action: freeze\n    expires: " + expires +
         "\n    by: platform-oncall\n    why: \"Kafka 3.7 upgrade window, CHG-1234\"\n";
}
// brokers_missing and the partitions that only lost broker 102.
std::string ack102(const std::string& expires) {
  std::string s = "overrides:\n";
  for (const char* reason : {"brokers_missing", "under_replicated_partitions"})
    s += std::string("  - action: acknowledge\n    reason: ") + reason + "\n    brokers: [102]\n    expires: " +
         expires + "\n    by: sre-oncall\n    why: \"i-0abc retired (INC-881)\"\n";
  return s;
}

// Every line of /readyz?verbose in kube-apiserver's format (see tests/http/http_api_test.cc).
void expect_kube_format(const std::string& verbose) {
  const std::regex check(R"(\[\+\][a-z_]+ ok|\[-\][a-z_]+ failed: .+|warn: .+|readyz check (passed|failed))");
  std::istringstream body(verbose);
  for (std::string line; std::getline(body, line);) EXPECT_TRUE(std::regex_match(line, check)) << line;
}

// A ConfigMap volume: <dir>/overrides.yaml -> ..data/overrides.yaml; ..data -> ..<version>.
class ConfigMapDir {
 public:
  explicit ConfigMapDir(const std::string& tag)
      : dir_(fs::temp_directory_path() / ("isrguard-cm-" + tag + "-" + std::to_string(::getpid()))) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~ConfigMapDir() { fs::remove_all(dir_); }
  std::string file() const { return (dir_ / "overrides.yaml").string(); }

  // What the kubelet does on an update: write a new version directory, point ..data at it atomically.
  void publish(const std::string& text) { publish_with([&](const fs::path& f) { std::ofstream(f) << text; }); }
  // The same swap, with overrides.yaml a FIFO (no writer): a reader that blocks on it would hang.
  void publish_fifo() { publish_with([](const fs::path& f) { ASSERT_EQ(::mkfifo(f.c_str(), 0600), 0); }); }

 private:
  template <typename MakeFile>
  void publish_with(MakeFile&& make_file) {
    const std::string version = "..v" + std::to_string(++version_);
    fs::create_directories(dir_ / version);
    make_file(dir_ / version / "overrides.yaml");
    fs::create_directory_symlink(version, dir_ / "..data_tmp");
    fs::rename(dir_ / "..data_tmp", dir_ / "..data");
    if (version_ == 1) fs::create_symlink("..data/overrides.yaml", dir_ / "overrides.yaml");
    if (version_ > 1) fs::remove_all(dir_ / ("..v" + std::to_string(version_ - 1)));
  }

  fs::path dir_;
  int version_ = 0;
};

// Brokers 101-103 (controller 101), "orders" 6 x RF3 with min.insync.replicas 2, and isrguard serving.
class OverridesE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    auto spec = kafkasim::make_cluster({101, 102, 103});
    spec.broker_defaults["min.insync.replicas"] = "2";
    spec.topics.push_back(kafkasim::make_topic("orders", kafkasim::round_robin_partitions(6, 3, {101, 102, 103})));
    cluster_ = std::make_unique<kafkasim::Cluster>(spec);
    cluster_->start();
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      await([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, seconds(10));
    }
    std::remove(out_.c_str());
    std::remove(err_.c_str());
  }

  void start(const std::string& overrides_text) {
    cm_.publish(overrides_text);
    out_ = testing::temp_path("out");
    err_ = testing::temp_path("err");
    pid_ = testing::spawn({"--bootstrap-servers", cluster_->bootstrap_servers(), "--expected-brokers", "101-103",
                           "--http-address", "127.0.0.1", "--http-port", "0", "--health-port", "0", "--poll-interval", "100ms",
                           "--recovery-hold", "1s", "--overrides-file", cm_.file()},
                          out_, err_);
    const int port = testing::await_listening_port(err_);
    ASSERT_GT(port, 0) << slurp(err_);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port);
  }

  // A controller's reaction to losing a broker: gone, out of every ISR, leaders moved.
  void lose(int id) {
    cluster_->broker_down(id);
    cluster_->remove_from_isrs(id);
    cluster_->elect_leaders();
  }

  int readyz() {
    auto r = client_->Get("/readyz");
    return r ? r->status : 0;
  }
  bool await_ready(int status) {
    return await([&] { return readyz() == status; }, kBound);
  }
  nlohmann::json status() {
    auto r = client_->Get("/v1/status");
    return r && r->status == 200 ? nlohmann::json::parse(r->body) : nlohmann::json();
  }
  std::string get(const std::string& path) {
    auto r = client_->Get(path);
    return r ? r->body : "";
  }
  nlohmann::json reason(const std::string& code) {
    const auto s = status();
    for (const auto& r : s["reasons"])
      if (r["code"] == code) return r;
    return nullptr;
  }

  std::unique_ptr<kafkasim::Cluster> cluster_;
  ConfigMapDir cm_{::testing::UnitTest::GetInstance()->current_test_info()->name()};
  std::unique_ptr<httplib::Client> client_;
  std::string out_, err_;
  pid_t pid_ = -1;
};

TEST_F(OverridesE2e, FreezeClosesAHealthyGateWithinOnePollAndLiftingReopensAfterTheHold) {
  start("overrides: []\n");
  ASSERT_TRUE(await_ready(200)) << slurp(err_);

  const auto probes_before = status()["probe"]["total"].get<std::int64_t>();
  cm_.publish(freeze(in(seconds(3600))));
  ASSERT_TRUE(await_ready(503)) << slurp(err_);
  // Within one poll: the probe in flight when the file changed, at most, and the next one.
  EXPECT_LE(status()["probe"]["total"].get<std::int64_t>() - probes_before, 3);
  EXPECT_EQ(status()["gate"]["blocking"], nlohmann::json({"override_freeze"}));
  const std::string verbose = get("/readyz?verbose");
  EXPECT_NE(verbose.find("[-]override_freeze failed: frozen by platform-oncall (Kafka 3.7 upgrade window, CHG-1234)"),
            std::string::npos)
      << verbose;
  EXPECT_NE(verbose.find("warn: override in force: freeze by platform-oncall until "), std::string::npos) << verbose;
  expect_kube_format(verbose);
  EXPECT_NE(get("/metrics").find(R"(isrguard_override_active{action="freeze",by="platform-oncall",reason=""} 1)"),
            std::string::npos);
  EXPECT_EQ(status()["overrides"]["active"][0]["why"], "Kafka 3.7 upgrade window, CHG-1234");

  cm_.publish("overrides: []\n");
  // Lifting does not open at once: the gate recovers through the 1 s hold first.
  ASSERT_TRUE(await([&] { return status()["gate"]["state"] == "recovering"; }, kBound)) << slurp(err_);
  EXPECT_EQ(readyz(), 503);
  ASSERT_TRUE(await_ready(200)) << slurp(err_);
  const std::string log = slurp(err_);
  EXPECT_NE(log.find("override in force: freeze by platform-oncall"), std::string::npos) << log;
  EXPECT_NE(log.find("override lifted: freeze by platform-oncall"), std::string::npos) << log;
}

TEST_F(OverridesE2e, AcknowledgedBroker102LetsTheGateOpenButLosing103ClosesIt) {
  start("overrides: []\n");
  ASSERT_TRUE(await_ready(200)) << slurp(err_);
  lose(102);
  ASSERT_TRUE(await_ready(503));
  ASSERT_TRUE(await([&] { return reason("brokers_missing")["gating"] == true; }, kBound)) << status().dump(1);

  cm_.publish(ack102(in(seconds(3600))));  // a symlink swap, as a ConfigMap update
  ASSERT_TRUE(await_ready(200)) << get("/readyz?verbose") << slurp(err_);
  EXPECT_EQ(reason("brokers_missing")["gating"], false);
  EXPECT_EQ(reason("under_replicated_partitions")["gating"], false);
  const std::string verbose = get("/readyz?verbose");
  EXPECT_NE(verbose.find("warn: override in force: acknowledge brokers_missing brokers=[102] by sre-oncall"),
            std::string::npos)
      << verbose;
  expect_kube_format(verbose);

  lose(103);
  ASSERT_TRUE(await_ready(503)) << slurp(err_);
  ASSERT_TRUE(await([&] { return reason("brokers_missing")["gating"] == true; }, kBound));
  EXPECT_NE(reason("brokers_missing")["detail"].get<std::string>().find("1 of 2 acknowledged by sre-oncall"),
            std::string::npos)
      << reason("brokers_missing");
}

TEST_F(OverridesE2e, AnExpiringAcknowledgementClosesTheGateAgain) {
  lose(102);
  start(ack102(in(seconds(6))));
  ASSERT_TRUE(await_ready(200)) << get("/readyz?verbose") << slurp(err_);
  ASSERT_TRUE(await_ready(503)) << slurp(err_);
  EXPECT_EQ(status()["overrides"]["active"].size(), 0u);
  EXPECT_EQ(status()["overrides"]["expired"].size(), 2u);
  EXPECT_EQ(reason("brokers_missing")["gating"], true);
  EXPECT_NE(get("/readyz?verbose").find("warn: override expired, ignored: acknowledge brokers_missing"),
            std::string::npos);
  EXPECT_NE(slurp(err_).find("override expired: acknowledge brokers_missing brokers=[102]"), std::string::npos);
}

TEST_F(OverridesE2e, ABrokenFileIsReportedAndChangesNothing) {
  start(freeze(in(seconds(3600))));
  ASSERT_TRUE(await([&] { return status()["gate"]["blocking"] == nlohmann::json({"override_freeze"}); }, kBound));

  cm_.publish("overrides:\n  - action: freeze\n    expires: " + in(seconds(3600)) + "\n    by: platform\n");
  ASSERT_TRUE(await([&] { return status()["overrides"]["valid"] == false; }, kBound)) << slurp(err_);
  const auto s = status();
  EXPECT_EQ(s["overrides"]["error"], "line 2: overrides[0].why: required");
  EXPECT_EQ(s["overrides"]["reload_errors"], 1);
  EXPECT_EQ(s["overrides"]["active"].size(), 1u);  // the last valid set: the freeze
  EXPECT_EQ(s["gate"]["blocking"], nlohmann::json({"override_freeze"}));
  EXPECT_EQ(reason("overrides_invalid")["gating"], false) << s.dump(1);
  const std::string metrics = get("/metrics");
  EXPECT_NE(metrics.find("isrguard_overrides_file_valid 0"), std::string::npos);
  EXPECT_NE(metrics.find("isrguard_overrides_reload_errors_total 1"), std::string::npos);
  EXPECT_EQ(readyz(), 503);
  EXPECT_NE(slurp(err_).find("overrides file " + cm_.file() + " invalid, keeping the last valid set (1 entry)"),
            std::string::npos);
}

TEST_F(OverridesE2e, ABrokenFileLeavesAnOpenGateOpen) {
  start("overrides: []\n");
  ASSERT_TRUE(await_ready(200)) << slurp(err_);
  cm_.publish("overrides: [\n");
  ASSERT_TRUE(await([&] { return status()["overrides"]["valid"] == false; }, kBound)) << slurp(err_);
  EXPECT_EQ(readyz(), 200);
  EXPECT_EQ(status()["gate"]["transitions"], 2);  // initializing -> recovering -> open, nothing since
}

// An isrguard restart re-reads a file that still holds a naturally expired acknowledgement: the valid freeze
// next to it stays in force (before the fix the whole file was invalid and there were no overrides at all).
TEST_F(OverridesE2e, ARestartWithAnExpiredEntryKeepsTheFreezeInForce) {
  start(ack102(in(seconds(-3600))) + freeze(in(seconds(3600))).substr(std::string("overrides:\n").size()));
  ASSERT_TRUE(await([&] { return status()["gate"]["blocking"] == nlohmann::json({"override_freeze"}); }, kBound))
      << status()["overrides"].dump(1) << slurp(err_);
  const auto o = status()["overrides"];
  EXPECT_EQ(o["valid"], true) << o.dump(1);
  EXPECT_EQ(o["active"].size(), 1u);
  EXPECT_EQ(o["active"][0]["action"], "freeze");
  EXPECT_EQ(o["expired"].size(), 2u);
  EXPECT_EQ(o["expired"][0]["reason"], "brokers_missing");
  EXPECT_EQ(readyz(), 503);
  EXPECT_NE(get("/readyz?verbose").find("warn: override expired, ignored: acknowledge brokers_missing"),
            std::string::npos);
}

// A NEW entry with a past expiry written while a valid set is in force is an operator's typo: reported,
// counted, and the last valid set stays.
TEST_F(OverridesE2e, ANewEntryWithAPastExpiryIsAnErrorAndKeepsTheLastValidSet) {
  start(freeze(in(seconds(3600))));
  ASSERT_TRUE(await([&] { return status()["gate"]["blocking"] == nlohmann::json({"override_freeze"}); }, kBound));
  cm_.publish(freeze(in(seconds(3600))) + ack102(in(seconds(-60))).substr(std::string("overrides:\n").size()));
  ASSERT_TRUE(await([&] { return status()["overrides"]["valid"] == false; }, kBound)) << slurp(err_);
  const auto o = status()["overrides"];
  EXPECT_NE(o["error"].get<std::string>().find("overrides[1].expires: "), std::string::npos) << o.dump(1);
  EXPECT_NE(o["error"].get<std::string>().find(" is in the past; remove expired entries"), std::string::npos);
  EXPECT_EQ(o["active"].size(), 1u);
  EXPECT_EQ(o["expired"].size(), 0u);
  EXPECT_EQ(status()["gate"]["blocking"], nlohmann::json({"override_freeze"}));
}

TEST_F(OverridesE2e, OnceShowsOverridesAndAFreezeIsUnhealthy) {
  cm_.publish(freeze(in(seconds(3600))));
  auto r = testing::run({"--bootstrap-servers", cluster_->bootstrap_servers(), "--overrides-file", cm_.file(),
                         "--once", "--output", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["healthy"], false);
  EXPECT_EQ(j["overrides"]["active"][0]["action"], "freeze");
  auto table = testing::run({"--bootstrap-servers", cluster_->bootstrap_servers(), "--overrides-file", cm_.file(),
                             "--once"});
  EXPECT_NE(table.out.find("OVERRIDES (" + cm_.file() + ": 1 active, 0 expired)"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("override_freeze"), std::string::npos) << table.out;
}

// ---- the disruption API honours acknowledgements as the gate does ----

// Known, accepted problems while broker 102 is gone: "orders" may drop under min ISR, and partition
// scratch-0 (RF 2, min.insync.replicas 1, replicas [102,103]) may go offline.
std::string accepted_problems(const std::string& expires) {
  return ack102(expires) +
         "  - action: acknowledge\n    reason: under_min_isr_partitions\n    topics: [orders]\n    "
         "expires: " +
         expires + "\n    by: sre-oncall\n    why: \"orders tolerates min ISR during INC-881\"\n" +
         "  - action: acknowledge\n    reason: offline_partitions\n    partitions: [scratch-0]\n    "
         "expires: " +
         expires + "\n    by: data-team\n    why: \"scratch-0 is disposable\"\n";
}

// The topic those problems are about: RF 2, min.insync.replicas 1.
void add_scratch(kafkasim::Cluster& cluster) {
  cluster.create_topic(kafkasim::make_topic("scratch",
                                            {kafkasim::make_partition(0, 102, {102, 103}, {102, 103}),
                                             kafkasim::make_partition(1, 101, {101, 102}, {101, 102})},
                                            {{"min.insync.replicas", "1"}}));
}

// Broker 102 down; the question "may 103 go too?" is unsafe (it would take orders under min ISR and
// scratch-0 offline) until both problems are acknowledged; "may 101 go?" would take scratch-1 offline,
// which nobody acknowledged: it stays unsafe. `--once --disrupt-brokers` with the same file agrees.
TEST_F(OverridesE2e, AcknowledgedProblemsLetADisruptionThroughOnlyWithinTheirScope) {
  add_scratch(*cluster_);
  lose(102);
  start(ack102(in(seconds(3600))));
  ASSERT_TRUE(await_ready(200)) << get("/readyz?verbose") << slurp(err_);
  auto disruption = [&](const std::string& ids) {
    auto r = client_->Get("/v1/disruption?brokers=" + ids);
    return std::make_pair(r ? r->status : 0, r ? nlohmann::json::parse(r->body) : nlohmann::json());
  };
  auto [before, unsafe] = disruption("103");
  ASSERT_EQ(before, 409) << unsafe.dump(1);
  EXPECT_EQ(unsafe["blocking"]["total"], 7)
      << unsafe.dump(1);  // orders-0..5 under min ISR, scratch-0 offline
  EXPECT_EQ(unsafe["counts"]["acknowledged"], 0);

  cm_.publish(accepted_problems(in(seconds(3600))));
  ASSERT_TRUE(await([&] { return disruption("103").first == 200; }, kBound))
      << disruption("103").second.dump(1);
  const auto safe = disruption("103").second;
  EXPECT_EQ(safe["safe"], true);
  EXPECT_EQ(safe["blocking"]["total"], 0);
  EXPECT_EQ(safe["counts"]["under_min_isr"], 6);  // the facts are unchanged
  EXPECT_EQ(safe["counts"]["offline"], 1);
  EXPECT_EQ(safe["acknowledged"]["total"], 7) << safe.dump(1);
  bool scratch_listed = false;
  for (const auto& p : safe["acknowledged"]["items"]) {
    if (p["topic"] != "scratch") continue;
    scratch_listed = true;
    EXPECT_EQ(p["partition"], 0);
    EXPECT_EQ(p["outcome"], "offline");
    EXPECT_EQ(p["acknowledged_by"][0]["by"], "data-team");
    EXPECT_EQ(p["acknowledged_by"][0]["why"], "scratch-0 is disposable");
  }
  EXPECT_TRUE(scratch_listed) << safe.dump(1);

  auto [outside, still_unsafe] = disruption("101");
  EXPECT_EQ(outside, 409) << still_unsafe.dump(1);
  EXPECT_EQ(still_unsafe["blocking"]["total"], 1) << still_unsafe.dump(1);
  EXPECT_EQ(still_unsafe["blocking"]["items"][0]["topic"], "scratch");
  EXPECT_EQ(still_unsafe["blocking"]["items"][0]["partition"], 1);
  EXPECT_EQ(still_unsafe["blocking"]["items"][0]["outcome"], "offline");
  EXPECT_EQ(still_unsafe["acknowledged"]["total"], 6);  // orders, under min ISR

  // The CLI reads the same file and answers the same way (exit 0 safe, 1 unsafe).
  auto once = [&](const std::string& ids) {
    return testing::run({"--bootstrap-servers", cluster_->bootstrap_servers(), "--expected-brokers",
                         "101-103", "--overrides-file", cm_.file(), "--once", "--disrupt-brokers", ids,
                         "--output", "json"});
  };
  const auto cli_safe = once("103");
  EXPECT_EQ(cli_safe.exit_code, 0) << cli_safe.out << cli_safe.err;
  const auto cli_safe_json = nlohmann::json::parse(cli_safe.out);
  EXPECT_EQ(cli_safe_json["counts"], safe["counts"]);
  EXPECT_EQ(cli_safe_json["acknowledged"]["total"], 7);
  const auto cli_unsafe = once("101");
  EXPECT_EQ(cli_unsafe.exit_code, 1) << cli_unsafe.out << cli_unsafe.err;
  EXPECT_EQ(nlohmann::json::parse(cli_unsafe.out)["blocking"], still_unsafe["blocking"]);
  // Without the file the CLI knows of no acknowledgement.
  const auto no_file = testing::run({"--bootstrap-servers", cluster_->bootstrap_servers(),
                                     "--expected-brokers", "101-103", "--once", "--disrupt-brokers", "103"});
  EXPECT_EQ(no_file.exit_code, 1) << no_file.out << no_file.err;
}

// The per-broker answers (/v1/status brokers[].safe_to_disrupt, isrguard_broker_safe_to_disrupt) honour the
// same acknowledgements as /v1/disruption?brokers=<id>, and stop saying "safe" when they expire.
TEST_F(OverridesE2e, PerBrokerSafetyAgreesWithTheDisruptionApiUnderAcknowledgements) {
  add_scratch(*cluster_);
  lose(102);
  start(accepted_problems(in(seconds(3600))));
  auto disruption_ok = [&](int id) {
    auto r = client_->Get("/v1/disruption?brokers=" + std::to_string(id));
    return r ? r->status == 200 : false;
  };
  auto status_safe = [&](int id) {
    const auto s = status();
    for (const auto& b : s["brokers"])
      if (b["id"] == id) return b.value("safe_to_disrupt", false);
    return false;
  };
  auto metric_safe = [&](int id) {
    const std::string series = "isrguard_broker_safe_to_disrupt{broker_id=\"" + std::to_string(id) + "\"";
    const std::string body = get("/metrics");
    const auto at = body.find(series);
    if (at == std::string::npos) return -1;
    const std::string line = body.substr(at, body.find('\n', at) - at);
    return std::stod(line.substr(line.rfind(' ') + 1)) == 1 ? 1 : 0;
  };
  ASSERT_TRUE(await([&] { return disruption_ok(103); }, kBound)) << get("/v1/disruption?brokers=103");
  EXPECT_TRUE(status_safe(103)) << status()["brokers"].dump(1);
  EXPECT_EQ(metric_safe(103), 1) << get("/metrics");
  // Broker 101 would take scratch-1 offline, which nobody acknowledged: unsafe on every surface.
  EXPECT_FALSE(disruption_ok(101));
  EXPECT_FALSE(status_safe(101));
  EXPECT_EQ(metric_safe(101), 0);
  // Once the acknowledgements expire, all three say unsafe for 103 too.
  cm_.publish(accepted_problems(in(seconds(3))));
  ASSERT_TRUE(await([&] { return !disruption_ok(103); }, kBound));
  EXPECT_FALSE(status_safe(103)) << status()["brokers"].dump(1);
  EXPECT_EQ(metric_safe(103), 0) << get("/metrics");
}

TEST(CheckOverrides, PrintsTheEffectiveSetOrThePreciseErrorWithoutKafka) {
  ConfigMapDir cm("check");
  cm.publish(ack102(in(seconds(3600))));
  auto ok = testing::run({"--check-overrides", cm.file()});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("2 active, 0 expired"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("line 2: acknowledge brokers_missing brokers=[102] by sre-oncall until "), std::string::npos)
      << ok.out;

  cm.publish(ack102(in(seconds(3600 * 48))));
  auto too_long = testing::run({"--check-overrides", cm.file()});
  EXPECT_EQ(too_long.exit_code, 2);
  EXPECT_NE(too_long.err.find("invalid: line 5: overrides[0].expires: "), std::string::npos) << too_long.err;
  EXPECT_NE(too_long.err.find("more than the allowed 24h0m ahead (--max-override-ttl)"), std::string::npos);
  auto longer_ttl = testing::run({"--check-overrides", cm.file(), "--max-override-ttl", "72h"});
  EXPECT_EQ(longer_ttl.exit_code, 0) << longer_ttl.err;
}

// --check-overrides judges a file as isrguard does at start-up: an entry whose expiry has passed is listed as
// EXPIRED (it is ignored), not an error; the file is valid (exit 0).
TEST(CheckOverrides, ListsAnExpiredEntryAsExpiredAndExitsZero) {
  ConfigMapDir cm("check-expired");
  cm.publish(ack102(in(seconds(-3600))) + freeze(in(seconds(3600))).substr(std::string("overrides:\n").size()));
  auto r = testing::run({"--check-overrides", cm.file()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 active, 2 expired"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("line 2: EXPIRED acknowledge brokers_missing brokers=[102] by sre-oncall until "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("line 14: freeze by platform-oncall until "), std::string::npos) << r.out;
}

// Issue 22: a FIFO swapped in for the file never wedges the probe loop; it is reported and the last valid set
// (the freeze) stays; a valid file afterwards is read again.
TEST_F(OverridesE2e, AFifoIsRefusedWithoutWedgingTheLoop) {
  start(freeze(in(seconds(3600))));
  ASSERT_TRUE(await_ready(503));
  cm_.publish_fifo();
  ASSERT_TRUE(await([&] { return status()["overrides"]["valid"] == false; }, kBound)) << status().dump(1);
  EXPECT_NE(status()["overrides"]["error"].get<std::string>().find("is a FIFO, not a regular file: refused"),
            std::string::npos)
      << status()["overrides"].dump(1);
  EXPECT_EQ(readyz(), 503);  // the freeze, the last valid set, stays in force
  cm_.publish("overrides: []\n");
  EXPECT_TRUE(await_ready(200)) << status()["overrides"].dump(1);
}

// Issue 22: what --check-overrides refuses (exit 2, the reason on stderr) instead of hanging or reading wrongly.
TEST(CheckOverrides, RefusesFarExpiriesDuplicateKeysDeadScopesAndFifos) {
  ConfigMapDir cm("check-hostile");
  const std::string entry = freeze(in(seconds(3600))).substr(std::string("overrides:\n").size());
  const std::vector<std::pair<std::string, std::string>> rows = {
      {freeze("9999-12-31T23:59:59Z"), "9999-12-31T23:59:59Z is more than the allowed 24h0m ahead"},
      {"overrides:\n" + entry + "overrides:\n", "line 6: overrides: given twice"},
      {"overrides:\n  - action: acknowledge\n    reason: brokers_reconnected\n    brokers: [3]\n    expires: " +
           in(seconds(3600)) + "\n    by: x\n    why: w\n",
       "reason brokers_reconnected cannot be scoped by brokers (brokers_reconnected takes no scope"},
  };
  for (const auto& [text, error] : rows) {
    cm.publish(text);
    const auto r = testing::run({"--check-overrides", cm.file()});
    EXPECT_EQ(r.exit_code, 2) << text << r.out;
    EXPECT_NE(r.err.find(error), std::string::npos) << r.err;
  }
  cm.publish_fifo();
  const auto fifo = testing::run({"--check-overrides", cm.file()});
  EXPECT_EQ(fifo.exit_code, 2) << fifo.out;
  EXPECT_NE(fifo.err.find("is a FIFO, not a regular file: refused"), std::string::npos) << fifo.err;
}

}  // namespace
}  // namespace isrguard
