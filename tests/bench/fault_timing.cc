// Time to /readyz 503 per fault, with the flags users deploy: the real isrguard binary against kafkasim (in
// this process), each fault injected `--runs` times once the gate is open, /readyz read every 5 ms. Prints
// the docs/faults.md table (scripts/bench-faults writes it there). A benchmark: never run by ctest.
//
//   fault_timing [--runs 20] [--only NAME-PREFIX] [--isrguard PATH]
//   fault_timing --soak SECONDS [--idle-timeout MS] [--isrguard PATH]
//
// --isrguard runs another build of the binary (e.g. one before a change) against the same faults.
// Flags of isrguard: the shipped defaults (--poll-interval 2s, --probe-timeout 10s, --broker-slow-after 2s)
// except --recovery-hold 1s, which only delays opening (each run waits for the gate to open first).
//
// --soak: no fault. The binary with the shipped defaults (recovery hold included) against a healthy kafkasim
// whose brokers close every connection idle for --idle-timeout (default 1000 ms: shorter than the gap
// between two probes, so librdkafka finds its connections reaped and reconnects before every probe, as
// connections.max.idle.ms does). Once /readyz first answers 200, it is read every 50 ms for SECONDS; prints
// the reads, how many were not 200 (each one logged), the idle closes kafkasim made and the gate's
// transitions. Exit 1 when any read was not 200.
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/kafkasim/cluster.h"
#include "tests/support/await.h"
#include "tests/support/binary_process.h"

namespace isrguard {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

struct Fault {
  std::string name;       // the table's row
  std::string acceptance;  // the bound it is held to (docs/faults.md)
  std::function<void(kafkasim::Cluster&)> inject, clear;
};

std::vector<Fault> faults() {
  return {
      {"killed (listener closed, connections reset, still in metadata)", "<= 1 s",
       [](kafkasim::Cluster& c) { c.broker_kill(2); }, [](kafkasim::Cluster& c) { c.broker_up(2); }},
      {"restarted between two probes (killed, back 200 ms later)", "closed",
       [](kafkasim::Cluster& c) {
         c.broker_kill(3);
         std::this_thread::sleep_for(milliseconds(200));
         c.broker_up(3);
       },
       [](kafkasim::Cluster&) {}},
      {"frozen (accepts, reads, never answers)", "<= 1.2 x 2 s + 2 s + 0.5 s = 4.9 s",
       [](kafkasim::Cluster& c) { c.broker_hang(2); }, [](kafkasim::Cluster& c) { c.broker_up(2); }},
      {"slow (every answer 4 s late)", "<= 4.9 s",
       [](kafkasim::Cluster& c) { c.set_latency(2, seconds(4)); },
       [](kafkasim::Cluster& c) { c.set_latency(2, milliseconds(0)); }},
      {"network partition of one broker (connections black-holed)", "<= 4.9 s",
       [](kafkasim::Cluster& c) { c.broker_partition(2); }, [](kafkasim::Cluster& c) { c.broker_up(2); }},
  };
}

kafkasim::ClusterSpec three_brokers() {
  kafkasim::ClusterSpec spec = kafkasim::make_cluster({1, 2, 3});  // controller 1
  spec.broker_defaults = {{"min.insync.replicas", "2"}};
  spec.topics.push_back(kafkasim::make_topic("orders", kafkasim::round_robin_partitions(6, 3, {1, 2, 3})));
  return spec;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::min<double>(static_cast<double>(v.size()) - 1,
                                                           p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

// Times to 503 (seconds) of `runs` injections of `f`; empty when isrguard never became ready.
std::vector<double> measure(const Fault& f, int runs, const std::string& binary) {
  kafkasim::Cluster sim(three_brokers());
  sim.start();
  const std::string base = (std::filesystem::temp_directory_path() /
                            ("isrguard-fault-timing-" + std::to_string(getpid()))).string();
  const pid_t pid = testing::spawn_binary(binary, {"--bootstrap-servers", sim.bootstrap_servers(), "--http-address", "127.0.0.1",
                                    "--http-port", "0", "--health-port", "0", "--expected-brokers", "1-3",
                                    "--recovery-hold", "1s"},
                                   base + ".out", base + ".err");
  std::vector<double> out;
  const int port = testing::await_listening_port(base + ".err");
  httplib::Client http("127.0.0.1", port);
  auto code = [&] {
    auto r = http.Get("/readyz");
    return r ? r->status : -1;
  };
  for (int i = 0; port > 0 && i < runs; ++i) {
    if (!testing::await([&] { return code() == 200; }, seconds(120), milliseconds(20))) {
      std::cerr << f.name << ": not ready again after run " << i << "\n" << testing::slurp(base + ".err");
      break;
    }
    const auto t0 = Clock::now();
    f.inject(sim);
    if (!testing::await([&] { return code() == 503; }, seconds(60), milliseconds(5))) {
      std::cerr << f.name << ": never closed in run " << i << "\n";
      break;
    }
    out.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    f.clear(sim);
    std::cerr << f.name << " run " << i + 1 << ": " << out.back() << " s\n";
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  return out;
}

// The --soak mode (see the top). Returns the process exit code.
int soak(seconds length, milliseconds idle, const std::string& binary) {
  kafkasim::Cluster sim(three_brokers());
  sim.set_idle_timeout(idle);
  sim.start();
  const std::string base =
      (std::filesystem::temp_directory_path() / ("isrguard-soak-" + std::to_string(getpid()))).string();
  const pid_t pid =
      testing::spawn_binary(binary,
                            {"--bootstrap-servers", sim.bootstrap_servers(), "--http-address", "127.0.0.1",
                             "--http-port", "0", "--health-port", "0", "--expected-brokers", "1-3"},
                            base + ".out", base + ".err");
  auto stop = [&] {
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
  };
  const int port = testing::await_listening_port(base + ".err");
  if (port <= 0) {
    std::cerr << "soak: isrguard did not start\n" << testing::slurp(base + ".err");
    stop();
    return 2;
  }
  httplib::Client http("127.0.0.1", port);
  const auto t_spawn = Clock::now();
  if (!testing::await(
          [&] {
            auto r = http.Get("/readyz");
            return r && r->status == 200;
          },
          seconds(120), milliseconds(20))) {
    std::cerr << "soak: /readyz never answered 200\n" << testing::slurp(base + ".err");
    stop();
    return 2;
  }
  const auto t0 = Clock::now();
  const std::uint64_t idle_before = sim.idle_closes();
  std::uint64_t reads = 0, not_ok = 0;
  while (Clock::now() - t0 < length) {
    auto r = http.Get("/readyz");
    ++reads;
    if (!r || r->status != 200) {
      ++not_ok;
      std::cerr << "soak: at " << std::chrono::duration<double>(Clock::now() - t0).count() << " s /readyz "
                << (r ? std::to_string(r->status) + " " + r->body : std::string("no answer")) << "\n";
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  const std::uint64_t idle_closes = sim.idle_closes() - idle_before;
  std::string transitions = "?";
  if (auto st = http.Get("/v1/status"); st && st->status == 200) {
    const auto at = st->body.find("\"transitions\":");
    if (at != std::string::npos) {
      const auto from = st->body.find_first_not_of(' ', at + 14);
      transitions = st->body.substr(from, st->body.find_first_of(",}", from) - from);
    }
  }
  stop();
  const double ready_after = std::chrono::duration<double>(t0 - t_spawn).count();
  std::printf(
      "soak: %lld s, kafkasim idle timeout %lld ms: %llu /readyz reads (every 50 ms, after the first 200 "
      "at %.1f s), %llu not 200; kafkasim closed %llu idle connections; gate transitions %s\n",
      static_cast<long long>(length.count()), static_cast<long long>(idle.count()),
      static_cast<unsigned long long>(reads), ready_after, static_cast<unsigned long long>(not_ok),
      static_cast<unsigned long long>(idle_closes), transitions.c_str());
  return not_ok == 0 ? 0 : 1;
}

}  // namespace
}  // namespace isrguard

int main(int argc, char** argv) {
  int runs = 20;
  int soak_seconds = 0;
  int idle_ms = 1000;
  std::string only;
  std::string binary = ISRGUARD_BIN;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--runs") {
      runs = std::atoi(argv[i + 1]);
    } else if (flag == "--only") {
      only = argv[i + 1];
    } else if (flag == "--isrguard") {
      binary = argv[i + 1];
    } else if (flag == "--soak") {
      soak_seconds = std::atoi(argv[i + 1]);
    } else if (flag == "--idle-timeout") {
      idle_ms = std::atoi(argv[i + 1]);
    } else {
      runs = 0;  // usage
      break;
    }
  }
  if (runs < 1 || (argc % 2) == 0 || soak_seconds < 0 || idle_ms < 1) {
    std::cerr << "usage: fault_timing [--runs N] [--only NAME-PREFIX] [--isrguard PATH]\n"
                 "       fault_timing --soak SECONDS [--idle-timeout MS] [--isrguard PATH]\n";
    return 2;
  }
  if (soak_seconds > 0)
    return isrguard::soak(std::chrono::seconds(soak_seconds), std::chrono::milliseconds(idle_ms), binary);
  std::cout << "| fault (kafkasim, shipped defaults) | runs | time to 503 p50 | p99 | max | acceptance |\n"
            << "|---|---|---|---|---|---|\n";
  for (const auto& f : isrguard::faults()) {
    if (!only.empty() && f.name.rfind(only, 0) != 0) continue;
    const auto t = isrguard::measure(f, runs, binary);
    if (t.empty()) {
      std::cout << "| " << f.name << " | 0 | - | - | - | " << f.acceptance << " |\n";
      continue;
    }
    char row[256];
    std::snprintf(row, sizeof row, "| %d | %.2f s | %.2f s | %.2f s | ", static_cast<int>(t.size()),
                  isrguard::percentile(t, 0.5), isrguard::percentile(t, 0.99),
                  *std::max_element(t.begin(), t.end()));
    std::cout << "| " << f.name << " " << row << f.acceptance << " |" << std::endl;
  }
  return 0;
}
