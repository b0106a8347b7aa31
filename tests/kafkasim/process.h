#pragma once

// Test helper: run a child process with its stdout/stderr captured through pipes, with deadlines instead
// of sleeps. Used to drive the kafkasim executable and kcat.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace isrguard::kafkasim::testing {

class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot spawn " + argv[0]);
    }
  }
  ~Child() {
    if (pid_ > 0 && !exit_code_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    ::close(out_fd_);
    ::close(err_fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Next stdout line (without '\n'), or nullopt on EOF / deadline.
  std::optional<std::string> read_line(std::chrono::milliseconds within) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (true) {
      if (auto pos = out_buf_.find('\n'); pos != std::string::npos) {
        std::string line = out_buf_.substr(0, pos);
        out_buf_.erase(0, pos + 1);
        return line;
      }
      if (!pump(deadline)) return std::nullopt;
    }
  }

  // Waits for exit (draining output); returns the exit code, or nullopt on deadline / killed by signal.
  std::optional<int> wait(std::chrono::milliseconds within) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (pump(deadline)) {
    }
    while (!exit_code_) {
      int st = 0;
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        exit_code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_code_;
  }

  void terminate() {
    if (pid_ > 0 && !exit_code_) ::kill(pid_, SIGTERM);
  }

  // All stdout not yet returned by read_line, and all stderr so far.
  const std::string& out() const { return out_buf_; }
  const std::string& err() const { return err_buf_; }

 private:
  // Reads what is available on stdout/stderr until the deadline; false when both hit EOF or time is up.
  bool pump(std::chrono::steady_clock::time_point deadline) {
    if (out_eof_ && err_eof_) return false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd fds[2] = {{out_eof_ ? -1 : out_fd_, POLLIN, 0}, {err_eof_ ? -1 : err_fd_, POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n <= 0) return n == 0 ? false : true;
    char buf[65536];
    if (fds[0].revents) {
      const ssize_t r = ::read(out_fd_, buf, sizeof(buf));
      if (r <= 0)
        out_eof_ = true;
      else
        out_buf_.append(buf, static_cast<size_t>(r));
    }
    if (fds[1].revents) {
      const ssize_t r = ::read(err_fd_, buf, sizeof(buf));
      if (r <= 0)
        err_eof_ = true;
      else
        err_buf_.append(buf, static_cast<size_t>(r));
    }
    return true;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  bool out_eof_ = false;
  bool err_eof_ = false;
  std::string out_buf_;
  std::string err_buf_;
  std::optional<int> exit_code_;
};

// Runs a command to completion; returns {exit code (or -1 on timeout), stdout, stderr}.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
inline RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds within) {
  Child c(argv);
  RunResult r;
  auto code = c.wait(within);
  r.exit_code = code.value_or(-1);
  r.out = c.out();
  r.err = c.err();
  return r;
}

}  // namespace isrguard::kafkasim::testing
