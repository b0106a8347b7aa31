#pragma once

// One simulated broker's TCP listener on 127.0.0.1. Knows Kafka framing (int32 size prefix) but nothing
// about message contents: every request frame goes to a handler that decides what to do with it.
//
// Threads: one accept thread per listener plus one thread per connection (blocking I/O, requests on one
// connection are answered in order, so pipelined requests keep their order). stop() closes the listener
// (new connects are refused), shuts down every connection and joins all threads.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace isrguard::kafkasim {

struct HandlerResult {
  enum class Action {
    kRespond,  // write `response` (without size prefix) after `delay`
    kDrop,     // read but never answer (hung broker)
    kClose,    // close the connection (malformed or unsupported request)
  };
  Action action = Action::kRespond;
  std::string response;
  std::chrono::milliseconds delay{0};

  static HandlerResult close() {
    HandlerResult r;
    r.action = Action::kClose;
    return r;
  }
  static HandlerResult drop() {
    HandlerResult r;
    r.action = Action::kDrop;
    return r;
  }
};

// Called from connection threads, concurrently; `frame` excludes the size prefix.
using FrameHandler = std::function<HandlerResult(std::string_view frame)>;

// One connection's bytes: the socket itself, or TLS over it (tls.h). Used by one connection thread.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Exactly n bytes; false on EOF/error (including shutdown by stop()).
  virtual bool read_full(char* buf, size_t n) = 0;
  virtual bool write_full(const char* buf, size_t n) = 0;
  // False when no byte arrived within `d` (an idle connection); TLS streams do not time out.
  virtual bool readable_within(std::chrono::milliseconds) { return true; }
};

class TlsContext;  // tls.h
class SaslConfig;  // sasl.h

// What a listener demands before requests reach the handler: TLS (null: plaintext) and SASL
// authentication (null: none), i.e. Kafka's PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL listeners.
struct ListenerSecurity {
  std::shared_ptr<const TlsContext> tls;
  std::shared_ptr<const SaslConfig> sasl;
};

class BrokerServer {
 public:
  explicit BrokerServer(FrameHandler handler, ListenerSecurity security = {});
  ~BrokerServer();
  BrokerServer(const BrokerServer&) = delete;
  BrokerServer& operator=(const BrokerServer&) = delete;

  // Binds 127.0.0.1:`port` (0 = ephemeral) and starts accepting; returns the bound port.
  // Throws std::runtime_error when the port cannot be bound.
  uint16_t start(uint16_t port);
  // How stop() ends open connections: an orderly close (FIN, a broker shut down) or a reset (RST, what the
  // kernel sends for the sockets of a killed process).
  enum class Close { kOrderly, kReset };
  // Idempotent. Blocks until all connection threads are gone.
  void stop(Close how = Close::kOrderly);
  // A connection with no request for `idle` is closed (orderly); 0 = never. Applies to requests awaited
  // from now on.
  void set_idle_timeout(std::chrono::milliseconds idle) { idle_ms_ = idle.count(); }
  // Called (on the connection's thread) each time a connection is closed for idleness. Set before start().
  void on_idle_close(std::function<void()> f) { on_idle_close_ = std::move(f); }
  // On: new connections are not accepted (they wait in the kernel's backlog) and open ones are never closed
  // for idleness; the handler decides to drop requests. Off: normal service.
  void set_blackhole(bool on) { blackhole_ = on; }
  bool running() const { return running_; }

  // Largest request frame accepted; larger size prefixes close the connection.
  static constexpr int32_t kMaxFrameBytes = 100 * 1024 * 1024;

 private:
  struct Connection {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void accept_loop();
  void serve(Connection* conn);
  void serve_frames(ByteStream& stream);
  void reap_finished_locked();
  // Waits `d` unless stop() begins; returns false when stopping.
  bool interruptible_wait(std::chrono::milliseconds d);

  FrameHandler handler_;
  const ListenerSecurity security_;
  int listen_fd_ = -1;
  int wake_fds_[2] = {-1, -1};  // pipe: written by stop() to wake the accept loop
  std::thread accept_thread_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> reset_{false};  // stop() resets connections: serve() must not half-close them
  std::atomic<std::int64_t> idle_ms_{0};
  std::atomic<bool> blackhole_{false};
  std::function<void()> on_idle_close_;

  std::mutex mu_;  // guards conns_; also used with stop_cv_
  std::condition_variable stop_cv_;
  std::list<std::unique_ptr<Connection>> conns_;
};

}  // namespace isrguard::kafkasim
