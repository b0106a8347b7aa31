#include "service/config.h"

#include "service/kafka_properties.h"

#include "probes/rdkafka_source.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <initializer_list>

namespace isrguard::service {
namespace {

using std::chrono::milliseconds;

ParseOutcome parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"isrguard"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_config(static_cast<int>(argv.size()), argv.data());
}

TEST(Config, Durations) {
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("5s"), milliseconds(5000));
  EXPECT_EQ(parse_duration("2m"), milliseconds(120000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3600000));
  for (const char* bad : {"", "5", "s", "-1s", "1.5s", "5 sec", "10d"}) EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
}

TEST(Config, IdLists) {
  EXPECT_EQ(parse_id_list("1-3,101,7"), (std::vector<BrokerId>{1, 2, 3, 7, 101}));
  for (const char* bad : {"", "a", "3-1", "1,,2", "1-", "-5"}) EXPECT_EQ(parse_id_list(bad), std::nullopt) << bad;
}

TEST(Config, DefaultsWithBootstrap) {
  auto out = parse({"--bootstrap-servers", "k1:9092,k2:9092"});
  ASSERT_TRUE(out.config) << (out.errors.empty() ? "" : out.errors[0]);
  const Config& c = *out.config;
  EXPECT_EQ(c.poll_interval, milliseconds(5000));
  EXPECT_EQ(c.gate.recovery_hold, milliseconds(30000));
  EXPECT_EQ(c.kafka_properties.at("bootstrap.servers"), "k1:9092,k2:9092");
  EXPECT_EQ(c.policy.gating_reasons,
            (std::set<std::string, std::less<>>{"brokers_missing", "metadata_errors", "offline_partitions", "override_freeze",
                                                "probe_failed", "snapshot_stale", "under_min_isr_partitions",
                                                "under_replicated_partitions"}));
}

TEST(Config, EveryErrorReportedAtOnce) {
  auto out = parse({"--poll-interval", "5x", "--expected-brokers", "a-b", "--fleet", "ec2", "--gate-on",
                    "offline_partitions,bogus", "--topic-exclude", "([", "--output", "yaml", "--http-port", "70000"});
  EXPECT_FALSE(out.config);
  EXPECT_EQ(out.exit_code, 2);
  const std::vector<std::string> want = {
      "--poll-interval: '5x' is not a duration (use e.g. 500ms, 5s, 2m, 1h)",
      "--bootstrap-servers is required (or bootstrap.servers in --kafka-properties, or --mock-brokers)",
      "--expected-brokers: 'a-b' is not a list of ids/ranges like 1-3,101",
      "--fleet: 'ec2' must be NAME=ids:LIST or NAME=host:REGEX",
  };
  ASSERT_GE(out.errors.size(), want.size() + 4);
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(out.errors[i], want[i]);
  auto has = [&](const std::string& prefix) {
    for (const auto& e : out.errors)
      if (e.rfind(prefix, 0) == 0) return true;
    return false;
  };
  EXPECT_TRUE(has("--gate-on: unknown reason 'bogus'"));
  EXPECT_TRUE(has("--http-port must be between 0 and 65535"));
  EXPECT_TRUE(has("--output must be table or json"));
  EXPECT_TRUE(has("--topic-exclude: invalid regex '(['"));
}

TEST(Config, StaleAfterMustExceedPollPlusTimeout) {
  auto out = parse({"--mock-brokers", "3", "--poll-interval", "5s", "--probe-timeout", "10s", "--stale-after", "15s"});
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.errors[0], "--stale-after (15s) must exceed --poll-interval + --probe-timeout (15s)");
}

TEST(Config, UnknownFlagIsAnError) {
  auto out = parse({"--bootstrap-servers", "k:9092", "--no-such-flag"});
  EXPECT_FALSE(out.config);
  EXPECT_EQ(out.exit_code, 2);
  ASSERT_EQ(out.errors.size(), 1u);
}

TEST(Config, HelpListsEveryFlagWithItsEnvironmentVariable) {
  auto out = parse({"--help"});
  EXPECT_TRUE(out.exit_now);
  EXPECT_EQ(out.exit_code, 0);
  for (const char* s : {"--bootstrap-servers", "ISRGUARD_BOOTSTRAP_SERVERS", "--recovery-hold", "ISRGUARD_RECOVERY_HOLD",
                        "--fleet", "ISRGUARD_FLEET", "--gate-on", "--once", "--output", "--kafka-properties"})
    EXPECT_NE(out.output.find(s), std::string::npos) << s;
}

TEST(Config, EnvironmentVariablesAndFlagsWin) {
  ::setenv("ISRGUARD_BOOTSTRAP_SERVERS", "env:9092", 1);
  ::setenv("ISRGUARD_RECOVERY_HOLD", "7s", 1);
  ::setenv("ISRGUARD_FLEET", "ec2=ids:1-30 k8s=host:.*\\.svc(\\..*)?", 1);
  auto out = parse({"--recovery-hold", "9s"});
  ::unsetenv("ISRGUARD_BOOTSTRAP_SERVERS");
  ::unsetenv("ISRGUARD_RECOVERY_HOLD");
  ::unsetenv("ISRGUARD_FLEET");
  ASSERT_TRUE(out.config);
  EXPECT_EQ(out.config->bootstrap_servers, "env:9092");
  EXPECT_EQ(out.config->gate.recovery_hold, milliseconds(9000));
  EXPECT_EQ(out.config->policy.fleets,
            (std::vector<FleetRule>{{"ec2", {{1, 30}}, ""}, {"k8s", {}, ".*\\.svc(\\..*)?"}}));
}

// --jmx-metrics / ISRGUARD_JMX_METRICS: the kafka_* families, on unless switched off (the Strimzi overlay).
TEST(Config, JmxMetricsSwitch) {
  auto on = parse({"--bootstrap-servers", "k:9092"});
  ASSERT_TRUE(on.config);
  EXPECT_TRUE(on.config->jmx_metrics);
  auto off = parse({"--bootstrap-servers", "k:9092", "--jmx-metrics=false"});
  ASSERT_TRUE(off.config) << (off.errors.empty() ? "" : off.errors[0]);
  EXPECT_FALSE(off.config->jmx_metrics);
  ::setenv("ISRGUARD_JMX_METRICS", "false", 1);
  auto env = parse({"--bootstrap-servers", "k:9092"});
  ::unsetenv("ISRGUARD_JMX_METRICS");
  ASSERT_TRUE(env.config) << (env.errors.empty() ? "" : env.errors[0]);
  EXPECT_FALSE(env.config->jmx_metrics);
  EXPECT_FALSE(parse({"--bootstrap-servers", "k:9092", "--jmx-metrics=perhaps"}).config);
}

TEST(Config, PropertiesFileThenOverridesAndSecretsRedacted) {
  const std::string path = ::testing::TempDir() + "/client.properties";
  {
    std::ofstream f(path);
    f << "bootstrap.servers=file:9093\nsecurity.protocol=SASL_SSL\nsasl.username=u\nsasl.password=hunter2\n";
  }
  auto out = parse({"--kafka-properties", path.c_str(), "--kafka-config", "security.protocol=SSL"});
  ASSERT_TRUE(out.config);
  const Config& c = *out.config;
  EXPECT_EQ(c.bootstrap_servers, "file:9093");
  EXPECT_EQ(c.kafka_properties.at("security.protocol"), "SSL");
  EXPECT_EQ(c.kafka_properties.at("sasl.password"), "hunter2");
  for (const auto& [k, v] : c.describe()) EXPECT_EQ(v.find("hunter2"), std::string::npos) << k;
  bool saw = false;
  for (const auto& [k, v] : c.describe())
    if (k == "kafka.sasl.password") saw = v == "<redacted>";
  EXPECT_TRUE(saw);
}

TEST(Config, MissingPropertiesFileIsAnError) {
  auto out = parse({"--kafka-properties", "/nonexistent/client.properties"});
  EXPECT_FALSE(out.config);
  EXPECT_EQ(out.errors[0], "--kafka-properties: cannot read '/nonexistent/client.properties'");
}

TEST(Config, SecretKeys) {
  for (const char* k : {"sasl.password", "ssl.key.password", "ssl.keystore.password", "sasl.jaas.config",
                        "ssl.key.pem", "sasl.oauthbearer.client.secret"})
    EXPECT_TRUE(probes::is_secret_property(k)) << k;
  for (const char* k : {"bootstrap.servers", "sasl.username", "ssl.ca.location", "ssl.certificate.pem"})
    EXPECT_FALSE(probes::is_secret_property(k)) << k;
}

TEST(Config, GateOnReplacesDefaultAndAtMinIsrShortcutAdds) {
  auto out = parse({"--mock-brokers", "1", "--gate-on", "offline_partitions", "--gate-on-at-min-isr"});
  ASSERT_TRUE(out.config);
  EXPECT_EQ(out.config->policy.gating_reasons,
            (std::set<std::string, std::less<>>{"at_min_isr_partitions", "offline_partitions", "override_freeze"}));
}

// The same Java settings give the same librdkafka properties from every source.
TEST(Config, JavaSettingsTranslatedFromFileFlagAndEnvironmentAlike) {
  const std::string jaas =
      "org.apache.kafka.common.security.scram.ScramLoginModule required username='isrguard' password='pw';";
  const std::map<std::string, std::string> want{{"bootstrap.servers", "k:9093"},
                                                {"security.protocol", "SASL_SSL"},
                                                {"sasl.mechanism", "SCRAM-SHA-512"},
                                                {"sasl.username", "isrguard"},
                                                {"sasl.password", "pw"},
                                                {"ssl.ca.location", "/ca.crt"}};
  const std::string path = ::testing::TempDir() + "/java-client.properties";
  {
    std::ofstream f(path);
    f << "bootstrap.servers=k:9093\nsecurity.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
         "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n"
         "    username='isrguard' \\\n    password='pw';\n"
         "ssl.truststore.type=PEM\nssl.truststore.location=/ca.crt\n";
  }
  auto file = parse({"--kafka-properties", path.c_str()});
  ASSERT_TRUE(file.config) << (file.errors.empty() ? "" : file.errors[0]);
  EXPECT_EQ(file.config->kafka_properties, want);

  const std::string jaas_flag = "sasl.jaas.config=" + jaas;
  auto flags = parse({"--bootstrap-servers", "k:9093", "--kafka-config", "security.protocol=SASL_SSL",
                      "--kafka-config", "sasl.mechanism=SCRAM-SHA-512", "--kafka-config", jaas_flag.c_str(),
                      "--kafka-config", "ssl.truststore.type=PEM", "--kafka-config",
                      "ssl.truststore.location=/ca.crt"});
  ASSERT_TRUE(flags.config) << (flags.errors.empty() ? "" : flags.errors[0]);
  EXPECT_EQ(flags.config->kafka_properties, want);

  const std::string env = "# from a Kubernetes Secret\nsecurity.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n" +
                          jaas_flag + "\n\nssl.truststore.type=PEM\nssl.truststore.location=/ca.crt\n";
  setenv("ISRGUARD_KAFKA_CONFIG", env.c_str(), 1);
  auto from_env = parse({"--bootstrap-servers", "k:9093"});
  unsetenv("ISRGUARD_KAFKA_CONFIG");
  ASSERT_TRUE(from_env.config) << (from_env.errors.empty() ? "" : from_env.errors[0]);
  EXPECT_EQ(from_env.config->kafka_properties, want);
}

TEST(Config, JavaApplicationConfigIgnoredWithOneWarningAndSecurityChangesRefused) {
  const std::string path = ::testing::TempDir() + "/app.properties";
  {
    std::ofstream f(path);
    f << "bootstrap.servers=k:9092\nkey.serializer=x.StringSerializer\nacks=all\n"
         "ssl.endpoint.identification.algorithm=\nssl.protocol=TLSv1.3\n";
  }
  auto ok = parse({"--kafka-properties", path.c_str()});
  ASSERT_TRUE(ok.config) << (ok.errors.empty() ? "" : ok.errors[0]);
  EXPECT_EQ(ok.config->kafka_properties,
            (std::map<std::string, std::string>{{"bootstrap.servers", "k:9092"},
                                                {"ssl.endpoint.identification.algorithm", "none"}}));
  EXPECT_EQ(ok.warnings, std::vector<std::string>{
                             "Kafka client configuration: ignoring 3 settings that do not apply to a metadata "
                             "reader or are unknown to librdkafka: acks, key.serializer, ssl.protocol"});

  auto refused = parse({"--kafka-properties", path.c_str(), "--kafka-config", "ssl.truststore.location=/t.jks"});
  EXPECT_FALSE(refused.config);
  ASSERT_EQ(refused.errors.size(), 1u);
  EXPECT_EQ(refused.errors[0].rfind("Kafka client configuration: ssl.truststore.location: JKS truststores", 0), 0u)
      << refused.errors[0];
}

TEST(Config, OversizedPropertiesFileIsAnError) {
  const std::string path = ::testing::TempDir() + "/huge.properties";
  {
    std::ofstream f(path);
    f << std::string(kMaxPropertiesFileBytes + 1, '#');
  }
  auto out = parse({"--bootstrap-servers", "k:9092", "--kafka-properties", path.c_str()});
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.errors[0], "--kafka-properties: '" + path + "' is larger than 1048576 bytes");
}

TEST(Config, OutputFormatKnownEvenWhenInvalid) {
  auto bad_value = parse({"--once", "--output", "json", "--poll-interval", "soon"});
  EXPECT_FALSE(bad_value.config);
  EXPECT_TRUE(bad_value.once);
  EXPECT_EQ(bad_value.once_output, OutputFormat::kJson);
  auto bad_flag = parse({"--once", "--output=json", "--no-such-flag"});
  EXPECT_FALSE(bad_flag.config);
  EXPECT_TRUE(bad_flag.once);
  EXPECT_EQ(bad_flag.once_output, OutputFormat::kJson);
}

TEST(Config, OverrideFlags) {
  auto out = parse({"--bootstrap-servers", "k:9092", "--overrides-file", "/etc/isrguard/overrides.yaml",
                    "--max-override-ttl", "12h"});
  ASSERT_TRUE(out.config) << (out.errors.empty() ? "" : out.errors[0]);
  EXPECT_EQ(out.config->overrides_file, "/etc/isrguard/overrides.yaml");
  EXPECT_EQ(out.config->max_override_ttl, std::chrono::hours(12));
  EXPECT_EQ(parse({"--bootstrap-servers", "k:9092"}).config->max_override_ttl, std::chrono::hours(24));
  for (const char* bad : {"0s", "169h", "soon"}) {
    auto o = parse({"--bootstrap-servers", "k:9092", "--max-override-ttl", bad});
    EXPECT_EQ(o.errors, (std::vector<std::string>{std::string("--max-override-ttl: '") + bad +
                                                  "' must be a duration from 1m to 168h"}));
  }
}

TEST(Config, GateOnAlwaysKeepsTheOperatorFreeze) {
  auto out = parse({"--bootstrap-servers", "k:9092", "--gate-on", "offline_partitions"});
  ASSERT_TRUE(out.config);
  EXPECT_EQ(out.config->policy.gating_reasons,
            (std::set<std::string, std::less<>>{"offline_partitions", "override_freeze"}));
}

TEST(Config, CheckOverridesNeedsNoKafka) {
  auto out = parse({"--check-overrides", "o.yaml"});
  ASSERT_TRUE(out.config) << (out.errors.empty() ? "" : out.errors[0]);
  EXPECT_EQ(out.config->check_overrides, "o.yaml");
}

}  // namespace
}  // namespace isrguard::service
