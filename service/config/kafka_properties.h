#pragma once

// Kafka client configuration as users write it, turned into librdkafka properties. Pure functions (no I/O,
// no librdkafka): config.cc reads the sources, the probes adapter hands the result to librdkafka.
//
// Two steps, the same for every source (--kafka-properties file, --kafka-config, ISRGUARD_KAFKA_CONFIG):
//   1. read: a .properties file follows java.util.Properties.load (continuation lines, escapes, comments,
//      '=' / ':' / whitespace separators); a --kafka-config entry is KEY=VALUE taken literally.
//   2. translate: the merged key/value map (file first, flags override) is turned into librdkafka names.
//      Java-only security settings are mapped where librdkafka can express them and refused (with why)
//      where dropping them would change security; settings that only matter to producers, consumers,
//      serialisers or the JVM are dropped and named in one warning.

#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace isrguard::service {

// Largest properties file read (a client config is a few KB; a bigger file is a mistake, not a config).
inline constexpr std::size_t kMaxPropertiesFileBytes = 1 << 20;

// Whether `key` is a plain property name (1-255 of A-Z a-z 0-9 . _ -), as every Java and librdkafka name is.
bool plain_property_name(std::string_view key);
// An unknown `key` as messages may show it: itself, or "<redacted key>" when it looks like it holds a secret
// (an unknown key such as "sasl.passwordhunter2", a separator missed, carries the value meant for it).
std::string printable_key(const std::string& key);

// One --kafka-config / ISRGUARD_KAFKA_CONFIG entry, KEY=VALUE with KEY a plain property name, taken literally
// (blanks around KEY and VALUE trimmed). Returns false and sets `error` when malformed; the error never holds
// any part of an entry whose text names a secret (whatever separator was meant: ':', a blank, none), only
// its position `index` (1-based).
bool parse_config_entry(const std::string& entry, std::size_t index, std::string& key, std::string& value,
                        std::string& error);

// java.util.Properties text -> key/value (later duplicates win). Differences from Java, on purpose: bytes
// are kept as they are (UTF-8 stays UTF-8; Java's load(InputStream) would read them as ISO-8859-1) and
// \uXXXX is written as UTF-8. A malformed \uXXXX escape is an error naming the line (Java throws too).
std::map<std::string, std::string> parse_properties(std::string_view text, std::vector<std::string>& errors);

struct ClientConfigTranslation {
  std::map<std::string, std::string> properties;  // librdkafka names
  std::vector<std::string> ignored;               // keys dropped (sorted; names only, never values)
  std::vector<std::string> errors;                // settings refused, each with why (never a secret value)

  bool operator==(const ClientConfigTranslation&) const = default;
};

// True when librdkafka knows `key` as a client property (probes::is_client_property in production).
using ClientPropertyKnown = std::function<bool(const std::string& key)>;

// Merged Java and/or librdkafka properties -> librdkafka properties. Keys librdkafka knows pass through
// unchanged (a librdkafka name given explicitly wins over one derived from a Java setting); unknown keys
// under ssl., sasl. or security. are refused; other unknown keys are ignored.
ClientConfigTranslation translate_java_properties(const std::map<std::string, std::string>& in,
                                                  const ClientPropertyKnown& known);

// The one warning line for ignored keys ("" when none).
std::string ignored_settings_warning(const std::vector<std::string>& ignored);

// JAAS login module configuration as in sasl.jaas.config: `Module flag key=value ...;` with values bare,
// "double" or 'single' quoted (backslash escapes inside quotes), /* */ and // comments skipped outside quotes,
// as Kafka's JaasConfig tokenizer reads it.
struct JaasConfig {
  std::string login_module;
  std::string control_flag;
  std::map<std::string, std::string> options;

  bool operator==(const JaasConfig&) const = default;
};
// Fills `out` or returns why not (exactly one login module is allowed, as in Kafka). The text is a secret: the
// reason quotes a login module only when it reads as a Java class name, an option key only when it is one
// the supported modules take.
std::string parse_jaas_config(std::string_view text, JaasConfig& out);

std::ostream& operator<<(std::ostream& os, const ClientConfigTranslation& t);
std::ostream& operator<<(std::ostream& os, const JaasConfig& j);

}  // namespace isrguard::service
