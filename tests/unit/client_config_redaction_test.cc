// Secrets in the Kafka client configuration are never echoed, however the entry is malformed (issue 22 item
// 6): every secret key x every separator x every source, judged on everything parse_config hands back
// (errors, warnings, the configuration's description). And JAAS comments, accepted as Java accepts them.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "probes/rdkafka_source.h"
#include "service/config/config.h"
#include "service/config/kafka_properties.h"

namespace isrguard::service {
namespace {

// clang-format off
const std::vector<std::string> kSecretKeys = {
  "sasl.password", "sasl.jaas.config", "ssl.key.password", "ssl.keystore.password", "ssl.truststore.password",
  "ssl.keystore.key", "ssl.key.pem", "ssl_key", "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config",
  "sasl.oauthbearer.assertion.private.key.passphrase", "SASL.PASSWORD",
};
const std::vector<std::string> kSeparators = {"=", ":", " ", "\t", "", "==", " = ", ": "};
const std::vector<std::string> kValues = {
  "c2VjcmV0UGFzcw==",                                  // base64 with padding
  "-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w",  // a PEM key on one line
  "hunter2Hunter2",
};
// clang-format on

enum class Source { kFlag, kEnv, kPropertiesFile };
const char* name(Source s) { return s == Source::kFlag ? "flag" : s == Source::kEnv ? "env" : "file"; }

// Everything a user or a log could see from parsing the configuration.
std::string visible(const ParseOutcome& out) {
  std::string all;
  for (const auto& e : out.errors) all += e + "\n";
  for (const auto& w : out.warnings) all += w + "\n";
  if (out.config)
    for (const auto& [k, v] : out.config->describe()) all += k + "=" + v + "\n";
  return all;
}

ParseOutcome parse_with(Source source, const std::string& entry) {
  const std::string path = ::testing::TempDir() + "/redaction.properties";
  std::vector<const char*> argv{"isrguard", "--bootstrap-servers", "k:9092"};
  if (source == Source::kFlag) {
    argv.push_back("--kafka-config");
    argv.push_back(entry.c_str());
  } else if (source == Source::kEnv) {
    setenv("ISRGUARD_KAFKA_CONFIG", ("security.protocol=SASL_SSL\n" + entry + "\n").c_str(), 1);
  } else {
    std::ofstream(path) << entry << "\n";
    argv.push_back("--kafka-properties");
    argv.push_back(path.c_str());
  }
  auto out = parse_config(static_cast<int>(argv.size()), argv.data());
  unsetenv("ISRGUARD_KAFKA_CONFIG");
  return out;
}

// No 6-character window of the secret appears (nor the whole, nor its unpadded form).
std::string leaked_part(const std::string& secret, const std::string& text) {
  for (std::size_t i = 0; i + 6 <= secret.size(); ++i)
    if (text.find(secret.substr(i, 6)) != std::string::npos) return secret.substr(i, 6);
  return "";
}

TEST(SecretRedaction, NoPartOfASecretIsEchoedWhateverTheSeparatorAndSource) {
  int cases = 0;
  for (Source source : {Source::kFlag, Source::kEnv, Source::kPropertiesFile})
    for (const auto& key : kSecretKeys)
      for (const auto& sep : kSeparators)
        for (const auto& value : kValues) {
          const std::string entry = key + sep + value;
          const std::string text = visible(parse_with(source, entry));
          EXPECT_EQ(leaked_part(value, text), "")
              << name(source) << " entry '" << entry << "' echoed:\n" << text;
          ++cases;
        }
  EXPECT_EQ(cases, 3 * 12 * 8 * 3);
}

TEST(SecretRedaction, AMalformedEntryIsNamedByPositionWhenItHoldsASecret) {
  auto out = parse_with(Source::kFlag, "sasl.password:c2VjcmV0UGFzcw==");
  EXPECT_FALSE(out.config);
  EXPECT_EQ(out.errors, std::vector<std::string>{
                            "--kafka-config: entry 1 (<redacted>: it names a secret property) is not key=value "
                            "with a property name as key (letters, digits, '.', '_', '-')"});
  // Not a secret: shown as written, so the user can find it.
  auto plain = parse_with(Source::kFlag, "security.protocol:SSL");
  EXPECT_EQ(plain.errors, std::vector<std::string>{
                              "--kafka-config: 'security.protocol:SSL' is not key=value with a property name as "
                              "key (letters, digits, '.', '_', '-')"});
}

TEST(SecretRedaction, SecretLookingKeysInAnyForm) {
  for (const char* k : {"ssl.keystore.key", "ssl_key", "sasl.oauthbearer.assertion.private.key.passphrase",
                        "sasl.password:c2VjcmV0UGFzcw==", "ssl.keystore.key:-----BEGIN"})
    EXPECT_TRUE(probes::is_secret_property(k)) << k;
  EXPECT_EQ(printable_key("sasl.password:hunter2"), "<redacted key>");
  EXPECT_EQ(printable_key("sasl.passwordc2VjcmV0UGFzcw"), "<redacted key>");
  EXPECT_EQ(printable_key("linger ms"), "linger ms");
}

// ---- item 13: JAAS comments ----

TEST(JaasComments, AreSkippedAsJavaSkipsThem) {
  const JaasConfig want{"org.apache.kafka.common.security.scram.ScramLoginModule", "required",
                        {{"username", "u"}, {"password", "p/*not a comment*/"}}};
  for (const char* text : {
           "/* lead */ org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" "
           "password=\"p/*not a comment*/\";",
           "org.apache.kafka.common.security.scram.ScramLoginModule /* flag: */ required\n"
           "  username=\"u\" /* two\n lines */ password=\"p/*not a comment*/\"; /* trailing */",
           "org.apache.kafka.common.security.scram.ScramLoginModule required // why\n"
           "  username=u/**/password=\"p/*not a comment*/\";",
           "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" "
           "password='p/*not a comment*/'; /* unterminated, as Java reads it to the end",
       }) {
    JaasConfig j;
    EXPECT_EQ(parse_jaas_config(text, j), "") << text;
    EXPECT_EQ(j, want) << text;
  }
}

TEST(JaasComments, WhatJavaRejectsStaysRejected) {
  JaasConfig j;
  EXPECT_EQ(parse_jaas_config("a.B required username=\"u\" /* password=\"p\"; */", j),
            "the login module entry must end with ';'");
  EXPECT_EQ(parse_jaas_config("/* only a comment */", j), "cannot parse the login module");
  EXPECT_EQ(parse_jaas_config("a.B /* required */ username=\"u\";", j),
            "login module a.B needs a control flag (required, requisite, sufficient or optional)");
  EXPECT_EQ(parse_jaas_config("a.B required; /* */ c.D required;", j), "exactly one login module is allowed");
}

TEST(JaasRedaction, ErrorsQuoteNoTokenThatCouldBeASecret) {
  JaasConfig j;
  EXPECT_EQ(parse_jaas_config("c2VjcmV0UGFzcw==", j),
            "login module <redacted> needs a control flag (required, requisite, sufficient or optional)");
  EXPECT_EQ(parse_jaas_config("a.B required hunter2Hunter2=", j),
            "option 1 (<redacted>) has no value or an unterminated quote");
  EXPECT_EQ(parse_jaas_config("a.B required username=\"u\" password=", j),
            "option password has no value or an unterminated quote");
}

}  // namespace
}  // namespace isrguard::service
