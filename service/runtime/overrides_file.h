#pragma once

// The overrides file as the probe loop sees it: re-read every poll (a ConfigMap update arrives as a symlink
// swap, so the path is re-opened each time and its content compared), re-parsed only when the content
// changed. An invalid or unreadable file never widens what is allowed: the last valid set stays in force
// (none before the first valid read), the error is reported and counted once per distinct content.
// Every change of the effective set (loaded, lifted, expired) is logged once, with by / why / expires.
//
// Thread-safety: not thread-safe; owned and driven by the probe loop thread. Readers get copies of
// OverridesStatus through PublishedState.

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "service/judge/overrides.h"

namespace isrguard::service {

// The file's bytes, or why they could not be read. Never blocks: anything but a regular file once opened
// (symlinks followed; a FIFO, directory or device) is an error, and so is a file larger than `max_bytes`
// (never read whole).
struct FileRead {
  std::optional<std::string> text;
  std::string error;
  bool operator==(const FileRead&) const = default;
};
inline constexpr std::size_t kMaxOverridesFileBytes = 256 * 1024;
FileRead read_text_file(const std::string& path, std::size_t max_bytes = kMaxOverridesFileBytes);

class OverridesFile {
 public:
  OverridesFile(std::string path, std::chrono::milliseconds max_ttl);

  // Reads the file and updates the status for `now`. Loop thread only.
  const OverridesStatus& poll(WallClock::time_point now);
  // The same step with the read given: for tests and --check-overrides.
  const OverridesStatus& offer(const FileRead& read, WallClock::time_point now);
  const OverridesStatus& status() const { return status_; }

 private:
  void load(const FileRead& read, WallClock::time_point now);
  void log_changes(const std::vector<Override>& before, WallClock::time_point now) const;

  const std::chrono::milliseconds max_ttl_;
  std::optional<FileRead> last_read_;  // to notice changes; a repeated read is not re-parsed or re-counted
  std::vector<Override> set_;          // the last valid set
  OverridesStatus status_;
};

}  // namespace isrguard::service
