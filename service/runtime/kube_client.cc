#include "service/runtime/kube_client.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>

#include "service/config/value_parsers.h"
#include "service/views/kube_pod.h"

namespace isrguard::service {
namespace {

using Status = PodLookup::Status;

// curl_global_init is called once, before the first handle (the client is made at start-up, one thread).
void init_curl_once() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) throw std::runtime_error(std::string("libcurl init failed: ") + curl_easy_strerror(rc));
}

// The token file's text without surrounding blanks; nullopt when unreadable, larger than kMaxTokenBytes,
// empty, or holding a byte outside visible ASCII (a header must not carry it). The reason, never the text, in
// `why`.
std::optional<std::string> read_token(const std::string& path, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot read the token file " + path;
    return std::nullopt;
  }
  std::string text(kMaxTokenBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxTokenBytes) {
    why = "the token file " + path + " is larger than " + std::to_string(kMaxTokenBytes) + " bytes";
    return std::nullopt;
  }
  text = trim_blanks(text);
  if (text.empty()) {
    why = "the token file " + path + " is empty";
    return std::nullopt;
  }
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    why = "the token file " + path + " holds bytes a bearer token cannot";
    return std::nullopt;
  }
  return text;
}

// The body, up to kMaxPodBytes; one byte more aborts the transfer (CURLE_WRITE_ERROR) with `overflow` set.
struct Body {
  std::string text;
  bool overflow = false;
};

size_t write_body(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<Body*>(user);
  const size_t bytes = size * n;
  if (body->text.size() + bytes > kMaxPodBytes) {
    body->overflow = true;
    return 0;
  }
  body->text.append(data, bytes);
  return bytes;
}

struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
  bool add(const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (!next) return false;
    list = next;
    return true;
  }
};

}  // namespace

struct KubeClient::Handle {
  CURL* curl = nullptr;
  Handle() : curl(curl_easy_init()) {}
  ~Handle() {
    if (curl) curl_easy_cleanup(curl);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
};

KubeClient::KubeClient(KubeApiOptions options) : options_(std::move(options)) { init_curl_once(); }

KubeClient::~KubeClient() = default;

std::optional<std::string> KubeClient::current_token() {
  std::string why;
  auto fresh = read_token(options_.token_file, why);
  std::lock_guard<std::mutex> lock(mu_);
  if (fresh) {
    if (token_warned_) spdlog::info("Kubernetes API token file {} readable again", options_.token_file);
    token_warned_ = false;
    token_ = std::move(fresh);
    return token_;
  }
  if (!token_warned_)
    spdlog::warn("{}; {}", why,
                 token_ ? "using the token read before" : "pod reads fail until it is readable");
  token_warned_ = true;
  return token_;
}

std::unique_ptr<KubeClient::Handle> KubeClient::take_handle() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  auto h = std::make_unique<Handle>();
  return h->curl ? std::move(h) : nullptr;
}

void KubeClient::give_back(std::unique_ptr<Handle> h) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < kMaxIdleHandles) idle_.push_back(std::move(h));
}

PodLookup KubeClient::read_pod(std::string_view ns, std::string_view name, SteadyClock::time_point deadline) {
  if (!is_pod_path_safe(ns, name))
    return {Status::kFailed, {}, "the pod's namespace or name is not a Kubernetes name"};
  const std::string what = "GET " + pod_path(ns, name) + ": ";
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
  const auto bound = std::min(options_.timeout, left);
  if (bound < std::chrono::milliseconds(1))
    return {Status::kTimeout, {}, what + "no time left before the deadline"};
  const auto token = current_token();
  if (!token) return {Status::kFailed, {}, what + "no readable token in " + options_.token_file};
  auto handle = take_handle();
  if (!handle) return {Status::kFailed, {}, what + "libcurl could not make a handle"};
  HeaderList headers;
  if (!headers.add("Authorization: Bearer " + *token) || !headers.add("Accept: application/json"))
    return {Status::kFailed, {}, what + "out of memory"};
  CURL* c = handle->curl;
  Body body;
  char error[CURL_ERROR_SIZE] = {};
  const std::string url = options_.url + pod_path(ns, name);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_CA_CACHE_TIMEOUT, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(bound.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(bound.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);  // the list dies with this call
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, nullptr);
  give_back(std::move(handle));
  if (body.overflow)
    return {Status::kTooLarge, {}, what + "answer larger than " + std::to_string(kMaxPodBytes) + " bytes"};
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return {Status::kTimeout, {}, what + "no answer within " + std::to_string(bound.count()) + "ms"};
  if (rc != CURLE_OK) return {Status::kFailed, {}, what + (error[0] ? error : curl_easy_strerror(rc))};
  return pod_lookup_from_response(status, body.text, ns, name);
}

}  // namespace isrguard::service
