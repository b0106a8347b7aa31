#include "probes/snapshot.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace isrguard::probes {
namespace {
template <typename Range>
std::ostream& print_list(std::ostream& os, const Range& v) {
  os << '[';
  bool first = true;
  for (const auto& x : v) {
    os << (first ? "" : ",") << x;
    first = false;
  }
  return os << ']';
}

std::size_t string_heap_bytes(const std::string& s) {
  // Short strings live inside the object (libstdc++: up to 15 characters).
  return s.capacity() > 15 ? s.capacity() + 1 : 0;
}
}  // namespace

// ---- PartitionTable ----

PartitionView PartitionTable::at(std::size_t i) const {
  if (i >= rows_.size())
    throw std::out_of_range("partition index " + std::to_string(i) + " of " + std::to_string(rows_.size()));
  return (*this)[i];
}

std::size_t PartitionTable::ids_needed(std::span<const BrokerId> replicas, std::span<const BrokerId> isr) {
  return replicas.size() + (same_ids(replicas, isr) ? 0 : isr.size());
}

void PartitionTable::reserve(std::size_t partitions, std::size_t ids) {
  rows_.reserve(partitions);
  ids_.reserve(ids);
}

void PartitionTable::push_back(const PartitionView& p) {
  if (p.replicas.size() > kMaxListLength || p.isr.size() > kMaxListLength)
    throw std::length_error("partition " + std::to_string(p.id) + " lists more than " +
                            std::to_string(kMaxListLength) + " replicas or ISR ids");
  if (p.error.code < std::numeric_limits<std::int16_t>::min() ||
      p.error.code > std::numeric_limits<std::int16_t>::max())
    throw std::out_of_range("partition error code " + std::to_string(p.error.code) + " is not an int16");
  if (ids_.size() + p.replicas.size() + p.isr.size() > std::numeric_limits<std::uint32_t>::max())
    throw std::length_error("topic lists more than 2^32 replica and ISR ids");
  Row r;
  r.id = p.id;
  r.leader = p.leader;
  r.first = static_cast<std::uint32_t>(ids_.size());
  r.replicas = static_cast<std::uint16_t>(p.replicas.size());
  r.isr = static_cast<std::uint16_t>(p.isr.size());
  r.error = static_cast<std::int16_t>(p.error.code);
  r.isr_shared = same_ids(p.replicas, p.isr) ? 1 : 0;
  // Plain loops: a few ids each, where insert() would call memmove per list.
  for (BrokerId id : p.replicas) ids_.push_back(id);
  if (!r.isr_shared)
    for (BrokerId id : p.isr) ids_.push_back(id);
  rows_.push_back(r);
}

void PartitionTable::sort_by_id() {
  std::stable_sort(rows_.begin(), rows_.end(), [](const Row& a, const Row& b) { return a.id < b.id; });
}

bool PartitionTable::operator==(const PartitionTable& o) const {
  if (rows_.size() != o.rows_.size()) return false;
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    const PartitionView a = (*this)[i];
    const PartitionView b = o[i];
    if (a.id != b.id || a.leader != b.leader || a.error != b.error || !same_ids(a.replicas, b.replicas) ||
        !same_ids(a.isr, b.isr))
      return false;
  }
  return true;
}

std::size_t TopicInfo::heap_bytes() const { return string_heap_bytes(name) + partitions.heap_bytes(); }

std::size_t ClusterSnapshot::heap_bytes() const {
  std::size_t n = brokers.capacity() * sizeof(Broker) + topics.capacity() * sizeof(TopicInfo) +
                  config_errors.capacity() * sizeof(std::string) +
                  broker_responses.capacity() * sizeof(BrokerResponse) + string_heap_bytes(cluster_id);
  for (const auto& b : brokers) {
    n += string_heap_bytes(b.host);
    if (b.rack) n += string_heap_bytes(*b.rack);
    if (b.process_roles) n += string_heap_bytes(*b.process_roles);
    if (b.inter_broker_protocol_version) n += string_heap_bytes(*b.inter_broker_protocol_version);
  }
  for (const auto& t : topics) n += t.heap_bytes();
  for (const auto& e : config_errors) n += string_heap_bytes(e);
  for (const auto& r : broker_responses) n += string_heap_bytes(r.error);
  return n;
}

// ---- printers ----

std::ostream& operator<<(std::ostream& os, const Broker& b) {
  os << "Broker{" << b.id << ' ' << b.host << ':' << b.port;
  if (b.rack) os << " rack=" << *b.rack;
  if (b.process_roles) os << " process.roles=" << *b.process_roles;
  if (b.min_insync_replicas) os << " min.insync.replicas=" << *b.min_insync_replicas;
  if (b.inter_broker_protocol_version) os << " inter.broker.protocol.version=" << *b.inter_broker_protocol_version;
  return os << '}';
}
std::ostream& operator<<(std::ostream& os, const BrokerResponse& r) {
  os << "BrokerResponse{" << r.id << (r.answered ? " answered in " : " no answer after ") << r.latency.count()
     << "us";
  if (!r.error.empty()) os << " error=" << r.error;
  if (r.disconnects > 0) os << " disconnects=" << r.disconnects;
  return os << '}';
}
std::ostream& operator<<(std::ostream& os, const KafkaError& e) {
  os << e.code;
  if (!e.ok()) os << '/' << e.name();
  return os;
}
std::ostream& operator<<(std::ostream& os, const PartitionView& p) {
  os << "P{" << p.id << " leader=" << p.leader << " replicas=";
  print_list(os, p.replicas) << " isr=";
  print_list(os, p.isr);
  if (!p.error.ok()) os << " error=" << p.error;
  return os << '}';
}
std::ostream& operator<<(std::ostream& os, const PartitionInfo& p) { return os << p.view(); }
std::ostream& operator<<(std::ostream& os, const PartitionTable& t) { return print_list(os, t); }
std::ostream& operator<<(std::ostream& os, const TopicInfo& t) {
  os << "Topic{" << t.name << " min_isr=";
  if (t.min_insync_replicas) os << *t.min_insync_replicas; else os << "?";
  if (!t.error.ok()) os << " error=" << t.error;
  return os << ' ' << t.partitions << '}';
}
std::ostream& operator<<(std::ostream& os, const ClusterSnapshot& s) {
  os << "Snapshot{cluster=" << s.cluster_id << " controller=" << s.controller_id << " brokers=";
  print_list(os, s.brokers) << " topics=";
  print_list(os, s.topics) << " config_errors=" << s.config_errors.size() << " broker_responses=";
  print_list(os, s.broker_responses) << '}';
  return os;
}
std::ostream& operator<<(std::ostream& os, const ProbeError& e) {
  return os << "ProbeError{" << e.kind << ": " << e.message << '}';
}
std::ostream& operator<<(std::ostream& os, const ProbeResult& r) {
  if (r.snapshot) return os << *r.snapshot;
  if (r.error) return os << *r.error;
  return os << "ProbeResult{empty}";
}

}  // namespace isrguard::probes
