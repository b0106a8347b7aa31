#pragma once

// Running an executable under test: spawn with stdout/stderr to files, read them back, find the HTTP port
// isrguard logs on start-up.
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/await.h"

extern char** environ;

namespace isrguard::testing {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Spawns `bin args...` with stdout/stderr to the given files. Returns the pid (-1 on failure).
inline pid_t spawn(const std::string& bin, const std::vector<std::string>& args, const std::string& out,
                   const std::string& err) {
  std::vector<char*> argv;
  std::string b = bin;
  argv.push_back(b.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  if (posix_spawn(&pid, b.c_str(), &fa, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

// The HTTP port isrguard logs on start-up ("listening on 127.0.0.1:<port>"), or 0 if not within 20 s.
inline int await_listening_port(const std::string& err_path) {
  int port = 0;
  await(
      [&] {
        std::smatch m;
        const auto log = slurp(err_path);
        if (std::regex_search(log, m, std::regex(R"(listening on 127\.0\.0\.1:(\d+))")))
          port = std::stoi(m[1]);
        return port > 0;
      },
      std::chrono::seconds(20));
  return port;
}

}  // namespace isrguard::testing
