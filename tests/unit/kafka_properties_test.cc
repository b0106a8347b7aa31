// Kafka client configuration as users write it: the java.util.Properties reader, the JAAS parser and the
// Java -> librdkafka translation (service/config/kafka_properties.h). Table-driven: one row per form users write.
#include "service/config/kafka_properties.h"

#include <gtest/gtest.h>

#include <set>

#include "probes/rdkafka_source.h"

namespace isrguard::service {
namespace {

using Props = std::map<std::string, std::string>;

// clang-format off
struct ReaderRow {
  const char* name;
  std::string text;
  Props want;
  std::vector<std::string> errors = {};
};

const std::vector<ReaderRow> kReaderRows = {
  {"jaas_over_continuation_lines_as_kafka_docs_show",
   "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n"
   "    username=\"isrguard\" \\\n"
   "    password=\"s3cret\";\n",
   {{"sasl.jaas.config",
     "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"isrguard\" password=\"s3cret\";"}}},
  {"separators_equals_colon_whitespace_and_none",
   "a=1\nb:2\nc 3\nd   =   4\ne\nf=\ng :=x\n",
   {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", ""}, {"f", ""}, {"g", "=x"}}},
  {"comments_hash_and_bang_even_indented_and_never_continued",
   "# c1\n! c2\n   # c3 \\\nkey=v\n\n\t\n",
   {{"key", "v"}}},
  {"escapes_in_keys_and_values",
   "key\\:with\\=seps\\ space = a\\tb\\u00e9\\u20ac\\\\\nurl=http\\://h\\:8081\n",
   {{"key:with=seps space", "a\tb\xc3\xa9\xe2\x82\xac\\"}, {"url", "http://h:8081"}}},
  {"even_trailing_backslashes_do_not_continue",
   "a=x\\\\\nb=y\n",
   {{"a", "x\\"}, {"b", "y"}}},
  {"continuation_line_starting_with_hash_is_value",
   "a=1,\\\n  #2\n",
   {{"a", "1,#2"}}},
  {"empty_continuation_line_ends_the_value",
   "a=1\\\n\nb=2\n",
   {{"a", "1"}, {"b", "2"}}},
  {"crlf_and_cr_line_ends",
   "a=1\r\nb=2\rc=3",
   {{"a", "1"}, {"b", "2"}, {"c", "3"}}},
  {"values_trimmed_as_kafka_configdef_does_and_later_duplicates_win",
   "security.protocol=SASL_SSL   \nsecurity.protocol = SSL \t\n",
   {{"security.protocol", "SSL"}}},
  {"malformed_unicode_escape_is_an_error_with_its_line",
   "a=1\nb=\\u12G4\nc=\\u12\n",
   {{"a", "1"}},
   {"properties line 2: malformed \\uXXXX escape", "properties line 3: malformed \\uXXXX escape"}},
};
// clang-format on

class PropertiesReader : public ::testing::TestWithParam<ReaderRow> {};

TEST_P(PropertiesReader, ReadsAsJavaPropertiesLoadDoes) {
  const auto& row = GetParam();
  std::vector<std::string> errors;
  EXPECT_EQ(parse_properties(row.text, errors), row.want);
  EXPECT_EQ(errors, row.errors);
}

INSTANTIATE_TEST_SUITE_P(Rows, PropertiesReader, ::testing::ValuesIn(kReaderRows),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Jaas, ParsesQuotedBareAndEscapedValues) {
  JaasConfig j;
  EXPECT_EQ(parse_jaas_config("org.apache.kafka.common.security.plain.PlainLoginModule required "
                              "username='isrguard' password=\"p@ss\\\"w'rd\" serviceName=kafka;",
                              j),
            "");
  EXPECT_EQ(j, (JaasConfig{"org.apache.kafka.common.security.plain.PlainLoginModule",
                           "required",
                           {{"username", "isrguard"}, {"password", "p@ss\"w'rd"}, {"serviceName", "kafka"}}}));
}

TEST(Jaas, MalformedEntriesSayWhy) {
  JaasConfig j;
  EXPECT_EQ(parse_jaas_config("", j), "cannot parse the login module");
  EXPECT_EQ(parse_jaas_config("a.B required username=\"u", j),
            "option username has no value or an unterminated quote");
  EXPECT_EQ(parse_jaas_config("a.B required username=\"u\"", j), "the login module entry must end with ';'");
  EXPECT_EQ(parse_jaas_config("a.B maybe username=\"u\";", j),
            "login module a.B needs a control flag (required, requisite, sufficient or optional)");
  EXPECT_EQ(parse_jaas_config("a.B required; c.D required;", j), "exactly one login module is allowed");
}

// A fixed stand-in for librdkafka's property list keeps the table independent of the installed version.
bool known(const std::string& key) {
  static const std::set<std::string> keys = {
      "bootstrap.servers", "security.protocol", "sasl.mechanism", "sasl.username", "sasl.password",
      "ssl.ca.location", "ssl.ca.pem", "ssl.keystore.location", "ssl.keystore.password",
      "ssl.certificate.location", "ssl.key.location", "ssl.key.password", "ssl.endpoint.identification.algorithm",
      "ssl.cipher.suites", "client.id", "acks", "linger.ms", "group.id", "enable.idempotence"};
  return keys.count(key) > 0;
}

const std::string kScram = "org.apache.kafka.common.security.scram.ScramLoginModule";
const std::string kPlain = "org.apache.kafka.common.security.plain.PlainLoginModule";

// clang-format off
struct TranslationRow {
  const char* name;
  Props in;
  ClientConfigTranslation want;
};

const std::vector<TranslationRow> kTranslationRows = {
  {"scram_double_quotes",
   {{"sasl.mechanism", "SCRAM-SHA-512"}, {"sasl.jaas.config", kScram + " required username=\"isrguard\" password=\"s3cret\";"}},
   {{{"sasl.mechanism", "SCRAM-SHA-512"}, {"sasl.username", "isrguard"}, {"sasl.password", "s3cret"}}, {}, {}}},
  {"plain_single_quotes",
   {{"sasl.jaas.config", kPlain + " required username='isrguard' password='pa ss';"}},
   {{{"sasl.username", "isrguard"}, {"sasl.password", "pa ss"}}, {}, {}}},
  {"explicit_librdkafka_password_wins_over_jaas",
   {{"sasl.jaas.config", kScram + " required username=\"u\" password=\"from-jaas\";"}, {"sasl.password", "explicit"}},
   {{{"sasl.username", "u"}, {"sasl.password", "explicit"}}, {}, {}}},
  {"jaas_without_password",
   {{"sasl.jaas.config", kScram + " required username=\"u\";"}},
   {{}, {}, {"sasl.jaas.config: username and password are required"}}},
  {"kerberos_keytab_and_principal",
   {{"sasl.jaas.config", "com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true keyTab=\"/k.keytab\" principal=\"isrguard@EX.COM\";"}},
   {{{"sasl.kerberos.keytab", "/k.keytab"}, {"sasl.kerberos.principal", "isrguard@EX.COM"}}, {}, {}}},
  {"msk_iam_refused_naming_librdkafka_version",
   {{"sasl.jaas.config", "software.amazon.msk.auth.iam.IAMLoginModule required;"},
    {"sasl.client.callback.handler.class", "software.amazon.msk.auth.iam.IAMClientCallbackHandler"}},
   {{}, {}, {"sasl.jaas.config: AWS MSK IAM authentication is not available in librdkafka 2.0.2; use SASL/SCRAM "
             "(sasl.mechanism=SCRAM-SHA-512, MSK port 9096)",
             "sasl.client.callback.handler.class: a custom SASL callback cannot run in librdkafka (AWS MSK IAM "
             "authentication is not available in librdkafka 2.0.2: use SASL/SCRAM)"}}},
  {"unknown_login_module_refused",
   {{"sasl.jaas.config", "com.example.Custom required;"}},
   {{}, {}, {"sasl.jaas.config: login module com.example.Custom is not supported (PLAIN, SCRAM and Kerberos only)"}}},
  {"pem_truststore_becomes_ca_location_and_its_password_is_dropped",
   {{"ssl.truststore.type", "PEM"}, {"ssl.truststore.location", "/ca.crt"}, {"ssl.truststore.password", "x"}},
   {{{"ssl.ca.location", "/ca.crt"}}, {}, {}}},
  {"inline_pem_truststore_becomes_ca_pem",
   {{"ssl.truststore.type", "PEM"}, {"ssl.truststore.certificates", "-----BEGIN CERTIFICATE-----..."}},
   {{{"ssl.ca.pem", "-----BEGIN CERTIFICATE-----..."}}, {}, {}}},
  {"jks_truststore_refused_because_verification_would_change",
   {{"ssl.truststore.location", "/t.jks"}},
   {{}, {}, {"ssl.truststore.location: JKS truststores cannot be read by librdkafka, and without the truststore "
             "the brokers' certificates would be checked against other CAs; use ssl.truststore.type=PEM or "
             "ssl.ca.location with a PEM file (Strimzi: the cluster CA secret's ca.crt)"}}},
  {"explicit_ca_location_wins_over_a_jks_truststore",
   {{"ssl.truststore.location", "/t.jks"}, {"ssl.ca.location", "/ca.pem"}},
   {{{"ssl.ca.location", "/ca.pem"}}, {}, {}}},
  {"pkcs12_keystore_by_type_or_file_name",
   {{"ssl.keystore.location", "/user.p12"}, {"ssl.keystore.password", "pw"}},
   {{{"ssl.keystore.location", "/user.p12"}, {"ssl.keystore.password", "pw"}}, {}, {}}},
  {"pem_keystore_is_certificate_and_key",
   {{"ssl.keystore.type", "PEM"}, {"ssl.keystore.location", "/user.pem"}, {"ssl.key.password", "kp"}},
   {{{"ssl.certificate.location", "/user.pem"}, {"ssl.key.location", "/user.pem"}, {"ssl.key.password", "kp"}}, {}, {}}},
  {"jks_keystore_refused",
   {{"ssl.keystore.location", "/k.jks"}},
   {{}, {}, {"ssl.keystore.location: JKS keystores cannot be read by librdkafka, and without it the client "
             "certificate would not be sent; use PKCS12 (Strimzi: user.p12 + user.password) or "
             "ssl.certificate.location + ssl.key.location PEM files"}}},
  {"empty_endpoint_identification_means_none",
   {{"ssl.endpoint.identification.algorithm", ""}},
   {{{"ssl.endpoint.identification.algorithm", "none"}}, {}, {}}},
  {"https_endpoint_identification_kept",
   {{"ssl.endpoint.identification.algorithm", "HTTPS"}},
   {{{"ssl.endpoint.identification.algorithm", "https"}}, {}, {}}},
  {"enabled_protocols_including_tls12_and_ssl_protocol_ignored",
   {{"ssl.enabled.protocols", "TLSv1.2,TLSv1.3"}, {"ssl.protocol", "TLSv1.3"}},
   {{}, {"ssl.enabled.protocols", "ssl.protocol"}, {}}},
  {"tls13_only_refused",
   {{"ssl.enabled.protocols", "TLSv1.3"}},
   {{}, {}, {"ssl.enabled.protocols: librdkafka 2.0.2 cannot restrict TLS versions; it offers TLS 1.2 and 1.3 "
             "(remove the setting or include TLSv1.2)"}}},
  {"java_cipher_names_refused_openssl_names_kept",
   {{"ssl.cipher.suites", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"}},
   {{}, {}, {"ssl.cipher.suites: Java cipher-suite names; librdkafka needs an OpenSSL cipher list (e.g. "
             "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384)"}}},
  {"openssl_cipher_list_passes",
   {{"ssl.cipher.suites", "ECDHE-RSA-AES256-GCM-SHA384"}},
   {{{"ssl.cipher.suites", "ECDHE-RSA-AES256-GCM-SHA384"}}, {}, {}}},
  {"whole_java_application_config",
   {{"bootstrap.servers", "k:9093"}, {"security.protocol", "SASL_SSL"}, {"sasl.mechanism", "PLAIN"},
    {"sasl.jaas.config", kPlain + " required username=\"app\" password=\"pw\";"},
    {"key.serializer", "org.apache.kafka.common.serialization.StringSerializer"},
    {"value.serializer", "io.confluent.kafka.serializers.KafkaAvroSerializer"}, {"acks", "all"},
    {"linger.ms", "5"}, {"enable.idempotence", "true"}, {"group.id", "g"}, {"client.dns.lookup", "use_all_dns_ips"},
    {"schema.registry.url", "https://sr"}, {"basic.auth.user.info", "k:s"}, {"ssl.endpoint.identification.algorithm", ""},
    {"session.timeout.ms", "45000"}, {"my.app.topic", "orders"}, {"client.id", "app-1"}},
   {{{"bootstrap.servers", "k:9093"}, {"security.protocol", "SASL_SSL"}, {"sasl.mechanism", "PLAIN"},
     {"sasl.username", "app"}, {"sasl.password", "pw"}, {"ssl.endpoint.identification.algorithm", "none"},
     {"client.id", "app-1"}},
    {"acks", "basic.auth.user.info", "client.dns.lookup", "enable.idempotence", "group.id", "key.serializer",
     "linger.ms", "my.app.topic", "schema.registry.url", "session.timeout.ms", "value.serializer"},
    {}}},
  {"unknown_security_settings_are_never_ignored",
   {{"ssl.truststore.typo", "PEM"}, {"sasl.kerberos.ticket.renew.jitter", "0.05"}, {"security.inter.broker.protocol", "SSL"}},
   {{}, {"sasl.kerberos.ticket.renew.jitter"},
    {"security.inter.broker.protocol: not a librdkafka property; security settings are never ignored",
     "ssl.truststore.typo: not a librdkafka property; security settings are never ignored"}}},
  {"security_plugins_refused",
   {{"ssl.engine.factory.class", "x.Y"}, {"sasl.login.callback.handler.class", "x.Z"}},
   {{}, {}, {"sasl.login.callback.handler.class: a custom login callback cannot run in librdkafka",
             "ssl.engine.factory.class: a custom TLS engine cannot run in librdkafka"}}},
};
// clang-format on

class JavaTranslation : public ::testing::TestWithParam<TranslationRow> {};

TEST_P(JavaTranslation, MapsIgnoresOrRefuses) {
  const auto& row = GetParam();
  EXPECT_EQ(translate_java_properties(row.in, known), row.want);
}

INSTANTIATE_TEST_SUITE_P(Rows, JavaTranslation, ::testing::ValuesIn(kTranslationRows),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(JavaTranslation, MultiLineFileWithSingleQuotesEndsAsLibrdkafkaCredentials) {
  std::vector<std::string> errors;
  const auto read = parse_properties(
      "security.protocol=SASL_SSL\n"
      "sasl.mechanism=SCRAM-SHA-512\n"
      "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n"
      "  username='isrguard' \\\n"
      "  password='p\\\\'w';\n",
      errors);
  ASSERT_EQ(errors, std::vector<std::string>{});
  const auto t = translate_java_properties(read, known);
  EXPECT_EQ(t, (ClientConfigTranslation{{{"security.protocol", "SASL_SSL"},
                                         {"sasl.mechanism", "SCRAM-SHA-512"},
                                         {"sasl.username", "isrguard"},
                                         {"sasl.password", "p'w"}},
                                        {},
                                        {}}));
}

TEST(JavaTranslation, OneWarningLineNamesEveryIgnoredKey) {
  EXPECT_EQ(ignored_settings_warning({}), "");
  EXPECT_EQ(ignored_settings_warning({"acks", "key.serializer"}),
            "Kafka client configuration: ignoring 2 settings that do not apply to a metadata reader or are "
            "unknown to librdkafka: acks, key.serializer");
}

TEST(JavaTranslation, PrinterRedactsSecrets) {
  std::ostringstream os;
  os << ClientConfigTranslation{{{"sasl.password", "hunter2"}}, {}, {}};
  EXPECT_EQ(os.str().find("hunter2"), std::string::npos) << os.str();
}

TEST(ClientProperties, LibrdkafkaKnowsItsOwnNamesAndAliasesOnly) {
  for (const char* k : {"bootstrap.servers", "sasl.mechanism", "sasl.mechanisms", "ssl.ca.location",
                        "ssl.endpoint.identification.algorithm", "acks"})
    EXPECT_TRUE(probes::is_client_property(k)) << k;
  for (const char* k : {"sasl.jaas.config", "ssl.truststore.location", "key.serializer", "", "Property"})
    EXPECT_FALSE(probes::is_client_property(k)) << k;
}

}  // namespace
}  // namespace isrguard::service
