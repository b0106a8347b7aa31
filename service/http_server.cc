#include "service/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace isrguard::service {
namespace {

// httplib's ThreadPool queues without limit. This one holds at most `limit` jobs; enqueue (called by the
// accept thread) waits for room, so a flood of connections backs up in the kernel's listen backlog.
class BoundedPool : public httplib::TaskQueue {
 public:
  BoundedPool(std::size_t threads, std::size_t limit) : limit_(limit) {
    for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~BoundedPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mu_);
    room_.wait(lock, [&] { return jobs_.size() < limit_ || stopping_; });
    if (stopping_) return;  // the server is going away; the connection is closed by the listener teardown
    jobs_.push_back(std::move(fn));
    work_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ && workers_.empty()) return;
      stopping_ = true;
    }
    work_.notify_all();
    room_.notify_all();
    for (auto& t : workers_)
      if (t.joinable()) t.join();
    workers_.clear();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_.wait(lock, [&] { return !jobs_.empty() || stopping_; });
        if (jobs_.empty()) return;  // stopping and drained
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      room_.notify_one();
      fn();
    }
  }

  const std::size_t limit_;
  std::mutex mu_;
  std::condition_variable work_, room_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace

HttpOptions HttpOptions::from_config(const Config& c) {
  HttpOptions o;
  o.address = c.http_address;
  o.port = c.http_port;
  o.threads = c.http_threads;
  o.io_timeout = c.http_timeout;
  o.api = ApiOptions::from_config(c);
  return o;
}

struct HttpServer::Impl {
  Impl(const StateSource& source, const Policy& policy, HttpOptions o)
      : options(std::move(o)), api(source, policy, options.api) {}

  HttpOptions options;
  Api api;
  httplib::Server server;
  std::thread thread;
  bool started = false;
};

HttpServer::HttpServer(const StateSource& source, const Policy& policy, HttpOptions options)
    : impl_(std::make_unique<Impl>(source, policy, std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

int HttpServer::start() {
  auto& s = impl_->server;
  const auto& o = impl_->options;
  const std::size_t threads = static_cast<std::size_t>(std::max(1, o.threads));
  const std::size_t queue_limit = o.queue_limit;
  s.new_task_queue = [threads, queue_limit] { return new BoundedPool(threads, queue_limit); };
  s.set_read_timeout(o.io_timeout);
  s.set_write_timeout(o.io_timeout);
  s.set_keep_alive_timeout(std::max<time_t>(1, std::min<time_t>(5, o.io_timeout.count() / 1000)));
  s.set_keep_alive_max_count(100);
  // httplib's default also sets SO_REUSEPORT, which would let a second isrguard silently share the port.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s.set_tcp_nodelay(true);  // small responses in two writes: avoid Nagle + delayed-ACK stalls (~40 ms)
  s.set_payload_max_length(64 * 1024);  // we accept no bodies; bound what a client can make us read

  auto dispatch = [this](const httplib::Request& req, httplib::Response& res) {
    HttpRequest r;
    r.method = req.method;
    r.path = req.path;
    for (const auto& [k, v] : req.params) r.params.emplace(k, v);
    HttpResponse out = impl_->api.handle(r, SteadyClock::now(), std::chrono::system_clock::now());
    res.status = out.status;
    for (const auto& [k, v] : out.headers) res.set_header(k, v);
    res.set_content(std::move(out.body), out.content_type);
  };
  s.Get(".*", dispatch);
  s.Post(".*", dispatch);
  s.Put(".*", dispatch);
  s.Delete(".*", dispatch);
  s.Patch(".*", dispatch);
  s.Options(".*", dispatch);
  s.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("HTTP {} {}: {}", req.method, req.path, what);
    res.status = 500;
    res.set_content("internal error\n", "text/plain; charset=utf-8");
  });

  const int port =
      o.port == 0 ? s.bind_to_any_port(o.address) : (s.bind_to_port(o.address, o.port) ? o.port : -1);
  if (port < 0) {
    throw std::runtime_error("cannot listen on " + o.address + ":" + std::to_string(o.port) +
                             " (address in use or not available)");
  }
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  impl_->started = true;
  // Wait until the listener runs so a stop() right after start() is not lost (httplib drops it otherwise).
  const auto deadline = SteadyClock::now() + std::chrono::seconds(5);
  while (!s.is_running()) {
    if (SteadyClock::now() > deadline) {
      stop();
      throw std::runtime_error("HTTP server did not start on " + o.address + ":" + std::to_string(port));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return port;
}

void HttpServer::stop() {
  if (!impl_ || !impl_->started) return;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->started = false;
}

}  // namespace isrguard::service
