#include "tests/sim/model.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace isrguard::sim {

// ---------------------------------------------------------------- settings from the manifests
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "5s", "500ms", "2m" -> milliseconds.
Ms parse_duration(const std::string& v) {
  static const std::regex re(R"((\d+)(ms|s|m))");
  std::smatch m;
  if (!std::regex_match(v, m, re)) throw std::runtime_error("not a duration: " + v);
  const Ms n = std::stoll(m[1].str());
  return m[2] == "ms" ? n : m[2] == "s" ? n * 1000 : n * 60000;
}

// The value of env variable `name` in the manifest, nullopt when not set there.
std::optional<Ms> env_duration(const std::string& text, const std::string& name) {
  const std::regex re("- name: " + name + R"re(\s*\n\s*value: "?([0-9a-z]+)"?)re");
  std::smatch m;
  if (!std::regex_search(text, m, re)) return std::nullopt;
  return parse_duration(m[1].str());
}

int probe_field(const std::string& probe_block, const std::string& field) {
  const std::regex re(field + R"(:\s*(\d+))");
  std::smatch m;
  if (!std::regex_search(probe_block, m, re)) throw std::runtime_error("readinessProbe lacks " + field);
  return std::stoi(m[1].str());
}

}  // namespace

Settings shipped_settings(const std::string& repo_root) {
  const std::string text = read_text(repo_root + "/manifests/base/deployment.yaml");
  Settings s;  // flag defaults (docs/flags.md) where the manifest sets nothing
  if (auto v = env_duration(text, "ISRGUARD_POLL_INTERVAL")) s.poll_interval = *v;
  if (auto v = env_duration(text, "ISRGUARD_PROBE_TIMEOUT")) s.probe_timeout = *v;
  if (auto v = env_duration(text, "ISRGUARD_STALE_AFTER")) s.stale_after = *v;
  if (auto v = env_duration(text, "ISRGUARD_RECOVERY_HOLD")) s.recovery_hold = *v;
  const auto at = text.find("readinessProbe:");
  if (at == std::string::npos) throw std::runtime_error("deployment.yaml has no readinessProbe");
  const auto end = text.find("Probe:", at + 15);  // the next probe block (livenessProbe) ends this one
  const std::string block = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
  s.kubelet_period = probe_field(block, "periodSeconds") * 1000;
  s.failure_threshold = probe_field(block, "failureThreshold");
  s.success_threshold = probe_field(block, "successThreshold");
  return s;
}

// ---------------------------------------------------------------- Rng
std::uint64_t Rng::next() {
  std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
Ms Rng::between(Ms lo, Ms hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<Ms>(next() % static_cast<std::uint64_t>(hi - lo + 1));
}
double Rng::unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

// ---------------------------------------------------------------- Kafka
KafkaModel::KafkaModel(int brokers, const std::vector<TopicSpec>& topics, int placement_offset) {
  for (int b = 1; b <= brokers; ++b) brokers_.push_back(BrokerModel{b});
  int start = placement_offset;
  for (const auto& t : topics) {
    for (int p = 0; p < t.partitions; ++p, ++start) {
      PartitionModel pm{t.name, p, t.min_isr, {}, {}, -1};
      for (int r = 0; r < t.rf; ++r) pm.replicas.push_back(1 + (start + r) % brokers);
      pm.isr = pm.replicas;
      pm.leader = pm.replicas.front();
      partitions_.push_back(std::move(pm));
    }
  }
}

bool KafkaModel::serving(int b) const { return broker(b).state == BrokerState::kUp; }

// Leaders shrink the ISR; a partition whose leader leaves moves leadership to the first remaining ISR member
// (none left: offline, the last ISR kept, as Kafka keeps it for unclean-election-free recovery).
void KafkaModel::leave_isrs(int b, bool only_as_follower) {
  for (std::size_t i = 0; i < partitions_.size(); ++i) {
    const PartitionModel& p = partitions_[i];
    if (!probes::contains_id(p.isr, b)) continue;
    if (only_as_follower && p.leader == b) continue;
    if (only_as_follower && p.leader >= 1 && !serving(p.leader)) continue;  // no live leader to shrink it
    PartitionModel& m = mut_partitions()[i];
    if (m.isr.size() == 1) {
      if (m.leader == b) m.leader = -1;
      continue;
    }
    m.isr.erase(std::find(m.isr.begin(), m.isr.end(), b));
    if (m.leader == b) m.leader = m.isr.front();
  }
}

void KafkaModel::begin_shutdown(int b, Ms now) {
  mut(b).state = BrokerState::kStopping;
  mut(b).down_since = now;
  leave_isrs(b, false);
}
void KafkaModel::process_exit(int b, Ms now) {
  auto& br = mut(b);
  if (br.state != BrokerState::kStopping) br.down_since = now;
  br.state = BrokerState::kDown;
  br.registered = false;
}
void KafkaModel::crash(int b, Ms now) {
  auto& br = mut(b);
  if (br.state == BrokerState::kUp) br.down_since = now;
  br.state = BrokerState::kDown;
  br.fault_at = now;
}
void KafkaModel::expire_session(int b) {
  mut(b).registered = false;
  leave_isrs(b, false);
}
void KafkaModel::hang(int b, Ms now) {
  mut(b).state = BrokerState::kHung;
  mut(b).down_since = now;
  mut(b).fault_at = now;
}
void KafkaModel::drop_lagging_follower(int b) { leave_isrs(b, true); }
void KafkaModel::start(int b) {
  mut(b).state = BrokerState::kStarting;
  mut(b).incarnation++;
}
void KafkaModel::register_broker(int b) {
  mut(b).state = BrokerState::kUp;
  mut(b).registered = true;
  for (auto& p : mut_partitions())  // an offline partition whose last ISR member returns gets its leader back
    if (p.leader == -1 && probes::contains_id(p.isr, b)) p.leader = b;
}
bool KafkaModel::rejoin_isr(int b) {
  bool all = true;
  for (std::size_t i = 0; i < partitions_.size(); ++i) {
    const PartitionModel& p = partitions_[i];
    if (!probes::contains_id(p.replicas, b) || probes::contains_id(p.isr, b)) continue;
    if (p.leader < 1 || !serving(p.leader)) {  // only a live leader expands the ISR
      all = false;
      continue;
    }
    mut_partitions()[i].isr.push_back(b);
  }
  return all;
}

bool KafkaModel::truly_in_sync(const PartitionModel& p, int b) const {
  return probes::contains_id(p.isr, b) && serving(b);
}
int KafkaModel::true_in_sync(const PartitionModel& p) const {
  int n = 0;
  for (int b : p.isr) n += truly_in_sync(p, b) ? 1 : 0;
  return n;
}

std::vector<const PartitionModel*> KafkaModel::unsafe_to_take(int b) const {
  std::vector<const PartitionModel*> out;
  for (const auto& p : partitions_) {
    if (!truly_in_sync(p, b)) continue;  // taking b takes no in-sync replica of this partition
    const int after = true_in_sync(p) - 1;
    if (after < p.min_isr || after == 0) out.push_back(&p);
  }
  return out;
}

const probes::ClusterSnapshot& KafkaModel::metadata() const {
  if (!cached_) {
    metadata_ = build_metadata();
    cached_ = cache_on_;
  }
  return metadata_;
}

probes::ClusterSnapshot KafkaModel::build_metadata() const {
  probes::ClusterSnapshot s;
  s.cluster_id = "sim";
  for (const auto& b : brokers_)
    if (b.registered) s.brokers.push_back(probes::Broker{b.id, "b" + std::to_string(b.id), 9092, {}, {}, {}, {}});
  s.controller_id = s.brokers.empty() ? -1 : s.brokers.front().id;
  for (const auto& p : partitions_) {
    if (s.topics.empty() || s.topics.back().name != p.topic) {
      s.topics.push_back(probes::TopicInfo{p.topic, {}, {}, p.min_isr});
    }
    probes::PartitionInfo info{p.id, p.leader, p.replicas, p.isr, {}};
    if (p.leader == -1) info.error = probes::KafkaError{5};  // LEADER_NOT_AVAILABLE
    s.topics.back().partitions.push_back(info);
  }
  std::sort(s.topics.begin(), s.topics.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return s;
}

// ---------------------------------------------------------------- PDB and Eviction API
PdbStatus recount(const std::vector<PdbPod>& pods, int min_available, const PdbStatus& previous, Ms now) {
  PdbStatus s;
  s.expected = static_cast<int>(pods.size());
  s.desired_healthy = min_available;
  for (const auto& [name, at] : previous.disrupted_pods) {
    const auto pod = std::find_if(pods.begin(), pods.end(), [&](const PdbPod& p) { return p.name == name; });
    if (pod == pods.end() || pod->terminating || at + kDisruptedPodTimeout < now) continue;
    s.disrupted_pods[name] = at;
  }
  for (const auto& p : pods)
    if (p.ready && !p.terminating && !s.disrupted_pods.count(p.name)) s.current_healthy++;
  s.disruptions_allowed = std::max(0, s.current_healthy - s.desired_healthy);
  return s;
}

EvictionCode evict(const PdbPod& pod, PdbStatus& status, Ms now, bool dry_run) {
  if (!pod.running || pod.terminating) return EvictionCode::kCreated;
  if (!pod.ready && status.current_healthy >= status.desired_healthy) return EvictionCode::kCreated;
  if (status.disruptions_allowed <= 0) return EvictionCode::kTooManyRequests;
  if (!dry_run) {
    status.disruptions_allowed--;
    status.disrupted_pods[pod.name] = now;
  }
  return EvictionCode::kCreated;
}

bool ReadinessProber::observe(bool success) {
  if (success) {
    failures_ = 0;
    if (++successes_ >= success_threshold_) ready_ = true;
  } else {
    successes_ = 0;
    if (++failures_ >= failure_threshold_) ready_ = false;
  }
  return ready_;
}

}  // namespace isrguard::sim
