#include "service/config/kafka_properties.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <set>

#include "probes/rdkafka_source.h"

namespace isrguard::service {
namespace {

// ---- java.util.Properties ---------------------------------------------------------------------------------

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

// Kafka's ConfigDef trims every string and password value (String.trim: all chars <= ' ').
std::string java_trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && static_cast<unsigned char>(s[b]) <= ' ') ++b;
  while (e > b && static_cast<unsigned char>(s[e - 1]) <= ' ') --e;
  return std::string(s.substr(b, e - b));
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A logical line: natural lines joined at a trailing odd backslash, continuation indentation dropped.
struct LogicalLine {
  std::string text;
  int first_line = 0;  // 1-based natural line number where it starts
};

// Splits text into natural lines (\n, \r or \r\n).
std::vector<std::string_view> natural_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n' && text[i] != '\r') continue;
    lines.push_back(text.substr(start, i - start));
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

std::size_t trailing_backslashes(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && s[s.size() - 1 - n] == '\\') ++n;
  return n;
}

std::string_view skip_blanks(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_blank(s[i])) ++i;
  return s.substr(i);
}

std::vector<LogicalLine> logical_lines(std::string_view text) {
  const auto lines = natural_lines(text);
  std::vector<LogicalLine> out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = skip_blanks(lines[i]);
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;  // comments never continue
    LogicalLine l{"", static_cast<int>(i + 1)};
    while (true) {
      const bool continues = trailing_backslashes(line) % 2 == 1;
      l.text.append(continues ? line.substr(0, line.size() - 1) : line);
      if (!continues || i + 1 >= lines.size()) break;
      line = skip_blanks(lines[++i]);
      if (line.empty()) break;  // an empty continuation line ends the logical line (as in Java)
    }
    out.push_back(std::move(l));
  }
  return out;
}

// Resolves \t \n \r \f \uXXXX and \c -> c. nullopt on a malformed \uXXXX.
std::optional<std::string> unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    switch (c) {
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        if (i + 4 >= s.size()) return std::nullopt;
        std::uint32_t cp = 0;
        for (int k = 1; k <= 4; ++k) {
          const char h = s[i + k];
          if (!std::isxdigit(static_cast<unsigned char>(h))) return std::nullopt;
          cp = cp * 16 + static_cast<std::uint32_t>(std::isdigit(static_cast<unsigned char>(h))
                                                        ? h - '0'
                                                        : std::tolower(static_cast<unsigned char>(h)) - 'a' + 10);
        }
        append_utf8(out, cp);
        i += 4;
        break;
      }
      default: out += c;
    }
  }
  return out;
}

// Java's key/value split: the key ends at the first unescaped '=', ':' or blank; blanks and at most one
// '=' or ':' separate it from the value.
std::pair<std::string_view, std::string_view> split_key_value(std::string_view line) {
  std::size_t key_len = 0, value_start = line.size();
  bool has_sep = false, escaped = false;
  for (; key_len < line.size(); ++key_len) {
    const char c = line[key_len];
    if (!escaped && (c == '=' || c == ':')) {
      value_start = key_len + 1;
      has_sep = true;
      break;
    }
    if (!escaped && is_blank(c)) {
      value_start = key_len + 1;
      break;
    }
    escaped = c == '\\' ? !escaped : false;
  }
  for (; value_start < line.size(); ++value_start) {
    const char c = line[value_start];
    if (is_blank(c)) continue;
    if (!has_sep && (c == '=' || c == ':')) {
      has_sep = true;
      continue;
    }
    break;
  }
  return {line.substr(0, key_len), line.substr(value_start)};
}

}  // namespace

std::map<std::string, std::string> parse_properties(std::string_view text, std::vector<std::string>& errors) {
  std::map<std::string, std::string> out;
  for (const auto& line : logical_lines(text)) {
    const auto [raw_key, raw_value] = split_key_value(line.text);
    auto key = unescape(raw_key);
    auto value = unescape(raw_value);
    if (!key || !value) {
      errors.push_back("properties line " + std::to_string(line.first_line) + ": malformed \\uXXXX escape");
      continue;
    }
    out[java_trim(*key)] = java_trim(*value);
  }
  return out;
}

// ---- JAAS -------------------------------------------------------------------------------------------------

namespace {

class JaasTokens {
 public:
  explicit JaasTokens(std::string_view s) : s_(s) {}

  // Blanks and comments: /* ... */ and // to the end of the line, as Kafka's tokenizer (java.io.StreamTokenizer
  // with both comment styles) skips them outside quotes; an unterminated /* runs to the end, as in Java.
  void skip_space() {
    for (;;) {
      while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
      if (comment_at(i_, "/*")) {
        const auto end = s_.find("*/", i_ + 2);
        i_ = end == std::string_view::npos ? s_.size() : end + 2;
      } else if (comment_at(i_, "//")) {
        const auto end = s_.find('\n', i_ + 2);
        i_ = end == std::string_view::npos ? s_.size() : end + 1;
      } else {
        return;
      }
    }
  }
  bool comment_at(std::size_t i, std::string_view opener) const { return s_.substr(i).starts_with(opener); }
  bool at_end() {
    skip_space();
    return i_ >= s_.size();
  }
  bool eat(char c) {
    skip_space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  // A bare word: up to whitespace, '=', ';', a quote or a comment.
  std::string word() {
    skip_space();
    const std::size_t b = i_;
    while (i_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[i_])) && s_[i_] != '=' &&
           s_[i_] != ';' && s_[i_] != '"' && s_[i_] != '\'' && !comment_at(i_, "/*") && !comment_at(i_, "//"))
      ++i_;
    return std::string(s_.substr(b, i_ - b));
  }
  // A "double" or 'single' quoted string (backslash escapes the next character) or a bare word.
  std::optional<std::string> value() {
    skip_space();
    if (i_ >= s_.size()) return std::nullopt;
    const char q = s_[i_];
    if (q != '"' && q != '\'') {
      std::string w = word();
      return w.empty() ? std::nullopt : std::optional(w);
    }
    std::string out;
    for (++i_; i_ < s_.size(); ++i_) {
      if (s_[i_] == q) {
        ++i_;
        return out;
      }
      if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
      out += s_[i_];
    }
    return std::nullopt;  // unterminated
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

namespace {

// sasl.jaas.config is a secret: its messages quote a token of it only when the token cannot be a password.
// A login module is shown when it reads as a Java class name (dotted identifiers), an option key when it is
// one of the options the supported modules take; anything else is named by position.
bool java_class_name(std::string_view s) {
  if (s.empty() || s.size() > 200 || s.find('.') == std::string_view::npos || s.front() == '.' ||
      s.back() == '.' || s.find("..") != std::string_view::npos)
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '$';
  });
}
std::string shown_module(const std::string& m) { return java_class_name(m) ? m : "<redacted>"; }
std::string shown_option(const std::string& key, std::size_t index) {
  static const std::set<std::string, std::less<>> kKnown = {
      "username", "password",   "keyTab", "principal", "useKeyTab", "storeKey", "serviceName",
      "useTicketCache", "debug", "doNotPrompt", "refreshKrb5Config", "renewTGT", "tokenauth"};
  return kKnown.count(key) ? key : std::to_string(index) + " (<redacted>)";
}

}  // namespace

std::string parse_jaas_config(std::string_view text, JaasConfig& out) {
  JaasTokens t(text);
  out = JaasConfig{};
  out.login_module = t.word();
  if (out.login_module.empty()) return "cannot parse the login module";
  out.control_flag = t.word();
  static const std::set<std::string> kFlags = {"required", "requisite", "sufficient", "optional"};
  std::string flag = out.control_flag;
  std::transform(flag.begin(), flag.end(), flag.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!kFlags.count(flag))
    return "login module " + shown_module(out.login_module) +
           " needs a control flag (required, requisite, sufficient or optional)";
  for (std::size_t index = 1; !t.eat(';'); ++index) {
    if (t.at_end()) return "the login module entry must end with ';'";
    const std::string key = t.word();
    if (key.empty() || !t.eat('=')) return "expected key=value options after " + shown_module(out.login_module);
    auto v = t.value();
    if (!v) return "option " + shown_option(key, index) + " has no value or an unterminated quote";
    out.options[key] = std::move(*v);
  }
  if (!t.at_end()) return "exactly one login module is allowed";
  return "";
}

// ---- Java -> librdkafka -------------------------------------------------------------------------------------

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// clang-format off
// Settings of Java producers, consumers, admin clients, Streams, Connect, serialisers and the JVM that
// cannot matter to a client that only reads metadata. Dropped (even where librdkafka knows the name: e.g.
// enable.idempotence would make it ask the cluster for a producer id).
const std::set<std::string, std::less<>> kClientRoleKeys = {
  // producer
  "acks", "batch.size", "buffer.memory", "compression.type", "delivery.timeout.ms", "enable.idempotence",
  "key.serializer", "value.serializer", "linger.ms", "max.block.ms", "max.in.flight.requests.per.connection",
  "max.request.size", "partitioner.class", "partitioner.ignore.keys", "partitioner.adaptive.partitioning.enable",
  "partitioner.availability.timeout.ms", "retries", "transaction.timeout.ms", "transactional.id",
  "compression.gzip.level", "compression.lz4.level", "compression.zstd.level",
  // consumer
  "allow.auto.create.topics", "auto.commit.interval.ms", "auto.offset.reset", "check.crcs", "enable.auto.commit",
  "exclude.internal.topics", "fetch.max.bytes", "fetch.max.wait.ms", "fetch.min.bytes", "group.id",
  "group.instance.id", "group.protocol", "group.remote.assignor", "heartbeat.interval.ms", "isolation.level",
  "key.deserializer", "value.deserializer", "max.partition.fetch.bytes", "max.poll.interval.ms",
  "max.poll.records", "partition.assignment.strategy", "session.timeout.ms", "default.api.timeout.ms",
  "internal.leave.group.on.close",
  // every Java client
  "client.dns.lookup", "interceptor.classes", "metric.reporters", "metrics.num.samples",
  "metrics.recording.level", "metrics.sample.window.ms", "auto.include.jmx.reporter", "receive.buffer.bytes",
  "send.buffer.bytes", "request.timeout.ms", "retry.backoff.max.ms", "socket.connection.setup.timeout.max.ms",
  "metadata.max.idle.ms", "enable.metrics.push",
  // Streams / Connect
  "application.id", "default.key.serde", "default.value.serde", "processing.guarantee", "num.stream.threads",
  "state.dir", "replication.factor", "commit.interval.ms", "key.converter", "value.converter",
  // Schema Registry serialisers
  "schema.registry.url", "specific.avro.reader", "auto.register.schemas", "use.latest.version",
  "key.subject.name.strategy", "value.subject.name.strategy", "basic.auth.credentials.source",
  "basic.auth.user.info",
  // JVM-side TLS / SASL machinery with no librdkafka counterpart and no effect on what is verified
  "ssl.keymanager.algorithm", "ssl.trustmanager.algorithm", "ssl.secure.random.implementation", "ssl.provider",
  "ssl.protocol",
  "sasl.login.refresh.window.factor", "sasl.login.refresh.window.jitter", "sasl.login.refresh.min.period.seconds",
  "sasl.login.refresh.buffer.seconds", "sasl.login.connect.timeout.ms", "sasl.login.read.timeout.ms",
  "sasl.login.retry.backoff.ms", "sasl.login.retry.backoff.max.ms",
  "sasl.kerberos.ticket.renew.jitter", "sasl.kerberos.ticket.renew.window.factor",
};
// Prefixes of the same kind (Streams' per-client overrides, Schema Registry clients, Confluent interceptors).
constexpr std::array<std::string_view, 7> kClientRolePrefixes = {
  "producer.", "consumer.", "admin.", "main.consumer.", "restore.consumer.", "schema.registry.",
  "confluent.monitoring.",
};

// Java settings that plug code into authentication or TLS: dropping them would change who is trusted.
const std::map<std::string, std::string, std::less<>> kRefusedKeys = {
  {"sasl.login.class", "a custom login class cannot run in librdkafka"},
  {"sasl.login.callback.handler.class", "a custom login callback cannot run in librdkafka"},
  {"sasl.client.callback.handler.class",
   "a custom SASL callback cannot run in librdkafka (AWS MSK IAM authentication is not available in "
   "librdkafka 2.0.2: use SASL/SCRAM)"},
  {"ssl.engine.factory.class", "a custom TLS engine cannot run in librdkafka"},
  {"security.providers", "custom JCA security providers cannot run in librdkafka"},
};
// clang-format on

bool is_client_role(const std::string& key) {
  if (kClientRoleKeys.count(key)) return true;
  return std::any_of(kClientRolePrefixes.begin(), kClientRolePrefixes.end(),
                     [&](std::string_view p) { return key.rfind(p, 0) == 0; });
}

// Works on the merged map: takes Java keys out of `in`, puts librdkafka ones into `out.properties`.
class Translator {
 public:
  Translator(std::map<std::string, std::string> in, const ClientPropertyKnown& known)
      : in_(std::move(in)), known_(known) {}

  ClientConfigTranslation run() {
    jaas();
    truststore();
    keystore();
    endpoint_identification();
    enabled_protocols();
    cipher_suites();
    for (const auto& [key, value] : in_) rest(key, value);
    std::sort(out_.ignored.begin(), out_.ignored.end());
    return std::move(out_);
  }

 private:
  std::optional<std::string> take(const std::string& key) {
    auto it = in_.find(key);
    if (it == in_.end()) return std::nullopt;
    std::string v = std::move(it->second);
    in_.erase(it);
    return v;
  }
  // Sets a derived librdkafka property unless the user gave it explicitly (explicit wins).
  void derive(const std::string& key, const std::string& value) {
    if (!in_.count(key)) out_.properties[key] = value;
  }
  // `key` is a name this file knows or, for an unknown key, shown as printable_key allows.
  void refuse(const std::string& key, const std::string& why) { out_.errors.push_back(key + ": " + why); }

  void jaas();
  void jaas_credentials(const JaasConfig& j);
  void truststore();
  void keystore();
  void endpoint_identification();
  void enabled_protocols();
  void cipher_suites();
  void rest(const std::string& key, const std::string& value);

  std::map<std::string, std::string> in_;
  const ClientPropertyKnown& known_;
  ClientConfigTranslation out_;
};

// e.g. org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password='p';
void Translator::jaas() {
  const auto text = take("sasl.jaas.config");
  if (!text) return;
  JaasConfig j;
  if (const std::string why = parse_jaas_config(*text, j); !why.empty()) return refuse("sasl.jaas.config", why);
  const std::string& m = j.login_module;
  if (ends_with(m, ".PlainLoginModule") || ends_with(m, ".ScramLoginModule")) return jaas_credentials(j);
  if (ends_with(m, ".Krb5LoginModule")) {
    if (j.options.count("keyTab")) derive("sasl.kerberos.keytab", j.options.at("keyTab"));
    if (j.options.count("principal")) derive("sasl.kerberos.principal", j.options.at("principal"));
    return;
  }
  if (m.find("IAMLoginModule") != std::string::npos)
    return refuse("sasl.jaas.config",
                  "AWS MSK IAM authentication is not available in librdkafka 2.0.2; use SASL/SCRAM "
                  "(sasl.mechanism=SCRAM-SHA-512, MSK port 9096)");
  if (ends_with(m, ".OAuthBearerLoginModule"))
    return refuse("sasl.jaas.config",
                  "OAUTHBEARER login modules cannot run in librdkafka; use sasl.oauthbearer.method=oidc with "
                  "sasl.oauthbearer.client.id, sasl.oauthbearer.client.secret and "
                  "sasl.oauthbearer.token.endpoint.url");
  refuse("sasl.jaas.config",
         "login module " + shown_module(m) + " is not supported (PLAIN, SCRAM and Kerberos only)");
}

void Translator::jaas_credentials(const JaasConfig& j) {
  const auto user = j.options.find("username");
  const auto pass = j.options.find("password");
  if (user == j.options.end() || pass == j.options.end())
    return refuse("sasl.jaas.config", "username and password are required");
  derive("sasl.username", user->second);
  derive("sasl.password", pass->second);
}

// Java's store type, or the type the file name says when none is given (Java 9+ reads PKCS12 files as
// "JKS" stores, so .p12 files work there without a type).
std::string store_type(const std::optional<std::string>& type, const std::optional<std::string>& location) {
  if (type && !type->empty()) return lower(*type);
  const std::string loc = location ? lower(*location) : "";
  if (ends_with(loc, ".p12") || ends_with(loc, ".pfx")) return "pkcs12";
  return "jks";  // Kafka's default
}

void Translator::truststore() {
  const auto type_given = take("ssl.truststore.type");
  const auto location = take("ssl.truststore.location");
  const auto inline_pem = take("ssl.truststore.certificates");
  take("ssl.truststore.password");  // protects a JKS/PKCS12 store's integrity only; PEM has none
  const std::string type = store_type(type_given, location);
  if (in_.count("ssl.ca.location") || in_.count("ssl.ca.pem")) return;  // explicit librdkafka CA wins
  if (inline_pem && type == "pem") derive("ssl.ca.pem", *inline_pem);
  if (!location) return;
  if (type == "pem") return derive("ssl.ca.location", *location);
  refuse("ssl.truststore.location",
         (type == "pkcs12" ? std::string("PKCS12") : std::string("JKS")) +
             " truststores cannot be read by librdkafka, and without the truststore the brokers' certificates "
             "would be checked against other CAs; use ssl.truststore.type=PEM or ssl.ca.location with a PEM "
             "file (Strimzi: the cluster CA secret's ca.crt)");
}

void Translator::keystore() {
  const auto type_given = take("ssl.keystore.type");
  const auto location = take("ssl.keystore.location");
  const auto password = take("ssl.keystore.password");
  if (const auto key = take("ssl.keystore.key")) derive("ssl.key.pem", *key);
  if (const auto chain = take("ssl.keystore.certificate.chain")) derive("ssl.certificate.pem", *chain);
  if (!location) return;
  const std::string type = store_type(type_given, location);
  if (type == "pkcs12") {
    derive("ssl.keystore.location", *location);
    if (password) derive("ssl.keystore.password", *password);
  } else if (type == "pem") {  // one PEM file holding the key and the certificate chain
    derive("ssl.certificate.location", *location);
    derive("ssl.key.location", *location);
  } else {
    refuse("ssl.keystore.location",
           "JKS keystores cannot be read by librdkafka, and without it the client certificate would not be "
           "sent; use PKCS12 (Strimzi: user.p12 + user.password) or ssl.certificate.location + "
           "ssl.key.location PEM files");
  }
}

// Java turns host-name verification off with an empty value; librdkafka with "none".
void Translator::endpoint_identification() {
  const std::string key = "ssl.endpoint.identification.algorithm";
  const auto v = take(key);
  if (!v) return;
  out_.properties[key] = v->empty() ? "none" : lower(*v);
}

// librdkafka 2.0.2 cannot choose TLS versions; OpenSSL's defaults (TLS 1.2 and 1.3 on Debian 12) apply.
// A list that includes TLSv1.2 is no stricter than that (older versions listed are simply not offered);
// a list without it (TLSv1.3 only) would be loosened by dropping it, so it is refused.
void Translator::enabled_protocols() {
  const auto v = take("ssl.enabled.protocols");
  if (!v) return;
  if (lower(*v).find("tlsv1.2") != std::string::npos) {
    out_.ignored.push_back("ssl.enabled.protocols");
    return;
  }
  refuse("ssl.enabled.protocols",
         "librdkafka 2.0.2 cannot restrict TLS versions; it offers TLS 1.2 and 1.3 (remove the setting or "
         "include TLSv1.2)");
}

// Java names cipher suites the IANA way (TLS_ECDHE_RSA_WITH_...), librdkafka's ssl.cipher.suites is an
// OpenSSL cipher list: Java names there are refused rather than dropped (dropping would allow more ciphers).
void Translator::cipher_suites() {
  const auto it = in_.find("ssl.cipher.suites");
  if (it == in_.end()) return;
  const std::string v = it->second;
  if (v.rfind("TLS_", 0) == 0 || v.rfind("SSL_", 0) == 0 || v.find(",TLS_") != std::string::npos) {
    in_.erase(it);
    refuse("ssl.cipher.suites",
           "Java cipher-suite names; librdkafka needs an OpenSSL cipher list (e.g. "
           "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384)");
  }
}

}  // namespace

bool plain_property_name(std::string_view key) {
  return !key.empty() && key.size() <= 255 && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

std::string printable_key(const std::string& key) {
  return probes::is_secret_property(key) ? "<redacted key>" : key;
}

bool parse_config_entry(const std::string& entry, std::size_t index, std::string& key, std::string& value,
                        std::string& error) {
  const auto eq = entry.find('=');
  key = java_trim(entry.substr(0, eq));
  value = eq == std::string::npos ? "" : java_trim(entry.substr(eq + 1));
  if (eq != std::string::npos && plain_property_name(key)) return true;
  const std::string shown = probes::is_secret_property(entry)
                                ? "entry " + std::to_string(index) + " (<redacted>: it names a secret property)"
                                : "'" + entry + "'";
  error = shown + " is not key=value with a property name as key (letters, digits, '.', '_', '-')";
  return false;
}

namespace {

void Translator::rest(const std::string& key, const std::string& value) {
  if (const auto r = kRefusedKeys.find(key); r != kRefusedKeys.end()) return refuse(key, r->second);
  if (is_client_role(key)) return out_.ignored.push_back(key);
  if (known_(key)) {
    out_.properties[key] = value;
    return;
  }
  for (const char* prefix : {"ssl.", "sasl.", "security."})
    if (key.rfind(prefix, 0) == 0)
      return refuse(printable_key(key), "not a librdkafka property; security settings are never ignored");
  out_.ignored.push_back(key);
}

}  // namespace

ClientConfigTranslation translate_java_properties(const std::map<std::string, std::string>& in,
                                                  const ClientPropertyKnown& known) {
  return Translator(in, known).run();
}

std::string ignored_settings_warning(const std::vector<std::string>& ignored) {
  if (ignored.empty()) return "";
  std::string s = "Kafka client configuration: ignoring " + std::to_string(ignored.size()) +
                  " setting" + (ignored.size() == 1 ? "" : "s") +
                  " that do not apply to a metadata reader or are unknown to librdkafka: ";
  for (std::size_t i = 0; i < ignored.size(); ++i) s += (i ? ", " : "") + printable_key(ignored[i]);
  return s;
}

std::ostream& operator<<(std::ostream& os, const ClientConfigTranslation& t) {
  os << "ClientConfigTranslation{properties={";
  for (const auto& [k, v] : t.properties)
    os << ' ' << k << '=' << (probes::is_secret_property(k) ? "<redacted>" : v);
  os << " } ignored={";
  for (const auto& k : t.ignored) os << ' ' << k;
  os << " } errors={";
  for (const auto& e : t.errors) os << " [" << e << ']';
  return os << " }}";
}

std::ostream& operator<<(std::ostream& os, const JaasConfig& j) {
  os << "JaasConfig{" << j.login_module << ' ' << j.control_flag;
  for (const auto& [k, v] : j.options) os << ' ' << k << '=' << (probes::is_secret_property(k) ? "<redacted>" : v);
  return os << '}';
}

}  // namespace isrguard::service
