#include "tests/kafkasim/cluster.h"

#include <algorithm>
#include <condition_variable>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <unordered_map>

#include "tests/kafkasim/protocol.h"
#include "tests/kafkasim/sasl.h"

namespace isrguard::kafkasim {

const char* to_string(BrokerStatus s) {
  switch (s) {
    case BrokerStatus::kUp:
      return "up";
    case BrokerStatus::kDown:
      return "down";
    case BrokerStatus::kHung:
      return "hung";
    case BrokerStatus::kKilled:
      return "killed";
    case BrokerStatus::kPartitioned:
      return "partitioned";
  }
  return "unknown";
}

BrokerSpec make_broker(int32_t id, std::optional<std::string> rack) {
  BrokerSpec b;
  b.id = id;
  b.rack = std::move(rack);
  return b;
}

PartitionSpec make_partition(int32_t partition, int32_t leader, std::vector<int32_t> replicas,
                             std::vector<int32_t> isr, int16_t error_code) {
  PartitionSpec p;
  p.partition = partition;
  p.leader = leader;
  p.replicas = std::move(replicas);
  p.isr = std::move(isr);
  p.error_code = error_code;
  return p;
}

TopicSpec make_topic(std::string name, std::vector<PartitionSpec> partitions,
                     std::map<std::string, std::string> configs) {
  TopicSpec t;
  t.name = std::move(name);
  t.partitions = std::move(partitions);
  t.configs = std::move(configs);
  return t;
}

ClusterSpec make_cluster(const std::vector<int32_t>& broker_ids) {
  ClusterSpec s;
  for (int32_t id : broker_ids) s.brokers.push_back(make_broker(id));
  if (!broker_ids.empty()) s.controller_id = broker_ids.front();
  return s;
}

std::vector<PartitionSpec> round_robin_partitions(int32_t partitions, int32_t rf,
                                                  const std::vector<int32_t>& brokers) {
  if (partitions < 0) throw std::invalid_argument("partition count must be >= 0");
  if (rf < 1 || static_cast<size_t>(rf) > brokers.size())
    throw std::invalid_argument("replication factor " + std::to_string(rf) + " needs 1.." +
                                std::to_string(brokers.size()) + " brokers");
  std::vector<PartitionSpec> out;
  out.reserve(static_cast<size_t>(partitions));
  for (int32_t p = 0; p < partitions; ++p) {
    PartitionSpec ps;
    ps.partition = p;
    for (int32_t k = 0; k < rf; ++k)
      ps.replicas.push_back(brokers[(static_cast<size_t>(p + k)) % brokers.size()]);
    ps.isr = ps.replicas;
    ps.leader = ps.replicas.front();
    out.push_back(std::move(ps));
  }
  return out;
}

namespace {

void print_ids(std::ostream& os, const std::vector<int32_t>& v) {
  os << '[';
  for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
  os << ']';
}

bool contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

using proto::ApiVersionRange;

const std::vector<ApiVersionRange>& supported_apis() {
  static const std::vector<ApiVersionRange> apis = {
      {proto::kApiMetadata, 0, proto::kMetadataMaxVersion},
      {proto::kApiApiVersions, 0, 3},
      {proto::kApiDescribeConfigs, 0, proto::kDescribeConfigsMaxVersion},
      // Listed by every Kafka listener (SASL or not), as real brokers do; served by SaslSession.
      {kApiSaslHandshake, 0, 1},
      {kApiSaslAuthenticate, 0, 1},
  };
  return apis;
}

std::string frame_response(int16_t api_key, int16_t version, int32_t correlation_id, const auto& body,
                           int16_t body_version) {
  proto::Writer w;
  proto::ResponseHeader header;
  header.correlation_id = correlation_id;
  proto::encode_response_header(w, header, proto::response_header_version(api_key, version));
  proto::encode(w, body, body_version);
  return w.take();
}

// Topics by name for one request: a request naming all 10,000 topics of a 1M-partition cluster made a linear
// search per name take seconds.
class TopicIndex {
 public:
  explicit TopicIndex(const std::vector<TopicSpec>& topics) : topics_(topics) {}
  const TopicSpec* find(const std::string& name) const {
    if (by_name_.empty() && !topics_.empty()) {
      by_name_.reserve(topics_.size());
      for (const auto& t : topics_) by_name_.try_emplace(t.name, &t);  // first wins, like the linear search
    }
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }

 private:
  const std::vector<TopicSpec>& topics_;
  mutable std::unordered_map<std::string_view, const TopicSpec*> by_name_;  // built on first use
};

// Estimate (from above, but hosts assumed <= 64 bytes: it only sizes a reserve) of an all-topics Metadata
// answer (v8, the largest form): brokers, per topic its fixed fields and name, per partition its fixed fields
// and three id arrays (replicas on down brokers are added to the offline ones).
size_t metadata_size_estimate(const std::vector<TopicSpec>& topics, size_t broker_count) {
  size_t n = 64 + broker_count * (4 + 2 + 64 + 4 + 2 + 64);
  for (const auto& t : topics) {
    n += 2 + 2 + t.name.size() + 1 + 4 + 4;
    for (const auto& p : t.partitions)
      n += 2 + 4 + 4 + 4 + 3 * 4 + 4 * (2 * p.replicas.size() + p.isr.size() + p.offline_replicas.size());
  }
  return n;
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const PartitionSpec& p) {
  os << "{partition=" << p.partition << " leader=" << p.leader << " replicas=";
  print_ids(os, p.replicas);
  os << " isr=";
  print_ids(os, p.isr);
  if (!p.offline_replicas.empty()) {
    os << " offline=";
    print_ids(os, p.offline_replicas);
  }
  return os << " error=" << p.error_code << " epoch=" << p.leader_epoch << "}";
}

std::ostream& operator<<(std::ostream& os, const BrokerSpec& b) {
  os << "{id=" << b.id << " " << b.host << ":" << b.port;
  if (b.rack) os << " rack=" << *b.rack;
  if (b.process_roles) os << " process.roles=" << *b.process_roles;
  for (const auto& [k, v] : b.configs) os << " " << k << "=" << v;
  return os << "}";
}

std::ostream& operator<<(std::ostream& os, const TopicSpec& t) {
  os << "{topic=" << t.name;
  if (t.internal) os << " internal";
  if (t.error_code != 0) os << " error=" << t.error_code;
  for (const auto& [k, v] : t.configs) os << " " << k << "=" << v;
  for (const auto& p : t.partitions) os << "\n    " << p;
  return os << "}";
}

std::ostream& operator<<(std::ostream& os, const ClusterSpec& c) {
  os << "{cluster_id=" << c.cluster_id << " controller=" << c.controller_id;
  for (const auto& [k, v] : c.broker_defaults) os << " " << k << "=" << v;
  for (const auto& b : c.brokers) os << "\n  broker " << b;
  for (const auto& t : c.topics) os << "\n  " << t;
  return os << "}";
}

// ---------------------------------------------------------------------------------------------------------

Cluster::Cluster(ClusterSpec spec) : spec_(std::move(spec)) {
  std::set<int32_t> ids;
  for (auto& b : spec_.brokers) {
    if (!ids.insert(b.id).second) throw std::invalid_argument("duplicate broker id " + std::to_string(b.id));
    auto rt = std::make_unique<BrokerRuntime>();
    rt->view.spec = b;
    brokers_.push_back(std::move(rt));
  }
  spec_.brokers.clear();
  std::set<std::string> names;
  for (const auto& t : spec_.topics)
    if (!names.insert(t.name).second) throw std::invalid_argument("duplicate topic " + t.name);
  if (spec_.controller_id == -1 && !brokers_.empty()) spec_.controller_id = brokers_.front()->view.spec.id;
}

struct Cluster::Flapper {
  std::jthread thread;
};

Cluster::~Cluster() { stop(); }

void Cluster::start_flapping(int32_t id, std::chrono::milliseconds down_for, std::chrono::milliseconds up_for) {
  {
    std::lock_guard lock(mu_);
    broker_locked(id);  // throws for an unknown broker
  }
  stop_flapping(id);
  auto f = std::make_unique<Flapper>();
  f->thread = std::jthread([this, id, down_for, up_for](std::stop_token stop) {
    std::mutex m;
    std::condition_variable_any cv;
    auto pause = [&](std::chrono::milliseconds d) {
      std::unique_lock lock(m);
      cv.wait_for(lock, stop, d, [] { return false; });
      return !stop.stop_requested();
    };
    while (!stop.stop_requested()) {
      broker_down(id);
      remove_from_isrs(id);
      elect_leaders();
      const bool go_on = pause(down_for);
      broker_up(id);
      rejoin_isrs(id);
      elect_leaders(/*preferred=*/true);
      if (!go_on || !pause(up_for)) return;
    }
  });
  std::lock_guard lock(flap_mu_);
  flappers_[id] = std::move(f);
}

void Cluster::stop_flapping(int32_t id) {
  std::unique_ptr<Flapper> f;
  {
    std::lock_guard lock(flap_mu_);
    auto it = flappers_.find(id);
    if (it == flappers_.end()) return;
    f = std::move(it->second);
    flappers_.erase(it);
  }
  f.reset();  // jthread: request stop and join (the thread brings the broker up first)
}

void Cluster::stop_flappers() {
  std::map<int32_t, std::unique_ptr<Flapper>> all;
  {
    std::lock_guard lock(flap_mu_);
    all.swap(flappers_);
  }
  all.clear();
}

void Cluster::start_listener_locked(BrokerRuntime& b) {
  const int32_t id = b.view.spec.id;
  auto server = std::make_unique<BrokerServer>(
      [this, id](std::string_view frame) { return handle(id, frame); }, security_);
  server->on_idle_close([this] { ++idle_closes_; });
  const uint16_t port = server->start(static_cast<uint16_t>(b.view.spec.port));
  std::lock_guard lock(mu_);
  server->set_idle_timeout(idle_timeout_);
  server->set_blackhole(b.view.status == BrokerStatus::kPartitioned);
  b.view.spec.port = port;
  b.server = std::move(server);
}

void Cluster::set_security(ListenerSecurity security) {
  std::lock_guard ops(ops_mu_);
  security_ = std::move(security);
}

void Cluster::start() {
  std::lock_guard ops(ops_mu_);
  if (started_) return;
  for (auto& b : brokers_) {
    if (b->view.status == BrokerStatus::kDown || b->view.status == BrokerStatus::kKilled) continue;
    try {
      start_listener_locked(*b);
    } catch (...) {
      for (auto& o : brokers_)
        if (o->server) o->server->stop();
      throw;
    }
  }
  started_ = true;
}

void Cluster::stop() {
  stop_flappers();
  std::lock_guard ops(ops_mu_);
  for (auto& b : brokers_)
    if (b->server) b->server->stop();
  started_ = false;
}

std::string Cluster::bootstrap_servers() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& b : brokers_) {
    if (b->view.status == BrokerStatus::kDown) continue;
    if (!out.empty()) out += ',';
    out += "127.0.0.1:" + std::to_string(b->view.spec.port);
  }
  return out;
}

int32_t Cluster::port(int32_t broker_id) const {
  std::lock_guard lock(mu_);
  return broker_locked(broker_id).view.spec.port;
}

ClusterSpec Cluster::spec() const {
  std::lock_guard lock(mu_);
  ClusterSpec s = spec_;
  for (const auto& b : brokers_) s.brokers.push_back(b->view.spec);
  return s;
}

std::vector<BrokerView> Cluster::brokers() const {
  std::lock_guard lock(mu_);
  std::vector<BrokerView> out;
  for (const auto& b : brokers_) out.push_back(b->view);
  return out;
}

PartitionSpec Cluster::partition(std::string_view topic, int32_t partition) const {
  std::lock_guard lock(mu_);
  return const_cast<Cluster*>(this)->partition_locked(topic, partition);
}

std::vector<InjectedError> Cluster::injected_errors() const {
  std::lock_guard lock(mu_);
  return injected_;
}

std::vector<ReceivedRequest> Cluster::requests_received() const {
  std::lock_guard lock(mu_);
  return received_;
}

uint64_t Cluster::requests_served(int16_t api_key) const {
  std::lock_guard lock(mu_);
  auto it = served_.find(api_key);
  return it == served_.end() ? 0 : it->second;
}

Cluster::BrokerRuntime& Cluster::broker_locked(int32_t id) {
  for (auto& b : brokers_)
    if (b->view.spec.id == id) return *b;
  throw std::invalid_argument("unknown broker " + std::to_string(id));
}

const Cluster::BrokerRuntime& Cluster::broker_locked(int32_t id) const {
  return const_cast<Cluster*>(this)->broker_locked(id);
}

TopicSpec& Cluster::topic_locked(std::string_view name) {
  for (auto& t : spec_.topics)
    if (t.name == name) return t;
  throw std::invalid_argument("unknown topic " + std::string(name));
}

PartitionSpec& Cluster::partition_locked(std::string_view topic, int32_t partition) {
  auto& t = topic_locked(topic);
  for (auto& p : t.partitions)
    if (p.partition == partition) return p;
  throw std::invalid_argument("unknown partition " + std::string(topic) + "/" + std::to_string(partition));
}

// ---- Topology ----

void Cluster::add_broker(BrokerSpec b) {
  std::lock_guard ops(ops_mu_);
  BrokerRuntime* rt = nullptr;
  {
    std::lock_guard lock(mu_);
    for (const auto& o : brokers_)
      if (o->view.spec.id == b.id) throw std::invalid_argument("broker " + std::to_string(b.id) + " exists");
    auto n = std::make_unique<BrokerRuntime>();
    n->view.spec = std::move(b);
    rt = n.get();
    brokers_.push_back(std::move(n));
  }
  if (started_) start_listener_locked(*rt);
}

void Cluster::remove_broker(int32_t id) {
  std::lock_guard ops(ops_mu_);
  std::unique_ptr<BrokerServer> server;
  {
    std::lock_guard lock(mu_);
    broker_locked(id);
    auto it = std::find_if(brokers_.begin(), brokers_.end(), [id](auto& b) { return b->view.spec.id == id; });
    server = std::move((*it)->server);
    brokers_.erase(it);
  }
  if (server) server->stop();
}

void Cluster::set_controller(int32_t id) {
  std::lock_guard lock(mu_);
  spec_.controller_id = id;
}

void Cluster::set_cluster_id(std::string id) {
  std::lock_guard lock(mu_);
  spec_.cluster_id = std::move(id);
}

// ---- Topics / partitions ----

void Cluster::create_topic(TopicSpec t) {
  std::lock_guard lock(mu_);
  for (const auto& o : spec_.topics)
    if (o.name == t.name) throw std::invalid_argument("topic " + t.name + " exists");
  spec_.topics.push_back(std::move(t));
}

void Cluster::delete_topic(std::string_view name) {
  std::lock_guard lock(mu_);
  topic_locked(name);
  std::erase_if(spec_.topics, [name](const TopicSpec& t) { return t.name == name; });
}

void Cluster::set_partition(std::string_view topic, PartitionSpec p) {
  std::lock_guard lock(mu_);
  auto& t = topic_locked(topic);
  for (auto& o : t.partitions) {
    if (o.partition == p.partition) {
      o = std::move(p);
      return;
    }
  }
  t.partitions.push_back(std::move(p));
  std::sort(t.partitions.begin(), t.partitions.end(),
            [](const PartitionSpec& a, const PartitionSpec& b) { return a.partition < b.partition; });
}

void Cluster::set_leader(std::string_view topic, int32_t partition, int32_t leader) {
  std::lock_guard lock(mu_);
  auto& p = partition_locked(topic, partition);
  if (p.leader != leader) ++p.leader_epoch;
  p.leader = leader;
}

void Cluster::set_replicas(std::string_view topic, int32_t partition, std::vector<int32_t> replicas) {
  std::lock_guard lock(mu_);
  partition_locked(topic, partition).replicas = std::move(replicas);
}

void Cluster::set_isr(std::string_view topic, int32_t partition, std::vector<int32_t> isr) {
  std::lock_guard lock(mu_);
  partition_locked(topic, partition).isr = std::move(isr);
}

void Cluster::set_partition_error(std::string_view topic, int32_t partition, int16_t error_code) {
  std::lock_guard lock(mu_);
  partition_locked(topic, partition).error_code = error_code;
}

void Cluster::set_topic_error(std::string_view topic, int16_t error_code) {
  std::lock_guard lock(mu_);
  topic_locked(topic).error_code = error_code;
}

void Cluster::start_reassignment(std::string_view topic, int32_t partition,
                                 const std::vector<int32_t>& adding) {
  std::lock_guard lock(mu_);
  auto& p = partition_locked(topic, partition);
  for (int32_t b : adding)
    if (!contains(p.replicas, b)) p.replicas.push_back(b);
}

void Cluster::remove_from_isrs(int32_t broker) {
  std::lock_guard lock(mu_);
  for (auto& t : spec_.topics)
    for (auto& p : t.partitions) std::erase(p.isr, broker);
}

void Cluster::rejoin_isrs(int32_t broker) {
  std::lock_guard lock(mu_);
  for (auto& t : spec_.topics) {
    for (auto& p : t.partitions) {
      if (!contains(p.replicas, broker) || contains(p.isr, broker)) continue;
      std::vector<int32_t> isr;
      for (int32_t r : p.replicas)
        if (r == broker || contains(p.isr, r)) isr.push_back(r);
      for (int32_t r : p.isr)  // keep members that are not (or no longer) replicas
        if (!contains(isr, r)) isr.push_back(r);
      p.isr = std::move(isr);
    }
  }
}

void Cluster::elect_leaders(bool preferred) {
  std::lock_guard lock(mu_);
  std::set<int32_t> live;
  for (const auto& b : brokers_)
    if (b->view.status != BrokerStatus::kDown) live.insert(b->view.spec.id);
  for (auto& t : spec_.topics) {
    for (auto& p : t.partitions) {
      const int32_t before = p.leader;
      if (preferred && !p.replicas.empty() && live.count(p.replicas.front()) &&
          contains(p.isr, p.replicas.front())) {
        p.leader = p.replicas.front();
      } else if (p.leader < 0 || !live.count(p.leader)) {
        p.leader = -1;
        for (int32_t r : p.isr) {
          if (live.count(r)) {
            p.leader = r;
            break;
          }
        }
      }
      if (p.leader >= 0 && p.error_code == proto::kErrLeaderNotAvailable) p.error_code = proto::kErrNone;
      if (p.leader != before) ++p.leader_epoch;
    }
  }
}

// ---- Configs ----

void Cluster::set_topic_config(std::string_view topic, std::string key, std::string value) {
  std::lock_guard lock(mu_);
  topic_locked(topic).configs[std::move(key)] = std::move(value);
}

void Cluster::set_broker_config(int32_t id, std::string key, std::optional<std::string> value) {
  std::lock_guard lock(mu_);
  auto& configs = broker_locked(id).view.spec.configs;
  if (value)
    configs[std::move(key)] = std::move(*value);
  else
    configs.erase(key);
}

void Cluster::refuse_topic_configs(std::string_view topic, int16_t error_code) {
  std::lock_guard lock(mu_);
  if (!topic.empty()) {
    topic_locked(topic).describe_configs_error = error_code;
    return;
  }
  for (auto& t : spec_.topics) t.describe_configs_error = error_code;
}

void Cluster::set_broker_default(std::string key, std::string value) {
  std::lock_guard lock(mu_);
  spec_.broker_defaults[std::move(key)] = std::move(value);
}

// ---- Faults ----

void Cluster::broker_down(int32_t id) {
  std::lock_guard ops(ops_mu_);
  std::unique_ptr<BrokerServer> server;
  {
    std::lock_guard lock(mu_);
    auto& b = broker_locked(id);
    b.view.status = BrokerStatus::kDown;
    server = std::move(b.server);
    for (auto& t : spec_.topics) {
      for (auto& p : t.partitions) {
        if (p.leader == id) {
          p.leader = -1;
          p.error_code = proto::kErrLeaderNotAvailable;
          ++p.leader_epoch;
        }
      }
    }
  }
  if (server) server->stop();
}

void Cluster::broker_up(int32_t id) { set_listening_status(id, BrokerStatus::kUp); }

void Cluster::broker_hang(int32_t id) { set_listening_status(id, BrokerStatus::kHung); }

void Cluster::hang_next_metadata_broker() {
  std::lock_guard lock(mu_);
  hang_next_metadata_ = true;
  hung_for_metadata_ = -1;
}

int32_t Cluster::hung_for_metadata() const {
  std::lock_guard lock(mu_);
  return hung_for_metadata_;
}

void Cluster::set_listening_status(int32_t id, BrokerStatus status) {
  std::lock_guard ops(ops_mu_);
  BrokerRuntime* b = nullptr;
  bool need_listener = false;
  {
    std::lock_guard lock(mu_);
    b = &broker_locked(id);
    need_listener = (b->view.status == BrokerStatus::kDown || b->view.status == BrokerStatus::kKilled) &&
                    started_;
    b->view.status = status;
    if (b->server) b->server->set_blackhole(status == BrokerStatus::kPartitioned);
  }
  if (need_listener) start_listener_locked(*b);
}

void Cluster::broker_kill(int32_t id) {
  std::lock_guard ops(ops_mu_);
  std::unique_ptr<BrokerServer> server;
  {
    std::lock_guard lock(mu_);
    auto& b = broker_locked(id);
    b.view.status = BrokerStatus::kKilled;
    server = std::move(b.server);
  }
  if (server) server->stop(BrokerServer::Close::kReset);
}

void Cluster::broker_partition(int32_t id) { set_listening_status(id, BrokerStatus::kPartitioned); }

void Cluster::set_metadata_latency(std::chrono::milliseconds latency) {
  std::lock_guard lock(mu_);
  metadata_latency_ = latency;
}

void Cluster::set_idle_timeout(std::chrono::milliseconds idle) {
  std::lock_guard lock(mu_);
  idle_timeout_ = idle;
  for (auto& b : brokers_)
    if (b->server) b->server->set_idle_timeout(idle);
}

void Cluster::set_latency(int32_t id, std::chrono::milliseconds latency) {
  std::lock_guard lock(mu_);
  broker_locked(id).view.latency = latency;
}

void Cluster::inject_error(InjectedError e) {
  std::lock_guard lock(mu_);
  if (e.remaining > 0) injected_.push_back(e);
}

void Cluster::clear_injected_errors() {
  std::lock_guard lock(mu_);
  injected_.clear();
}

// ---- Request handling (connection threads) ----

// One request as the per-API functions see it: its header, a reader positioned at its body, and the broker
// answering it.
struct Cluster::Request {
  int32_t broker_id;
  const BrokerRuntime& self;
  proto::RequestHeader header;
  proto::Reader& body;
};

namespace {

HandlerResult respond(std::string response) {
  HandlerResult out;
  out.response = std::move(response);
  return out;
}

// What every topic of one Metadata answer shares.
struct MetadataFill {
  int16_t injected;                  // kErrNone, or the error every topic carries (without partitions)
  bool topic_authorized_operations;  // the request asked for them (v8+)
  const std::set<int32_t>& down;     // brokers down: their replicas are listed as offline
};

// One topic into `mt`, reusing it (and its partitions' vectors): at 1M partitions a whole MetadataResponse
// held beside the encoded bytes doubled kafkasim's memory.
void fill_metadata_topic(proto::MetadataTopic& mt, const TopicSpec& t, const MetadataFill& fill) {
  mt.name = t.name;
  mt.is_internal = t.internal;
  mt.error_code = fill.injected != proto::kErrNone ? fill.injected : t.error_code;
  if (fill.topic_authorized_operations) mt.topic_authorized_operations = 0;
  mt.partitions.resize(fill.injected == proto::kErrNone ? t.partitions.size() : 0);
  for (std::size_t i = 0; i < mt.partitions.size(); ++i) {
    const auto& p = t.partitions[i];
    proto::MetadataPartition& mp = mt.partitions[i];
    mp.error_code = p.error_code;
    mp.partition_index = p.partition;
    mp.leader_id = p.leader;
    mp.leader_epoch = p.leader_epoch;
    mp.replica_nodes = p.replicas;
    mp.isr_nodes = p.isr;
    mp.offline_replicas = p.offline_replicas;
    for (int32_t rep : p.replicas)
      if (fill.down.count(rep) && !contains(mp.offline_replicas, rep)) mp.offline_replicas.push_back(rep);
  }
}

void missing_metadata_topic(proto::MetadataTopic& mt, const std::string& name, const MetadataFill& fill) {
  mt = proto::MetadataTopic{};
  mt.error_code = fill.injected != proto::kErrNone ? fill.injected : proto::kErrUnknownTopicOrPartition;
  mt.name = name;
}

// The whole Metadata answer (response header included), written topic by topic.
std::string encode_metadata(const proto::RequestHeader& h, const proto::MetadataRequest& req,
                            const proto::MetadataResponse& resp, const std::vector<TopicSpec>& topics,
                            size_t broker_count, const MetadataFill& fill) {
  proto::Writer w;
  // Sized once: growing by doubling up to ~60 MB (1M partitions) left every smaller buffer behind in the
  // serving thread's malloc arena (kafkasim went from 300 MB to 1.2 GB after a dozen such answers).
  if (!req.topics) w.reserve(metadata_size_estimate(topics, broker_count));
  proto::ResponseHeader header;
  header.correlation_id = h.correlation_id;
  proto::encode_response_header(w, header, proto::response_header_version(h.api_key, h.api_version));
  proto::encode_metadata_head(w, resp, h.api_version);
  proto::MetadataTopic mt;
  if (!req.topics) {
    w.array_len(topics.size());
    for (const auto& t : topics) {
      fill_metadata_topic(mt, t, fill);
      proto::encode_metadata_topic(w, mt, h.api_version);
    }
  } else {
    const TopicIndex index(topics);
    w.array_len(req.topics->size());
    for (const auto& name : *req.topics) {
      if (const TopicSpec* t = index.find(name))
        fill_metadata_topic(mt, *t, fill);
      else
        missing_metadata_topic(mt, name, fill);
      proto::encode_metadata_topic(w, mt, h.api_version);
    }
  }
  proto::encode_metadata_tail(w, resp, h.api_version);
  return w.take();
}

// The config entries of one DescribeConfigs result: applies the resource's key filter and adds synonyms
// when the request asked for them.
class ConfigEntries {
 public:
  ConfigEntries(const proto::DescribeConfigsResource& res, bool synonyms,
                const std::map<std::string, std::string>& broker_defaults,
                proto::DescribeConfigsResult& result)
      : res_(res), synonyms_(synonyms), broker_defaults_(broker_defaults), result_(result) {}

  bool wanted(const std::string& key) const {
    return !res_.configuration_keys ||
           std::find(res_.configuration_keys->begin(), res_.configuration_keys->end(), key) !=
               res_.configuration_keys->end();
  }

  void add(const std::string& name, const std::optional<std::string>& value, int8_t source, bool read_only) {
    proto::ConfigEntry e;
    e.name = name;
    e.value = value;
    e.read_only = read_only;
    e.config_source = source;
    e.is_default = source == proto::kSourceDefaultConfig;
    if (synonyms_) {
      e.synonyms.push_back({.name = name, .value = value, .source = source});
      auto def = broker_defaults_.find(name);
      if (source == proto::kSourceDynamicTopic && def != broker_defaults_.end())
        e.synonyms.push_back({.name = name, .value = def->second, .source = proto::kSourceDefaultConfig});
    }
    result_.configs.push_back(std::move(e));
  }

 private:
  const proto::DescribeConfigsResource& res_;
  const bool synonyms_;
  const std::map<std::string, std::string>& broker_defaults_;
  proto::DescribeConfigsResult& result_;
};

// A topic resource: the topic's overrides over the broker defaults; unknown topic -> error 3.
void describe_topic_configs(proto::DescribeConfigsResult& result, const TopicSpec* topic,
                            const std::map<std::string, std::string>& broker_defaults,
                            ConfigEntries& entries) {
  if (topic == nullptr) {
    result.error_code = proto::kErrUnknownTopicOrPartition;
    result.error_message = "Topic " + result.resource_name + " does not exist";
    return;
  }
  if (topic->describe_configs_error != proto::kErrNone) {  // refused for this resource only, no configs
    result.error_code = topic->describe_configs_error;
    result.error_message = "DescribeConfigs refused for topic " + result.resource_name;
    return;
  }
  std::map<std::string, std::pair<std::string, int8_t>> effective;
  for (const auto& [k, v] : broker_defaults) effective[k] = {v, proto::kSourceDefaultConfig};
  for (const auto& [k, v] : topic->configs) effective[k] = {v, proto::kSourceDynamicTopic};
  for (const auto& [k, v] : effective)
    if (entries.wanted(k)) entries.add(k, v.first, v.second, false);
}

// A broker resource, as a real broker: only "" (cluster defaults) or its own id; librdkafka sends a BROKER
// resource to that broker.
void describe_broker_configs(proto::DescribeConfigsResult& result, const BrokerSpec& self,
                             const std::map<std::string, std::string>& broker_defaults,
                             ConfigEntries& entries) {
  const std::string& name = result.resource_name;
  const bool is_default_resource = name.empty();
  if (!is_default_resource && name != std::to_string(self.id)) {
    result.error_code = proto::kErrInvalidRequest;
    result.error_message = "Unexpected broker id, expected " + std::to_string(self.id) +
                           " or empty string, but received " + name;
    return;
  }
  if (!is_default_resource && entries.wanted("broker.id"))
    entries.add("broker.id", name, proto::kSourceDefaultConfig, true);
  if (!is_default_resource && entries.wanted("broker.rack"))
    entries.add("broker.rack", self.rack, proto::kSourceStaticBroker, true);
  if (!is_default_resource && self.process_roles && entries.wanted("process.roles"))
    entries.add("process.roles", self.process_roles, proto::kSourceStaticBroker, true);
  // The broker's own static configs (its own resource only) over the cluster's defaults.
  if (!is_default_resource)
    for (const auto& [k, v] : self.configs)
      if (entries.wanted(k)) entries.add(k, v, proto::kSourceStaticBroker, true);
  for (const auto& [k, v] : broker_defaults)
    if (entries.wanted(k) && (is_default_resource || !self.configs.contains(k)))
      entries.add(k, v, proto::kSourceDefaultConfig, false);
}

}  // namespace

HandlerResult Cluster::handle(int32_t broker_id, std::string_view frame) {
  std::lock_guard lock(mu_);
  const BrokerRuntime* self = nullptr;
  for (const auto& b : brokers_)
    if (b->view.spec.id == broker_id) self = b.get();
  ReceivedRequest& rec = received_.emplace_back();
  rec.seq = received_.size() - 1;
  rec.broker_id = broker_id;
  if (self == nullptr || self->view.status == BrokerStatus::kDown) return HandlerResult::close();
  const bool silent =
      self->view.status == BrokerStatus::kHung || self->view.status == BrokerStatus::kPartitioned;

  proto::Reader body(frame);
  HandlerResult out;
  int16_t api_key = 0;
  try {
    Request req{
        .broker_id = broker_id, .self = *self, .header = proto::decode_request_header(body), .body = body};
    api_key = req.header.api_key;
    rec.api_key = api_key;
    if (silent) {  // read, never answered
      if (api_key == proto::kApiMetadata && req.header.api_version >= 0 &&
          req.header.api_version <= proto::kMetadataMaxVersion)
        rec.all_topics = !proto::decode_metadata_request(req.body, req.header.api_version).topics;
      return HandlerResult::drop();
    }
    switch (api_key) {
      case proto::kApiApiVersions:
        out = api_versions_locked(req);
        break;
      case proto::kApiMetadata:
        out = metadata_locked(req);
        break;
      case proto::kApiDescribeConfigs:
        out = describe_configs_locked(req);
        break;
      default:
        return HandlerResult::close();
    }
  } catch (const proto::DecodeError&) {
    return silent ? HandlerResult::drop() : HandlerResult::close();
  }
  if (out.action != HandlerResult::Action::kRespond) return out;
  out.delay = self->view.latency + (rec.all_topics ? metadata_latency_ : std::chrono::milliseconds(0));
  ++served_[api_key];
  rec.answered = true;
  return out;
}

int16_t Cluster::take_injected_locked(const Request& req) {
  for (auto it = injected_.begin(); it != injected_.end(); ++it) {
    if (it->api_key != req.header.api_key || (it->broker != -1 && it->broker != req.broker_id)) continue;
    const int16_t code = it->error_code;
    if (--it->remaining <= 0) injected_.erase(it);
    return code;
  }
  return proto::kErrNone;
}

HandlerResult Cluster::api_versions_locked(Request& req) {
  const proto::RequestHeader& h = req.header;
  proto::ApiVersionsResponse resp;
  resp.api_keys = supported_apis();
  if (h.api_version < 0 || h.api_version > 3) {
    // Unknown version: answer in v0 so any client can read the error and our supported ranges.
    resp.error_code = proto::kErrUnsupportedVersion;
    return respond(frame_response(h.api_key, h.api_version, h.correlation_id, resp, 0));
  }
  proto::decode_api_versions_request(req.body, h.api_version);
  resp.error_code = take_injected_locked(req);
  if (resp.error_code != proto::kErrNone && resp.error_code != proto::kErrUnsupportedVersion)
    resp.api_keys.clear();
  return respond(frame_response(h.api_key, h.api_version, h.correlation_id, resp, h.api_version));
}

bool Cluster::hang_for_metadata_locked(int32_t broker_id) {
  if (!hang_next_metadata_) return false;
  hang_next_metadata_ = false;
  hung_for_metadata_ = broker_id;
  for (auto& b : brokers_)
    if (b->view.spec.id == broker_id) b->view.status = BrokerStatus::kHung;
  return true;
}

HandlerResult Cluster::metadata_locked(Request& req) {
  const proto::RequestHeader& h = req.header;
  if (h.api_version < 0 || h.api_version > proto::kMetadataMaxVersion) return HandlerResult::close();
  const auto mreq = proto::decode_metadata_request(req.body, h.api_version);
  received_.back().all_topics = !mreq.topics;  // this request's record (handle(), mu_ held)
  if (!mreq.topics && hang_for_metadata_locked(req.broker_id)) return HandlerResult::drop();
  const int16_t injected = take_injected_locked(req);
  std::set<int32_t> down;
  proto::MetadataResponse resp;
  for (const auto& b : brokers_) {
    if (b->view.status == BrokerStatus::kDown) {
      down.insert(b->view.spec.id);
      continue;
    }
    resp.brokers.push_back({.node_id = b->view.spec.id,
                            .host = b->view.spec.host,
                            .port = b->view.spec.port,
                            .rack = b->view.spec.rack});
  }
  resp.cluster_id = spec_.cluster_id;
  resp.controller_id = spec_.controller_id;
  if (mreq.include_cluster_authorized_operations) resp.cluster_authorized_operations = 0;
  const MetadataFill fill{.injected = injected,
                          .topic_authorized_operations = mreq.include_topic_authorized_operations,
                          .down = down};
  return respond(encode_metadata(h, mreq, resp, spec_.topics, brokers_.size(), fill));
}

HandlerResult Cluster::describe_configs_locked(Request& req) {
  const proto::RequestHeader& h = req.header;
  if (h.api_version < 0 || h.api_version > proto::kDescribeConfigsMaxVersion) return HandlerResult::close();
  const auto dreq = proto::decode_describe_configs_request(req.body, h.api_version);
  const int16_t injected = take_injected_locked(req);
  const bool synonyms = dreq.include_synonyms && h.api_version >= 1;
  proto::DescribeConfigsResponse resp;
  const TopicIndex index(spec_.topics);
  for (const auto& res : dreq.resources) {
    proto::DescribeConfigsResult result;
    result.resource_type = res.resource_type;
    result.resource_name = res.resource_name;
    ConfigEntries entries(res, synonyms, spec_.broker_defaults, result);
    if (injected != proto::kErrNone) {
      result.error_code = injected;
      result.error_message = "injected error";
    } else if (res.resource_type == proto::kResourceTopic) {
      describe_topic_configs(result, index.find(res.resource_name), spec_.broker_defaults, entries);
    } else if (res.resource_type == proto::kResourceBroker) {
      describe_broker_configs(result, req.self.view.spec, spec_.broker_defaults, entries);
    } else {
      result.error_code = proto::kErrInvalidRequest;
      result.error_message = "Unsupported resource type " + std::to_string(res.resource_type);
    }
    resp.results.push_back(std::move(result));
  }
  return respond(frame_response(h.api_key, h.api_version, h.correlation_id, resp, h.api_version));
}

}  // namespace isrguard::kafkasim
