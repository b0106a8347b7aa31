#pragma once

// Small HTTP control endpoint for the kafkasim executable (127.0.0.1 only). Routes, all answering JSON:
//   GET  /state                               live cluster + scenario position
//   POST /brokers/{id}/down?shrink_isr=1&elect_leaders=1
//   POST /brokers/{id}/up?rejoin_isr=1&elect_leaders=1&preferred=1
//   POST /brokers/{id}/hang
//   POST /brokers/{id}/latency?ms=N
//   POST /partitions                          body: a "set_partition" step without "action"
//   POST /scenario/step                       body: any step object, applied now
//   POST /scenario/advance                    applies the next group of timeline steps
// Bad input answers 400 {"error": "..."}; the cluster is left unchanged.
#include <memory>
#include <thread>

#include "tests/kafkasim/cluster.h"
#include "tests/kafkasim/scenario.h"

namespace httplib {
class Server;
}

namespace isrguard::kafkasim {

class ControlServer {
 public:
  // `timeline` may be null (then /scenario/advance answers 409).
  ControlServer(Cluster& cluster, Timeline* timeline);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds 127.0.0.1:`port` (0 = ephemeral) and serves in a background thread; returns the bound port.
  // Throws std::runtime_error when the port cannot be bound.
  int start(int port);
  void stop();

 private:
  Cluster& cluster_;
  Timeline* timeline_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace isrguard::kafkasim
