#pragma once

// Internal to probes/ (includes librdkafka): the bridge from librdkafka's log, error and statistics
// callbacks to spdlog and to the probe (its error messages), and the main client's broker state changes to
// the connection watch.

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "probes/connection_watch.h"
#include "probes/metadata_source.h"
#include "probes/rdkafka_common.h"

namespace isrguard::probes {

// Receives librdkafka's log and error callbacks (from librdkafka's threads) and writes them to spdlog.
// Owned by the adapter and outlives the rd_kafka_t handle. Guards against spam: a message that differs only
// in numbers (ports, ms, counts) from one logged in the last minute is counted, not logged; the count is
// shown with the next one logged. Values of secret properties are replaced by "<redacted>" in every line.
class LogSink {
 public:
  explicit LogSink(std::vector<std::string> secret_values) : secrets_(std::move(secret_values)) {}

  // A log_cb line at syslog level `syslog_level` from facility `fac`, from client `rk`. Broker state
  // changes of the main client (debug level, facility STATE: the adapter enables librdkafka's "broker"
  // debug context for them) go to the connection watch; debug lines reach spdlog only when it logs debug.
  void log(const rd_kafka_t* rk, int syslog_level, const char* fac, const char* buf);

  // The client whose broker connections are watched, and the watch told of them (null: none).
  void watch(const rd_kafka_t* main_client, ConnectionWatch* watch) {
    main_client_ = main_client;
    watch_ = watch;
  }

  // Errors from error_cb. They repeat the broker failures librdkafka also logs, and the probe reports its
  // outcome, so they are kept (for probe error messages) and logged at debug only; fatal ones at error.
  void error(rd_kafka_t* rk, int err, const char* reason);

  // The last authentication or TLS failure since the last clear. Kept apart from last_error(): librdkafka
  // reports an identical failure only once per 30 s, and the reconnects in between fail as plain transport
  // errors.
  // Older than kSecurityErrorTtl it is history: librdkafka would have repeated it by then (see above).
  std::optional<ProbeError> security_error() const;

  // Last error_cb reason since the last clear (empty when none): "host:port/id: Connect to ... failed: ...".
  std::string last_error() const;
  void clear_last_error();

  // `s` with every secret value replaced by "<redacted>".
  std::string scrub(std::string s) const;

 private:
  static constexpr auto kRepeatWindow = std::chrono::minutes(1);
  static constexpr auto kSecurityErrorTtl = std::chrono::seconds(60);
  struct Recent {
    Clock::time_point logged_at;
    std::size_t suppressed = 0;
  };

  // `msg` with each run of digits as one '#', and librdkafka's own repeat count left out.
  static std::string normalized(const std::string& msg);
  // "auth" / "tls" for errors that mean the client's security settings do not match the broker's.
  static const char* security_kind(int err);

  const std::vector<std::string> secrets_;  // immutable after construction: read without the lock
  mutable std::mutex mu_;
  std::unordered_map<std::string, Recent> recent_;
  std::string last_error_;
  std::atomic<const rd_kafka_t*> main_client_{nullptr};
  std::atomic<ConnectionWatch*> watch_{nullptr};
  std::optional<ProbeError> security_error_;
  Clock::time_point security_error_at_{};
};

// Makes `sink` the receiver of the log and error callbacks of clients created from `conf` (it is
// their opaque: it must outlive them).
void attach_log_sink(rd_kafka_conf_t* conf, LogSink* sink);

}  // namespace isrguard::probes
