#pragma once

// SASL authentication for kafkasim listeners, as a Kafka broker does it: SaslHandshake (key 17, v0-v1) picks
// a mechanism, then SaslAuthenticate (key 36, v0-v1; or raw tokens after a v0 handshake) carries it. PLAIN
// (RFC 4616) and SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677) with real salted credentials: the
// server keeps salt, iteration count, StoredKey and ServerKey only, as Kafka's SCRAM credentials do.
// Written from apache/kafka's SaslHandshakeRequest/SaslAuthenticateRequest schemas and the RFCs.
//
// Before authentication only ApiVersions and SaslHandshake are served; any other request closes the
// connection (a plaintext client on a SASL listener is disconnected, as by a real broker).
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "tests/kafkasim/broker_server.h"

namespace isrguard::kafkasim {

inline constexpr int16_t kApiSaslHandshake = 17;
inline constexpr int16_t kApiSaslAuthenticate = 36;
inline constexpr int16_t kErrUnsupportedSaslMechanism = 33;
inline constexpr int16_t kErrIllegalSaslState = 34;
inline constexpr int16_t kErrSaslAuthenticationFailed = 58;

// SCRAM credential as stored by the server (never the password).
struct ScramCredential {
  std::string salt;
  int iterations = 4096;
  std::string stored_key;
  std::string server_key;
};

// Users and enabled mechanisms of a SASL listener. Build before sharing; then read-only (thread-safe).
class SaslConfig {
 public:
  // Mechanisms the listener accepts, e.g. {"PLAIN", "SCRAM-SHA-512"}. Unknown names throw.
  explicit SaslConfig(std::set<std::string> mechanisms);

  // Adds `user` for every enabled mechanism: PLAIN compares the password, SCRAM gets a fresh random salt.
  void add_user(const std::string& user, const std::string& password);

  const std::set<std::string>& mechanisms() const { return mechanisms_; }
  const std::string* plain_password(const std::string& user) const;
  const ScramCredential* scram(const std::string& mechanism, const std::string& user) const;

  // Outcomes so far (all listeners of the cluster), for tests.
  uint64_t authenticated() const { return authenticated_; }
  uint64_t failed() const { return failed_; }
  void count(bool ok) const { ++(ok ? authenticated_ : failed_); }

 private:
  std::set<std::string> mechanisms_;
  std::map<std::string, std::string> plain_;
  std::map<std::pair<std::string, std::string>, ScramCredential> scram_;  // (mechanism, user)
  mutable std::atomic<uint64_t> authenticated_{0}, failed_{0};
};

// The SASL state of one connection (used by its connection thread only).
class SaslSession {
 public:
  explicit SaslSession(std::shared_ptr<const SaslConfig> config);
  ~SaslSession();

  // nullopt: pass `frame` on to the cluster (ApiVersions, or anything once authenticated). Otherwise the
  // answer to send (or close).
  std::optional<HandlerResult> handle(std::string_view frame);

  struct Exchange;  // one mechanism's server side (sasl.cc)

 private:
  HandlerResult handshake(std::string_view frame);
  HandlerResult authenticate(std::string_view frame);
  HandlerResult raw_token(std::string_view frame);

  enum class State { kStart, kHandshaken, kAuthenticated };
  std::shared_ptr<const SaslConfig> config_;
  State state_ = State::kStart;
  int16_t handshake_version_ = 1;
  std::unique_ptr<Exchange> exchange_;
};

}  // namespace isrguard::kafkasim
