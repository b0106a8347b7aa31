#include "service/runtime/webhook_server.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "service/runtime/http_server.h"

namespace isrguard::service {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxPemBytes = 1024 * 1024;
constexpr unsigned int kMaxChain = 8;  // certificates in the chain file
constexpr auto kRecheckEvery = std::chrono::seconds(1);
constexpr auto kKeepRetired = std::chrono::minutes(1);
constexpr const char* kPath = "/validate-eviction";

// One loaded certificate chain and key; freed only when no handshake can still use it (kKeepRetired).
struct Credentials {
  std::array<gnutls_pcert_st, kMaxChain> certs{};
  unsigned int count = 0;
  gnutls_privkey_t key = nullptr;

  Credentials() = default;
  Credentials(const Credentials&) = delete;
  Credentials& operator=(const Credentials&) = delete;
  ~Credentials() {
    for (unsigned int i = 0; i < count; ++i) gnutls_pcert_deinit(&certs[i]);
    if (key) gnutls_privkey_deinit(key);
  }
};

using FileId = std::tuple<dev_t, ino_t, off_t, long, long>;

std::optional<FileId> file_id(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
}

std::string read_pem(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string("cannot read the webhook ") + what + " file " + path);
  std::string text(kMaxPemBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxPemBytes)
    throw std::runtime_error(std::string("webhook ") + what + " file " + path + " is larger than 1 MiB");
  return text;
}

gnutls_datum_t datum(std::string& s) {
  return gnutls_datum_t{reinterpret_cast<unsigned char*>(s.data()), static_cast<unsigned int>(s.size())};
}

// Throws std::runtime_error naming the file (never its content) when either does not load.
std::shared_ptr<Credentials> load_credentials(const std::string& cert_file, const std::string& key_file) {
  std::string cert = read_pem(cert_file, "certificate"), key = read_pem(key_file, "key");
  auto c = std::make_shared<Credentials>();
  unsigned int count = kMaxChain;
  gnutls_datum_t cd = datum(cert);
  int rc = gnutls_pcert_list_import_x509_raw(c->certs.data(), &count, &cd, GNUTLS_X509_FMT_PEM, 0);
  if (rc < 0 || count == 0)
    throw std::runtime_error("webhook certificate file " + cert_file + ": " + gnutls_strerror(rc));
  c->count = count;
  gnutls_datum_t kd = datum(key);
  rc = gnutls_privkey_init(&c->key);
  if (rc >= 0) rc = gnutls_privkey_import_x509_raw(c->key, &kd, GNUTLS_X509_FMT_PEM, nullptr, 0);
  std::fill(key.begin(), key.end(), '\0');
  if (rc < 0) throw std::runtime_error("webhook key file " + key_file + ": " + gnutls_strerror(rc));
  return c;
}

// The credentials in force, re-read when the files change. Thread-safe.
class CertStore {
 public:
  CertStore(std::string cert_file, std::string key_file)
      : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {
    ids_ = {file_id(cert_file_), file_id(key_file_)};
    current_ = load_credentials(cert_file_, key_file_);
    checked_ = Clock::now();
  }

  const Credentials* current() {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = Clock::now();
    if (now - checked_ >= kRecheckEvery) {
      checked_ = now;
      reload_if_changed(now);
    }
    return current_.get();
  }

 private:
  void reload_if_changed(Clock::time_point now) {
    const std::pair<std::optional<FileId>, std::optional<FileId>> ids{file_id(cert_file_), file_id(key_file_)};
    if (ids == ids_) return;
    ids_ = ids;
    std::erase_if(retired_, [&](const auto& r) { return now - r.first >= kKeepRetired; });
    try {
      auto next = load_credentials(cert_file_, key_file_);
      retired_.emplace_back(now, std::exchange(current_, std::move(next)));
      spdlog::info("webhook certificate reloaded from {}", cert_file_);
    } catch (const std::exception& e) {
      spdlog::warn("webhook certificate not reloaded, keeping the previous one: {}", e.what());
    }
  }

  const std::string cert_file_, key_file_;
  std::mutex mu_;
  std::shared_ptr<Credentials> current_;                                    // guarded by mu_
  std::vector<std::pair<Clock::time_point, std::shared_ptr<Credentials>>> retired_;  // guarded by mu_
  std::pair<std::optional<FileId>, std::optional<FileId>> ids_;              // guarded by mu_
  Clock::time_point checked_{};                                              // guarded by mu_
};

std::atomic<CertStore*> g_store{nullptr};  // the running WebhookServer's (GnuTLS gives the callback no pointer)

int retrieve_certificate(gnutls_session_t, const gnutls_datum_t*, int, const gnutls_pk_algorithm_t*, int,
                         gnutls_pcert_st** pcert, unsigned int* pcert_length, gnutls_privkey_t* key) {
  CertStore* store = g_store.load();
  const Credentials* c = store ? store->current() : nullptr;
  if (!c) return -1;
  *pcert = const_cast<gnutls_pcert_st*>(c->certs.data());
  *pcert_length = c->count;
  *key = c->key;
  return 0;
}

// A body past kMaxAdmissionReviewBytes is read on and dropped up to kMaxDiscardBytes, so that the client, still
// sending, reads the 400 rather than a reset connection; beyond that the connection is closed.
constexpr std::size_t kMaxDiscardBytes = 1024 * 1024;

struct Body {
  std::string data;
  std::size_t received = 0;
  bool oversized = false;
};

MHD_Result queue(MHD_Connection* connection, const HttpResponse& out) {
  MHD_Response* response = MHD_create_response_from_buffer(out.body.size(), const_cast<char*>(out.body.data()),
                                                            MHD_RESPMEM_MUST_COPY);
  if (!response) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, out.content_type.c_str());
  const MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned int>(out.status), response);
  MHD_destroy_response(response);
  return queued;
}

HttpResponse plain(int status, std::string text) {
  return HttpResponse{status, "text/plain; charset=utf-8", std::move(text) + "\n", {}};
}

// The first call for a request: 404 / 405 / 400 (a declared body too large) at once, or nullopt to read the body.
std::optional<HttpResponse> reject_early(MHD_Connection* connection, const char* url, const char* method) {
  if (std::strcmp(url, kPath) != 0) return plain(404, "not found; the eviction webhook is POST /validate-eviction");
  if (std::strcmp(method, "POST") != 0) return plain(405, "method not allowed; POST an AdmissionReview");
  const char* length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (length && std::strtoull(length, nullptr, 10) > kMaxDiscardBytes)
    return plain(400, "invalid AdmissionReview: body larger than " + std::to_string(kMaxAdmissionReviewBytes) +
                          " bytes");
  return std::nullopt;
}

}  // namespace

struct WebhookServer::Impl {
  EvictionWebhook& webhook;
  WebhookServerOptions options;
  std::unique_ptr<CertStore> store;
  MHD_Daemon* daemon = nullptr;

  static MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url, const char* method,
                               const char*, const char* upload_data, size_t* upload_data_size,
                               void** request_context) {
    auto* self = static_cast<Impl*>(cls);
    auto* body = static_cast<Body*>(*request_context);
    if (!body) {
      if (const auto early = reject_early(connection, url, method)) return queue(connection, *early);
      *request_context = new Body();
      return MHD_YES;
    }
    if (*upload_data_size > 0) {
      body->received += *upload_data_size;
      if (body->received > kMaxDiscardBytes) return MHD_NO;  // closes the connection
      body->oversized = body->oversized || body->received > kMaxAdmissionReviewBytes;
      if (!body->oversized) body->data.append(upload_data, *upload_data_size);
      *upload_data_size = 0;
      return MHD_YES;
    }
    if (body->oversized) return queue(connection, self->webhook.handle_oversized());
    return queue(connection, self->webhook.handle(body->data));
  }

  static void on_completed(void*, MHD_Connection*, void** request_context, MHD_RequestTerminationCode) {
    delete static_cast<Body*>(*request_context);
    *request_context = nullptr;
  }
};

WebhookServer::WebhookServer(EvictionWebhook& webhook, WebhookServerOptions options)
    : impl_(new Impl{webhook, std::move(options), nullptr, nullptr}) {}

WebhookServer::~WebhookServer() { stop(); }

int WebhookServer::start() {
  Impl& s = *impl_;
  s.store = std::make_unique<CertStore>(s.options.cert_file, s.options.key_file);
  CertStore* expected = nullptr;
  if (!g_store.compare_exchange_strong(expected, s.store.get()))
    throw std::runtime_error("another webhook listener is running in this process");
  const Listener l = listen_on(s.options.address, s.options.port);
  unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS;
  if (l.ipv6) flags |= MHD_USE_IPv6;
  const unsigned int idle = static_cast<unsigned int>(std::max<long long>(
      1, std::chrono::ceil<std::chrono::seconds>(s.options.idle_timeout).count()));
  s.daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &Impl::on_request, &s,              //
                              MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(l.fd),        //
                              MHD_OPTION_HTTPS_CERT_CALLBACK, &retrieve_certificate,          //
                              MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned int>(s.options.max_connections),
                              MHD_OPTION_CONNECTION_TIMEOUT, idle,                            //
                              MHD_OPTION_NOTIFY_COMPLETED, &Impl::on_completed, &s,           //
                              MHD_OPTION_END);
  if (!s.daemon) {  // libmicrohttpd 0.9.75 has closed the socket (see http_server.cc)
    g_store.store(nullptr);
    throw std::runtime_error("cannot start the webhook listener on " + s.options.address + ":" +
                             std::to_string(l.port) + " (libmicrohttpd without TLS?)");
  }
  return l.port;
}

void WebhookServer::stop() {
  Impl& s = *impl_;
  if (!s.daemon) return;
  MHD_stop_daemon(s.daemon);  // closes every connection, joins its threads and closes the listening socket
  s.daemon = nullptr;
  g_store.store(nullptr);
}

}  // namespace isrguard::service
