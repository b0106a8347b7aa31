#include "service/config/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <initializer_list>

#include "probes/rdkafka_source.h"
#include "service/config/kafka_properties.h"
#include "service/config/value_parsers.h"

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
  for (const char* bad : {"", " ", "a", "3-1", "1,,2", "1-", "-5", "1-3,", ",1", "1-2001"})
    EXPECT_EQ(parse_id_list(bad), std::nullopt) << bad;
  EXPECT_EQ(parse_id_ranges("7,1-3,2-5,100"), (IdRanges{{1, 5}, {7, 7}, {100, 100}}));
  EXPECT_EQ(id_count(*parse_id_ranges("0-2147483647")), 2147483648u);  // counted, never expanded
}

// ?brokers= takes clean ids only; the flags' parser is the one underneath (same ranges for the same text).
TEST(Config, QueryIdListsAreCleanIdsOnly) {
  for (const char* good : {"0", "3", "1-3,101,7", "0-1999", "2147483647"})
    EXPECT_EQ(parse_query_id_ranges(good), parse_id_ranges(good)) << good;
  for (const std::string& bad : std::vector<std::string>{"", " ", "1,", ",1", "1,,2", " 3", "3 ", "+3", "-3", "03", "1-03", "00", "1--3",
                                "3-", "1-2-3", "3\t", "0x3", "3-1", "2147483648", std::string("3\0" "01", 4)})
    EXPECT_EQ(parse_query_id_ranges(bad), std::nullopt) << bad;
  EXPECT_EQ(merge_ranges({{5, 9}, {1, 3}, {4, 4}, {20, 20}, {8, 12}}), (IdRanges{{1, 12}, {20, 20}}));
  EXPECT_EQ(expand_ids({{1, 3}, {7, 7}}), (std::vector<BrokerId>{1, 2, 3, 7}));
  EXPECT_EQ(expand_ids({{0, 1999}})->size(), 2000u);
  EXPECT_EQ(expand_ids({{0, 1999}, {5000, 5000}}), std::nullopt);
}

TEST(Config, DefaultsWithBootstrap) {
  auto out = parse({"--bootstrap-servers", "k1:9092,k2:9092"});
  ASSERT_TRUE(out.config) << (out.errors.empty() ? "" : out.errors[0]);
  const Config& c = *out.config;
  EXPECT_EQ(c.poll_interval, milliseconds(2000));
  EXPECT_EQ(c.gate.recovery_hold, milliseconds(30000));
  EXPECT_EQ(c.kafka_properties.at("bootstrap.servers"), "k1:9092,k2:9092");
  EXPECT_EQ(c.policy.gating_reasons,
            (std::set<std::string, std::less<>>{"brokers_missing", "brokers_reconnected", "brokers_unresponsive",
                                                "controller_unknown", "metadata_errors", "offline_partitions",
                                                "override_freeze",
                                                "probe_failed", "snapshot_stale", "under_min_isr_partitions",
                                                "under_replicated_partitions"}));
}

TEST(Config, ForgetMissingBrokersAfter) {
  auto defaults = parse({"--bootstrap-servers", "k:9092"});
  ASSERT_TRUE(defaults.config);
  EXPECT_EQ(defaults.config->policy.forget_missing_brokers_after, std::chrono::hours(24));
  auto set = parse({"--bootstrap-servers", "k:9092", "--forget-missing-brokers-after", "90m"});
  ASSERT_TRUE(set.config) << set.errors[0];
  EXPECT_EQ(set.config->policy.forget_missing_brokers_after, std::chrono::minutes(90));
  const auto described = set.config->describe();
  EXPECT_NE(std::find(described.begin(), described.end(),
                      std::pair<std::string, std::string>{"forget_missing_brokers_after", "5400s"}),
            described.end());
  auto bad = parse({"--bootstrap-servers", "k:9092", "--forget-missing-brokers-after", "1d"});
  EXPECT_FALSE(bad.config);
  EXPECT_EQ(bad.exit_code, 2);
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

// An empty or blank item in any list flag is an error naming the flag (exit 2), as the same text in an HTTP
// list parameter is a 400: `--disrupt-rack 'a,'` used to ask about rack a alone while `rack=a,` was refused.
TEST(Config, AnEmptyListItemIsAnErrorInEveryListFlag) {
  struct Row {
    std::vector<const char*> flags;
    std::string error_prefix;
  };
  const char* racks = "--disrupt-rack";
  const std::vector<Row> rows = {
      {{racks, "a,"}, "--disrupt-rack: 'a,' has an empty item"},
      {{racks, ",a"}, "--disrupt-rack: ',a' has an empty item"},
      {{racks, "a,,b"}, "--disrupt-rack: 'a,,b' has an empty item"},
      {{racks, "a, ,b"}, "--disrupt-rack: 'a, ,b' has an empty item"},
      {{racks, " "}, "--disrupt-rack: ' ' has an empty item"},
      {{racks, "a", racks, ""}, "--disrupt-rack: '' has an empty item"},
      {{"--disrupt-fleet", "ec2,"}, "--disrupt-fleet: 'ec2,' has an empty item"},
      {{"--disrupt-fleet", ""}, "--disrupt-fleet: '' has an empty item"},
      {{"--disrupt-brokers", "1,"}, "--disrupt-brokers: '1,' is not a list of ids"},
      {{"--disrupt-brokers", ",1"}, "--disrupt-brokers: ',1' is not a list of ids"},
      {{"--disrupt-brokers", "1,,2"}, "--disrupt-brokers: '1,,2' is not a list of ids"},
      {{"--disrupt-brokers", ""}, "--disrupt-brokers: '' is not a list of ids"},
      {{"--expected-brokers", "1-3,"}, "--expected-brokers: '1-3,' is not a list"},
      {{"--gate-on", "offline_partitions,"}, "--gate-on: empty reason code"},
      {{"--webhook-port", "0", "--webhook-broker-pods", "kafka/kafka-,"},
       "--webhook-broker-pods: 'kafka/kafka-,' has an empty item"},
      {{"--webhook-broker-id-label", "kafka=isrguard.io/broker-id,"},
       "--webhook-broker-id-label: 'kafka=isrguard.io/broker-id,' has an empty item"},
      {{"--webhook-broker-id-label", ""}, "--webhook-broker-id-label: '' has an empty item"},
      {{"--webhook-broker-id-annotation", ",kafka=broker.id"},
       "--webhook-broker-id-annotation: ',kafka=broker.id' has an empty item"},
  };
  for (const auto& row : rows) {
    std::vector<const char*> argv = {"isrguard", "--bootstrap-servers", "127.0.0.1:9092", "--once",
                                     "--fleet", "ec2=ids:1-3"};
    argv.insert(argv.end(), row.flags.begin(), row.flags.end());
    const auto out = parse_config(static_cast<int>(argv.size()), argv.data());
    EXPECT_FALSE(out.config) << row.error_prefix;
    EXPECT_EQ(out.exit_code, 2) << row.error_prefix;
    bool found = false;
    for (const auto& e : out.errors) found |= e.rfind(row.error_prefix, 0) == 0;
    EXPECT_TRUE(found) << row.error_prefix << "; got: " << ::testing::PrintToString(out.errors);
  }
  // The same lists without the empty item, repeated or comma-separated, are read whole.
  const auto ok = parse({"--bootstrap-servers", "127.0.0.1:9092", "--once", "--fleet", "ec2=ids:1-3",
                         "--disrupt-rack", "a, b", "--disrupt-rack", "c", "--disrupt-fleet", "ec2"});
  ASSERT_TRUE(ok.config) << ::testing::PrintToString(ok.errors);
  EXPECT_EQ(ok.config->disrupt.racks, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ok.config->disrupt.fleets, (std::vector<std::string>{"ec2"}));
}

TEST(Config, StaleAfterMustExceedPollPlusTimeout) {
  auto out = parse({"--mock-brokers", "3", "--poll-interval", "5s", "--probe-timeout", "10s", "--stale-after", "15s"});
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.errors[0], "--stale-after (15s) must exceed --poll-interval + --probe-timeout (15s)");
}

TEST(Config, BrokerSlowAfterDefaultsToTwoSecondsAndMustBePositive) {
  EXPECT_EQ(parse({"--mock-brokers", "3"}).config->policy.broker_slow_after, milliseconds(2000));
  ::setenv("ISRGUARD_BROKER_SLOW_AFTER", "750ms", 1);
  auto env = parse({"--mock-brokers", "3"});
  ::unsetenv("ISRGUARD_BROKER_SLOW_AFTER");
  ASSERT_TRUE(env.config);
  EXPECT_EQ(env.config->policy.broker_slow_after, milliseconds(750));
  auto zero = parse({"--mock-brokers", "3", "--broker-slow-after", "0s"});
  EXPECT_FALSE(zero.config);
  EXPECT_EQ(zero.errors, std::vector<std::string>{"--broker-slow-after must be more than 0"});
  EXPECT_FALSE(parse({"--mock-brokers", "3", "--broker-slow-after", "soon"}).config);
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

bool has_error(const ParseOutcome& out, const std::string& prefix) {
  for (const auto& e : out.errors)
    if (e.rfind(prefix, 0) == 0) return true;
  return false;
}
std::string all_errors(const ParseOutcome& out) {
  std::string s;
  for (const auto& e : out.errors) s += e + "\n";
  return s;
}

// An empty gating set never closes the gate: a blank --gate-on must not be read as "gate on nothing".
TEST(Config, BlankOrEmptyGateOnIsAnError) {
  for (const char* value : {" ", "", ",", " , ", "offline_partitions,", "offline_partitions,,probe_failed"}) {
    auto out = parse({"--mock-brokers", "3", "--gate-on", value});
    EXPECT_FALSE(out.config) << "'" << value << "'";
    EXPECT_EQ(out.exit_code, 2) << "'" << value << "'";
    EXPECT_TRUE(has_error(out, "--gate-on: ")) << "'" << value << "': " << all_errors(out);
  }
  ::setenv("ISRGUARD_GATE_ON", " ", 1);
  auto env = parse({"--mock-brokers", "3"});
  ::unsetenv("ISRGUARD_GATE_ON");
  EXPECT_FALSE(env.config);
  EXPECT_TRUE(has_error(env, "--gate-on: ")) << all_errors(env);
}

TEST(Config, GateOnItemsAreTrimmed) {
  auto out = parse({"--mock-brokers", "3", "--gate-on", " offline_partitions , probe_failed "});
  ASSERT_TRUE(out.config) << all_errors(out);
  EXPECT_EQ(out.config->policy.gating_reasons,
            (std::set<std::string, std::less<>>{"offline_partitions", "override_freeze", "probe_failed"}));
}

// Every list or text flag: a blank value or an empty item is a mistake, never "nothing" or "everything".
TEST(Config, BlankValuesAndEmptyItemsAreErrorsForEveryFlag) {
  struct Row {
    std::vector<const char*> args;
    std::string error_prefix;
  };
  const std::vector<Row> rows = {
      {{"--bootstrap-servers", " "}, "--bootstrap-servers: "},
      {{"--bootstrap-servers", "k1:9092,,k2:9092"}, "--bootstrap-servers: "},
      {{"--bootstrap-servers", "k1:9092,"}, "--bootstrap-servers: "},
      {{"--mock-brokers", "3", "--expected-brokers", ""}, "--expected-brokers: "},
      {{"--mock-brokers", "3", "--expected-brokers", " "}, "--expected-brokers: "},
      {{"--mock-brokers", "3", "--expected-brokers", "1-3,"}, "--expected-brokers: "},
      {{"--mock-brokers", "3", "--fleet", " "}, "--fleet: "},
      {{"--mock-brokers", "3", "--fleet", "ec2=ids:1-3,"}, "--fleet: "},
      {{"--mock-brokers", "3", "--fleet", "ec2=host: "}, "--fleet: "},
      {{"--mock-brokers", "3", "--topic-include", " "}, "--topic-include: "},
      {{"--mock-brokers", "3", "--topic-include", ""}, "--topic-include: "},
      {{"--mock-brokers", "3", "--topic-include", "orders "}, "--topic-include: "},
      {{"--mock-brokers", "3", "--topic-exclude", " "}, "--topic-exclude: "},
      {{"--mock-brokers", "3", "--kafka-properties", " "}, "--kafka-properties: "},
      {{"--mock-brokers", "3", "--kafka-properties", ""}, "--kafka-properties: "},
      {{"--mock-brokers", "3", "--http-address", " "}, "--http-address: "},
      {{"--mock-brokers", "3", "--webhook-broker-id-label", " "}, "--webhook-broker-id-label: "},
      {{"--mock-brokers", "3", "--webhook-broker-id-annotation", ""}, "--webhook-broker-id-annotation: "},
      {{"--mock-brokers", "3", "--kube-api", " "}, "--kube-api: blank"},
      {{"--mock-brokers", "3", "--kube-token-file", ""}, "--kube-token-file: blank"},
      {{"--mock-brokers", "3", "--kube-ca-file", " "}, "--kube-ca-file: blank"},
  };
  for (const auto& row : rows) {
    std::vector<const char*> argv{"isrguard"};
    argv.insert(argv.end(), row.args.begin(), row.args.end());
    auto out = parse_config(static_cast<int>(argv.size()), argv.data());
    std::string shown;
    for (auto a : row.args) shown += std::string("'") + a + "' ";
    EXPECT_FALSE(out.config) << shown;
    EXPECT_EQ(out.exit_code, 2) << shown;
    EXPECT_TRUE(has_error(out, row.error_prefix)) << shown << "\n" << all_errors(out);
  }
}

TEST(Config, BlankEnvironmentListsAreErrorsToo) {
  for (const char* name : {"ISRGUARD_EXPECTED_BROKERS", "ISRGUARD_TOPIC_INCLUDE", "ISRGUARD_FLEET"}) {
    ::setenv(name, " ", 1);
    auto out = parse({"--mock-brokers", "3"});
    ::unsetenv(name);
    EXPECT_FALSE(out.config) << name;
    EXPECT_EQ(out.exit_code, 2) << name;
  }
}

// Staleness means nothing for a single probe: --once takes any probe timeout.
TEST(Config, OnceDoesNotRequireStaleAfterAbovePollPlusTimeout) {
  auto out = parse({"--mock-brokers", "3", "--once", "--probe-timeout", "90s"});
  ASSERT_TRUE(out.config) << all_errors(out);
  EXPECT_EQ(out.config->probe_timeout, milliseconds(90000));
}

// The cache max age follows the refresh interval, so a long interval is valid (it used to abort start-up).
TEST(Config, MinIsrMaxAgeIsDerivedFromTheRefreshInterval) {
  auto out = parse({"--mock-brokers", "3", "--config-refresh-interval", "20m"});
  ASSERT_TRUE(out.config) << all_errors(out);
  EXPECT_EQ(out.config->min_isr_max_age(), std::chrono::minutes(60));
  EXPECT_EQ(parse({"--mock-brokers", "3"}).config->min_isr_max_age(), std::chrono::minutes(15));
}

TEST(Config, ExpectedBrokersAreCapped) {
  EXPECT_TRUE(parse({"--mock-brokers", "3", "--expected-brokers", "1-2000"}).config);
  for (const char* too_many : {"1-2001", "1-100000", "1-1000,2001-3001", "0-2147483647"}) {
    auto out = parse({"--mock-brokers", "3", "--expected-brokers", too_many});
    EXPECT_FALSE(out.config) << too_many;
    EXPECT_TRUE(has_error(out, "--expected-brokers: at most 2000 broker ids")) << too_many << all_errors(out);
  }
  auto fleet = parse({"--mock-brokers", "3", "--fleet", "big=ids:1-100000"});
  EXPECT_TRUE(fleet.config) << all_errors(fleet);  // fleet rules are ranges, not per-broker state
}

TEST(Config, PropertiesFileMustBeARegularFileOfBoundedSize) {
  const std::string big = ::testing::TempDir() + "/big.properties";
  {
    std::ofstream f(big);
    f << "bootstrap.servers=k:9092\n";
    f << "# " << std::string(1024 * 1024, 'x') << "\n";
  }
  const std::string dir = ::testing::TempDir();
  struct Row {
    std::string path, error;
  };
  for (const Row& row : {Row{"/dev/zero", "--kafka-properties: '/dev/zero' is not a regular file"},
                         Row{dir, "--kafka-properties: '" + dir + "' is not a regular file"},
                         Row{big, "--kafka-properties: '" + big + "' is larger than 1048576 bytes"}}) {
    auto out = parse({"--mock-brokers", "3", "--kafka-properties", row.path.c_str()});
    EXPECT_FALSE(out.config) << row.path;
    EXPECT_EQ(out.exit_code, 2);
    EXPECT_TRUE(has_error(out, row.error)) << all_errors(out);
  }
  std::remove(big.c_str());
}

// Parse errors name flags, never values: a mistyped secret flag must not put the secret in logs.
TEST(Config, UnknownFlagsAreNamedButTheirValuesNeverShown) {
  for (std::initializer_list<const char*> args :
       {std::initializer_list<const char*>{"--mock-brokers", "3", "--sasl-password", "hunter2"},
        std::initializer_list<const char*>{"--mock-brokers", "3", "--sasl-password=hunter2"},
        std::initializer_list<const char*>{"--mock-brokers", "3", "hunter2"}}) {
    auto out = parse(args);
    EXPECT_FALSE(out.config);
    EXPECT_EQ(out.exit_code, 2);
    ASSERT_FALSE(out.errors.empty());
    for (const auto& e : out.errors) EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  }
  auto named = parse({"--mock-brokers", "3", "--sasl-password", "hunter2"});
  EXPECT_NE(all_errors(named).find("--sasl-password"), std::string::npos) << all_errors(named);
}

// ---- the webhook's label and annotation rules and the Kubernetes API they read Pods through
// ----------------

// A token and a CA file that exist (their content is read per request, not at start-up).
struct KubeFiles {
  std::string token = ::testing::TempDir() + "/isrguard-config-token";
  std::string ca = ::testing::TempDir() + "/isrguard-config-ca.crt";
  KubeFiles() {
    std::ofstream(token) << "config-test-token-value\n";
    std::ofstream(ca) << "-----BEGIN CERTIFICATE-----\n";
  }
  ~KubeFiles() {
    std::remove(token.c_str());
    std::remove(ca.c_str());
  }
};

// Unsets KUBERNETES_SERVICE_HOST / _PORT for a test (and restores them): parse_config reads them.
class NoInClusterEnv {
 public:
  NoInClusterEnv() {
    for (const char* name : {"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"}) {
      if (const char* v = std::getenv(name)) saved_.emplace_back(name, v);
      ::unsetenv(name);
    }
  }
  ~NoInClusterEnv() {
    ::unsetenv("KUBERNETES_SERVICE_HOST");
    ::unsetenv("KUBERNETES_SERVICE_PORT");
    for (const auto& [k, v] : saved_) ::setenv(k.c_str(), v.c_str(), 1);
  }

 private:
  std::vector<std::pair<std::string, std::string>> saved_;
};

ParseOutcome parse_kube(std::vector<std::string> extra, const KubeFiles& f) {
  std::vector<std::string> args = {"isrguard", "--mock-brokers", "3"};
  for (const auto& [flag, path] :
       {std::pair{"--kube-token-file", f.token}, std::pair{"--kube-ca-file", f.ca}})
    if (std::find(extra.begin(), extra.end(), flag) == extra.end()) args.insert(args.end(), {flag, path});
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_config(static_cast<int>(argv.size()), argv.data());
}

TEST(Config, BrokerIdRulesReadOnePerNamespaceWithTheApiGiven) {
  NoInClusterEnv no_env;
  KubeFiles files;
  auto out = parse_kube(
      {"--webhook-broker-id-label", "kafka=isrguard.io/broker-id", "--webhook-broker-id-annotation",
       "kafka-b=example.com/broker.id", "--kube-api", "https://10.0.0.1:6443/", "--kube-timeout", "1s"},
      files);
  ASSERT_TRUE(out.config) << all_errors(out);
  using Source = BrokerIdKeyRule::Source;
  EXPECT_EQ(out.config->webhook_broker_id_keys,
            (std::vector<BrokerIdKeyRule>{{"kafka", Source::kLabel, "isrguard.io/broker-id"},
                                          {"kafka-b", Source::kAnnotation, "example.com/broker.id"}}));
  EXPECT_EQ(out.config->kube_api, "https://10.0.0.1:6443");
  EXPECT_EQ(out.config->kube_timeout, milliseconds(1000));
  std::string described;
  for (const auto& [k, v] : out.config->describe()) described += k + "=" + v + "\n";
  EXPECT_NE(described.find("webhook_broker_id_label.kafka=isrguard.io/broker-id"), std::string::npos)
      << described;
  EXPECT_NE(described.find("kube_token_file=" + files.token), std::string::npos) << described;
  EXPECT_EQ(described.find("config-test-token-value"), std::string::npos) << described;

  auto twice = parse_kube({"--webhook-broker-id-label", "kafka=a", "--webhook-broker-id-annotation",
                           "kafka=b", "--kube-api", "https://10.0.0.1"},
                          files);
  EXPECT_FALSE(twice.config);
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_TRUE(
      has_error(twice,
                "--webhook-broker-id-label/--webhook-broker-id-annotation: namespace 'kafka' has more "
                "than one rule"))
      << all_errors(twice);
}

TEST(Config, TheApiDefaultsToTheInClusterServiceAndIsRequiredOtherwise) {
  NoInClusterEnv no_env;
  KubeFiles files;
  auto none = parse_kube({"--webhook-broker-id-label", "kafka=k"}, files);
  EXPECT_FALSE(none.config);
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_TRUE(
      has_error(none, "--webhook-broker-id-label/--webhook-broker-id-annotation need the Kubernetes API: "))
      << all_errors(none);
  ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto v4 = parse_kube({"--webhook-broker-id-label", "kafka=k"}, files);
  ASSERT_TRUE(v4.config) << all_errors(v4);
  EXPECT_EQ(v4.config->kube_api, "https://10.96.0.1:443");
  ::setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
  auto v6 = parse_kube({"--webhook-broker-id-label", "kafka=k"}, files);
  ASSERT_TRUE(v6.config) << all_errors(v6);
  EXPECT_EQ(v6.config->kube_api, "https://[fd00:10:96::1]:443");
  auto flag_wins =
      parse_kube({"--webhook-broker-id-label", "kafka=k", "--kube-api", "https://api.example:6443"}, files);
  ASSERT_TRUE(flag_wins.config) << all_errors(flag_wins);
  EXPECT_EQ(flag_wins.config->kube_api, "https://api.example:6443");
}

TEST(Config, KubeApiFlagsAreValidatedNamingTheFlag) {
  NoInClusterEnv no_env;
  KubeFiles files;
  struct Row {
    std::vector<std::string> args;
    std::string error_prefix;
  };
  const std::string rule = "kafka=isrguard.io/broker-id";
  const std::vector<Row> rows = {
      {{"--kube-api", "http://10.0.0.1"}, "--kube-api: 'http://10.0.0.1' must be https://HOST[:PORT]"},
      {{"--kube-api", "https://"}, "--kube-api: "},
      {{"--kube-api", "https://user:pw@10.0.0.1"}, "--kube-api: "},
      {{"--kube-api", "https://10.0.0.1/api"}, "--kube-api: "},
      {{"--kube-api", "https://10.0.0.1:0"}, "--kube-api: "},
      {{"--kube-api", "https://10.0.0.1:70000"}, "--kube-api: "},
      {{"--kube-api", "https://10.0.0.1:"}, "--kube-api: "},
      {{"--kube-api", "https://[::1"}, "--kube-api: "},
      {{"--kube-api", "https://a b"}, "--kube-api: "},
      {{"--kube-api", "ftp://10.0.0.1"}, "--kube-api: "},
      {{"--kube-api", "https://10.0.0.1", "--kube-token-file", "/nonexistent/token"},
       "--kube-token-file: cannot read '/nonexistent/token' (in a pod: automountServiceAccountToken must be "
       "true)"},
      {{"--kube-api", "https://10.0.0.1", "--kube-ca-file", "/nonexistent/ca.crt"},
       "--kube-ca-file: cannot read '/nonexistent/ca.crt'"},
      {{"--kube-api", "https://10.0.0.1", "--kube-ca-file", "/tmp"},
       "--kube-ca-file: '/tmp' is not a regular file"},
      {{"--kube-api", "https://10.0.0.1", "--kube-timeout", "50ms"},
       "--kube-timeout: '50ms' must be a duration"},
      {{"--kube-api", "https://10.0.0.1", "--kube-timeout", "soon"},
       "--kube-timeout: 'soon' must be a duration"},
      {{"--kube-api", "https://10.0.0.1", "--kube-timeout", "8s"},
       "--kube-timeout (8s) must be below --webhook-timeout (8s)"},
      {{"--kube-api", "https://10.0.0.1", "--webhook-timeout", "1s"},
       "--kube-timeout (2s) must be below --webhook-timeout (1s)"},
  };
  for (const auto& row : rows) {
    std::vector<std::string> args = {"--webhook-broker-id-label", rule};
    args.insert(args.end(), row.args.begin(), row.args.end());
    const auto out = parse_kube(args, files);
    EXPECT_FALSE(out.config) << row.error_prefix;
    EXPECT_EQ(out.exit_code, 2) << row.error_prefix;
    EXPECT_TRUE(has_error(out, row.error_prefix)) << row.error_prefix << "\n" << all_errors(out);
  }
  auto rule_errors =
      parse_kube({"--webhook-broker-id-label", "kafka", "--webhook-broker-id-annotation", "Kafka=x"}, files);
  EXPECT_TRUE(has_error(rule_errors, "--webhook-broker-id-label: broker id label rule 'kafka': expected"))
      << all_errors(rule_errors);
  EXPECT_TRUE(has_error(rule_errors,
                        "--webhook-broker-id-annotation: broker id annotation rule 'Kafka=x': the namespace"))
      << all_errors(rule_errors);
}

TEST(Config, WebhookPortNeedsSomeBrokerRuleAndALabelRuleIsEnough) {
  NoInClusterEnv no_env;
  KubeFiles files;
  auto none = parse_kube(
      {"--webhook-port", "0", "--webhook-cert-file", files.ca, "--webhook-key-file", files.ca}, files);
  EXPECT_TRUE(has_error(none,
                        "--webhook-port needs --webhook-broker-pods, --webhook-broker-id-label or "
                        "--webhook-broker-id-annotation"))
      << all_errors(none);
  auto labels =
      parse_kube({"--webhook-port", "0", "--webhook-cert-file", files.ca, "--webhook-key-file", files.ca,
                  "--webhook-broker-id-label", "kafka=k", "--kube-api", "https://127.0.0.1:6443"},
                 files);
  EXPECT_TRUE(labels.config) << all_errors(labels);
}

TEST(Config, KubeFlagsWithoutABrokerIdRuleAreAWarningNotAnError) {
  NoInClusterEnv no_env;
  // A short --webhook-timeout is no conflict with --kube-timeout's default when no Pod is read.
  auto short_timeout = parse({"--mock-brokers", "3", "--webhook-timeout", "1s"});
  EXPECT_TRUE(short_timeout.config) << all_errors(short_timeout);
  auto out = parse({"--mock-brokers", "3", "--kube-api", "https://10.0.0.1"});
  ASSERT_TRUE(out.config) << all_errors(out);
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_EQ(out.warnings[0].rfind("--kube-api is unused", 0), 0u) << out.warnings[0];
}

}  // namespace
}  // namespace isrguard::service
