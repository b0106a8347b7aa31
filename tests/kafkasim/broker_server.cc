#include "tests/kafkasim/broker_server.h"

#include "tests/kafkasim/sasl.h"
#include "tests/kafkasim/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace isrguard::kafkasim {
namespace {

// Reads exactly n bytes; false on EOF/error (including shutdown by stop()).
bool read_full(int fd, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::recv(fd, buf + got, n - got, 0);
    if (r > 0) {
      got += static_cast<size_t>(r);
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

// Writes all bytes (large Metadata responses are several MB); false on error.
bool write_full(int fd, const char* buf, size_t n) {
  size_t sent = 0;
  while (sent < n) {
    const ssize_t r = ::send(fd, buf + sent, n - sent, MSG_NOSIGNAL);
    if (r > 0) {
      sent += static_cast<size_t>(r);
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      return false;
    }
  }
  return true;
}

class SocketStream final : public ByteStream {
 public:
  explicit SocketStream(int fd) : fd_(fd) {}
  bool read_full(char* buf, size_t n) override { return kafkasim::read_full(fd_, buf, n); }
  bool write_full(const char* buf, size_t n) override { return kafkasim::write_full(fd_, buf, n); }
  bool readable_within(std::chrono::milliseconds d) override {
    pollfd p{fd_, POLLIN, 0};
    int r = 0;
    do {
      r = ::poll(&p, 1, static_cast<int>(d.count()));
    } while (r < 0 && errno == EINTR);
    return r != 0;  // an error is left to the read that follows
  }

 private:
  int fd_;
};

}  // namespace

BrokerServer::BrokerServer(FrameHandler handler, ListenerSecurity security)
    : handler_(std::move(handler)), security_(std::move(security)) {}

BrokerServer::~BrokerServer() { stop(); }

uint16_t BrokerServer::start(uint16_t port) {
  if (running_) throw std::logic_error("BrokerServer already running");
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("bind 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(err));
  }
  if (::listen(fd, 128) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(std::string("listen: ") + std::strerror(err));
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (::pipe2(wake_fds_, O_CLOEXEC) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(err));
  }
  listen_fd_ = fd;
  stopping_ = false;
  running_ = true;
  accept_thread_ = std::thread([this] { accept_loop(); });
  return ntohs(addr.sin_port);
}

void BrokerServer::stop(Close how) {
  if (!running_) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    reset_ = how == Close::kReset;
  }
  stop_cv_.notify_all();
  const char b = 'x';
  [[maybe_unused]] const ssize_t w = ::write(wake_fds_[1], &b, 1);
  if (accept_thread_.joinable()) accept_thread_.join();
  ::close(listen_fd_);
  listen_fd_ = -1;
  ::close(wake_fds_[0]);
  ::close(wake_fds_[1]);
  wake_fds_[0] = wake_fds_[1] = -1;

  // The accept thread is gone, so conns_ only shrinks from here on. Shut down (not close) the sockets so
  // blocked recv/send calls return; each fd is closed only after its thread is joined, so a number can
  // never be reused while a thread still holds it.
  std::list<std::unique_ptr<Connection>> conns;
  {
    std::lock_guard lock(mu_);
    for (auto& c : conns_) {
      if (reset_) {
        // Linger 0: the close below sends RST. Only the reading side is shut down here (wakes the thread
        // without sending FIN first).
        const linger hard{1, 0};
        ::setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
        ::shutdown(c->fd, SHUT_RD);
      } else {
        ::shutdown(c->fd, SHUT_RDWR);
      }
    }
    conns.swap(conns_);
  }
  for (auto& c : conns) {
    if (c->thread.joinable()) c->thread.join();
    ::close(c->fd);
  }
  running_ = false;
}

void BrokerServer::reap_finished_locked() {
  for (auto it = conns_.begin(); it != conns_.end();) {
    if ((*it)->done) {
      (*it)->thread.join();
      ::close((*it)->fd);
      it = conns_.erase(it);
    } else {
      ++it;
    }
  }
}

void BrokerServer::accept_loop() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fds_[0], POLLIN, 0}};
  while (!stopping_) {
    fds[0].revents = fds[1].revents = 0;
    fds[0].events = blackhole_ ? 0 : POLLIN;
    const int n = ::poll(fds, 2, blackhole_ ? 20 : 1000);
    if (n < 0 && errno != EINTR) break;
    if (stopping_ || (fds[1].revents & POLLIN)) break;
    std::lock_guard lock(mu_);
    reap_finished_locked();
    if (!(fds[0].revents & POLLIN)) continue;
    if (blackhole_) continue;  // left in the backlog: the client's connect succeeded, nothing will answer
    const int cfd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (cfd < 0) continue;
    const int one = 1;
    ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto conn = std::make_unique<Connection>();
    conn->fd = cfd;
    Connection* raw = conn.get();
    conns_.push_back(std::move(conn));
    raw->thread = std::thread([this, raw] { serve(raw); });
  }
}

bool BrokerServer::interruptible_wait(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !stop_cv_.wait_for(lock, d, [this] { return stopping_.load(); });
}

void BrokerServer::serve(Connection* conn) {
  if (security_.tls) {
    if (auto tls = security_.tls->accept(conn->fd)) serve_frames(*tls);
  } else {
    SocketStream plain(conn->fd);
    serve_frames(plain);
  }
  // Half-close so the peer sees EOF now (unless stop() resets it); the fd itself is closed by whoever joins
  // this thread.
  if (!reset_) ::shutdown(conn->fd, SHUT_RDWR);
  conn->done = true;
}

void BrokerServer::serve_frames(ByteStream& stream) {
  // SASL state is per connection: requests reach the handler only once the session is authenticated.
  std::optional<SaslSession> sasl;
  if (security_.sasl) sasl.emplace(security_.sasl);
  std::string frame;
  while (!stopping_) {
    // An idle connection is closed as connections.max.idle.ms does (never while black-holed).
    const std::chrono::milliseconds idle(idle_ms_.load());
    if (idle.count() > 0 && !blackhole_ && !stream.readable_within(idle) && !blackhole_) {
      if (on_idle_close_) on_idle_close_();
      break;
    }
    char size_buf[4];
    if (!stream.read_full(size_buf, 4)) break;
    const int32_t size =
        static_cast<int32_t>((static_cast<uint32_t>(static_cast<uint8_t>(size_buf[0])) << 24) |
                             (static_cast<uint32_t>(static_cast<uint8_t>(size_buf[1])) << 16) |
                             (static_cast<uint32_t>(static_cast<uint8_t>(size_buf[2])) << 8) |
                             static_cast<uint32_t>(static_cast<uint8_t>(size_buf[3])));
    if (size < 0 || size > kMaxFrameBytes) break;
    frame.resize(static_cast<size_t>(size));
    if (size > 0 && !stream.read_full(frame.data(), frame.size())) break;

    std::optional<HandlerResult> gate = sasl ? sasl->handle(frame) : std::nullopt;
    HandlerResult result = gate ? std::move(*gate) : handler_(frame);
    if (result.action == HandlerResult::Action::kClose) break;
    if (result.action == HandlerResult::Action::kDrop) continue;
    if (result.delay.count() > 0 && !interruptible_wait(result.delay)) break;

    const auto n = static_cast<uint32_t>(result.response.size());
    const char prefix[4] = {static_cast<char>(n >> 24), static_cast<char>((n >> 16) & 0xff),
                            static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
    if (!stream.write_full(prefix, 4)) break;
    if (!stream.write_full(result.response.data(), result.response.size())) break;
  }
}

}  // namespace isrguard::kafkasim
