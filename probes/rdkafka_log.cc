#include "probes/rdkafka_log.h"

#include <spdlog/spdlog.h>


#include <cctype>
#include <string_view>

namespace isrguard::probes {
namespace {

void log_cb(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  if (auto* sink = static_cast<LogSink*>(rd_kafka_opaque(rk))) sink->log(rk, level, fac, buf);
}

void error_cb(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  if (auto* sink = static_cast<LogSink*>(opaque)) sink->error(rk, err, reason);
}

}  // namespace

void attach_log_sink(rd_kafka_conf_t* conf, LogSink* sink) {
  rd_kafka_conf_set_opaque(conf, sink);
  rd_kafka_conf_set_log_cb(conf, log_cb);
  rd_kafka_conf_set_error_cb(conf, error_cb);
}

void LogSink::log(const rd_kafka_t* rk, int syslog_level, const char* fac, const char* buf) {
  constexpr int kSyslogDebug = 7;
  if (syslog_level >= kSyslogDebug) {
    ConnectionWatch* w = watch_.load();
    if (w && rk == main_client_.load() && buf && fac && std::string_view(fac) == "STATE") {
      // UP (or UPDATE, a passing state of an established connection) -> DOWN: an established connection
      // went down. -> UP: one is established again.
      if (const auto c = parse_state_change(buf)) {
        if (c->to == "DOWN" && (c->from == "UP" || c->from == "UPDATE"))
          w->connection_down(c->id, c->address);
        else if (c->to == "DOWN")
          w->connect_failed(c->id);
        else if (c->to == "UP")
          w->connection_up(c->id);
      }
    }
    if (!spdlog::should_log(spdlog::level::debug)) return;
  }
  const spdlog::level::level_enum level = syslog_level <= 3   ? spdlog::level::err
                                          : syslog_level == 4 ? spdlog::level::warn
                                          : syslog_level == 5 ? spdlog::level::info
                                                              : spdlog::level::debug;
  std::string msg = scrub(buf ? buf : "");
  const std::string fac_s = fac ? fac : "";
  std::size_t suppressed = 0;
  {
    std::lock_guard lock(mu_);
    if (recent_.size() > 512) recent_.clear();  // bound memory; at worst one repeated line
    const std::string key = fac_s + '|' + normalized(msg);
    const auto now = Clock::now();
    auto [it, inserted] = recent_.try_emplace(key, Recent{now, 0});
    if (!inserted) {
      if (now - it->second.logged_at < kRepeatWindow) {
        ++it->second.suppressed;
        return;
      }
      suppressed = it->second.suppressed;
      it->second = Recent{now, 0};
    }
  }
  if (suppressed > 0)
    spdlog::log(level, "librdkafka {}: {} ({} similar suppressed in the last minute)", fac_s, msg,
                suppressed);
  else
    spdlog::log(level, "librdkafka {}: {}", fac_s, msg);
}

void LogSink::error(rd_kafka_t* rk, int err, const char* reason) {
  std::string text = scrub(reason ? reason : "");
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char fatal[512] = "";
    const rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
    spdlog::error("librdkafka fatal error {}: {}", rd_kafka_err2name(orig), scrub(fatal));
  } else {
    spdlog::debug("librdkafka error {}: {}", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)),
                  text);
  }
  std::lock_guard lock(mu_);
  if (const char* kind = security_kind(err)) {
    security_error_ = ProbeError{kind, text};
    security_error_at_ = Clock::now();
  }
  // "3/3 brokers are down" follows the broker error that explains it: keep the explanation.
  if (err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || last_error_.empty()) last_error_ = std::move(text);
}

std::optional<ProbeError> LogSink::security_error() const {
  std::lock_guard lock(mu_);
  if (Clock::now() - security_error_at_ > kSecurityErrorTtl) return std::nullopt;
  return security_error_;
}

std::string LogSink::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

void LogSink::clear_last_error() {
  std::lock_guard lock(mu_);
  last_error_.clear();
  security_error_.reset();
}

std::string LogSink::scrub(std::string s) const {
  for (const auto& secret : secrets_) {
    for (auto pos = s.find(secret); pos != std::string::npos; pos = s.find(secret, pos + 10))
      s.replace(pos, secret.size(), "<redacted>");
  }
  return s;
}

std::string LogSink::normalized(const std::string& msg) {
  std::string out;
  out.reserve(msg.size());
  for (char c : msg) {
    const bool digit = std::isdigit(static_cast<unsigned char>(c)) != 0;
    if (!digit)
      out.push_back(c);
    else if (out.empty() || out.back() != '#')
      out.push_back('#');
  }
  // librdkafka appends its own repeat count; the same failure with a count is still the same failure.
  constexpr std::string_view kCount = ", # identical error(s) suppressed";
  if (const auto pos = out.find(kCount); pos != std::string::npos) out.erase(pos, kCount.size());
  return out;
}

const char* LogSink::security_kind(int err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
    case RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE:
      return "auth";
    case RD_KAFKA_RESP_ERR__SSL:
      return "tls";
    default:
      return nullptr;
  }
}

}  // namespace isrguard::probes
