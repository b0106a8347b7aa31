// kafkasim: serve a simulated Kafka cluster described by a JSON scenario file (see README.md).
//
//   kafkasim SCENARIO.json [--bootstrap-file F] [--control-port P] [--loop] [--time-scale X] [--manual]
//
// Prints "bootstrap=<host:port,...>" and "control=127.0.0.1:<port>" on stdout once listening, then runs
// until SIGINT/SIGTERM. Exit codes: 0 normal stop, 2 bad arguments or scenario, 1 runtime failure.
#include <pthread.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "tests/kafkasim/cluster.h"
#include "tests/kafkasim/control_server.h"
#include "tests/kafkasim/scenario.h"

namespace ks = isrguard::kafkasim;

namespace {

struct Options {
  std::string scenario_path;
  std::string bootstrap_file;
  int control_port = 0;
  bool loop = false;
  bool manual = false;
  double time_scale = 1.0;
};

// Parses the command line into `o`; an exit code when the program stops here (help, bad arguments).
std::optional<int> parse_options(int argc, char** argv, Options& o) {
  CLI::App app{"kafkasim: simulated Kafka cluster speaking the Kafka wire protocol on 127.0.0.1"};
  app.add_option("scenario", o.scenario_path, "Scenario JSON file")->required();
  app.add_option("--bootstrap-file", o.bootstrap_file,
                 "Also write the bootstrap servers (one line) to this file");
  app.add_option("--control-port", o.control_port, "HTTP control port on 127.0.0.1 (0 = ephemeral, -1 = off)")
      ->check(CLI::Range(-1, 65535));
  app.add_flag("--loop", o.loop, "Repeat the scenario steps forever");
  app.add_flag("--manual", o.manual, "Do not run steps on a clock; only POST /scenario/advance applies them");
  app.add_option("--time-scale", o.time_scale, "Wall seconds per scenario second (0.01 = 100x faster)")
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  return std::nullopt;
}

// Writes to a temporary name and renames, so a script polling for the file never reads half a line.
bool write_bootstrap_file(const std::string& path, const std::string& bootstrap) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << bootstrap << "\n";
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// Serves the scenario until one of `sigs` (blocked in every thread) arrives; returns the exit code.
int serve(ks::Scenario scenario, const Options& o, const sigset_t& sigs) {
  try {
    ks::Cluster cluster(scenario.cluster);
    cluster.start();
    ks::Timeline timeline(cluster, std::move(scenario.steps), scenario.loop_period_s, o.loop);
    ks::ControlServer control(cluster, &timeline);
    int bound_control = -1;
    if (o.control_port >= 0) bound_control = control.start(o.control_port);

    const std::string bootstrap = cluster.bootstrap_servers();
    if (!o.bootstrap_file.empty() && !write_bootstrap_file(o.bootstrap_file, bootstrap)) {
      std::cerr << "kafkasim: cannot write " << o.bootstrap_file << "\n";
      return 1;
    }
    if (bound_control > 0) std::cout << "control=127.0.0.1:" << bound_control << "\n";
    std::cout << "bootstrap=" << bootstrap << std::endl;

    std::thread runner;
    if (!o.manual) runner = std::thread([&] { timeline.run(o.time_scale); });
    int sig = 0;
    sigwait(&sigs, &sig);
    std::cerr << "kafkasim: signal " << sig << ", stopping\n";
    timeline.stop();
    if (runner.joinable()) runner.join();
    control.stop();
    cluster.stop();
  } catch (const std::exception& e) {
    std::cerr << "kafkasim: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const auto exit_code = parse_options(argc, argv, options)) return *exit_code;

  ks::Scenario scenario;
  try {
    scenario = ks::load_scenario_file(options.scenario_path);
  } catch (const ks::ScenarioError& e) {
    std::cerr << "kafkasim: " << e.what() << "\n";
    return 2;
  }

  // Block termination signals in every thread; the main thread waits for them with sigwait.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  return serve(std::move(scenario), options, sigs);
}
