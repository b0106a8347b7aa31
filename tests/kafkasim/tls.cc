#include "tests/kafkasim/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <fstream>
#include <stdexcept>

namespace isrguard::kafkasim {
namespace {

[[noreturn]] void fail(const std::string& what) {
  char buf[256] = "";
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  throw std::runtime_error("kafkasim TLS: " + what + ": " + buf);
}

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertDeleter {
  void operator()(X509* c) const { X509_free(c); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using Cert = std::unique_ptr<X509, CertDeleter>;
using Bio = std::unique_ptr<BIO, BioDeleter>;

Key new_key() {
  Key k(EVP_EC_gen("P-256"));
  if (!k) fail("EC key generation");
  return k;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext || !X509_add_ext(cert, ext, -1)) fail("certificate extension");
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, signed by issuer_key (self-signed when issuer is null).
Cert make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, long serial) {
  Cert c(X509_new());
  if (!c) fail("X509_new");
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 24 * 3600);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                             -1, 0);
  X509* signer = issuer ? issuer : c.get();
  X509_set_issuer_name(c.get(), X509_get_subject_name(signer));
  if (issuer) {
    add_extension(c.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(c.get(), signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    add_extension(c.get(), signer, NID_ext_key_usage, "serverAuth");
  } else {
    add_extension(c.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(c.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(c.get(), signer, NID_subject_key_identifier, "hash");
  }
  if (!X509_sign(c.get(), issuer_key ? issuer_key : key, EVP_sha256())) fail("X509_sign");
  return c;
}

std::string bio_text(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string cert_pem(X509* c) {
  Bio b(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(b.get(), c)) fail("PEM_write_bio_X509");
  return bio_text(b.get());
}

std::string key_pem(EVP_PKEY* k) {
  Bio b(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr)) fail("PEM_write key");
  return bio_text(b.get());
}

// A TLS connection over a socket the BrokerServer owns (it shuts the socket down on stop, which makes a
// blocked SSL_read return).
class TlsStream final : public ByteStream {
 public:
  explicit TlsStream(SSL* ssl) : ssl_(ssl) {}
  ~TlsStream() override { SSL_free(ssl_); }

  bool read_full(char* buf, size_t n) override {
    size_t got = 0;
    while (got < n) {
      size_t r = 0;
      if (SSL_read_ex(ssl_, buf + got, n - got, &r) != 1) return false;
      got += r;
    }
    return true;
  }
  bool write_full(const char* buf, size_t n) override {
    size_t sent = 0;
    while (sent < n) {
      size_t w = 0;
      if (SSL_write_ex(ssl_, buf + sent, n - sent, &w) != 1) return false;
      sent += w;
    }
    return true;
  }

 private:
  SSL* ssl_;
};

}  // namespace

TestPki TestPki::generate(const std::string& ca_name) {
  const Key ca_key = new_key();
  const Cert ca = make_cert(ca_key.get(), ca_name, nullptr, nullptr, 1);
  const Key server_key = new_key();
  const Cert server = make_cert(server_key.get(), "localhost", ca.get(), ca_key.get(), 2);
  return TestPki{cert_pem(ca.get()), cert_pem(server.get()), key_pem(server_key.get())};
}

void TestPki::write_ca(const std::string& path) const {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << ca_cert_pem;
  if (!f) throw std::runtime_error("cannot write " + path);
}

TlsContext::TlsContext(const std::string& cert, const std::string& key) {
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (!ctx_) fail("SSL_CTX_new");
  Bio cb(BIO_new_mem_buf(cert.data(), static_cast<int>(cert.size())));
  Cert c(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  Bio kb(BIO_new_mem_buf(key.data(), static_cast<int>(key.size())));
  Key k(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  if (!c || !k || SSL_CTX_use_certificate(ctx_, c.get()) != 1 || SSL_CTX_use_PrivateKey(ctx_, k.get()) != 1 ||
      SSL_CTX_check_private_key(ctx_) != 1) {
    SSL_CTX_free(ctx_);
    fail("server certificate/key");
  }
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::unique_ptr<ByteStream> TlsContext::accept(int fd) const {
  // OpenSSL writes with write(2), which raises SIGPIPE when the client has gone. Block it in this connection
  // thread (the signal is thread-directed; the write then fails with EPIPE, and the thread ends).
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  SSL* ssl = SSL_new(ctx_);
  if (!ssl) return nullptr;
  if (SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
    ERR_clear_error();  // OpenSSL keeps errors per thread: leave none behind for the next connection
    SSL_free(ssl);
    ++failed_;
    return nullptr;
  }
  return std::make_unique<TlsStream>(ssl);
}

}  // namespace isrguard::kafkasim
