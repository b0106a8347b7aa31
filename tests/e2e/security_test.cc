// The isrguard executable (--once --output json) through librdkafka against kafkasim listeners with TLS
// and SASL, configured the way users write it (Java client .properties, JAAS, --kafka-config). Each case
// checks the exit code, the probe-failure kind and the time taken: authentication and TLS failures must
// end the probe long before --probe-timeout, which is what the kinds `auth` and `tls` promise.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/kafkasim/cluster.h"
#include "tests/kafkasim/process.h"
#include "tests/kafkasim/sasl.h"
#include "tests/kafkasim/tls.h"

namespace isrguard {
namespace {

using std::chrono::milliseconds;
namespace fs = std::filesystem;

constexpr auto kProbeTimeout = std::chrono::seconds(10);  // isrguard's default
// Authentication and TLS errors arrive within milliseconds; the bound is generous for a loaded machine and
// still far below the probe timeout a misclassified failure would wait.
constexpr auto kFastFailBound = std::chrono::seconds(4);

struct Outcome {
  int exit_code = -1;
  std::string kind;  // error.kind of the JSON, "" when healthy/unhealthy
  nlohmann::json json;
  milliseconds took{0};
  std::string err;
};

class Security : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("isrguard-security-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    const auto pki = kafkasim::TestPki::generate("kafkasim test CA");
    pki.write_ca(path("ca.pem"));
    kafkasim::TestPki::generate("some other CA").write_ca(path("other-ca.pem"));
    tls_ = new std::shared_ptr<const kafkasim::TlsContext>(
        std::make_shared<kafkasim::TlsContext>(pki.server_cert_pem, pki.server_key_pem));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete tls_;
  }
  static std::string path(const std::string& name) { return (*dir_ / name).string(); }

  static std::shared_ptr<const kafkasim::SaslConfig> sasl(std::set<std::string> mechanisms) {
    auto c = std::make_shared<kafkasim::SaslConfig>(std::move(mechanisms));
    c->add_user("isrguard", "s3cret-pw");
    return c;
  }

  void start(bool tls, std::shared_ptr<const kafkasim::SaslConfig> sasl) {
    auto spec = kafkasim::make_cluster({1, 2, 3});
    spec.topics.push_back(kafkasim::make_topic("orders", kafkasim::round_robin_partitions(3, 3, {1, 2, 3}),
                                               {{"min.insync.replicas", "2"}}));
    sim_ = std::make_unique<kafkasim::Cluster>(spec);
    sim_->set_security({tls ? *tls_ : nullptr, std::move(sasl)});
    sim_->start();
  }

  std::string properties(const std::string& name, const std::string& text) {
    const std::string p = path(name);
    std::ofstream(p) << text;
    return p;
  }

  Outcome once(std::vector<std::string> args) {
    std::vector<std::string> argv = {ISRGUARD_BIN, "--once", "--output", "json", "--bootstrap-servers",
                                     sim_->bootstrap_servers()};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto start = std::chrono::steady_clock::now();
    const auto r = kafkasim::testing::run(argv, std::chrono::seconds(60));
    Outcome o;
    o.took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
    o.exit_code = r.exit_code;
    o.err = r.err;
    o.json = nlohmann::json::parse(r.out, nullptr, false);
    if (o.json.is_object() && o.json.contains("error")) o.kind = o.json["error"].value("kind", "");
    // The measurements the issue asks for, in the test log.
    std::cout << "[security] " << ::testing::UnitTest::GetInstance()->current_test_info()->name()
              << ": exit=" << o.exit_code << " kind=" << (o.kind.empty() ? "-" : o.kind)
              << " took=" << o.took.count() << "ms\n";
    return o;
  }

  // --kafka-config flags for SCRAM over TLS with a JAAS line, as Java clients are configured.
  static std::vector<std::string> scram_tls_flags(const std::string& mechanism, const std::string& password) {
    return {"--kafka-config", "security.protocol=SASL_SSL", "--kafka-config", "sasl.mechanism=" + mechanism,
            "--kafka-config",
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            "username=\"isrguard\" password=\"" + password + "\";",
            "--kafka-config", "ssl.ca.location=" + path("ca.pem")};
  }

  static std::string message(const Outcome& o) {
    return o.json.is_object() && o.json.contains("error") ? o.json["error"].value("message", "") : "";
  }

  std::unique_ptr<kafkasim::Cluster> sim_;
  static inline fs::path* dir_ = nullptr;
  static inline std::shared_ptr<const kafkasim::TlsContext>* tls_ = nullptr;
};

const std::string kScramJaas = "org.apache.kafka.common.security.scram.ScramLoginModule required";

TEST_F(Security, ScramSha512OverTlsFromAJavaPropertiesFileIsHealthy) {
  start(true, sasl({"SCRAM-SHA-512"}));
  // As Kafka's docs and Strimzi users write it: JAAS over continuation lines, PEM truststore.
  const auto file = properties("scram-tls.properties",
                               "security.protocol=SASL_SSL\n"
                               "sasl.mechanism=SCRAM-SHA-512\n"
                               "sasl.jaas.config=" + kScramJaas + " \\\n"
                               "    username=\"isrguard\" \\\n"
                               "    password=\"s3cret-pw\";\n"
                               "ssl.truststore.type=PEM\n"
                               "ssl.truststore.location=" + path("ca.pem") + "\n");
  const auto o = once({"--kafka-properties", file});
  EXPECT_EQ(o.exit_code, 0) << o.json.dump() << o.err;
  EXPECT_EQ(o.json.value("healthy", false), true) << o.json.dump();
}

TEST_F(Security, PlainWithSingleQuotedJaasOnTheCommandLineIsHealthy) {
  start(false, sasl({"PLAIN"}));
  const auto o = once({"--kafka-config", "security.protocol=SASL_PLAINTEXT", "--kafka-config",
                       "sasl.mechanism=PLAIN", "--kafka-config",
                       "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
                       "username='isrguard' password='s3cret-pw';"});
  EXPECT_EQ(o.exit_code, 0) << o.json.dump() << o.err;
  EXPECT_EQ(o.json.value("healthy", false), true) << o.json.dump();
}

TEST_F(Security, ScramSha256WithAJavaApplicationConfigIgnoresClientSettingsWithOneWarning) {
  start(true, sasl({"SCRAM-SHA-256"}));
  const auto file = properties("app.properties",
                               "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-256\n"
                               "sasl.jaas.config=" + kScramJaas + " username='isrguard' password='s3cret-pw';\n"
                               "ssl.truststore.type=PEM\nssl.truststore.location=" + path("ca.pem") + "\n"
                               "ssl.endpoint.identification.algorithm=https\nssl.protocol=TLSv1.3\n"
                               "ssl.enabled.protocols=TLSv1.2,TLSv1.3\n"
                               "key.serializer=org.apache.kafka.common.serialization.StringSerializer\n"
                               "value.serializer=org.apache.kafka.common.serialization.StringSerializer\n"
                               "acks=all\nenable.idempotence=true\n");
  const auto o = once({"--kafka-properties", file});
  EXPECT_EQ(o.exit_code, 0) << o.json.dump() << o.err;
  EXPECT_NE(o.err.find("ignoring 6 settings that do not apply to a metadata reader or are unknown to librdkafka: "
                       "acks, enable.idempotence, key.serializer, ssl.enabled.protocols, ssl.protocol, "
                       "value.serializer"),
            std::string::npos)
      << o.err;
}

TEST_F(Security, WrongPasswordFailsFastAsAuth) {
  start(true, sasl({"SCRAM-SHA-512"}));
  const auto o = once(scram_tls_flags("SCRAM-SHA-512", "wrong-pw"));
  EXPECT_EQ(o.exit_code, 2) << o.json.dump() << o.err;
  EXPECT_EQ(o.kind, "auth") << o.json.dump();
  EXPECT_EQ(message(o).rfind("authentication failed", 0), 0u) << message(o);
  EXPECT_LT(o.took, kFastFailBound);
  EXPECT_EQ(o.err.find("wrong-pw"), std::string::npos) << "password leaked to stderr";
  EXPECT_EQ(o.json.dump().find("wrong-pw"), std::string::npos) << "password leaked to stdout";
}

TEST_F(Security, UnknownUserFailsFastAsAuth) {
  start(false, sasl({"SCRAM-SHA-256"}));
  const auto o = once({"--kafka-config", "security.protocol=SASL_PLAINTEXT", "--kafka-config",
                       "sasl.mechanism=SCRAM-SHA-256", "--kafka-config", "sasl.username=nobody", "--kafka-config",
                       "sasl.password=s3cret-pw"});
  EXPECT_EQ(o.exit_code, 2) << o.json.dump() << o.err;
  EXPECT_EQ(o.kind, "auth") << o.json.dump();
  EXPECT_LT(o.took, kFastFailBound);
}

TEST_F(Security, MechanismNotEnabledFailsFastAsAuth) {
  start(true, sasl({"SCRAM-SHA-512"}));
  const auto o = once(scram_tls_flags("SCRAM-SHA-256", "s3cret-pw"));  // the listener offers SHA-512
  EXPECT_EQ(o.exit_code, 2) << o.json.dump() << o.err;
  EXPECT_EQ(o.kind, "auth") << o.json.dump();
  EXPECT_NE(message(o).find("SCRAM-SHA-512"), std::string::npos) << message(o);  // what the broker offers
  EXPECT_LT(o.took, kFastFailBound);
}

TEST_F(Security, WrongCaFailsFastAsTls) {
  start(true, nullptr);
  const auto o = once({"--kafka-config", "security.protocol=SSL", "--kafka-config",
                       "ssl.truststore.type=PEM", "--kafka-config",
                       "ssl.truststore.location=" + path("other-ca.pem")});
  EXPECT_EQ(o.exit_code, 2) << o.json.dump() << o.err;
  EXPECT_EQ(o.kind, "tls") << o.json.dump();
  EXPECT_EQ(message(o).rfind("TLS failed", 0), 0u) << message(o);
  EXPECT_LT(o.took, kFastFailBound);
}

TEST_F(Security, RightCaOverTlsIsHealthy) {
  start(true, nullptr);
  const auto o = once({"--kafka-config", "security.protocol=SSL", "--kafka-config",
                       "ssl.ca.location=" + path("ca.pem")});
  EXPECT_EQ(o.exit_code, 0) << o.json.dump() << o.err;
}

// librdkafka only sees a disconnect; the kind stays transport, with a hint naming the likely cause. The
// probe runs to its (shortened) timeout, so that is all this case waits.
TEST_F(Security, PlaintextClientOnATlsPortIsTransportWithASecurityHint) {
  start(true, nullptr);
  const auto o = once({"--probe-timeout", "2s"});
  EXPECT_EQ(o.exit_code, 2) << o.json.dump() << o.err;
  EXPECT_EQ(o.kind, "transport") << o.json.dump();
  EXPECT_NE(message(o).find("hint: the listener may need security settings"), std::string::npos) << message(o);
}

// A SASL listener answers ApiVersions, then drops the unauthenticated Metadata request: the request times
// out, and the message says why.
TEST_F(Security, PlaintextClientOnASaslPortTimesOutWithASecurityHint) {
  start(false, sasl({"PLAIN"}));
  const auto o = once({"--probe-timeout", "2s"});
  EXPECT_EQ(o.exit_code, 2) << o.json.dump() << o.err;
  EXPECT_EQ(o.kind, "timeout") << o.json.dump();
  EXPECT_NE(message(o).find("hint: the listener may need security settings"), std::string::npos) << message(o);
}

}  // namespace
}  // namespace isrguard
