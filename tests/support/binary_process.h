#pragma once

// Running the real isrguard executable from tests: spawn it with stdout/stderr captured to files, find the
// HTTP port it logs, run it to completion. Needs ISRGUARD_BIN (the target's path) defined by the test target.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/await.h"

extern char** environ;

namespace isrguard::testing {

struct Run {
  int exit_code = -1;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Spawns `binary` with stdout/stderr to the files `out` and `err`. Returns the pid.
inline pid_t spawn_binary(std::string bin, const std::vector<std::string>& args, const std::string& out,
                          const std::string& err) {
  std::vector<char*> argv;
  argv.push_back(bin.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

// Spawns the isrguard binary (ISRGUARD_BIN) with stdout/stderr to the files `out` and `err`. Returns the pid.
inline pid_t spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
  return spawn_binary(ISRGUARD_BIN, args, out, err);
}

inline std::string temp_path(const std::string& tag) {
  return (std::filesystem::temp_directory_path() /
          ("isrguard-bin-" + tag + "-" + std::to_string(getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name()))
      .string();
}

// The HTTP port the service logs on start-up ("listening on 127.0.0.1:<port>"), or 0 if not within 20 s.
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

inline Run run(const std::vector<std::string>& args) {
  Run r;
  const auto out = temp_path("out"), err = temp_path("err");
  const pid_t pid = spawn(args, out, err);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

}  // namespace isrguard::testing
