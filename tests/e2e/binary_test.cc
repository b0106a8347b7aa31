// The isrguard executable as users and scripts run it: exit codes of --once and of bad configuration,
// serving on an ephemeral port, and a clean stop on SIGTERM.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/kafkasim/cluster.h"
#include "tests/support/await.h"
#include "tests/support/binary_process.h"

namespace isrguard {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using testing::await_listening_port;
using testing::run;
using testing::slurp;
using testing::spawn;
using testing::temp_path;

// A "broker" on loopback that accepts connections and never answers: the kernel completes handshakes, nobody
// ever reads, so a probe against it stays in flight for its whole --probe-timeout.
struct HungBroker {
  int fd = -1;
  std::string address;  // 127.0.0.1:<port>
  HungBroker() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd >= 0) ::close(fd);
      fd = -1;
      return;
    }
    address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  }
  ~HungBroker() {
    if (fd >= 0) ::close(fd);
  }
  HungBroker(const HungBroker&) = delete;
  HungBroker& operator=(const HungBroker&) = delete;
};

// Whether GET `path` answers `status` with a body containing `body_has` within 20 s.
bool await_response(httplib::Client& client, const std::string& path, int status,
                    const std::string& body_has = "") {
  return testing::await(
      [&] {
        auto r = client.Get(path);
        return r && r->status == status && r->body.find(body_has) != std::string::npos;
      },
      seconds(20));
}

TEST(Binary, OnceOnAHealthyClusterExitsZeroWithAJsonVerdict) {
  auto r = run({"--mock-brokers", "3", "--once", "--output", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);  // stdout holds only the JSON: logs go to stderr
  EXPECT_EQ(j["healthy"], true);
  EXPECT_EQ(j["counts"]["brokers_up"], 3);
}

TEST(Binary, OnceWithAMissingExpectedBrokerExitsOne) {
  auto r = run({"--mock-brokers", "3", "--expected-brokers", "1-4", "--once"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("UNHEALTHY"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("brokers_missing"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MISSING"), std::string::npos) << r.out;
}

TEST(Binary, OnceWhenNoBrokerAnswersExitsTwo) {
  // Port 1 on loopback: connection refused at once; nothing outside loopback is contacted.
  auto r = run({"--bootstrap-servers", "127.0.0.1:1", "--probe-timeout", "1s", "--once"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.out.find("probe failed (transport)"), std::string::npos) << r.out;
  // An error, not a verdict: no UNHEALTHY headline.
  EXPECT_EQ(r.out.rfind("ERROR", 0), 0u) << r.out;
  EXPECT_EQ(r.out.find("UNHEALTHY"), std::string::npos) << r.out;
}

TEST(Binary, OnceJsonWhenNoBrokerAnswersIsAnErrorObject) {
  auto r = run({"--bootstrap-servers", "127.0.0.1:1", "--probe-timeout", "1s", "--once", "--output", "json"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["error"]["kind"], "transport") << r.out;
  EXPECT_FALSE(j.contains("healthy")) << r.out;
}

TEST(Binary, OnceJsonWithInvalidConfigurationPrintsTheErrorsAsJson) {
  auto r = run({"--bootstrap-servers", "127.0.0.1:1", "--once", "--output", "json", "--poll-interval", "soon",
                "--kafka-config", "ssl.truststore.location=/t.jks"});
  EXPECT_EQ(r.exit_code, 2);
  auto j = nlohmann::json::parse(r.out);  // stdout holds only the JSON error
  EXPECT_EQ(j["error"]["kind"], "config") << r.out;
  EXPECT_EQ(j["error"]["message"], "invalid configuration (2 problems)") << r.out;
  ASSERT_EQ(j["error"]["problems"].size(), 2u) << r.out;
  EXPECT_NE(r.err.find("--poll-interval"), std::string::npos) << r.err;

  auto unknown_flag = run({"--once", "--output", "json", "--no-such-flag"});
  EXPECT_EQ(unknown_flag.exit_code, 2);
  EXPECT_EQ(nlohmann::json::parse(unknown_flag.out)["error"]["kind"], "config") << unknown_flag.out;

  // A property librdkafka itself refuses (checked when the client is built) is a configuration error too.
  auto refused = run({"--bootstrap-servers", "127.0.0.1:1", "--once", "--output", "json", "--kafka-config",
                      "socket.timeout.ms=banana"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_EQ(nlohmann::json::parse(refused.out)["error"]["kind"], "config") << refused.out;
}

TEST(Binary, InvalidConfigurationReportsEveryErrorAndExitsTwo) {
  auto r = run({"--bootstrap-servers", "127.0.0.1:1", "--poll-interval", "soon", "--expected-brokers", "3-1",
                "--http-port", "70000"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--poll-interval"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--expected-brokers"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--http-port"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(Binary, HelpDocumentsEveryFlagWithItsEnvironmentVariable) {
  auto r = run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag :
       {"--bootstrap-servers", "--kafka-properties", "--kafka-config", "--expected-brokers", "--fleet",
        "--recovery-hold", "--stale-after", "--probe-timeout", "--once", "--output"})
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  EXPECT_NE(r.out.find("ISRGUARD_BOOTSTRAP_SERVERS"), std::string::npos);
}

TEST(Binary, ServesAndStopsCleanlyOnSigterm) {
  const auto out = temp_path("out"), err = temp_path("err");
  const pid_t pid = spawn({"--mock-brokers", "3", "--http-address", "127.0.0.1", "--http-port", "0", "--health-port", "0",
                           "--poll-interval", "200ms", "--recovery-hold", "0s"},
                          out, err);
  // The bound port is logged on start-up.
  const int port = await_listening_port(err);
  ASSERT_GT(port, 0) << slurp(err);
  httplib::Client client("127.0.0.1", port);
  ASSERT_TRUE(testing::await(
      [&] {
        auto r = client.Get("/readyz");
        return r && r->status == 200;
      },
      seconds(20)));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  const auto t0 = std::chrono::steady_clock::now();
  int status = 0;
  ASSERT_TRUE(testing::await([&] { return waitpid(pid, &status, WNOHANG) == pid; }, seconds(10)));
  const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(slurp(err).find("received SIGTERM, shutting down"), std::string::npos);
  RecordProperty("shutdown_ms", static_cast<int>(took.count()));
  std::remove(out.c_str());
  std::remove(err.c_str());
}

// A "broker" that accepts connections and never answers: the probe stays in flight for the whole
// --probe-timeout. SIGTERM must still end the process within the 2 s shutdown budget.
TEST(Binary, SigtermWhileAProbeHangsStillExitsPromptly) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 16), 0);  // the kernel completes handshakes; nobody ever reads
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string bootstrap = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  const auto out = temp_path("out"), err = temp_path("err");
  const pid_t pid = spawn({"--bootstrap-servers", bootstrap, "--http-address", "127.0.0.1", "--http-port",
                           "0", "--health-port", "0", "--probe-timeout", "30s", "--stale-after", "60s"},
                          out, err);
  const int port = await_listening_port(err);
  ASSERT_GT(port, 0) << slurp(err);
  httplib::Client client("127.0.0.1", port);
  auto r = client.Get("/readyz");  // served from cached state while the probe hangs
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  const auto t0 = std::chrono::steady_clock::now();
  int status = 0;
  // Correctness bound: far below the 30 s the hung probe would take; the budget itself is 1.8 s.
  ASSERT_TRUE(testing::await([&] { return waitpid(pid, &status, WNOHANG) == pid; }, seconds(10)))
      << "still running 10 s after SIGTERM";
  const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_NE(slurp(err).find("probe still in flight at shutdown"), std::string::npos) << slurp(err);
  RecordProperty("shutdown_ms", static_cast<int>(took.count()));
  ::close(listener);
  std::remove(out.c_str());
  std::remove(err.c_str());
}

// The reproduction: a blank gating set used to print HEALTHY and exit 0 with a broker missing.
TEST(Binary, BlankGateOnIsAConfigurationErrorNotAnOpenGate) {
  auto r = run({"--mock-brokers", "3", "--expected-brokers", "1-4", "--gate-on", " ", "--once"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(r.out.find("HEALTHY"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("--gate-on: "), std::string::npos) << r.err;
}

TEST(Binary, LongConfigRefreshIntervalStartsAndProbes) {
  auto r = run({"--mock-brokers", "3", "--config-refresh-interval", "20m", "--once"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(Binary, OnceAcceptsALongProbeTimeoutWithoutStaleAfter) {
  auto r = run({"--mock-brokers", "3", "--probe-timeout", "90s", "--once"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(Binary, UnknownFlagValuesAreNeverEchoed) {
  auto r = run({"--mock-brokers", "3", "--sasl-password", "hunter2", "--once"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("--sasl-password"), std::string::npos) << r.err;
}

TEST(Binary, UnboundedOrNonRegularPropertiesFilesAreRefused) {
  for (const char* path : {"/dev/zero", "/tmp"}) {
    auto r = run({"--mock-brokers", "3", "--kafka-properties", path, "--once"});
    EXPECT_EQ(r.exit_code, 2) << path << r.err;
    EXPECT_NE(r.err.find("is not a regular file"), std::string::npos) << r.err;
  }
}

TEST(Binary, HugeExpectedBrokerRangesAreRefused) {
  auto r = run({"--mock-brokers", "3", "--expected-brokers", "1-100000", "--once"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--expected-brokers: at most 2000 broker ids"), std::string::npos) << r.err;
}

// At the cap every expected broker is missing and listed: /v1/status and /metrics stay bounded (the
// documented bounds are in README.md, "Input limits").
TEST(Binary, StatusAndMetricsStayBoundedAtTheExpectedBrokerCap) {
  const auto out = temp_path("out"), err = temp_path("err");
  const pid_t pid = spawn({"--mock-brokers", "3", "--expected-brokers", "1-2000", "--http-address",
                           "127.0.0.1", "--http-port", "0", "--health-port", "0", "--poll-interval", "200ms"},
                          out, err);
  const int port = await_listening_port(err);
  ASSERT_GT(port, 0) << slurp(err);
  httplib::Client client("127.0.0.1", port);
  ASSERT_TRUE(await_response(client, "/v1/status", 200, "\"brokers_missing\""));
  auto status = client.Get("/v1/status");
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(status && metrics);
  RecordProperty("status_bytes", static_cast<int>(status->body.size()));
  RecordProperty("metrics_bytes", static_cast<int>(metrics->body.size()));
  EXPECT_LT(status->body.size(), 1u << 20) << "status " << status->body.size() << " bytes";
  EXPECT_LT(metrics->body.size(), 2u << 20) << "metrics " << metrics->body.size() << " bytes";
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int st = 0;
  EXPECT_TRUE(testing::await([&] { return waitpid(pid, &st, WNOHANG) == pid; }, seconds(10)));
  std::remove(out.c_str());
  std::remove(err.c_str());
}

// --once waits for one probe; a SIGTERM or SIGINT (Ctrl-C, a CI job's timeout) must end it at once with exit
// 2
// ("could not decide"), not after the whole 30 s --probe-timeout.
void expect_signal_ends_once_promptly(int sig) {
  const HungBroker hung;
  ASSERT_GE(hung.fd, 0);
  const auto out = temp_path("out"), err = temp_path("err");
  const pid_t pid =
      spawn({"--bootstrap-servers", hung.address, "--probe-timeout", "30s", "--once"}, out, err);
  // The probe is under way once the client has connected to the hung broker (it is in the accept queue).
  ASSERT_TRUE(testing::await(
      [&] {
        pollfd p{hung.fd, POLLIN, 0};
        return ::poll(&p, 1, 0) == 1;
      },
      seconds(20)));
  ASSERT_EQ(kill(pid, sig), 0);
  int status = 0;
  // Correctness bound: far below the 30 s probe; the shutdown budget is 1.8 s.
  const bool ended = testing::await([&] { return waitpid(pid, &status, WNOHANG) == pid; }, seconds(10));
  if (!ended) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  EXPECT_TRUE(ended) << "--once still running 10 s after the signal";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2) << slurp(err);
  EXPECT_NE(slurp(err).find(sig == SIGTERM ? "interrupted by SIGTERM" : "interrupted by SIGINT"),
            std::string::npos)
      << slurp(err);
  EXPECT_EQ(slurp(out), "");  // no verdict printed: there is none
  std::remove(out.c_str());
  std::remove(err.c_str());
}

// ---- --once --disrupt-*: the question an ASG lifecycle hook asks before stopping a broker VM ----

// The hybrid cluster of tests/e2e/kafkasim_test.cc (brokers 1-3 EC2, 101-103 k8s; RF 3, min ISR 2) with
// broker 102 lost: its ISRs shrunk and its leaderships moved.
class BinaryDisruption : public ::testing::Test {
 protected:
  BinaryDisruption() : sim_(spec()) {
    sim_.start();
    sim_.broker_down(102);
    sim_.remove_from_isrs(102);
    sim_.elect_leaders();
  }
  static kafkasim::ClusterSpec spec() {
    kafkasim::ClusterSpec s;
    for (int32_t id : {1, 2, 3, 101, 102, 103}) s.brokers.push_back(kafkasim::BrokerSpec{id, "127.0.0.1", 0, {}, {}, {}});
    s.controller_id = 2;
    s.topics.push_back(kafkasim::TopicSpec{"orders", false, 0,
                                           kafkasim::round_robin_partitions(12, 3, {1, 2, 3, 101, 102, 103}),
                                           {{"min.insync.replicas", "2"}}, 0});
    s.topics.push_back(kafkasim::TopicSpec{"payments", false, 0,
                                           kafkasim::round_robin_partitions(6, 3, {101, 102, 103, 1, 2, 3}),
                                           {{"min.insync.replicas", "2"}}, 0});
    return s;
  }
  std::vector<std::string> args(std::vector<std::string> extra) const {
    std::vector<std::string> a = {"--bootstrap-servers", sim_.bootstrap_servers(), "--expected-brokers",
                                  "1-3,101-103",         "--fleet",                "ec2=ids:1-3",
                                  "--fleet",             "k8s=ids:101-103",        "--probe-timeout",
                                  "5s",                  "--once"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  void restore_102() {
    sim_.broker_up(102);
    sim_.rejoin_isrs(102);
    sim_.elect_leaders(true);
  }
  kafkasim::Cluster sim_;
};

TEST_F(BinaryDisruption, OnceDisruptBrokersAnswersLikeTheApi) {
  auto unsafe = run(args({"--disrupt-brokers", "101", "--output", "json"}));
  ASSERT_EQ(unsafe.exit_code, 1) << unsafe.out << unsafe.err;
  auto j = nlohmann::json::parse(unsafe.out);
  EXPECT_EQ(j["safe"], false);
  EXPECT_EQ(j["blocking"]["total"], 6);  // as /v1/disruption?brokers=101 in the kafkasim e2e test
  EXPECT_EQ(j["brokers"][0]["fleet"], "k8s");

  auto safe = run(args({"--disrupt-brokers", "2"}));
  EXPECT_EQ(safe.exit_code, 0) << safe.out << safe.err;
  EXPECT_EQ(safe.out.rfind("SAFE  brokers=2", 0), 0u) << safe.out;

  auto fleet = run(args({"--disrupt-fleet", "ec2"}));
  EXPECT_EQ(fleet.exit_code, 1) << fleet.out << fleet.err;
  EXPECT_NE(fleet.out.find("BLOCKING PARTITIONS"), std::string::npos) << fleet.out;

  // Bad input is exit 2: an unknown fleet at parse time, a rack no broker reports after the probe.
  EXPECT_EQ(run(args({"--disrupt-fleet", "gke"})).exit_code, 2);
  auto rack = run(args({"--disrupt-rack", "us-east-1a"}));
  EXPECT_EQ(rack.exit_code, 2);
  EXPECT_NE(rack.err.find("no broker reports broker.rack"), std::string::npos) << rack.err;
}

TEST_F(BinaryDisruption, WaitSafeExitsOneAtItsDeadlineSayingWhy) {
  const auto t0 = std::chrono::steady_clock::now();
  // The deadline leaves room for the first probe under load: a probe ending past it prints no "waiting" line.
  auto r = run(args({"--disrupt-brokers", "101", "--wait-safe", "3s", "--poll-interval", "200ms"}));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("waiting ("), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("6 partitions would block"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.rfind("UNSAFE  brokers=101", 0), 0u) << r.out;
  EXPECT_GE(took, seconds(3));  // it did wait
}

TEST_F(BinaryDisruption, WaitSafeExitsZeroOnceTheIsrsAreRestored) {
  const auto out = temp_path("out"), err = temp_path("err");
  const pid_t pid =
      spawn(args({"--disrupt-brokers", "101", "--wait-safe", "2m", "--poll-interval", "200ms"}), out, err);
  ASSERT_TRUE(testing::await([&] { return slurp(err).find("waiting (") != std::string::npos; }, seconds(30)))
      << slurp(err);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), 0) << "exited while still unsafe: " << slurp(out);
  restore_102();
  ASSERT_TRUE(testing::await([&] { return waitpid(pid, &status, WNOHANG) == pid; }, seconds(60)))
      << slurp(err);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << slurp(out) << slurp(err);
  EXPECT_EQ(slurp(out).rfind("SAFE  brokers=101", 0), 0u) << slurp(out);
  std::remove(out.c_str());
  std::remove(err.c_str());
}

TEST(Binary, SigtermDuringOnceEndsItPromptlyWithExitTwo) { expect_signal_ends_once_promptly(SIGTERM); }
TEST(Binary, SigintDuringOnceEndsItPromptlyWithExitTwo) { expect_signal_ends_once_promptly(SIGINT); }

TEST_F(BinaryDisruption, SigtermEndsTheWaitAsUnsafe) {
  const auto out = temp_path("out"), err = temp_path("err");
  const pid_t pid =
      spawn(args({"--disrupt-brokers", "101", "--wait-safe", "10m", "--poll-interval", "5s"}), out, err);
  ASSERT_TRUE(testing::await([&] { return slurp(err).find("waiting (") != std::string::npos; }, seconds(30)));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_TRUE(testing::await([&] { return waitpid(pid, &status, WNOHANG) == pid; }, seconds(10)));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(slurp(err).find("interrupted while waiting"), std::string::npos) << slurp(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
}

TEST_F(BinaryDisruption, OnceDisruptRackAgainstARackedCluster) {
  // A second, healthy cluster (the fixture's stays as it is): zones a/b/c over 1,2,3 and 101,102,103: one replica of every partition in each zone.
  kafkasim::ClusterSpec s = spec();
  const std::map<int32_t, std::string> zone = {{1, "zone-a"},   {2, "zone-b"},   {3, "zone-c"},
                                               {101, "zone-a"}, {102, "zone-b"}, {103, "zone-c"}};
  for (auto& b : s.brokers) b.rack = zone.at(b.id);
  kafkasim::Cluster racked(std::move(s));
  racked.start();
  auto racked_args = [&](std::vector<std::string> extra) {
    auto a = args(std::move(extra));
    a[1] = racked.bootstrap_servers();
    return a;
  };
  auto one = run(racked_args({"--disrupt-rack", "zone-a"}));
  EXPECT_EQ(one.exit_code, 0) << one.out << one.err;
  EXPECT_NE(one.out.find("101     k8s       zone-a"), std::string::npos) << one.out;
  auto two = run(racked_args({"--disrupt-rack", "zone-a,zone-b", "--output", "json"}));
  EXPECT_EQ(two.exit_code, 1) << two.out << two.err;
  EXPECT_EQ(nlohmann::json::parse(two.out)["blocking"]["total"], 18);
  auto unknown = run(racked_args({"--disrupt-rack", "zone-x"}));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown rack 'zone-x'; racks: zone-a,zone-b,zone-c"), std::string::npos) << unknown.err;
}

TEST(Binary, DisruptFlagsAreValidated) {
  auto r = run({"--mock-brokers", "3", "--disrupt-brokers", "1", "--wait-safe", "soon"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--disrupt-brokers/--disrupt-fleet/--disrupt-rack need --once"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--wait-safe: 'soon' is not a duration"), std::string::npos) << r.err;
  auto bad_ids = run({"--mock-brokers", "3", "--once", "--disrupt-brokers", "a-b"});
  EXPECT_EQ(bad_ids.exit_code, 2);
  EXPECT_NE(bad_ids.err.find("--disrupt-brokers: 'a-b'"), std::string::npos) << bad_ids.err;
  // An empty list item is refused, as `rack=a,` is a 400 over HTTP (it used to ask about rack a alone).
  auto empty_item = run({"--mock-brokers", "3", "--once", "--disrupt-rack", "a,"});
  EXPECT_EQ(empty_item.exit_code, 2);
  EXPECT_NE(empty_item.err.find("--disrupt-rack: 'a,' has an empty item"), std::string::npos) << empty_item.err;
  auto wait_alone = run({"--mock-brokers", "3", "--once", "--wait-safe", "1m"});
  EXPECT_EQ(wait_alone.exit_code, 2);
  EXPECT_NE(wait_alone.err.find("--wait-safe needs"), std::string::npos) << wait_alone.err;
}

// A client repeating a request with bytes that are not UTF-8: every request is a 400 (it used to be a 500
// from the JSON writer) and the log gets one line for the burst, not one per request.
TEST(Binary, InvalidUtf8IsA400WithOneRateLimitedLogLine) {
  const auto out = temp_path("out"), err = temp_path("err");
  const pid_t pid = spawn({"--mock-brokers", "1", "--http-address", "127.0.0.1", "--http-port", "0",
                           "--health-port", "0"},
                          out, err);
  const int port = await_listening_port(err);
  ASSERT_GT(port, 0) << slurp(err);
  httplib::Client client("127.0.0.1", port);
  for (int i = 0; i < 50; ++i) {
    auto r = client.Get(i % 2 ? "/v1/partitions?topic=%FF" : "/v1/partitions?state=%C3");
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 400) << i;
  }
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_TRUE(testing::await([&] { return waitpid(pid, &status, WNOHANG) == pid; }, seconds(10)));
  const auto log = slurp(err);
  std::size_t lines = 0;
  for (auto at = log.find("HTTP 400"); at != std::string::npos; at = log.find("HTTP 400", at + 1)) ++lines;
  EXPECT_EQ(lines, 1u) << log;
  EXPECT_EQ(log.find(" error "), std::string::npos) << log;  // no error-level line (there were 500s)
  std::remove(out.c_str());
  std::remove(err.c_str());
}

// Issue 22: a malformed client configuration entry never shows its secret, on stderr or in --once JSON, from
// a flag, the environment or a properties file (the full cross product is unit-tested in
// tests/unit/client_config_redaction_test.cc; this is the real binary on a subset).
TEST(Binary, MalformedSecretEntriesAreNeverEchoed) {
  const std::string props = temp_path("props");
  const std::vector<std::pair<std::string, std::string>> entries = {
      {"sasl.password:c2VjcmV0UGFzcw==", "c2VjcmV0UGFzcw"},
      {"sasl.password c2VjcmV0UGFzcw==", "c2VjcmV0UGFzcw"},
      {"ssl.keystore.key:-----BEGIN PRIVATE KEY-----MIIEvQIBADANBg", "MIIEvQIBADANBg"},
      {"sasl.jaas.config=c2VjcmV0UGFzcw==", "c2VjcmV0UGFzcw"},
      {"sasl.passwordc2VjcmV0UGFzcw==", "c2VjcmV0UGFzcw"},
  };
  for (const auto& [entry, secret] : entries) {
    const std::vector<std::string> base = {"--bootstrap-servers", "127.0.0.1:1", "--probe-timeout", "1s", "--once",
                                           "--output", "json"};
    std::vector<std::string> flag = base;
    flag.insert(flag.end(), {"--kafka-config", entry});
    const auto by_flag = run(flag);
    setenv("ISRGUARD_KAFKA_CONFIG", entry.c_str(), 1);
    const auto by_env = run(base);
    unsetenv("ISRGUARD_KAFKA_CONFIG");
    std::ofstream(props) << entry << "\n";
    std::vector<std::string> file = base;
    file.insert(file.end(), {"--kafka-properties", props});
    const auto by_file = run(file);
    // A properties file may legitimately separate with ':' or a blank: then it is a valid setting and the
    // probe fails (nothing listens on port 1); either way nothing of the secret shows.
    for (const auto* r : {&by_flag, &by_env, &by_file}) {
      EXPECT_EQ(r->exit_code, 2) << entry << r->out << r->err;
      EXPECT_EQ(r->out.find(secret), std::string::npos) << entry << "\n" << r->out;
      EXPECT_EQ(r->err.find(secret), std::string::npos) << entry << "\n" << r->err;
      EXPECT_TRUE(nlohmann::json::parse(r->out).contains("error")) << r->out;
    }
    EXPECT_EQ(nlohmann::json::parse(by_flag.out)["error"]["kind"], "config") << by_flag.out;
    EXPECT_EQ(nlohmann::json::parse(by_env.out)["error"]["kind"], "config") << by_env.out;
  }
  std::remove(props.c_str());
}

}  // namespace
}  // namespace isrguard

// ---- --once --disrupt-*: every exit-2 path answers in JSON too; SIGTERM ends a probe (issue 22, 9 and 10) ----

namespace isrguard {
namespace {

// Kafka unreachable: the same {"error": {...}} object plain --once --output json prints, and exit 2.
TEST(Binary, DisruptJsonWhenNoBrokerAnswersIsTheOnceErrorObject) {
  const std::vector<std::string> base = {"--bootstrap-servers", "127.0.0.1:1", "--probe-timeout", "1s", "--once",
                                         "--output", "json"};
  auto plain = run(base);
  auto with = base;
  with.insert(with.end(), {"--disrupt-brokers", "1"});
  auto disrupt = run(with);
  EXPECT_EQ(disrupt.exit_code, 2) << disrupt.out << disrupt.err;
  ASSERT_TRUE(nlohmann::json::accept(disrupt.out)) << "stdout: '" << disrupt.out << "'";
  const auto j = nlohmann::json::parse(disrupt.out);
  const auto once = nlohmann::json::parse(plain.out);
  EXPECT_EQ(j["error"]["kind"], "transport") << disrupt.out;
  EXPECT_EQ(j["error"]["kind"], once["error"]["kind"]);
  EXPECT_FALSE(j.contains("safe")) << disrupt.out;
  std::vector<std::string> keys, once_keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  for (const auto& [k, v] : once.items()) once_keys.push_back(k);
  EXPECT_EQ(keys, once_keys);
}

// Bad input found after the probe (a rack no broker reports, a fleet with no broker): exit 2 with an error
// object on stdout, the same message as on stderr.
TEST_F(BinaryDisruption, DisruptJsonExitTwoPathsPrintAnErrorObject) {
  struct Row {
    std::vector<std::string> flags;
    std::string message;
  };
  const Row rows[] = {
      {{"--disrupt-rack", "us-east-1a"}, "unknown rack 'us-east-1a': no broker reports broker.rack"},
      {{"--fleet", "spare=ids:500-510", "--disrupt-fleet", "spare"},
       "the query names no broker (its fleets have no brokers)"},
  };
  for (const auto& row : rows) {
    auto flags = row.flags;
    flags.insert(flags.end(), {"--output", "json"});
    auto r = run(args(flags));
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    ASSERT_TRUE(nlohmann::json::accept(r.out)) << row.message << ": stdout '" << r.out << "'";
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["error"]["kind"], "query") << r.out;
    EXPECT_EQ(j["error"]["message"], row.message) << r.out;
    EXPECT_NE(r.err.find(row.message), std::string::npos) << r.err;
  }
}

// --wait-safe with a broker that accepts and never answers: SIGTERM while the probe is in flight ends the
// wait at once as unsafe (exit 1), saying so, instead of after the whole --probe-timeout.
TEST(Binary, SigtermDuringAWaitSafeProbeEndsItPromptly) {
  for (const bool json : {false, true}) {
    const HungBroker hung;
    ASSERT_GE(hung.fd, 0);
    const auto out = temp_path("out"), err = temp_path("err");
    std::vector<std::string> flags = {"--bootstrap-servers", hung.address, "--probe-timeout", "30s", "--once",
                                      "--disrupt-brokers",   "1",          "--wait-safe",     "10m"};
    if (json) flags.insert(flags.end(), {"--output", "json"});
    const pid_t pid = spawn(flags, out, err);
    // The probe is under way once the client has connected to the hung broker (it is in the accept queue).
    ASSERT_TRUE(testing::await(
        [&] {
          pollfd p{hung.fd, POLLIN, 0};
          return ::poll(&p, 1, 0) == 1;
        },
        seconds(20)));
    ASSERT_EQ(kill(pid, SIGTERM), 0);
    int status = 0;
    // Correctness bound: far below the 30 s probe.
    const bool ended = testing::await([&] { return waitpid(pid, &status, WNOHANG) == pid; }, seconds(10));
    if (!ended) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
    EXPECT_TRUE(ended) << "--wait-safe still running 10 s after SIGTERM";
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 1) << slurp(err);
    EXPECT_NE(slurp(err).find("interrupted while waiting (SIGTERM); not safe"), std::string::npos) << slurp(err);
    if (json) {
      const auto o = slurp(out);
      ASSERT_TRUE(nlohmann::json::accept(o)) << "stdout '" << o << "'";
      EXPECT_EQ(nlohmann::json::parse(o)["error"]["kind"], "interrupted") << o;
    }
    std::remove(out.c_str());
    std::remove(err.c_str());
  }
}

}  // namespace
}  // namespace isrguard
