// sim_run: the drain simulator's command line (docs/safety.md).
//   sim_run batch  --size small|large --first S --count N [--repo ROOT] [--set name=value]...
//   sim_run replay --size small|large --seed S [--repo ROOT] [--set name=value]...   (the whole trace)
//   sim_run table  --size small|large --first S --count N [--repo ROOT] [--set name=value]...
//                  (docs/safety.md's table, markdown; --set applies to every row before the row's own)
//   sim_run compare --size small|large --first S --count N [--repo ROOT]   (the PDB and the webhook, side by side)
//   sim_run pdb    --min-available M --pods R,N,T,P --evict I [--dry-run]
//     (pods: R ready, N running not ready, T terminating, P pending; prints the recount and the answer)
// Settings start from the shipped ones read from ROOT/manifests (default: the current directory).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/sim/runner.h"

namespace sim = isrguard::sim;

namespace {

struct Args {
  std::string command;
  std::map<std::string, std::string> opts;
  std::vector<std::pair<std::string, std::string>> sets;
};

Args parse(int argc, char** argv) {
  Args a;
  if (argc > 1) a.command = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--set") {
      const auto eq = v.find('=');
      a.sets.emplace_back(v.substr(0, eq), eq == std::string::npos ? "" : v.substr(eq + 1));
    } else {
      a.opts[k.substr(2)] = v;
    }
  }
  return a;
}

std::string opt(const Args& a, const std::string& k, const std::string& def) {
  const auto it = a.opts.find(k);
  return it == a.opts.end() ? def : it->second;
}

sim::Settings settings_of(const Args& a) {
  sim::Settings s = sim::shipped_settings(opt(a, "repo", "."));
  for (const auto& [k, v] : a.sets) sim::apply_setting(s, k, v);
  return s;
}

sim::Size size_of(const Args& a) { return opt(a, "size", "small") == "large" ? sim::Size::kLarge : sim::Size::kSmall; }

int pdb(const Args& a) {
  std::vector<sim::PdbPod> pods;
  std::stringstream in(opt(a, "pods", ""));
  std::string p;
  for (int i = 0; std::getline(in, p, ','); ++i)
    pods.push_back({"p" + std::to_string(i), p != "P", p == "R", p == "T"});
  const int min_available = std::stoi(opt(a, "min-available", "1"));
  sim::PdbStatus st = sim::recount(pods, min_available, {}, 0);
  std::cout << "expected=" << st.expected << " healthy=" << st.current_healthy << " desired=" << st.desired_healthy
            << " allowed=" << st.disruptions_allowed;
  const int victim = std::stoi(opt(a, "evict", "-1"));
  if (victim >= 0) {
    const auto code = sim::evict(pods.at(static_cast<std::size_t>(victim)), st, 0, a.opts.count("dry-run") > 0);
    std::cout << " eviction=" << static_cast<int>(code);
  }
  std::cout << "\n";
  return 0;
}

struct Row {
  std::string label;
  std::vector<std::pair<std::string, std::string>> sets;
};

std::vector<Row> table_rows() {
  return {
      {"shipped", {}},
      {"poll 2 s", {{"poll_interval", "2000"}}},
      {"poll 15 s", {{"poll_interval", "15000"}}},
      {"poll 30 s", {{"poll_interval", "30000"}}},
      {"probe timeout 30 s", {{"probe_timeout", "30000"}}},
      {"recovery hold 0", {{"recovery_hold", "0"}}},
      {"kubelet 10 s x 3", {{"kubelet_period", "10000"}, {"failure_threshold", "3"}}},
      {"kubelet 30 s x 3", {{"kubelet_period", "30000"}, {"failure_threshold", "3"}}},
      {"broker Ready 2 s after start", {{"broker_ready_after", "2000"}}},
      {"broker start-up 2-5 s", {{"broker_startup_min", "2000"}, {"broker_startup_max", "5000"}}},
      {"parallel drains / budget 3", {{"parallel_drains", "3"}}},
      {"no gate (PDB over brokers only)", {{"gate", "0"}}},
      {"unsafe: hold 0, kubelet 10 s x 3, Ready 2 s",
       {{"recovery_hold", "0"}, {"kubelet_period", "10000"}, {"failure_threshold", "3"}, {"broker_ready_after", "2000"}}},
  };
}

sim::Summary run_row(const Args& a, const std::vector<std::pair<std::string, std::string>>& sets) {
  sim::Settings s = settings_of(a);  // the command line's --set first, then the row's
  for (const auto& [k, v] : sets) sim::apply_setting(s, k, v);
  return sim::run_batch(size_of(a), std::stoull(opt(a, "first", "1")), std::stoll(opt(a, "count", "1000")), s);
}

int table(const Args& a) {
  const std::vector<Row> rows = table_rows();
  std::cout << "| setting | scenarios | grants | violations / M | fault races / M | worst window (s) | mean drain (s) | stuck |\n"
            << "|---|---|---|---|---|---|---|---|\n";
  std::int64_t total = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& r : rows) {
    const auto sum = run_row(a, r.sets);
    total += sum.scenarios;
    const double m = 1e6 / static_cast<double>(sum.scenarios);
    char line[512];
    std::snprintf(line, sizeof line, "| %s | %lld | %lld | %.0f | %.0f | %.1f | %.0f | %lld |\n", r.label.c_str(),
                  static_cast<long long>(sum.scenarios), static_cast<long long>(sum.grants),
                  static_cast<double>(sum.violations) * m, static_cast<double>(sum.races) * m,
                  static_cast<double>(sum.worst_window) / 1000.0, sum.mean_completion_s,
                  static_cast<long long>(sum.stuck));
    std::cout << line << std::flush;
    for (const auto& d : sum.first_details) std::cerr << r.label << ": " << d << "\n";
  }
  const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cerr << total << " scenarios in " << secs << " s\n";
  return 0;
}

// One cell pair of the comparison: violations / M, fault races / M, worst window (s), mean drain (s), stuck.
std::string cells(const sim::Summary& s) {
  const double m = 1e6 / static_cast<double>(s.scenarios);
  char line[256];
  std::snprintf(line, sizeof line, "%.0f | %.0f | %.1f | %.0f | %lld", static_cast<double>(s.violations) * m,
                static_cast<double>(s.races) * m, static_cast<double>(s.worst_window) / 1000.0, s.mean_completion_s,
                static_cast<long long>(s.stuck));
  return line;
}

// The PDB (shipped) and the admission webhook (Settings::webhook) over the same scenarios, row by row; the
// last rows are the webhook's own settings.
int compare(const Args& a) {
  std::vector<Row> rows = table_rows();
  rows.erase(std::remove_if(rows.begin(), rows.end(), [](const Row& r) { return r.label.starts_with("no gate"); }),
             rows.end());
  std::cout << "| setting | scenarios | PDB: violations / M | races / M | worst window (s) | mean drain (s) | stuck "
               "| webhook: violations / M | races / M | worst window (s) | mean drain (s) | stuck |\n"
            << "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& r : rows) {
    const auto pdb = run_row(a, r.sets);
    auto sets = r.sets;
    sets.emplace_back("webhook", "1");
    const auto hook = run_row(a, sets);
    std::cout << "| " << r.label << " | " << pdb.scenarios << " | " << cells(pdb) << " | " << cells(hook) << " |\n"
              << std::flush;
    for (const auto& d : hook.first_details) std::cerr << r.label << " (webhook): " << d << "\n";
  }
  const std::vector<Row> own = {
      {"webhook fresh within 30 s", {{"webhook_fresh_within", "30000"}}},
      {"webhook timeout 2 s", {{"webhook_timeout", "2000"}}},
      {"webhook without grant memory", {{"webhook_grants", "0"}}},
  };
  for (const auto& r : own) {
    auto sets = r.sets;
    sets.emplace_back("webhook", "1");
    const auto hook = run_row(a, sets);
    std::cout << "| " << r.label << " | " << hook.scenarios << " | - | - | - | - | - | " << cells(hook) << " |\n"
              << std::flush;
  }
  const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cerr << "compare: " << secs << " s\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  try {
    if (a.command == "pdb") return pdb(a);
    if (a.command == "table") return table(a);
    if (a.command == "compare") return compare(a);
    const sim::Settings s = settings_of(a);
    if (a.command == "replay") {
      const auto spec = sim::make_spec(std::stoull(opt(a, "seed", "1")), size_of(a));
      const auto o = sim::run_scenario(spec, s, true);
      std::cout << o.trace << "driver=" << sim::to_string(spec.driver) << " fault=" << sim::to_string(spec.fault)
                << " grants=" << o.grants << " violations=" << o.violations << " races=" << o.races
                << " completed=" << o.completed << " completion_ms=" << o.completion << "\n";
      for (const auto& d : o.details) std::cout << d << "\n";
      return o.violations > 0 ? 1 : 0;
    }
    if (a.command == "batch") {
      const auto t0 = std::chrono::steady_clock::now();
      const auto sum = sim::run_batch(size_of(a), std::stoull(opt(a, "first", "1")),
                                      std::stoll(opt(a, "count", "1000")), s);
      const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::cout << sim::to_string(sum) << "\nseconds=" << secs << "\n";
      return sum.violations > 0 ? 1 : 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "sim_run: " << e.what() << "\n";
    return 2;
  }
  std::cerr << "usage: sim_run batch|replay|table|pdb [options] (see tests/sim/sim_main.cc)\n";
  return 2;
}
