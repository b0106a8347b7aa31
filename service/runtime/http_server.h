#pragma once

// libmicrohttpd adapter for Api (the only file that includes microhttpd.h). Why libmicrohttpd and not
// cpp-httplib, with measurements: docs/http.md.
//
// Every connection is bounded in time and memory, whatever the client does:
//   - connections are multiplexed over a few epoll threads, so idle, half-sent or trickling clients hold no
//     worker; past `max_connections` (or `max_connections_per_ip`) a new connection is accepted and closed;
//   - request line + headers must fit in `connection_memory` bytes (libmicrohttpd answers 431 beyond it) and
//     carry at most `max_headers` headers (431), so a header flood costs at most that much per connection;
//   - a whole-request deadline (`request_timeout`, counted from accept or from the previous response) is
//     enforced by a watchdog that shuts the socket down, on top of the idle timeout; a trickling client
//     cannot keep a connection past it;
//   - keep-alive ends after `max_requests_per_connection` responses or `idle_timeout` of silence;
//   - requests with a body, malformed requests and pipelined requests past the first are handled by
//     libmicrohttpd: 4xx + close for the malformed ones, pipelined requests answered in order.
// start() binds and serves on libmicrohttpd's own threads; stop() closes every connection and returns within
// a few watchdog ticks, whatever clients do.

#include <chrono>
#include <memory>
#include <string>

#include "service/views/http_api.h"

namespace isrguard::service {

struct HttpOptions {
  std::string address = "127.0.0.1";
  int port = 0;     // 0 = ephemeral
  int threads = 8;  // epoll threads (each multiplexes many connections)
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_ip = 0;  // 0 = no per-address limit
  std::chrono::milliseconds request_timeout{std::chrono::seconds(5)};  // whole request, read to last byte sent
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(5)};     // silence on a connection (1 s steps)
  std::size_t connection_memory = 4 * 1024;  // bytes per connection: request line + headers + response head
  std::size_t max_headers = 64;
  std::size_t max_requests_per_connection = 100;
  bool health_only = false;  // serve only /livez and /readyz (the kubelet's door); 404 for the rest
  ApiOptions api;

  // The API/metrics listener (--http-*) and the probe listener (--health-port).
  static HttpOptions from_config(const Config& c);
  static HttpOptions health_from_config(const Config& c);
};

class HttpServer {
 public:
  HttpServer(const StateSource& source, const Policy& policy, HttpOptions options);
  // Convenience for the service: the loop is both the state source and the policy holder.
  template <typename Loop>
  HttpServer(const Loop& loop, HttpOptions options) : HttpServer(loop, loop.policy(), std::move(options)) {}
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving; returns the bound port. Throws std::runtime_error when it cannot bind.
  int start();
  // Closes the listener and every connection; safe from any thread, idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A listening socket we create ourselves, so bind errors carry errno and no SO_REUSEPORT is ever set (a
// second isrguard must fail to start, not silently share the port). Throws std::runtime_error when it cannot
// listen on `address`:`port` (a numeric IP address; port 0 = ephemeral).
struct Listener {
  int fd = -1;
  int port = 0;
  bool ipv6 = false;
};
Listener listen_on(const std::string& address, int port);

// Raises the soft RLIMIT_NOFILE to the hard limit (every connection is a descriptor) and returns the new
// soft limit.
std::size_t raise_open_files_limit();

}  // namespace isrguard::service
