#include "service/runtime/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_set>

namespace isrguard::service {
namespace {

using std::chrono::milliseconds;

// One warning per `every` at most, carrying how many were folded into it: a client sending bad requests in a
// loop must not flood the log (GUIDE: one line per transition, not per event).
class RateLimitedLog {
 public:
  explicit RateLimitedLog(SteadyClock::duration every) : every_(every) {}

  void warn(const std::string& what) {
    const auto now = SteadyClock::now();
    std::size_t folded = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (logged_once_ && now - last_ < every_) {
        ++suppressed_;
        return;
      }
      logged_once_ = true;
      last_ = now;
      folded = std::exchange(suppressed_, 0);
    }
    if (folded == 0) {
      spdlog::warn("HTTP {}", what);
    } else {
      spdlog::warn("HTTP {} (and {} more rejected requests since the last such line)", what, folded);
    }
  }

 private:
  const SteadyClock::duration every_;
  std::mutex mu_;
  SteadyClock::time_point last_{};
  bool logged_once_ = false;
  std::size_t suppressed_ = 0;
};

// What we keep per TCP connection (libmicrohttpd's socket context). Owned by the Watchdog's set between the
// STARTED and CLOSED notifications; `deadline` and `requests` are read and written under Watchdog::mu_.
struct Connection {
  int fd = -1;
  SteadyClock::time_point deadline;
  std::size_t requests = 0;
  // The current request's query string, not decoded (Impl::on_uri). Only the connection's libmicrohttpd
  // thread touches it: written by on_uri, moved out by on_request of the same request.
  std::string query;
};

// Enforces the whole-request deadline libmicrohttpd does not have (its timeout is an idle timeout, reset by
// every byte). Every tick it shuts down the sockets of connections past their deadline; libmicrohttpd then
// sees end-of-file and closes them on its own thread. shutdown() never races a close(): libmicrohttpd
// notifies CLOSED (which takes our mutex) before it closes the descriptor.
class Watchdog {
 public:
  explicit Watchdog(milliseconds tick) : tick_(tick) {}
  ~Watchdog() { stop(); }

  void start() { thread_ = std::thread([this] { run(); }); }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  Connection* opened(int fd, SteadyClock::time_point deadline) {
    auto* c = new Connection{fd, deadline, 0, {}};
    std::lock_guard<std::mutex> lock(mu_);
    live_.insert(c);
    return c;
  }
  std::size_t open_connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return live_.size();
  }
  void closed(Connection* c) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      live_.erase(c);
    }
    delete c;
  }
  // Counts a request and returns how many this connection has carried, this one included.
  std::size_t count_request(Connection* c) {
    std::lock_guard<std::mutex> lock(mu_);
    return ++c->requests;
  }
  void extend(Connection* c, SteadyClock::time_point deadline) {
    std::lock_guard<std::mutex> lock(mu_);
    c->deadline = deadline;
  }
  // Shuts down every open connection not shut down yet; returns how many libmicrohttpd still has open.
  std::size_t shut_all() {
    std::lock_guard<std::mutex> lock(mu_);
    for (Connection* c : live_) shut(c);
    return live_.size();
  }

 private:
  // Once is enough; libmicrohttpd closes the connection soon. Under mu_.
  static void shut(Connection* c) {
    if (c->fd < 0) return;
    ::shutdown(c->fd, SHUT_RDWR);
    c->fd = -1;
  }

  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      wake_.wait_for(lock, tick_);
      const auto now = SteadyClock::now();
      for (Connection* c : live_)
        if (now >= c->deadline) shut(c);
    }
  }

  const milliseconds tick_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::unordered_set<Connection*> live_;
  bool stopping_ = false;
  std::thread thread_;
};

// libmicrohttpd's own connection limit sits this far above ours (see on_accept): room for the connections
// on_accept refuses, which count against libmicrohttpd's limit until they are closed.
constexpr std::size_t kAcceptSlack = 64;

// How long stop() waits for libmicrohttpd to close the connections it shut down (see stop()); a process
// stopping on SIGTERM stops two servers within its 1.8 s.
constexpr milliseconds kCloseBeforeStop{300};

unsigned int whole_seconds_at_least_one(milliseconds ms) {
  return static_cast<unsigned int>(std::max<long long>(1, (ms.count() + 999) / 1000));
}

}  // namespace

Listener listen_on(const std::string& address, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string where = address + ":" + std::to_string(port);
  if (getaddrinfo(address.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
    throw std::runtime_error("cannot listen on " + where + ": not a numeric IP address");
  Listener l;
  l.ipv6 = found->ai_family == AF_INET6;
  l.fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int yes = 1;
  const bool ok = l.fd >= 0 && setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) == 0 &&
                  ::bind(l.fd, found->ai_addr, found->ai_addrlen) == 0 && ::listen(l.fd, 1024) == 0;
  const int error = errno;
  freeaddrinfo(found);
  if (!ok) {
    if (l.fd >= 0) ::close(l.fd);
    throw std::runtime_error("cannot listen on " + where + ": " + std::strerror(error));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(l.fd, reinterpret_cast<sockaddr*>(&bound), &len);
  l.port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return l;
}

std::size_t raise_open_files_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
    getrlimit(RLIMIT_NOFILE, &r);
  }
  return static_cast<std::size_t>(r.rlim_cur);
}

HttpOptions HttpOptions::from_config(const Config& c) {
  HttpOptions o;
  o.address = c.http_address;
  o.port = c.http_port;
  o.threads = c.http_threads;
  o.request_timeout = c.http_timeout;
  o.idle_timeout = c.http_timeout;
  o.max_connections = c.http_max_connections;
  o.api = ApiOptions::from_config(c);
  return o;
}

HttpOptions HttpOptions::health_from_config(const Config& c) {
  HttpOptions o = from_config(c);
  o.port = c.health_port;
  o.health_only = true;
  // The kubelet opens a new connection per probe and gives up after timeoutSeconds (default 1 s): a request
  // that has not completed within a second is already a failed probe, so its slot is better freed.
  o.threads = 2;
  o.max_connections = 64;
  o.max_connections_per_ip = 16;  // one node's kubelet needs 2; a single noisy pod cannot take them all
  o.request_timeout = std::chrono::seconds(1);
  o.idle_timeout = std::chrono::seconds(1);
  o.connection_memory = 4 * 1024;
  o.max_headers = 32;
  o.max_requests_per_connection = 10;
  return o;
}

struct HttpServer::Impl {
  Impl(const StateSource& source, const Policy& policy, HttpOptions o)
      : options(std::move(o)), api(source, policy, options.api) {}

  HttpResponse dispatch(const HttpRequest& request) const {
    if (options.health_only && request.path != "/livez" && request.path != "/readyz") {
      HttpResponse r;
      r.status = 404;
      r.body = "not found: this port serves only /livez and /readyz\n";
      return r;
    }
    return api.handle(request, SteadyClock::now(), std::chrono::system_clock::now());
  }

  static MHD_Result on_accept(void* cls, const sockaddr*, socklen_t);
  static void* on_uri(void* cls, const char* uri, MHD_Connection* connection);
  static MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url, const char* method,
                               const char* version, const char* upload_data, std::size_t* upload_size,
                               void** request_context);
  static void on_connection(void* cls, MHD_Connection* connection, void** socket_context,
                            MHD_ConnectionNotificationCode what);
  static void on_completed(void* cls, MHD_Connection* connection, void** request_context,
                           MHD_RequestTerminationCode why);
  MHD_Result answer(MHD_Connection* connection, const HttpResponse& out, bool close) const;

  HttpOptions options;
  Api api;
  Watchdog watchdog{milliseconds(50)};
  RateLimitedLog rejected{std::chrono::seconds(10)};
  MHD_Daemon* daemon = nullptr;
  std::atomic<bool> stopping{false};  // set by stop(): on_accept refuses every new connection
};

namespace {

Connection* connection_of(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return info ? static_cast<Connection*>(info->socket_context) : nullptr;
}

HttpResponse plain(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

// libmicrohttpd stops accepting at its own connection limit, leaving new connections queued in the kernel
// backlog where a client waits out its whole timeout. We set its limit above ours and refuse here instead:
// the connection is accepted and closed at once, so the client learns immediately.
MHD_Result HttpServer::Impl::on_accept(void* cls, const sockaddr*, socklen_t) {
  auto* self = static_cast<Impl*>(cls);
  if (self->stopping.load()) return MHD_NO;
  return self->watchdog.open_connections() < self->options.max_connections ? MHD_YES : MHD_NO;
}

// libmicrohttpd calls this with the whole request target before it splits the query into its connection pool
// (one record per parameter: a query past what the pool holds left the connection hanging until the deadline,
// above ~45 parameters in 4 KiB, and a %00 ended a value early). We keep the query's bytes and end
// libmicrohttpd's copy right after the '?', so it parses no parameter at all; on_request parses ours with
// parse_query. The target is libmicrohttpd's own writable read buffer, which it cuts up in place itself;
// 0.9.75 finds the '?' before this call and parses what follows it after (tests/http/http_server_test.cc
// holds it to that). Returns the request context: none yet.
void* HttpServer::Impl::on_uri(void*, const char* uri, MHD_Connection* connection) {
  Connection* c = connection_of(connection);
  char* question = uri ? const_cast<char*>(std::strchr(uri, '?')) : nullptr;
  if (c) c->query.assign(question ? question + 1 : "");
  if (question) question[1] = '\0';
  return nullptr;
}

void HttpServer::Impl::on_connection(void* cls, MHD_Connection* connection, void** socket_context,
                                     MHD_ConnectionNotificationCode what) {
  auto* self = static_cast<Impl*>(cls);
  if (what == MHD_CONNECTION_NOTIFY_STARTED) {
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    const int fd = info ? info->connect_fd : -1;
    *socket_context = self->watchdog.opened(fd, SteadyClock::now() + self->options.request_timeout);
  } else if (*socket_context) {
    self->watchdog.closed(static_cast<Connection*>(*socket_context));
    *socket_context = nullptr;
  }
}

void HttpServer::Impl::on_completed(void* cls, MHD_Connection* connection, void**,
                                    MHD_RequestTerminationCode) {
  auto* self = static_cast<Impl*>(cls);
  // The next request on this keep-alive connection gets a fresh deadline: the idle wait (bounded by the
  // idle timeout) plus a whole request.
  if (Connection* c = connection_of(connection)) {
    self->watchdog.extend(c, SteadyClock::now() + self->options.idle_timeout + self->options.request_timeout);
  }
}

MHD_Result HttpServer::Impl::on_request(void* cls, MHD_Connection* connection, const char* url,
                                        const char* method, const char*, const char*, std::size_t* upload_size,
                                        void** request_context) {
  auto* self = static_cast<Impl*>(cls);
  // A body is never needed here. A request that announces one is answered at once, which makes
  // libmicrohttpd close the connection instead of reading the body. Any other request is answered on the
  // second call (request complete), the only point where libmicrohttpd can keep the connection alive.
  const bool has_body = *upload_size > 0 ||
                        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Content-Length") ||
                        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Transfer-Encoding");
  static int headers_seen;  // address used as a marker only
  if (!has_body && *request_context == nullptr) {
    *request_context = &headers_seen;
    return MHD_YES;
  }
  bool close = has_body;
  if (Connection* c = connection_of(connection))
    close = self->watchdog.count_request(c) >= self->options.max_requests_per_connection || close;

  HttpRequest request;
  request.method = method ? method : "";
  request.path = url ? url : "";
  const int headers = MHD_get_connection_values(connection, MHD_HEADER_KIND, nullptr, nullptr);
  if (headers < 0 || static_cast<std::size_t>(headers) > self->options.max_headers) {
    self->rejected.warn("431 " + request.method + ": more than " + std::to_string(self->options.max_headers) +
                        " headers");
    return self->answer(connection, plain(431, "too many headers\n"), true);
  }
  if (Connection* c = connection_of(connection)) request.params = parse_query(std::exchange(c->query, {}));

  HttpResponse out;
  try {
    out = self->dispatch(request);
  } catch (const std::exception& e) {
    self->rejected.warn("500 " + request.method + ": " + e.what());
    out = plain(500, "internal error\n");
  }
  if (out.status == 400) {
    // A 400 only comes from a known path (unknown ones are 404), so the path is one of ours: safe to log.
    std::string why = out.body.substr(0, 200);
    std::replace(why.begin(), why.end(), '\n', ' ');
    self->rejected.warn("400 " + request.method + " " + request.path + ": " + why);
    close = true;
  }
  return self->answer(connection, out, close);
}

MHD_Result HttpServer::Impl::answer(MHD_Connection* connection, const HttpResponse& out, bool close) const {
  MHD_Response* response = MHD_create_response_from_buffer(out.body.size(), const_cast<char*>(out.body.data()),
                                                            MHD_RESPMEM_MUST_COPY);
  if (!response) return MHD_NO;  // out of memory: libmicrohttpd closes the connection
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, out.content_type.c_str());
  for (const auto& [k, v] : out.headers) MHD_add_response_header(response, k.c_str(), v.c_str());
  if (close) MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
  const MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned int>(out.status), response);
  MHD_destroy_response(response);
  return queued;
}

HttpServer::HttpServer(const StateSource& source, const Policy& policy, HttpOptions options)
    : impl_(std::make_unique<Impl>(source, policy, std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

int HttpServer::start() {
  Impl& s = *impl_;
  const HttpOptions& o = s.options;
  const Listener l = listen_on(o.address, o.port);
  unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC;
  if (l.ipv6) flags |= MHD_USE_IPv6;
  const unsigned int threads = static_cast<unsigned int>(std::max(1, o.threads));
  s.daemon = MHD_start_daemon(
      flags, 0, &Impl::on_accept, &s, &Impl::on_request, &s,                              //
      MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(l.fd),                            //
      MHD_OPTION_THREAD_POOL_SIZE, threads,                                               //
      MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned int>(o.max_connections + kAcceptSlack + threads),  //
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, static_cast<unsigned int>(o.max_connections_per_ip),  //
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, o.connection_memory,                            //
      MHD_OPTION_CONNECTION_TIMEOUT, whole_seconds_at_least_one(o.idle_timeout),          //
      MHD_OPTION_NOTIFY_CONNECTION, &Impl::on_connection, &s,                             //
      MHD_OPTION_URI_LOG_CALLBACK, &Impl::on_uri, &s,                                     //
      MHD_OPTION_NOTIFY_COMPLETED, &Impl::on_completed, &s,                               //
      MHD_OPTION_END);
  if (!s.daemon) {
    // No close here: libmicrohttpd 0.9.75 already closes the socket it was given on almost every failure
    // path of MHD_start_daemon, and closing it twice could close a descriptor another thread just opened.
    throw std::runtime_error("HTTP server did not start on " + o.address + ":" + std::to_string(l.port));
  }
  s.watchdog.start();
  return l.port;
}

void HttpServer::stop() {
  if (!impl_ || !impl_->daemon) return;
  Impl& s = *impl_;
  // No MHD_quiesce_daemon: in libmicrohttpd 0.9.75 it deletes the listening socket from each worker's epoll
  // set from this thread while a busy worker may delete it too, and the loser aborts the process (see
  // docs/http.md). MHD_stop_daemon signals and joins the workers first, then closes the socket we handed it
  // with MHD_OPTION_LISTEN_SOCKET: from start() on, libmicrohttpd owns it.
  // Nor may a connection be left open when MHD_stop_daemon flags the workers: from then on, in 0.9.75,
  // MHD_queue_response returns MHD_YES without queuing anything, and the error answers libmicrohttpd sends
  // itself (a malformed request: 400, 431, 505) go on to build the headers of that missing response, a NULL
  // dereference in a worker (docs/http.md). So new connections are refused, every open one is shut down
  // (libmicrohttpd then closes it: its read ends, its answer cannot be sent), and stop waits for that,
  // bounded.
  s.stopping = true;
  const auto bound = SteadyClock::now() + kCloseBeforeStop;
  while (s.watchdog.shut_all() > 0 && SteadyClock::now() < bound)
    std::this_thread::sleep_for(milliseconds(1));
  MHD_stop_daemon(s.daemon);  // closes every connection and joins its threads; handlers are short
  s.daemon = nullptr;
  s.watchdog.stop();
}

}  // namespace isrguard::service
