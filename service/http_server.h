#pragma once

// cpp-httplib adapter for Api (the only file that includes httplib). Bounded worker pool with a bounded
// queue (when full, the accept thread waits: back-pressure instead of unbounded memory), read/write
// timeouts, request size limit. start() binds and serves on its own thread; stop() is safe from any thread
// and waits until the server has actually started, so a stop racing start-up is never lost.

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "service/http_api.h"

namespace isrguard::service {

struct HttpOptions {
  std::string address = "127.0.0.1";
  int port = 0;  // 0 = ephemeral
  int threads = 8;
  std::size_t queue_limit = 64;  // accepted connections waiting for a worker
  std::chrono::milliseconds io_timeout{std::chrono::seconds(5)};
  ApiOptions api;

  static HttpOptions from_config(const Config& c);
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
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace isrguard::service
