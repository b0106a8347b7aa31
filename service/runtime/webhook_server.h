#pragma once

// The eviction webhook's own TLS listener (--webhook-port): libmicrohttpd in HTTPS mode (it is built with
// GnuTLS on Debian, so TLS adds no library beyond the one the HTTP listeners use). Serves POST
// /validate-eviction only (405 for other methods, 404 for other paths).
//
// Certificate rotation: the certificate chain and key are read from files (a cert-manager or kubelet-mounted
// Secret) and GnuTLS asks for them at each handshake; the files are checked at most once a second (inode, size,
// modification time) and re-read when they changed, so new connections use the new certificate without a
// restart. A pair that fails to load keeps the previous one (logged once per change). Credentials replaced are
// kept for a minute so a handshake that started with them can finish. One WebhookServer per process (GnuTLS'
// certificate callback carries no user pointer).
//
// Bounds: at most `max_connections` connections, a body of at most kMaxAdmissionReviewBytes (a larger one is
// answered 400: read and dropped up to 1 MiB; a larger Content-Length is answered before the body is read, a
// chunked body past 1 MiB closes the connection),
// `idle_timeout` of silence per connection.

#include <chrono>
#include <memory>
#include <string>

#include "service/runtime/eviction_webhook.h"

namespace isrguard::service {

struct WebhookServerOptions {
  std::string address = "0.0.0.0";
  int port = 0;  // 0 = ephemeral
  std::string cert_file;  // PEM, the server certificate first, then its chain
  std::string key_file;   // PEM private key (never logged)
  int threads = 2;
  std::size_t max_connections = 64;
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(15)};
};

class WebhookServer {
 public:
  // `webhook` must outlive the server.
  WebhookServer(EvictionWebhook& webhook, WebhookServerOptions options);
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  // Loads the certificate and key, binds and serves; returns the bound port. Throws std::runtime_error when
  // the files cannot be loaded or the port bound, or when another WebhookServer is running.
  int start();
  void stop();  // idempotent

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace isrguard::service
