// Time to /readyz 503 per fault, with the flags users deploy: the real isrguard binary against kafkasim (in
// this process), each fault injected `--runs` times once the gate is open, /readyz read every 5 ms. Prints
// the docs/faults.md table (scripts/bench-faults writes it there). A benchmark: never run by ctest.
//
//   fault_timing [--runs 20] [--only NAME-PREFIX] [--isrguard PATH]
//
// --isrguard runs another build of the binary (e.g. one before a change) against the same faults.
// Flags of isrguard: the shipped defaults (--poll-interval 2s, --probe-timeout 10s, --broker-slow-after 2s)
// except --recovery-hold 1s, which only delays opening (each run waits for the gate to open first).
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
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

}  // namespace
}  // namespace isrguard

int main(int argc, char** argv) {
  int runs = 20;
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
    } else {
      std::cerr << "usage: fault_timing [--runs N] [--only NAME-PREFIX] [--isrguard PATH]\n";
      return 2;
    }
  }
  if (runs < 1 || (argc % 2) == 0) {
    std::cerr << "usage: fault_timing [--runs N] [--only NAME-PREFIX] [--isrguard PATH]\n";
    return 2;
  }
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
