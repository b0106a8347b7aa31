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

namespace {

bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// RFC 1123 label as Kubernetes names namespaces: 1-63 of [a-z0-9-], alphanumeric at both ends.
bool is_dns_label(std::string_view s) {
  if (s.empty() || s.size() > 63 || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return lower_alnum(c) || c == '-'; });
}

// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
bool is_dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  for (std::size_t start = 0;;) {
    const auto dot = s.find('.', start);
    if (!is_dns_label(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start)))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// A label or annotation key: [prefix/]name, name 1-63 of [A-Za-z0-9._-] alphanumeric at both ends.
bool is_qualified_name(std::string_view s) {
  const auto slash = s.find('/');
  std::string_view name = s;
  if (slash != std::string_view::npos) {
    if (!is_dns_subdomain(s.substr(0, slash))) return false;
    name = s.substr(slash + 1);
  }
  if (name.empty() || name.size() > 63 || !alnum(name.front()) || !alnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

}  // namespace

std::string printable_excerpt(std::string_view text, std::size_t cap) {
  std::string out(text.substr(0, cap));
  for (char& c : out)
    if (c < 0x20 || c > 0x7e) c = '?';
  return text.size() > cap ? out + "..." : out;
}

std::optional<BrokerIdKeyRule> parse_broker_id_key_rule(std::string_view text, BrokerIdKeyRule::Source source,
                                                        std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<BrokerIdKeyRule> {
    if (error)
      *error = "broker id " + std::string(source_name(source)) + " rule '" +
               std::string(text.substr(0, 300)) + "': " + why;
    return std::nullopt;
  };
  const auto eq = text.find('=');
  if (eq == std::string_view::npos) return fail("expected <namespace>=<key>");
  BrokerIdKeyRule rule{std::string(text.substr(0, eq)), source, std::string(text.substr(eq + 1))};
  if (!is_dns_label(rule.pod_namespace))
    return fail("the namespace must be a DNS label (1-63 of a-z, 0-9, '-', alphanumeric at both ends)");
  if (!is_qualified_name(rule.key))
    return fail(
        "the key must be a Kubernetes label/annotation key ([prefix/]name, e.g. isrguard.io/broker-id)");
  return rule;
}

const BrokerIdKeyRule* broker_id_key_rule_for(std::span<const BrokerIdKeyRule> rules, std::string_view ns) {
  for (const auto& r : rules)
    if (r.pod_namespace == ns) return &r;
  return nullptr;
}

std::string_view source_name(BrokerIdKeyRule::Source source) {
  return source == BrokerIdKeyRule::Source::kLabel ? "label" : "annotation";
}

std::string_view pod_lookup_reason(PodLookup::Status status) {
  using S = PodLookup::Status;
  namespace er = eviction_reason;
  switch (status) {
    case S::kOk:
      return "";
    case S::kTimeout:
      return er::kPodReadTimeout;
    case S::kFailed:
      return er::kPodReadFailed;
    case S::kUnauthorized:
      return er::kPodReadUnauthorized;
    case S::kForbidden:
      return er::kPodReadForbidden;
    case S::kNotFound:
      return er::kPodNotFound;
    case S::kServerError:
      return er::kPodReadServerError;
    case S::kInvalid:
      return er::kPodReadInvalid;
    case S::kTooLarge:
      return er::kPodReadTooLarge;
  }
  return er::kPodReadFailed;
}

std::optional<probes::BrokerId> parse_broker_id_value(std::string_view value) {
  if (value.size() > 1 && value.front() == '0') return std::nullopt;
  const auto v = digits(value, 10);
  if (!v || *v > INT32_MAX) return std::nullopt;
  return static_cast<probes::BrokerId>(*v);
}

PodBroker map_pod_by_metadata(const BrokerIdKeyRule& rule, const PodLookup& lookup,
                              std::optional<probes::BrokerId> by_name) {
  if (lookup.status != PodLookup::Status::kOk)
    return {std::nullopt, std::string(pod_lookup_reason(lookup.status)), lookup.detail};
  const auto& values =
      rule.source == BrokerIdKeyRule::Source::kLabel ? lookup.metadata.labels : lookup.metadata.annotations;
  const auto it = values.find(rule.key);
  const std::string what = std::string(source_name(rule.source)) + " " + rule.key;
  if (it == values.end()) {
    if (by_name) return {by_name, "", ""};
    return {std::nullopt, std::string(eviction_reason::kNotABroker), what + " absent"};
  }
  const auto id = parse_broker_id_value(it->second);
  if (!id)
    return {std::nullopt, std::string(eviction_reason::kBrokerIdInvalid),
            what + " is '" + printable_excerpt(it->second, 64) +
                "', not a broker id (a decimal integer from 0 to 2147483647)"};
  if (by_name && *by_name != *id)
    return {std::nullopt, std::string(eviction_reason::kBrokerIdConflict),
            what + " says broker " + std::to_string(*id) +
                " but --webhook-broker-pods maps the name to broker " + std::to_string(*by_name)};
  return {id, "", ""};
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

std::ostream& operator<<(std::ostream& os, const PodBroker& b) {
  os << "PodBroker{broker=";
  if (b.broker)
    os << *b.broker;
  else
    os << "none";
  return os << " reason=" << b.reason << " detail=" << b.detail << '}';
}

std::ostream& operator<<(std::ostream& os, const EvictionDecision& d) {
  return os << "EvictionDecision{allowed=" << d.allowed << " reason=" << d.reason << " message=" << d.message
            << '}';
}

}  // namespace isrguard::service
