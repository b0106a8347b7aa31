#pragma once

// Reads a Pod through the Kubernetes API server for the eviction webhook's label and annotation rules
// (service/judge/eviction.h, BrokerIdKeyRule): GET /api/v1/namespaces/NS/pods/NAME over HTTPS with the
// service account's bearer token. libcurl (Debian's OpenSSL flavour, the TLS library librdkafka already
// brings) is included only in kube_client.cc.
//
// Per read, bounded by min(`timeout`, the caller's deadline), connection and TLS handshake included:
//   - the token file is read again (at most kMaxTokenBytes, surrounding blanks trimmed) so a rotated bound
//     token (the kubelet replaces it about hourly) is used from the next read on; when it cannot be read, or
//     is empty or holds bytes a bearer token cannot, the last good token is used, and with none the read
//     fails (kFailed): an anonymous request is never sent;
//   - only https://, no redirects followed, the server verified against `ca_file` (re-read for each new
//     connection), the body capped at kMaxPodBytes (kTooLarge);
//   - the token goes into the Authorization header only: never into a log line, an error or a detail.
// Idle connections are kept (at most kMaxIdleHandles) so a drain's evictions reuse one TLS session.
// Thread-safe: concurrent reads use separate connections.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/judge/eviction.h"
#include "service/views/state.h"

namespace isrguard::service {

struct KubeApiOptions {
  std::string url;         // https://host[:port], no path
  std::string token_file;  // the bearer token, re-read for every read
  std::string ca_file;     // PEM bundle the API server's certificate must chain to
  std::chrono::milliseconds timeout{std::chrono::seconds(2)};  // bound of one read
};

inline constexpr std::size_t kMaxTokenBytes = 64 * 1024;
inline constexpr std::size_t kMaxIdleHandles = 4;

// The seam between the webhook and the API server. Thread-safe.
class PodReader {
 public:
  virtual ~PodReader() = default;
  // Pod `ns`/`name`'s metadata, or why it could not be read, by `deadline` (steady clock).
  virtual PodLookup read_pod(std::string_view ns, std::string_view name,
                             SteadyClock::time_point deadline) = 0;
};

class KubeClient final : public PodReader {
 public:
  explicit KubeClient(KubeApiOptions options);
  ~KubeClient() override;
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  PodLookup read_pod(std::string_view ns, std::string_view name, SteadyClock::time_point deadline) override;

 private:
  struct Handle;
  const KubeApiOptions options_;
  std::mutex mu_;
  std::optional<std::string> token_;  // the last good token (guarded by mu_)
  bool token_warned_ = false;         // guarded by mu_: one warning per stretch of unreadable token files
  std::vector<std::unique_ptr<Handle>> idle_;  // guarded by mu_

  std::optional<std::string> current_token();
  std::unique_ptr<Handle> take_handle();
  void give_back(std::unique_ptr<Handle> h);
};

}  // namespace isrguard::service
