#pragma once

// The decision behind the pods/eviction admission webhook (service/runtime/eviction_webhook.h): may the
// broker this pod runs go now? Pure: the caller passes the view, the grants and the wall time.
//
// Rule: S = {the pod's broker} ∪ the brokers whose eviction isrguard granted and that have not come back in
// sync since (EvictionGrants), judged by assess_disruption (service/judge/disruption.h), which already counts
// brokers absent from metadata and unresponsive ones as down and applies freezes and acknowledgements as the
// disruption API does. Allowed only when that answer is safe; every other answer is a denial with a stable
// snake_case reason and a message for the person running `kubectl drain` (docs/deploy.md#eviction-webhook).
//
// Pod -> broker: the Eviction the API server sends names the pod (namespace + name) but carries no labels.
// Two kinds of rule map it:
//   - by name (BrokerPodRule): a StatefulSet's or Strimzi node pool's `<prefix><number>` with an offset;
//   - by the pod's own metadata (BrokerIdKeyRule): a label or annotation holding the broker id, read from the
//     Pod through the API server (the runtime does the read; map_pod_by_metadata judges what it returned).
// Precedence in a namespace with a metadata rule: the key, when present, must hold a valid id (else denied
// broker_id_invalid) and, when a name rule maps the pod too, the same id (else denied broker_id_conflict);
// absent, the name rules decide as in a namespace without one. A failed read is always a denial.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "probes/snapshot.h"
#include "service/judge/disruption.h"

namespace isrguard::service {

// Reason codes of an eviction decision (stable: used in the webhook's message, logs and metric labels).
// Denials for unknowable facts use the disruption answer's own code (probe_failed, snapshot_stale,
// brokers_unresponsive, controller_unknown, override_freeze, metadata_errors).
namespace eviction_reason {
inline constexpr std::string_view kSafe = "safe";                    // allowed: S is safe
inline constexpr std::string_view kNotABroker = "not_a_broker";      // allowed: no rule maps the pod
inline constexpr std::string_view kNotAnEviction = "not_an_eviction";  // allowed: not a pods/eviction CREATE
inline constexpr std::string_view kBlocked = "partitions_blocking";  // denied: partitions would block
inline constexpr std::string_view kViewStale = "view_stale";         // denied: no fresh probe in time
inline constexpr std::string_view kNoSnapshot = "no_snapshot";       // denied: no successful probe yet
inline constexpr std::string_view kBusy = "decision_busy";           // denied: earlier decisions took the time
inline constexpr std::string_view kGrantsFull = "grants_full";       // denied: too many pending grants
inline constexpr std::string_view kUnresolved = "unresolved";        // denied: the set did not resolve
inline constexpr std::string_view kInvalidReview = "invalid_review";  // 400: malformed or oversized body
// Denied: the pod's broker id could not be known from its metadata (BrokerIdKeyRule).
inline constexpr std::string_view kBrokerIdInvalid = "broker_id_invalid";    // key present, not a broker id
inline constexpr std::string_view kBrokerIdConflict = "broker_id_conflict";  // key and name rule disagree
inline constexpr std::string_view kPodReadTimeout = "pod_read_timeout";      // no answer within the bound
inline constexpr std::string_view kPodReadFailed = "pod_read_failed";        // connection, TLS, token file
inline constexpr std::string_view kPodReadUnauthorized = "pod_read_unauthorized";  // HTTP 401 (token)
inline constexpr std::string_view kPodReadForbidden = "pod_read_forbidden";        // HTTP 403 (RBAC)
inline constexpr std::string_view kPodNotFound = "pod_not_found";                  // HTTP 404
inline constexpr std::string_view kPodReadServerError = "pod_read_server_error";   // 5xx or any other status
inline constexpr std::string_view kPodReadInvalid = "pod_read_invalid";     // not a readable Pod of that name
inline constexpr std::string_view kPodReadTooLarge = "pod_read_too_large";  // body over kMaxPodBytes
}  // namespace eviction_reason

// `<namespace>/<prefix>[+<offset>]`: pods of `namespace` named `<prefix><digits>` are broker
// `<digits> + offset`. Strimzi node pools: `kafka/my-cluster-pool-a-` (the suffix is the node id);
// StatefulSet `kafka` with broker.id = ordinal + 100: `kafka/kafka-+100`.
struct BrokerPodRule {
  std::string pod_namespace;
  std::string prefix;
  std::int32_t offset = 0;

  bool operator==(const BrokerPodRule&) const = default;
};

// nullopt with `error` set for a malformed rule (empty namespace or prefix, offset not an integer within
// [-2^30, 2^30], a namespace or prefix longer than 253 characters).
std::optional<BrokerPodRule> parse_broker_pod_rule(std::string_view text, std::string* error);

// The broker id of pod `ns/name` by the first rule that matches; nullopt when none does (the suffix must be
// 1-9 digits, no sign, and the id must be >= 0).
std::optional<probes::BrokerId> broker_for_pod(std::span<const BrokerPodRule> rules, std::string_view ns,
                                               std::string_view name);

// `<namespace>=<key>`: pods of `namespace` whose label (or annotation, by `source`) `key` is present carry
// their broker id in its value. E.g. `kafka=isrguard.io/broker-id`.
struct BrokerIdKeyRule {
  enum class Source { kLabel, kAnnotation };
  std::string pod_namespace;
  Source source = Source::kLabel;
  std::string key;

  bool operator==(const BrokerIdKeyRule&) const = default;
};

// nullopt with `error` set for a malformed rule: no `=`, a namespace that is not a DNS label (1-63 of
// a-z0-9-, alphanumeric at both ends), a key that is not a qualified name ([prefix/]name: the prefix a DNS
// subdomain of at most 253 characters, the name 1-63 of A-Za-z0-9._- alphanumeric at both ends).
std::optional<BrokerIdKeyRule> parse_broker_id_key_rule(std::string_view text, BrokerIdKeyRule::Source source,
                                                        std::string* error);
// The metadata rule of namespace `ns`, or null.
const BrokerIdKeyRule* broker_id_key_rule_for(std::span<const BrokerIdKeyRule> rules, std::string_view ns);
// "label" or "annotation".
std::string_view source_name(BrokerIdKeyRule::Source source);

// A pod's labels and annotations as the API server returned them.
struct PodMetadata {
  std::map<std::string, std::string, std::less<>> labels;
  std::map<std::string, std::string, std::less<>> annotations;

  bool operator==(const PodMetadata&) const = default;
};

// What reading the Pod through the API server gave: the metadata (kOk) or why not, with `detail` saying what
// failed for the denial message (never a credential).
struct PodLookup {
  enum class Status {
    kOk,
    kTimeout,
    kFailed,
    kUnauthorized,
    kForbidden,
    kNotFound,
    kServerError,
    kInvalid,
    kTooLarge
  };
  Status status = Status::kFailed;
  PodMetadata metadata;
  std::string detail;

  bool operator==(const PodLookup&) const = default;
};

// The eviction_reason code of a failed lookup (kOk has none: empty).
std::string_view pod_lookup_reason(PodLookup::Status status);

// The pod's broker under a metadata rule: `broker` set to judge it; else `reason` is not_a_broker (allowed)
// or a denial code with `detail` for the message. `by_name`: what the name rules say about the same pod.
struct PodBroker {
  std::optional<probes::BrokerId> broker;
  std::string reason;
  std::string detail;

  bool denied() const { return !broker && reason != eviction_reason::kNotABroker; }
  bool operator==(const PodBroker&) const = default;
};
PodBroker map_pod_by_metadata(const BrokerIdKeyRule& rule, const PodLookup& lookup,
                              std::optional<probes::BrokerId> by_name);

// At most `cap` characters of `text` (an annotation value, an API server's message) for a denial message:
// any other than printable ASCII shown as '?', "..." appended when cut.
std::string printable_excerpt(std::string_view text, std::size_t cap);

// A broker id as a label or annotation value: canonical decimal digits (no sign, blank or leading zero), at
// most 2147483647; nullopt otherwise.
std::optional<probes::BrokerId> parse_broker_id_value(std::string_view value);

// One granted eviction: broker `id` at wall time `at`; `seen_down` once a view showed it absent from metadata
// or out of some ISR after the grant.
struct EvictionGrant {
  probes::BrokerId id = 0;
  WallClock::time_point at{};
  bool seen_down = false;

  bool operator==(const EvictionGrant&) const = default;
};

// The grants still counted as down. A grant ends when its broker was seen down and then back (listed, in
// every ISR it replicates), or after `ttl` (an eviction that never happened, e.g. a drain given up; a broker
// still down then is counted by the view itself). A broker seen back before it was seen down keeps its grant
// (it may not have stopped yet). Not thread-safe: the webhook serialises its decisions.
class EvictionGrants {
 public:
  explicit EvictionGrants(std::chrono::milliseconds ttl, std::size_t cap = 1024) : ttl_(ttl), cap_(cap) {}

  // Updates the grants with the view of `verdict` (the brokers' up and out-of-sync counts) at `now`.
  void observe(const Verdict& verdict, WallClock::time_point now);
  // Records a grant (a second grant of the same broker restarts it). False when `cap` grants are pending.
  bool record(probes::BrokerId id, WallClock::time_point now);
  const std::vector<EvictionGrant>& pending() const { return grants_; }

 private:
  std::chrono::milliseconds ttl_;
  std::size_t cap_;
  std::vector<EvictionGrant> grants_;  // by id
};

struct EvictionDecision {
  bool allowed = false;
  std::string reason;   // eviction_reason code or the unknown reason's code
  std::string message;  // for the drain operator; names the broker, the reason and what to do

  bool operator==(const EvictionDecision&) const = default;
};

// What the decision reads: the published view (all non-null), the reasons feeding the gate now
// (readiness_at), the acknowledgements in force, and the pending grants.
struct EvictionView {
  const probes::ClusterSnapshot* snapshot = nullptr;
  const Verdict* verdict = nullptr;
  const Policy* policy = nullptr;
  std::span<const Reason> reasons;
  DisruptionAcks acks;
  DisruptionOptions options;
  std::span<const EvictionGrant> pending;
};

// The decision for evicting pod `pod` (namespace/name, for the message) that runs broker `broker`.
EvictionDecision decide_eviction(probes::BrokerId broker, std::string_view pod, const EvictionView& view);

// How many blocking partitions a denial message lists (the answer's counts stay true).
inline constexpr std::size_t kEvictionMessagePartitions = 3;

std::ostream& operator<<(std::ostream& os, const EvictionGrant& g);
std::ostream& operator<<(std::ostream& os, const EvictionDecision& d);
std::ostream& operator<<(std::ostream& os, const PodBroker& b);

}  // namespace isrguard::service
