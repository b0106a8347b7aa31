#pragma once

// TLS for kafkasim listeners (OpenSSL): a test PKI generated at run time and the server side of a
// connection. Test-only code; nothing here is meant to be secure beyond what the tests check (a client
// verifying the broker certificate against the right CA, with the host name 127.0.0.1).
//
// Usage:
//   auto pki = kafkasim::TestPki::generate("kafkasim test CA");   // CA + server cert for 127.0.0.1/localhost
//   pki.write_ca(dir + "/ca.pem");                                 // what the client's ssl.ca.location names
//   auto tls = std::make_shared<kafkasim::TlsContext>(pki.server_cert_pem, pki.server_key_pem);
//   cluster.set_security({tls, nullptr});                          // every listener speaks TLS
#include <memory>
#include <string>

#include "tests/kafkasim/broker_server.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace isrguard::kafkasim {

// PEM texts of a freshly generated CA (EC P-256, self-signed) and a server certificate it signed, valid for
// DNS:localhost and IP:127.0.0.1, one day. Each generate() makes new keys: two PKIs do not trust each other.
struct TestPki {
  std::string ca_cert_pem;
  std::string server_cert_pem;
  std::string server_key_pem;

  // Throws std::runtime_error when OpenSSL fails.
  static TestPki generate(const std::string& ca_name);
  // Writes the CA certificate to `path` (throws on I/O errors).
  void write_ca(const std::string& path) const;
};

// Server-side TLS settings shared by all listeners of a cluster. Thread-safe after construction.
class TlsContext {
 public:
  // Throws std::runtime_error when the certificate or key cannot be loaded.
  TlsContext(const std::string& cert_pem, const std::string& key_pem);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Runs the server handshake on a connected socket (blocking). nullptr when it fails (e.g. a plaintext
  // client, or a client that rejects our certificate); the caller then closes the connection. Failed
  // handshakes are counted.
  std::unique_ptr<ByteStream> accept(int fd) const;
  uint64_t failed_handshakes() const { return failed_; }

 private:
  SSL_CTX* ctx_ = nullptr;
  mutable std::atomic<uint64_t> failed_{0};
};

}  // namespace isrguard::kafkasim
