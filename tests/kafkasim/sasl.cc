#include "tests/kafkasim/sasl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

#include "tests/kafkasim/protocol.h"

namespace isrguard::kafkasim {
namespace {

// ---- crypto helpers (OpenSSL) -----------------------------------------------------------------------------

const EVP_MD* digest_of(const std::string& mechanism) {
  if (mechanism == "SCRAM-SHA-256") return EVP_sha256();
  if (mechanism == "SCRAM-SHA-512") return EVP_sha512();
  return nullptr;
}

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string hash(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string random_bytes(size_t n) {
  std::string s(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return s;
}

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> unbase64(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  size_t len = static_cast<size_t>(n);
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) --len;  // EVP_DecodeBlock keeps padding bytes
  out.resize(len);
  return out;
}

ScramCredential make_scram_credential(const EVP_MD* md, const std::string& password) {
  ScramCredential c;
  c.salt = random_bytes(16);
  std::string salted(static_cast<size_t>(EVP_MD_get_size(md)), '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(c.salt.data()), static_cast<int>(c.salt.size()),
                    c.iterations, md, static_cast<int>(salted.size()),
                    reinterpret_cast<unsigned char*>(salted.data()));
  c.stored_key = hash(md, hmac(md, salted, "Client Key"));
  c.server_key = hmac(md, salted, "Server Key");
  return c;
}

// "k=v,k=v" attributes of a SCRAM message (values may contain '=').
std::map<char, std::string> scram_attributes(std::string_view msg) {
  std::map<char, std::string> out;
  size_t start = 0;
  while (start <= msg.size()) {
    const size_t comma = std::min(msg.find(',', start), msg.size());
    const std::string_view part = msg.substr(start, comma - start);
    if (part.size() >= 2 && part[1] == '=') out.emplace(part[0], std::string(part.substr(2)));
    start = comma + 1;
  }
  return out;
}

// RFC 5802 saslname: "=2C" is ',' and "=3D" is '='.
std::string scram_name(std::string s) {
  for (auto [from, to] : {std::pair{"=2C", ","}, std::pair{"=3D", "="}})
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + 1)) s.replace(p, 3, to);
  return s;
}

}  // namespace

// ---- mechanisms -------------------------------------------------------------------------------------------

// One mechanism's server side. step() takes the client's next token and returns the server's answer, or
// an error message (authentication failed).
struct SaslSession::Exchange {
  struct Step {
    std::string response;
    bool done = false;
    std::string error;  // non-empty: failed
  };
  virtual ~Exchange() = default;
  virtual Step step(std::string_view token) = 0;
};

namespace {

using Step = SaslSession::Exchange::Step;

class PlainExchange final : public SaslSession::Exchange {
 public:
  explicit PlainExchange(const SaslConfig& c) : config_(c) {}
  Step step(std::string_view token) override {
    // authzid NUL authcid NUL passwd
    const size_t a = token.find('\0');
    const size_t b = a == std::string_view::npos ? a : token.find('\0', a + 1);
    if (b == std::string_view::npos) return {"", false, "Authentication failed: malformed PLAIN message"};
    const std::string user(token.substr(a + 1, b - a - 1));
    const std::string pass(token.substr(b + 1));
    const std::string* want = config_.plain_password(user);
    if (!want || want->size() != pass.size() || CRYPTO_memcmp(want->data(), pass.data(), pass.size()) != 0)
      return {"", false, "Authentication failed: Invalid username or password"};
    return {"", true, ""};
  }

 private:
  const SaslConfig& config_;
};

class ScramExchange final : public SaslSession::Exchange {
 public:
  ScramExchange(const SaslConfig& c, std::string mechanism)
      : config_(c), mechanism_(std::move(mechanism)), md_(digest_of(mechanism_)) {}

  Step step(std::string_view token) override { return first_ ? client_first(token) : client_final(token); }

 private:
  Step failed() const {
    return {"", false,
            "Authentication failed during authentication due to invalid credentials with SASL mechanism " +
                mechanism_};
  }

  Step client_first(std::string_view msg) {
    first_ = false;
    // gs2-header ("n,," or "y,," or with ",a=authzid,") then client-first-message-bare.
    if (msg.size() < 3 || (msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',') return failed();
    const size_t bare_at = msg.find(',', 2);
    if (bare_at == std::string_view::npos) return failed();
    gs2_header_ = std::string(msg.substr(0, bare_at + 1));
    client_first_bare_ = std::string(msg.substr(bare_at + 1));
    const auto attrs = scram_attributes(client_first_bare_);
    if (!attrs.count('n') || !attrs.count('r') || attrs.at('r').empty()) return failed();
    credential_ = config_.scram(mechanism_, scram_name(attrs.at('n')));
    if (!credential_) return failed();  // unknown user: the same answer as a wrong password
    nonce_ = attrs.at('r') + base64(random_bytes(18));
    server_first_ = "r=" + nonce_ + ",s=" + base64(credential_->salt) + ",i=" + std::to_string(credential_->iterations);
    return {server_first_, false, ""};
  }

  Step client_final(std::string_view msg) {
    const size_t proof_at = msg.rfind(",p=");
    if (proof_at == std::string_view::npos) return failed();
    const auto attrs = scram_attributes(msg);
    const auto proof = unbase64(msg.substr(proof_at + 3));
    // The nonce must end with ours (Kafka >= 3.8.1 checks it so): librdkafka before 2.6.1 (Debian's 2.0.2
    // included) sends its own nonce again in front of the combined one (librdkafka #4895).
    const std::string nonce = attrs.count('r') ? attrs.at('r') : "";
    const bool nonce_ok = nonce.size() >= nonce_.size() && nonce.compare(nonce.size() - nonce_.size(), nonce_.size(), nonce_) == 0;
    if (!attrs.count('c') || attrs.at('c') != base64(gs2_header_) || !nonce_ok || !proof ||
        proof->size() != credential_->stored_key.size())
      return failed();
    const std::string auth_message =
        client_first_bare_ + "," + server_first_ + "," + std::string(msg.substr(0, proof_at));
    const std::string client_signature = hmac(md_, credential_->stored_key, auth_message);
    std::string client_key = *proof;
    for (size_t i = 0; i < client_key.size(); ++i) client_key[i] ^= client_signature[i];
    const std::string stored = hash(md_, client_key);
    if (CRYPTO_memcmp(stored.data(), credential_->stored_key.data(), stored.size()) != 0) return failed();
    return {"v=" + base64(hmac(md_, credential_->server_key, auth_message)), true, ""};
  }

  const SaslConfig& config_;
  const std::string mechanism_;
  const EVP_MD* md_;
  bool first_ = true;
  const ScramCredential* credential_ = nullptr;
  std::string gs2_header_, client_first_bare_, server_first_, nonce_;
};

// ---- wire format ------------------------------------------------------------------------------------------

std::string bytes_field(proto::Reader& r) {
  const int32_t n = r.i32();
  if (n < 0 || static_cast<size_t>(n) > r.remaining()) throw proto::DecodeError("bad bytes length");
  std::string out;
  out.reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) out += static_cast<char>(r.i8());
  return out;
}

proto::Writer response_writer(int32_t correlation_id) {
  proto::Writer w;
  proto::encode_response_header(w, proto::ResponseHeader{correlation_id, {}}, 0);
  return w;
}

HandlerResult respond(std::string bytes) {
  HandlerResult r;
  r.response = std::move(bytes);
  return r;
}

}  // namespace

SaslConfig::SaslConfig(std::set<std::string> mechanisms) : mechanisms_(std::move(mechanisms)) {
  for (const auto& m : mechanisms_)
    if (m != "PLAIN" && !digest_of(m)) throw std::invalid_argument("unsupported SASL mechanism " + m);
}

void SaslConfig::add_user(const std::string& user, const std::string& password) {
  for (const auto& m : mechanisms_) {
    if (m == "PLAIN")
      plain_[user] = password;
    else
      scram_[{m, user}] = make_scram_credential(digest_of(m), password);
  }
}

const std::string* SaslConfig::plain_password(const std::string& user) const {
  const auto it = plain_.find(user);
  return it == plain_.end() ? nullptr : &it->second;
}

const ScramCredential* SaslConfig::scram(const std::string& mechanism, const std::string& user) const {
  const auto it = scram_.find({mechanism, user});
  return it == scram_.end() ? nullptr : &it->second;
}

SaslSession::SaslSession(std::shared_ptr<const SaslConfig> config) : config_(std::move(config)) {}
SaslSession::~SaslSession() = default;

std::optional<HandlerResult> SaslSession::handle(std::string_view frame) {
  if (state_ == State::kAuthenticated) return std::nullopt;
  if (state_ == State::kHandshaken && handshake_version_ == 0) return raw_token(frame);
  try {
    proto::Reader r(frame);
    const auto h = proto::decode_request_header(r);
    if (h.api_key == proto::kApiApiVersions && state_ == State::kStart) return std::nullopt;
    if (h.api_key == kApiSaslHandshake && state_ == State::kStart) return handshake(frame);
    if (h.api_key == kApiSaslAuthenticate && state_ == State::kHandshaken) return authenticate(frame);
  } catch (const proto::DecodeError&) {
  }
  return HandlerResult::close();  // anything else before authentication: as a broker, disconnect
}

HandlerResult SaslSession::handshake(std::string_view frame) {
  proto::Reader r(frame);
  const auto h = proto::decode_request_header(r);
  if (h.api_version < 0 || h.api_version > 1) return HandlerResult::close();
  const std::string mechanism = r.string();
  proto::Writer w = response_writer(h.correlation_id);
  const bool enabled = config_->mechanisms().count(mechanism) > 0;
  w.i16(enabled ? proto::kErrNone : kErrUnsupportedSaslMechanism);
  w.array_len(config_->mechanisms().size());
  for (const auto& m : config_->mechanisms()) w.string(m);
  if (enabled) {
    state_ = State::kHandshaken;
    handshake_version_ = h.api_version;
    if (mechanism == "PLAIN")
      exchange_ = std::make_unique<PlainExchange>(*config_);
    else
      exchange_ = std::make_unique<ScramExchange>(*config_, mechanism);
  } else {
    config_->count(false);
  }
  return respond(w.take());
}

HandlerResult SaslSession::authenticate(std::string_view frame) {
  proto::Reader r(frame);
  const auto h = proto::decode_request_header(r);
  if (h.api_version < 0 || h.api_version > 1) return HandlerResult::close();
  const Exchange::Step step = exchange_->step(bytes_field(r));
  proto::Writer w = response_writer(h.correlation_id);
  w.i16(step.error.empty() ? proto::kErrNone : kErrSaslAuthenticationFailed);
  w.nullable_string(step.error.empty() ? std::nullopt : std::optional<std::string>(step.error));
  w.i32(static_cast<int32_t>(step.response.size()));
  w.raw(step.response);
  if (h.api_version >= 1) w.i64(0);  // session_lifetime_ms: no re-authentication required
  if (!step.error.empty()) {
    config_->count(false);
    state_ = State::kStart;  // the client disconnects after an error; anything else it sends is refused
    exchange_.reset();
  } else if (step.done) {
    config_->count(true);
    state_ = State::kAuthenticated;
  }
  return respond(w.take());
}

// After a v0 handshake the tokens travel as bare size-prefixed frames; a failure closes the connection.
HandlerResult SaslSession::raw_token(std::string_view frame) {
  const Exchange::Step step = exchange_->step(frame);
  if (!step.error.empty()) {
    config_->count(false);
    return HandlerResult::close();
  }
  if (step.done) {
    config_->count(true);
    state_ = State::kAuthenticated;
  }
  return respond(step.response);
}

}  // namespace isrguard::kafkasim
