// ConnectionWatch: a dropped connection is a loss only when the broker does not take a new one at once, and
// librdkafka's STATE debug lines parse into transitions.
#include "probes/connection_watch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <vector>

#include "tests/support/await.h"

namespace isrguard::probes {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A listening socket on 127.0.0.1:0 (closed on destruction: its port then refuses connections).
struct Listener {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int port = 0;
  Listener() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { close(); }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

struct Heard {
  std::mutex mu;
  std::vector<ConnectionLoss> losses;
  std::size_t size() {
    std::lock_guard lock(mu);
    return losses.size();
  }
};

TEST(ConnectionWatch, ARefusedReconnectIsALossReportedAndCountedOnce) {
  Listener gone;
  const std::string address = gone.address();
  gone.close();
  ConnectionWatch watch(milliseconds(500));
  Heard heard;
  watch.set_listener([&](const ConnectionLoss& l) {
    std::lock_guard lock(heard.mu);
    heard.losses.push_back(l);
  });
  watch.connection_down(2, address);
  ASSERT_TRUE(testing::await([&] { return heard.size() == 1; }, seconds(10)));
  EXPECT_EQ(heard.losses[0].id, 2);
  EXPECT_EQ(heard.losses[0].detail.rfind("broker 2 (" + address + "): connection lost, reconnect failed: ", 0),
            0u)
      << heard.losses[0].detail;
  const auto heard_at = std::chrono::steady_clock::now();
  EXPECT_TRUE(watch.refused_since(2, heard_at - seconds(5)));
  EXPECT_FALSE(watch.refused_since(2, heard_at + seconds(1)));  // no attempt failed since then
  watch.connect_failed(2);
  EXPECT_TRUE(watch.refused_since(2, heard_at));
  EXPECT_EQ(watch.take_losses(), (std::map<BrokerId, std::uint32_t>{{2, 1}}));
  EXPECT_EQ(watch.take_losses(), (std::map<BrokerId, std::uint32_t>{}));
  watch.connection_up(2);
  EXPECT_FALSE(watch.refused_since(2, heard_at - seconds(5)));
}

TEST(ConnectionWatch, ABrokerThatAcceptsANewConnectionAtOnceClosedAnIdleOneNotALoss) {
  Listener alive;
  Listener gone;
  const std::string refused = gone.address();
  gone.close();
  ConnectionWatch watch(milliseconds(500));
  Heard heard;
  watch.set_listener([&](const ConnectionLoss& l) {
    std::lock_guard lock(heard.mu);
    heard.losses.push_back(l);
  });
  watch.connection_down(1, alive.address());
  watch.connection_down(3, refused);  // checked after broker 1's: once it is heard, 1's check is done
  ASSERT_TRUE(testing::await([&] { return heard.size() == 1; }, seconds(10)));
  EXPECT_EQ(heard.losses[0].id, 3);
  EXPECT_EQ(watch.take_losses(), (std::map<BrokerId, std::uint32_t>{{3, 1}}));
  EXPECT_FALSE(watch.refused_since(1, std::chrono::steady_clock::time_point{}));
}

TEST(ConnectionWatch, AnUnresolvableAddressIsALoss) {
  ConnectionWatch watch(milliseconds(500));
  watch.connection_down(4, "no-such-host.invalid:9092");
  ASSERT_TRUE(testing::await([&] { return watch.take_losses() == std::map<BrokerId, std::uint32_t>{{4, 1}}; },
                              seconds(10)));
}

TEST(BrokerStateChange, ParsesLibrdkafkasStateLines) {
  struct Row {
    std::string line;
    std::optional<BrokerStateChange> want;
  };
  const std::vector<Row> rows = {
      {"[thrd:127.0.0.1:9092/2]: 127.0.0.1:9092/2: Broker changed state UP -> DOWN",
       BrokerStateChange{2, "127.0.0.1:9092", "UP", "DOWN"}},
      {"[thrd:sasl_ssl://kafka-0.kafka:9093/101]: sasl_ssl://kafka-0.kafka:9093/101: Broker changed state "
       "CONNECT -> APIVERSION_QUERY",
       BrokerStateChange{101, "kafka-0.kafka:9093", "CONNECT", "APIVERSION_QUERY"}},
      {"[thrd:app]: 127.0.0.1:9092/7: Broker changed state DOWN -> UP\n",
       BrokerStateChange{7, "127.0.0.1:9092", "DOWN", "UP"}},
      // Bootstrap and internal brokers have no node id: not a known broker.
      {"[thrd:127.0.0.1:9092/bootstrap]: 127.0.0.1:9092/bootstrap: Broker changed state UP -> DOWN",
       std::nullopt},
      {"[thrd::0/internal]: :0/internal: Broker changed state INIT -> UP", std::nullopt},
      {"127.0.0.1:9092/2: Disconnected (after 12ms in state UP)", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& r : rows) EXPECT_EQ(parse_state_change(r.line), r.want) << r.line;
}

}  // namespace
}  // namespace isrguard::probes
