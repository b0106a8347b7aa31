#include "service/judge/eviction.h"

#include <algorithm>
#include <charconv>
#include <ostream>
#include <sstream>

namespace isrguard::service {
namespace {

constexpr std::size_t kMaxNameLength = 253;  // a Kubernetes object name or namespace (DNS subdomain)
constexpr std::int32_t kMaxOffset = 1 << 30;

std::optional<std::int64_t> digits(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  std::int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::string ids(std::span<const probes::BrokerId> list) {
  std::string out = "[";
  for (std::size_t i = 0; i < list.size(); ++i) out += (i ? "," : "") + std::to_string(list[i]);
  return out + "]";
}

// "broker 3 (pod kafka/kafka-3)" plus the other brokers counted as down, if any.
std::string subject(probes::BrokerId broker, std::string_view pod, const DisruptionAnswer& a,
                    std::span<const EvictionGrant> pending) {
  std::ostringstream os;
  os << "isrguard: evicting broker " << broker << " (pod " << pod << ")";
  std::vector<std::string> others;
  for (auto id : a.absent_brokers) others.push_back(std::to_string(id) + " absent");
  for (auto id : a.unresponsive_brokers) others.push_back(std::to_string(id) + " unresponsive");
  for (const auto& g : pending)
    if (g.id != broker) others.push_back(std::to_string(g.id) + " eviction granted, not back in sync");
  if (!others.empty()) {
    os << " with brokers counted down (";
    for (std::size_t i = 0; i < others.size(); ++i) os << (i ? "; " : "") << others[i];
    os << ")";
  }
  return os.str();
}

std::string blocking_text(const DisruptionAnswer& a) {
  std::ostringstream os;
  os << " would leave " << a.counts.blocking << " partition" << (a.counts.blocking == 1 ? "" : "s")
     << " offline or under min ISR: ";
  const std::size_t n = std::min(a.blocking.size(), kEvictionMessagePartitions);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& p = a.blocking[i];
    os << (i ? ", " : "") << p.topic << "-" << p.partition.id << " ISR " << ids(p.partition.isr) << " -> "
       << ids(p.isr_after) << " (min ISR " << p.min_isr << ", " << p.outcome << ")";
  }
  if (a.counts.blocking > static_cast<std::int64_t>(n)) os << ", ...";
  return os.str();
}

}  // namespace

std::optional<BrokerPodRule> parse_broker_pod_rule(std::string_view text, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<BrokerPodRule> {
    if (error) *error = "broker pod rule '" + std::string(text.substr(0, 300)) + "': " + why;
    return std::nullopt;
  };
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return fail("expected <namespace>/<prefix>[+<offset>]");
  BrokerPodRule rule;
  rule.pod_namespace = std::string(text.substr(0, slash));
  std::string_view rest = text.substr(slash + 1);
  const auto plus = rest.rfind('+');
  if (plus != std::string_view::npos) {
    const auto v = digits(rest.substr(plus + 1), 10);
    if (!v || *v > kMaxOffset) return fail("the offset must be an integer from 0 to 1073741824");
    rule.offset = static_cast<std::int32_t>(*v);
    rest = rest.substr(0, plus);
  }
  rule.prefix = std::string(rest);
  if (rule.pod_namespace.empty() || rule.prefix.empty()) return fail("namespace and prefix must not be empty");
  if (rule.pod_namespace.size() > kMaxNameLength || rule.prefix.size() > kMaxNameLength)
    return fail("namespace and prefix are at most 253 characters");
  return rule;
}

std::optional<probes::BrokerId> broker_for_pod(std::span<const BrokerPodRule> rules, std::string_view ns,
                                               std::string_view name) {
  for (const auto& r : rules) {
    if (ns != r.pod_namespace || !name.starts_with(r.prefix)) continue;
    const auto v = digits(name.substr(r.prefix.size()), 9);
    if (!v) continue;
    const std::int64_t id = *v + r.offset;
    if (id >= 0 && id <= INT32_MAX) return static_cast<probes::BrokerId>(id);
  }
  return std::nullopt;
}

void EvictionGrants::observe(const Verdict& verdict, WallClock::time_point now) {
  std::erase_if(grants_, [&](EvictionGrant& g) {
    if (now - g.at >= ttl_) return true;
    const auto b = std::find_if(verdict.brokers.begin(), verdict.brokers.end(),
                                [&](const BrokerHealth& h) { return h.id == g.id; });
    const bool in_sync = b != verdict.brokers.end() && b->up && b->out_of_sync_hosted == 0;
    if (!in_sync) g.seen_down = true;
    return g.seen_down && in_sync;
  });
}

bool EvictionGrants::record(probes::BrokerId id, WallClock::time_point now) {
  const auto it = std::find_if(grants_.begin(), grants_.end(), [&](const auto& g) { return g.id == id; });
  if (it != grants_.end()) {
    *it = EvictionGrant{id, now, false};
    return true;
  }
  if (grants_.size() >= cap_) return false;
  grants_.push_back(EvictionGrant{id, now, false});
  std::sort(grants_.begin(), grants_.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return true;
}

EvictionDecision decide_eviction(probes::BrokerId broker, std::string_view pod, const EvictionView& view) {
  DisruptionQuery query;
  query.brokers.push_back(broker);
  for (const auto& g : view.pending)
    if (g.id != broker) query.brokers.push_back(g.id);
  std::string error;
  auto targets = resolve_disruption(query, *view.snapshot, *view.verdict, *view.policy, &error);
  if (!targets)
    return {false, std::string(eviction_reason::kUnresolved),
            "isrguard: evicting broker " + std::to_string(broker) + " (pod " + std::string(pod) +
                "): denied (unresolved: " + error + "); retry later"};
  const DisruptionAnswer a =
      assess_disruption(*view.snapshot, *view.verdict, std::move(*targets), view.reasons, view.acks, view.options);
  const std::string who = subject(broker, pod, a, view.pending);
  if (a.safe) return {true, std::string(eviction_reason::kSafe), who + ": allowed"};
  if (!a.unknown.empty()) {
    const Reason& r = a.unknown.front();
    return {false, r.code,
            who + ": denied: isrguard cannot tell it is safe (" + r.code +
                (r.detail.empty() ? "" : ": " + r.detail) + "); retry later"};
  }
  return {false, std::string(eviction_reason::kBlocked),
          who + ": denied (" + std::string(eviction_reason::kBlocked) + "):" + blocking_text(a) + "; retry later"};
}

std::ostream& operator<<(std::ostream& os, const EvictionGrant& g) {
  return os << "EvictionGrant{id=" << g.id << " at=" << g.at.time_since_epoch().count()
            << " seen_down=" << g.seen_down << '}';
}

std::ostream& operator<<(std::ostream& os, const EvictionDecision& d) {
  return os << "EvictionDecision{allowed=" << d.allowed << " reason=" << d.reason << " message=" << d.message
            << '}';
}

}  // namespace isrguard::service
