#pragma once

// Test helper: a blocking Kafka-protocol client over a raw TCP socket, to test framing, headers,
// pipelining and error paths byte by byte (librdkafka hides those).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <stdexcept>
#include <string>

#include "tests/kafkasim/protocol.h"

namespace isrguard::kafkasim::testing {

// Connects to 127.0.0.1:port; returns the fd or -errno.
inline int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    ::close(fd);
    return -err;
  }
  timeval tv{.tv_sec = 20, .tv_usec = 0};  // a broken test fails instead of hanging
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

class RawClient {
 public:
  explicit RawClient(int port) : fd_(connect_loopback(port)) {
    if (fd_ < 0) throw std::runtime_error("connect failed: errno " + std::to_string(-fd_));
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  void send_bytes(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      sent += static_cast<size_t>(n);
    }
  }

  // Reads one response frame (without the size prefix); nullopt when the server closed the connection.
  std::optional<std::string> read_frame() {
    std::string size;
    if (!read_exact(size, 4)) return std::nullopt;
    proto::Reader r(size);
    const int32_t n = r.i32();
    std::string body;
    if (!read_exact(body, static_cast<size_t>(n))) return std::nullopt;
    return body;
  }

  // True when the server closed the connection (EOF) within the receive timeout.
  bool closed_by_peer() {
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

  int fd() const { return fd_; }

 private:
  bool read_exact(std::string& out, size_t n) {
    out.resize(n);
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  }

  int fd_;
};

inline proto::RequestHeader header(int16_t key, int16_t version, int32_t correlation_id) {
  proto::RequestHeader h;
  h.api_key = key;
  h.api_version = version;
  h.correlation_id = correlation_id;
  h.client_id = "kafkasim-test";
  return h;
}

}  // namespace isrguard::kafkasim::testing
