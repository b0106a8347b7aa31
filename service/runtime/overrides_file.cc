#include "service/runtime/overrides_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "service/config/overrides_yaml.h"

namespace isrguard::service {

namespace {

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

}  // namespace

// Opened without blocking (a FIFO without a writer would block open(2) and then read(2) forever, wedging the
// probe loop), refused unless it is a regular file once opened (fstat of what was opened, not of the path,
// so a swap between the check and the read cannot slip a FIFO in), then read at most max_bytes + 1 bytes.
FileRead read_text_file(const std::string& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return FileRead{std::nullopt, "cannot read " + path + ": " + std::strerror(errno)};
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return FileRead{std::nullopt, "cannot read " + path + ": " + std::strerror(errno)};
  if (!S_ISREG(st.st_mode))
    return FileRead{std::nullopt, path + " is " + kind_of(st.st_mode) + ", not a regular file: refused"};
  std::string text(max_bytes + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FileRead{std::nullopt, "cannot read " + path + ": " + std::strerror(errno)};
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  if (text.size() > max_bytes)
    return FileRead{std::nullopt, path + " is larger than " + std::to_string(max_bytes) + " bytes"};
  return FileRead{std::move(text), ""};
}

OverridesFile::OverridesFile(std::string path, std::chrono::milliseconds max_ttl) : max_ttl_(max_ttl) {
  status_.path = std::move(path);
}

const OverridesStatus& OverridesFile::poll(WallClock::time_point now) {
  return offer(read_text_file(status_.path), now);
}

const OverridesStatus& OverridesFile::offer(const FileRead& read, WallClock::time_point now) {
  const std::vector<Override> before = status_.active;
  if (!last_read_ || *last_read_ != read) {
    last_read_ = read;
    load(read, now);
  }
  OverridesAt at = split_expired(set_, now);
  status_.active = std::move(at.active);
  status_.expired = std::move(at.expired);
  status_.as_of = now;
  log_changes(before, now);
  return status_;
}

void OverridesFile::load(const FileRead& read, WallClock::time_point now) {
  const OverridesParse parsed =
      read.text ? parse_overrides(*read.text, now, max_ttl_, PastExpiry{!status_.loaded_at, set_})
                : OverridesParse{std::nullopt, read.error};
  if (parsed.overrides) {
    set_ = *parsed.overrides;
    status_.valid = true;
    status_.error.clear();
    status_.loaded_at = now;
    spdlog::info("overrides file {} loaded: {} entr{}", status_.path, set_.size(),
                 set_.size() == 1 ? "y" : "ies");
    return;
  }
  status_.valid = false;
  status_.error = parsed.error;
  ++status_.reload_errors;
  spdlog::warn("overrides file {} invalid, keeping the last valid set ({} entr{}): {}", status_.path,
               set_.size(), set_.size() == 1 ? "y" : "ies", parsed.error);
}

void OverridesFile::log_changes(const std::vector<Override>& before, WallClock::time_point now) const {
  // The same entry moved to another line (an edit above it) is not a change.
  auto has = [](const std::vector<Override>& v, const Override& o) {
    return std::any_of(v.begin(), v.end(), [&](const Override& x) { return same_entry(x, o); });
  };
  for (const auto& o : before) {
    if (has(status_.active, o)) continue;
    spdlog::info("override {}: {}", has(status_.expired, o) ? "expired" : "lifted", describe(o, now));
  }
  for (const auto& o : status_.active)
    if (!has(before, o)) spdlog::info("override in force: {}", describe(o, now));
}

}  // namespace isrguard::service
