#include "probes/connection_watch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

namespace isrguard::probes {
namespace {

struct AddrInfoDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

// A non-blocking connect to `ai`, waited for until `deadline`: "" connected, else why not.
std::string connect_one(const addrinfo& ai, std::chrono::steady_clock::time_point deadline) {
  const int fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol);
  if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  std::string why;
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      why = std::strerror(errno);
    } else {
      pollfd p{fd, POLLOUT, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      int r = 0;
      do {
        r = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
      } while (r < 0 && errno == EINTR);
      int err = 0;
      socklen_t len = sizeof err;
      if (r == 0)
        why = "no answer within the reconnect check";
      else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
        why = std::strerror(err != 0 ? err : errno);
    }
  }
  ::close(fd);
  return why;
}

}  // namespace

ConnectionWatch::ConnectionWatch(std::chrono::milliseconds connect_within)
    : connect_within_(connect_within), thread_([this](std::stop_token stop) { run(stop); }) {}

ConnectionWatch::~ConnectionWatch() {
  thread_.request_stop();
  cv_.notify_all();
}

void ConnectionWatch::set_listener(ConnectionListener listener) {
  std::lock_guard call(call_mu_);
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

void ConnectionWatch::connection_down(BrokerId id, std::string address) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(Down{id, std::move(address)});
  }
  cv_.notify_all();
}

void ConnectionWatch::connection_up(BrokerId id) {
  std::lock_guard lock(mu_);
  down_.erase(id);
}

std::map<BrokerId, std::uint32_t> ConnectionWatch::take_losses() {
  std::lock_guard lock(mu_);
  return std::exchange(losses_, {});
}

void ConnectionWatch::connect_failed(BrokerId id) {
  std::lock_guard lock(mu_);
  if (const auto it = down_.find(id); it != down_.end()) it->second = std::chrono::steady_clock::now();
}

bool ConnectionWatch::refused_since(BrokerId id, std::chrono::steady_clock::time_point since) const {
  std::lock_guard lock(mu_);
  const auto it = down_.find(id);
  return it != down_.end() && it->second >= since;
}

std::string ConnectionWatch::try_connect(const std::string& address) const {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return "no port in address";
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = address.substr(colon + 1);
  const auto deadline = std::chrono::steady_clock::now() + connect_within_;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &raw); rc != 0)
    return std::string("cannot resolve: ") + gai_strerror(rc);
  const std::unique_ptr<addrinfo, AddrInfoDeleter> list(raw);
  std::string why = "no address";
  for (const addrinfo* ai = list.get(); ai; ai = ai->ai_next) {
    why = connect_one(*ai, deadline);
    if (why.empty() || std::chrono::steady_clock::now() >= deadline) break;
  }
  return why;
}

// One check per reported drop, in order. The listener is called without the lock held.
void ConnectionWatch::run(std::stop_token stop) {
  while (true) {
    Down d;
    {
      std::unique_lock lock(mu_);
      if (!cv_.wait(lock, stop, [&] { return !queue_.empty(); })) return;
      d = std::move(queue_.front());
      queue_.pop_front();
    }
    const std::string why = try_connect(d.address);
    const std::string who = "broker " + std::to_string(d.id) + " (" + d.address + ")";
    if (why.empty()) {
      spdlog::debug("{}: a connection closed and the broker accepted a new one at once (an idle close)", who);
      continue;
    }
    ConnectionLoss loss{d.id, who + ": connection lost, reconnect failed: " + why};
    spdlog::warn("{}", loss.detail);
    std::lock_guard call(call_mu_);
    ConnectionListener listener;
    {
      std::lock_guard lock(mu_);
      ++losses_[d.id];
      down_[d.id] = std::chrono::steady_clock::now();
      listener = listener_;
    }
    if (listener) listener(loss);
  }
}

std::optional<BrokerStateChange> parse_state_change(const std::string& line) {
  static const std::string kMarker = ": Broker changed state ";
  const auto at = line.find(kMarker);
  if (at == std::string::npos) return std::nullopt;
  // The broker's name ends at the marker and starts after the last "]: " (thread prefix) before it.
  const auto prefix = line.rfind("]: ", at);
  std::string name = line.substr(prefix == std::string::npos ? 0 : prefix + 3,
                                 at - (prefix == std::string::npos ? 0 : prefix + 3));
  if (const auto scheme = name.find("://"); scheme != std::string::npos) name = name.substr(scheme + 3);
  const auto slash = name.rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  BrokerStateChange c;
  c.address = name.substr(0, slash);
  const std::string id = name.substr(slash + 1);
  if (id.empty() || id.size() > 9 || id.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;  // "bootstrap", "internal", or not a node id
  c.id = std::stoi(id);
  const std::string rest = line.substr(at + kMarker.size());
  const auto arrow = rest.find(" -> ");
  if (arrow == std::string::npos || c.address.empty()) return std::nullopt;
  c.from = rest.substr(0, arrow);
  c.to = rest.substr(arrow + 4);
  while (!c.to.empty() && (c.to.back() == '\n' || c.to.back() == ' ')) c.to.pop_back();
  return c;
}

std::ostream& operator<<(std::ostream& os, const BrokerStateChange& c) {
  return os << "BrokerStateChange{" << c.id << ' ' << c.address << ' ' << c.from << " -> " << c.to << '}';
}

std::ostream& operator<<(std::ostream& os, const ConnectionLoss& l) {
  return os << "ConnectionLoss{" << l.id << ": " << l.detail << '}';
}

}  // namespace isrguard::probes
