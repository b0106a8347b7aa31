// The isrguard executable as users and scripts run it: exit codes of --once and of bad configuration,
// serving on an ephemeral port, and a clean stop on SIGTERM.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

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

}  // namespace
}  // namespace isrguard
