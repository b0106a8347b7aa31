#pragma once

// The service's HTTP server over a probe loop on 127.0.0.1 (ephemeral port), with a client to ask it;
// stopped on destruction. For end-to-end tests that check what callers of the endpoints see.
#include <httplib.h>

#include <string>
#include <utility>

#include "service/runtime/http_server.h"
#include "service/runtime/probe_loop.h"

namespace isrguard::testing {

class ServedLoop {
 public:
  explicit ServedLoop(const service::ProbeLoop& loop)
      : server_(loop, service::HttpOptions{}), client_("127.0.0.1", server_.start()) {}
  ~ServedLoop() { server_.stop(); }
  ServedLoop(const ServedLoop&) = delete;
  ServedLoop& operator=(const ServedLoop&) = delete;

  // GET through the real server: {status, body}, or {-1, ""} when the request failed.
  std::pair<int, std::string> get(const std::string& path) {
    auto r = client_.Get(path.c_str());
    return r ? std::make_pair(r->status, r->body) : std::make_pair(-1, std::string());
  }

 private:
  service::HttpServer server_;  // declared before client_: started before the client learns its port
  httplib::Client client_;
};

}  // namespace isrguard::testing
