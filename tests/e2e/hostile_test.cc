// The real isrguard binary under hostile clients on loopback (ctest label `hostile`; issue #9): thousands of
// idle, half-sent and trickling connections plus header floods on the API port, and a crowd from another
// loopback address on the probe port, while a kubelet-style prober (new connection per probe, 1 s timeout)
// hits /readyz and /livez on the probe port. Every probe must be answered, p99 under 100 ms, RSS growth
// bounded, and SIGTERM must still end the process within its 2 s budget.
//
// Bounds (docs/http.md): p99 < 100 ms; RSS < idle + 48 MB with ~6,000 connections held (about 6.5 kB each:
// a 4 kB libmicrohttpd pool plus bookkeeping); SIGTERM < 2 s. The RSS bound is checked in the plain build
// only: AddressSanitizer's shadow memory and quarantine are not isrguard's memory (the ASan build still
// checks everything else, and that nothing crashes).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>

#include <algorithm>
#include <optional>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/await.h"
#include "tests/support/raw_http.h"

extern char** environ;

namespace isrguard {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kEach = 2000;               // idle, half-sent and trickling connections on the API port
constexpr int kFloods = 8;                // header-flood connections on the API port
constexpr int kProbePortCrowd = 200;      // idle + flood connections on the probe port from 127.0.0.2
constexpr auto kLoad = std::chrono::seconds(12);  // probing under full load
constexpr long kRssBoundKb = 48 * 1024;   // growth over the idle process
constexpr auto kShutdownBound = milliseconds(2000);

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

long rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// One hostile socket: what it sends and when it comes back after the server closes it.
enum class Kind { kIdle, kHalf, kTrickle, kFlood };
struct Hostile {
  Kind kind;
  const char* source;  // local address to connect from
  int port;
  int fd = -1;
  bool connected = false;
  Clock::time_point reconnect_at{};
};

// Drives every hostile socket from one epoll loop. A socket the server closes is reopened after a short
// pause, so the pressure holds for the whole test.
class Crowd {
 public:
  void add(Kind kind, const char* source, int port, int n) {
    for (int i = 0; i < n; ++i) sockets_.push_back(Hostile{kind, source, port});
  }
  void start() {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    stop_ = true;
    thread_.join();
    for (auto& h : sockets_)
      if (h.fd >= 0) ::close(h.fd);
    ::close(epoll_);
  }
  int connected() const { return connected_.load(); }
  long reconnects() const { return reconnects_.load(); }

 private:
  void open(std::size_t i) {
    Hostile& h = sockets_[i];
    h.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in from{}, to{};
    from.sin_family = to.sin_family = AF_INET;
    inet_pton(AF_INET, h.source, &from.sin_addr);
    ::bind(h.fd, reinterpret_cast<sockaddr*>(&from), sizeof from);
    to.sin_port = htons(static_cast<uint16_t>(h.port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::connect(h.fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u64 = i;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, h.fd, &ev);
  }
  void drop(Hostile& h, Clock::time_point now) {
    if (h.connected) --connected_;
    ::close(h.fd);
    h.fd = -1;
    h.connected = false;
    h.reconnect_at = now + milliseconds(200);
    ++reconnects_;
  }
  void on_connected(std::size_t i) {
    Hostile& h = sockets_[i];
    h.connected = true;
    ++connected_;
    static const std::string kStart = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (h.kind != Kind::kIdle) ::send(h.fd, kStart.data(), kStart.size(), MSG_NOSIGNAL);
    if (h.kind == Kind::kTrickle) ::send(h.fd, "X-Trickle: ", 11, MSG_NOSIGNAL);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (h.kind == Kind::kFlood ? EPOLLOUT : 0u);
    ev.data.u64 = i;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, h.fd, &ev);
  }
  void run() {
    for (std::size_t i = 0; i < sockets_.size(); ++i) open(i);
    std::string flood;
    for (int i = 0; i < 100; ++i) flood += "X-Flood-" + std::to_string(i) + ": aaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    std::vector<epoll_event> events(1024);
    auto next_trickle = Clock::now();
    while (!stop_) {
      const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 20);
      const auto now = Clock::now();
      for (int k = 0; k < n; ++k) {
        const std::size_t i = events[k].data.u64;
        Hostile& h = sockets_[i];
        if (h.fd < 0) continue;
        if (events[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
          drop(h, now);  // the server answered or closed: either way this one is done
        } else if (!h.connected) {
          on_connected(i);
        } else if (h.kind == Kind::kFlood) {
          if (::send(h.fd, flood.data(), flood.size(), MSG_NOSIGNAL) < 0 && errno != EAGAIN) drop(h, now);
        }
      }
      if (now >= next_trickle) {  // one byte per trickler per second
        next_trickle = now + std::chrono::seconds(1);
        for (auto& h : sockets_)
          if (h.kind == Kind::kTrickle && h.connected) ::send(h.fd, "a", 1, MSG_NOSIGNAL);
      }
      for (std::size_t i = 0; i < sockets_.size(); ++i)
        if (sockets_[i].fd < 0 && now >= sockets_[i].reconnect_at) open(i);
    }
  }

  std::vector<Hostile> sockets_;
  int epoll_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connected_{0};
  std::atomic<long> reconnects_{0};
};

// One kubelet-style probe: a new connection, 1 s for everything. Returns the latency, or nothing on failure.
std::optional<milliseconds> kubelet_probe(int port, const std::string& path, std::string* status_line) {
  const auto start = Clock::now();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nUser-Agent: kube-probe/1.29\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  std::string got;
  bool sent = false, closed = false;
  while (!closed) {
    const auto left = milliseconds(1000) - std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    if (left.count() <= 0) break;
    pollfd p{fd, static_cast<short>(sent ? POLLIN : POLLOUT), 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    if (!sent) {
      if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) break;
      sent = true;
      continue;
    }
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) got.append(buf, static_cast<std::size_t>(n));
    else closed = true;
  }
  ::close(fd);
  *status_line = got.substr(0, got.find('\r'));
  if (!closed || got.rfind("HTTP/1.1 200", 0) != 0) return std::nullopt;
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

struct Spawned {
  pid_t pid = -1;
  std::string err_path;
  int api_port = 0, health_port = 0;
};

Spawned spawn_isrguard() {
  Spawned s;
  s.err_path = (std::filesystem::temp_directory_path() / ("isrguard-hostile-" + std::to_string(getpid()))).string();
  std::vector<std::string> args = {ISRGUARD_BIN,       "--mock-brokers",   "3",   "--http-address", "127.0.0.1",
                                   "--http-port",      "0",                "--health-port", "0",
                                   "--poll-interval",  "500ms",            "--recovery-hold", "0s",
                                   "--http-max-connections", "8192"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, s.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn(&s.pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  testing::await(
      [&] {
        std::smatch m;
        const auto log = slurp(s.err_path);
        if (std::regex_search(log, m, std::regex(R"(listening on 127\.0\.0\.1:(\d+) \(probes on port (\d+)\))"))) {
          s.api_port = std::stoi(m[1]);
          s.health_port = std::stoi(m[2]);
        }
        return s.health_port > 0;
      },
      std::chrono::seconds(20));
  return s;
}

// What the kubelet-style prober saw while the crowd was connected.
struct ProbeLoad {
  std::vector<milliseconds> latencies;
  std::vector<std::string> failures;
  long max_rss = 0;
  long connected_mean = 0;
};

ProbeLoad probe_under_load(const Spawned& s, const Crowd& crowd, long idle_rss) {
  ProbeLoad load;
  load.max_rss = idle_rss;
  long connected_sum = 0;
  int samples = 0;
  std::string status;
  const auto end = Clock::now() + kLoad;
  for (int i = 0; Clock::now() < end; ++i) {
    const std::string path = i % 2 ? "/livez" : "/readyz";
    if (auto latency = kubelet_probe(s.health_port, path, &status))
      load.latencies.push_back(*latency);
    else
      load.failures.push_back(path + " -> '" + status + "'");
    load.max_rss = std::max(load.max_rss, rss_kb(s.pid));
    connected_sum += crowd.connected();
    ++samples;
    std::this_thread::sleep_for(milliseconds(20));
  }
  load.connected_mean = connected_sum / std::max(1, samples);
  std::sort(load.latencies.begin(), load.latencies.end());
  return load;
}

TEST(Hostile, ProbesAnswerMemoryStaysBoundedAndSigtermEndsTheProcess) {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
  ASSERT_GE(r.rlim_cur, static_cast<rlim_t>(3 * kEach + 2000))
      << "this test needs RLIMIT_NOFILE >= " << 3 * kEach + 2000 << " (hard limit " << r.rlim_max << ")";

  Spawned s = spawn_isrguard();
  ASSERT_GT(s.health_port, 0) << slurp(s.err_path);
  std::string status;
  ASSERT_TRUE(testing::await([&] { return kubelet_probe(s.health_port, "/readyz", &status).has_value(); },
                             std::chrono::seconds(20)))
      << status << "\n" << slurp(s.err_path);
  const long idle_rss = rss_kb(s.pid);

  Crowd crowd;
  crowd.add(Kind::kIdle, "127.0.0.1", s.api_port, kEach);
  crowd.add(Kind::kHalf, "127.0.0.1", s.api_port, kEach);
  crowd.add(Kind::kTrickle, "127.0.0.1", s.api_port, kEach);
  crowd.add(Kind::kFlood, "127.0.0.1", s.api_port, kFloods);
  crowd.add(Kind::kIdle, "127.0.0.2", s.health_port, kProbePortCrowd - kFloods);
  crowd.add(Kind::kFlood, "127.0.0.2", s.health_port, kFloods);
  crowd.start();
  ASSERT_TRUE(testing::await([&] { return crowd.connected() >= 3 * kEach; }, std::chrono::seconds(20)))
      << "the hostile crowd could not connect: " << crowd.connected();

  const ProbeLoad load = probe_under_load(s, crowd, idle_rss);

  // SIGTERM under the same load.
  const auto term_at = Clock::now();
  kill(s.pid, SIGTERM);
  int wstatus = 0;
  pid_t done = 0;
  testing::await([&] { return (done = waitpid(s.pid, &wstatus, WNOHANG)) == s.pid; }, std::chrono::seconds(10),
                 milliseconds(5));
  const auto shutdown = std::chrono::duration_cast<milliseconds>(Clock::now() - term_at);
  if (done != s.pid) {
    kill(s.pid, SIGKILL);
    waitpid(s.pid, &wstatus, 0);
  }
  crowd.stop();

  // Latencies are printed, not asserted (timings are no pass/fail criterion, docs/http.md has the figures); the
  // kubelet's own bound is: every probe answered within its 1 s.
  ASSERT_FALSE(load.latencies.empty());
  const auto& lat = load.latencies;
  std::printf("hostile: %zu probes ok, %zu failed, p50 %lld ms, p99 %lld ms, max %lld ms; RSS idle %ld kB, max %ld kB "
              "(+%ld kB); hostile connections open on average %ld, reconnects %ld; SIGTERM -> exit %lld ms\n",
              lat.size(), load.failures.size(), static_cast<long long>(lat[lat.size() / 2].count()),
              static_cast<long long>(lat[lat.size() * 99 / 100].count()), static_cast<long long>(lat.back().count()),
              idle_rss, load.max_rss, load.max_rss - idle_rss, load.connected_mean, crowd.reconnects(),
              static_cast<long long>(shutdown.count()));
  EXPECT_TRUE(load.failures.empty()) << load.failures.size() << " probes failed, first: " << load.failures.front();
#ifndef ISRGUARD_SANITIZED
  EXPECT_LT(load.max_rss - idle_rss, kRssBoundKb);
#endif
  // Idle and half-sent connections are cut at the 5 s deadline and come back 200 ms later: on average most
  // of the crowd is connected.
  EXPECT_GE(load.connected_mean, 3 * kEach / 2) << "the load was not in place during the probes";
  EXPECT_EQ(done, s.pid) << "isrguard still running 10 s after SIGTERM";
  EXPECT_LT(shutdown, kShutdownBound);
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << slurp(s.err_path);
  std::remove(s.err_path.c_str());
}

}  // namespace
}  // namespace isrguard
