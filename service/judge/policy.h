#pragma once

// What the verdict judges against. Built from Config at start-up, immutable afterwards (shared read-only
// by the probe thread and HTTP threads).

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "probes/snapshot.h"

namespace isrguard::service {

using probes::BrokerId;

// A fleet groups brokers (e.g. "ec2" = ids 1-30, "k8s" = host matching .*\.svc(\..*)?). Rules are tried
// in order; the first that matches names the broker's fleet; no match -> Policy::default_fleet.
struct FleetRule {
  std::string name;
  std::vector<std::pair<BrokerId, BrokerId>> id_ranges;  // inclusive; empty = any id
  std::string host_regex;                                // ECMAScript, full match; empty = any host

  bool operator==(const FleetRule&) const = default;
};

struct Policy {
  std::vector<BrokerId> expected_brokers;  // sorted, unique; empty = no expectation
  std::vector<FleetRule> fleets;
  std::string default_fleet = "default";
  std::string topic_include;                          // regex, full match; empty = all topics
  std::string topic_exclude;                          // regex, full match; empty = none excluded
  std::set<std::string, std::less<>> gating_reasons;  // reason codes that close the gate
  std::int32_t default_min_isr = 1;  // used where a topic's min.insync.replicas could not be read
  std::size_t list_cap = 128;        // max unhealthy partitions listed in verdicts/status (counts stay true)
  // Without expected_brokers, a broker listed in an earlier snapshot and absent now is brokers_missing until
  // it has been gone longer than this (--forget-missing-brokers-after; 0 = forget at once). With
  // expected_brokers, those are the brokers that must be present and memory adds none.
  std::chrono::milliseconds forget_missing_brokers_after{std::chrono::hours(24)};
  // At most this many brokers are remembered (service/judge/history.h): the ones gone longest are forgotten first.
  std::size_t remembered_brokers_cap = 1024;
  // A broker answering the per-broker check slower than this is brokers_unresponsive (--broker-slow-after).
  std::chrono::milliseconds broker_slow_after{std::chrono::seconds(2)};

  // Compiled forms of the regexes above; call compile() after setting them (throws std::regex_error).
  void compile();
  bool topic_selected(const std::string& topic) const;
  std::string fleet_of(BrokerId id, const std::string& host) const;
  bool gates(std::string_view reason_code) const { return gating_reasons.count(reason_code) > 0; }

  static Policy with_defaults();  // gating_reasons = reason::kGatingByDefault

 private:
  std::optional<std::regex> include_re_, exclude_re_;
  std::vector<std::optional<std::regex>> fleet_res_;
};

}  // namespace isrguard::service
