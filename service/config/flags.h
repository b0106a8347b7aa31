#pragma once

// The command line's shape: every flag with its ISRGUARD_* environment variable, help text and default, and
// the --help text they make. CLI11 is included only in flags.cc. Values CLI11 can type land in Config
// directly; the rest stay in RawFlags as written, for config.cc to parse (service/config/value_parsers.h) and
// quote back in its errors.

#include <set>
#include <string>
#include <vector>

#include "service/config/config.h"

namespace isrguard::service {

// Flag values kept as typed until validation, so every error can quote what the user wrote. Filled by
// read_flags; each validation step of config.cc reads one group and writes Config or appends to errors.
struct RawFlags {
  std::string poll = "2s", timeout = "10s", refresh = "5m", stale = "60s", hold = "30s", http_timeout = "5s";
  std::string broker_slow = "2s";
  std::string forget_brokers = "24h";
  std::string properties_file, expected, output = "table", max_override_ttl = "24h";
  std::vector<std::string> kafka_config, fleets, gate_on;
  std::string disrupt_brokers, wait_safe;
  std::string webhook_fresh = "5s", webhook_timeout = "8s", webhook_grant_ttl = "10m";
  std::vector<std::string> webhook_broker_pods;
  std::vector<std::string> webhook_id_labels, webhook_id_annotations;
  std::string kube_timeout = "2s";
  std::vector<std::string> disrupt_fleets, disrupt_racks;
  bool gate_at_min = false, version = false;
  int list_cap = 128, metrics_cap = 200;
  std::set<std::string> given;  // flags set on the command line or by their environment variable
  long long http_max_connections = 1024;
};

// What CLI11 made of the command line.
struct FlagsOutcome {
  enum class Result {
    kParsed,    // `c` and `r` hold the values; r.given names the flags set
    kHelp,      // --help: print `help`
    kRejected,  // CLI11 refused the command line (nothing assigned): `errors` says why, never a value
  };
  Result result = Result::kParsed;
  std::string help;
  std::vector<std::string> errors;
};

// Parses argv and the ISRGUARD_* environment (flags win) into `c` and `r`.
FlagsOutcome read_flags(int argc, const char* const* argv, Config& c, RawFlags& r);

}  // namespace isrguard::service
