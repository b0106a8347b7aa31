#include "probes/snapshot.h"

namespace isrguard::probes {
namespace {
template <typename T>
std::ostream& print_list(std::ostream& os, const std::vector<T>& v) {
  os << '[';
  for (std::size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
  return os << ']';
}
}  // namespace

std::ostream& operator<<(std::ostream& os, const Broker& b) {
  os << "Broker{" << b.id << ' ' << b.host << ':' << b.port;
  if (b.rack) os << " rack=" << *b.rack;
  if (b.process_roles) os << " process.roles=" << *b.process_roles;
  return os << '}';
}
std::ostream& operator<<(std::ostream& os, const BrokerResponse& r) {
  os << "BrokerResponse{" << r.id << (r.answered ? " answered in " : " no answer after ") << r.latency.count()
     << "us";
  if (!r.error.empty()) os << " error=" << r.error;
  return os << '}';
}
std::ostream& operator<<(std::ostream& os, const KafkaError& e) {
  return os << e.code << (e.name.empty() ? "" : "/") << e.name;
}
std::ostream& operator<<(std::ostream& os, const PartitionInfo& p) {
  os << "P{" << p.id << " leader=" << p.leader << " replicas=";
  print_list(os, p.replicas) << " isr=";
  print_list(os, p.isr);
  if (!p.error.ok()) os << " error=" << p.error;
  return os << '}';
}
std::ostream& operator<<(std::ostream& os, const TopicInfo& t) {
  os << "Topic{" << t.name << " min_isr=";
  if (t.min_insync_replicas) os << *t.min_insync_replicas; else os << "?";
  if (!t.error.ok()) os << " error=" << t.error;
  os << ' ';
  return print_list(os, t.partitions) << '}';
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
