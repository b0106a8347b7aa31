// The cpp-httplib adapter on a real socket: 127.0.0.1, ephemeral port.
#include "service/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <future>
#include <thread>

#include "service/probe_loop.h"
#include "tests/support/builders.h"
#include "tests/support/scripted_source.h"

namespace isrguard::service {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Served : ::testing::Test {
  Served() {
    policy = Policy::with_defaults();
    policy.compile();
    loop = std::make_unique<ProbeLoop>(source, policy, GateConfig{milliseconds(0)}, seconds(60));
    options.address = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    options.request_timeout = seconds(2);
    options.idle_timeout = seconds(2);
  }
  testing::ScriptedSource source;
  Policy policy;
  std::unique_ptr<ProbeLoop> loop;
  HttpOptions options;
};

TEST_F(Served, AnswersReadinessFromCachedState) {
  HttpServer server(*loop, options);
  const int port = server.start();
  ASSERT_GT(port, 0);
  httplib::Client client("127.0.0.1", port);

  auto before = client.Get("/readyz");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 503);

  source.set(testing::ok(
      testing::SnapshotBuilder().brokers({1}).topic(testing::healthy_topic("t", 1, 1, {1}, 1)).build()));
  loop->run_once(SteadyClock::now(), std::chrono::system_clock::now());
  auto after = client.Get("/readyz");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(after->body, "ok\n");

  auto status = client.Get("/v1/status");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->status, 200);
  EXPECT_EQ(status->get_header_value("Content-Type"), "application/json");

  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics->body.find("\nisrguard_ready 1\n"), std::string::npos);

  EXPECT_EQ(client.Get("/favicon.ico")->status, 404);
  auto post = client.Post("/readyz", "", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
  server.stop();
}

TEST_F(Served, QueryParametersReachTheApi) {
  HttpServer server(*loop, options);
  httplib::Client client("127.0.0.1", server.start());
  auto bad = client.Get("/v1/partitions?state=nonsense");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  auto verbose = client.Get("/readyz?verbose");
  ASSERT_TRUE(verbose);
  EXPECT_NE(verbose->body.find("[-]first_probe failed"), std::string::npos) << verbose->body;
}

TEST_F(Served, StopRightAfterStartIsNotLost) {
  for (int i = 0; i < 20; ++i) {
    HttpServer server(*loop, options);
    server.start();
    auto stopped = std::async(std::launch::async, [&] { server.stop(); });
    ASSERT_EQ(stopped.wait_for(seconds(10)), std::future_status::ready) << "stop() hung at iteration " << i;
  }
}

TEST_F(Served, ManyConcurrentClientsAreAllAnsweredByTheBoundedPool) {
  HttpServer server(*loop, options);
  const int port = server.start();
  constexpr int kClients = 32;
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(false);
      for (int k = 0; k < 5; ++k) {
        auto r = c.Get("/livez");
        if (r && r->status == 200) ++answered;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), kClients * 5);
}

TEST_F(Served, BindingAPortInUseIsAStartUpError) {
  HttpServer first(*loop, options);
  const int port = first.start();
  HttpOptions same = options;
  same.port = port;
  HttpServer second(*loop, same);
  EXPECT_THROW(second.start(), std::runtime_error);
}

TEST_F(Served, SlowClientIsCutOffByTheReadTimeout) {
  options.request_timeout = milliseconds(300);
  HttpServer server(*loop, options);
  const int port = server.start();
  // Open a connection and send half a request line, then nothing.
  httplib::Client probe("127.0.0.1", port);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_GT(::send(fd, "GET /rea", 8, 0), 0);
  // The server closes the connection after the read timeout: recv returns 0 (EOF), or an error.
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[256];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  EXPECT_NE(n, -1) << "server did not close the stalled connection within 10 s";
  ::close(fd);
  // And it still serves others.
  auto r = probe.Get("/livez");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace isrguard::service
