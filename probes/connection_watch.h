#pragma once

// Event-driven closing (docs/faults.md#closing-on-events): the librdkafka adapter reports here each
// established connection to a known broker that went down; a thread of this class tells a failure from an
// idle close and reports failures at once, without waiting for the next probe.
//
// A connection that went down is a failure unless the broker accepts a new TCP connection within
// `connect_within`. A broker that closes an idle connection (connections.max.idle.ms) is alive and accepts
// at once; a killed broker refuses (or, when its address is gone, never answers) the new connection. The
// check is a bare TCP connect (nothing is sent), so it needs no security settings.
//
// Threads: connection_down / connection_up are called from librdkafka's threads and never block (they
// queue); the checks and the listener run on this class's own thread; take_losses from the probe thread.
// All members are guarded by one mutex.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>

#include "probes/metadata_source.h"

namespace isrguard::probes {

class ConnectionWatch {
 public:
  explicit ConnectionWatch(std::chrono::milliseconds connect_within);
  ~ConnectionWatch();  // stops the thread: waits for at most one check in progress (<= connect_within)
  ConnectionWatch(const ConnectionWatch&) = delete;
  ConnectionWatch& operator=(const ConnectionWatch&) = delete;

  // Who hears of each loss (on the watch's thread); empty: nobody (losses are still counted). Returns once a
  // call of the previous listener in progress has ended.
  void set_listener(ConnectionListener listener);

  // An established connection to broker `id` at `address` ("host:port") went down. Never blocks.
  void connection_down(BrokerId id, std::string address);
  // A connection to broker `id` is established again: it is no longer down.
  void connection_up(BrokerId id);
  // librdkafka's attempt to connect to broker `id` failed (a state change to DOWN before UP).
  void connect_failed(BrokerId id);

  // Losses per broker since the previous call (the probe's BrokerResponse::disconnects).
  std::map<BrokerId, std::uint32_t> take_losses();
  // True when the connection to `id` was lost, none has been established since, and a connection attempt
  // failed (or the loss was confirmed) at or after `since`: the per-broker check sent at `since` has its
  // answer (down), with nothing left to wait for.
  bool refused_since(BrokerId id, std::chrono::steady_clock::time_point since) const;

 private:
  struct Down {
    BrokerId id;
    std::string address;
  };
  void run(std::stop_token stop);
  // "" when a TCP connection to `address` was established within connect_within_, else why not.
  std::string try_connect(const std::string& address) const;

  const std::chrono::milliseconds connect_within_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Down> queue_;
  ConnectionListener listener_;
  std::mutex call_mu_;  // held while the listener runs and while it is replaced: never called once replaced
  std::map<BrokerId, std::uint32_t> losses_;
  std::map<BrokerId, std::chrono::steady_clock::time_point> down_;  // lost, not up again: last refusal
  std::jthread thread_;  // last: started after the members it reads, stopped first
};

// "host:port/2: Broker changed state UP -> DOWN" (librdkafka's STATE debug line, optionally prefixed by
// "[thrd:...]: " and a "proto://" scheme before the host) -> the transition. Pure.
struct BrokerStateChange {
  BrokerId id = -1;
  std::string address;  // host:port
  std::string from, to;
  bool operator==(const BrokerStateChange&) const = default;
};
std::optional<BrokerStateChange> parse_state_change(const std::string& line);

std::ostream& operator<<(std::ostream& os, const BrokerStateChange& c);

}  // namespace isrguard::probes
