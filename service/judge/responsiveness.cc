#include "service/judge/responsiveness.h"

#include <algorithm>
#include <string>

#include "service/judge/reasons.h"

namespace isrguard::service {
namespace {

constexpr std::size_t kDetailExamples = 3;  // brokers named in a reason's detail (the count stays true)

std::string ms_text(std::chrono::microseconds d) {
  return std::to_string((d.count() + 500) / 1000) + "ms";
}

// "broker 2 (no answer within the probe timeout after 1500ms)", "broker 3 (answered in 2400ms, slow)".
std::string response_text(const probes::BrokerResponse& r) {
  std::string s = "broker " + std::to_string(r.id) + " (";
  if (r.answered)
    s += "answered in " + ms_text(r.latency) + ", slower than the limit";
  else
    s += (r.error.empty() ? std::string("no answer") : r.error) + " after " + ms_text(r.latency);
  return s + ")";
}

std::size_t kall_index(const std::string& code) {
  return static_cast<std::size_t>(std::find(reason::kAll.begin(), reason::kAll.end(), code) -
                                  reason::kAll.begin());
}

}  // namespace

bool is_unresponsive(const probes::BrokerResponse& r, const Policy& policy) {
  return !r.answered || r.latency > policy.broker_slow_after;
}

void judge_responsiveness(const ClusterSnapshot& snapshot, const Policy& policy, Verdict& v) {
  std::int64_t count = 0;
  std::string examples;
  for (const auto& r : snapshot.broker_responses) {
    const auto it = std::find_if(v.brokers.begin(), v.brokers.end(),
                                 [&](const BrokerHealth& b) { return b.id == r.id; });
    const bool bad = is_unresponsive(r, policy);
    if (it != v.brokers.end()) {
      it->response = r;
      it->unresponsive = bad;
    }
    if (!bad) continue;
    if (count++ < static_cast<std::int64_t>(kDetailExamples))
      examples += (examples.empty() ? "" : "; ") + response_text(r);
  }
  if (count > 0) {
    if (count > static_cast<std::int64_t>(kDetailExamples)) examples += "; ...";
    const std::string limit = std::to_string(policy.broker_slow_after.count()) + "ms";
    v.reasons.push_back(Reason{std::string(reason::kBrokersUnresponsive), count,
                               std::to_string(count) + (count == 1 ? " broker" : " brokers") +
                                   " not answering within " + limit + ": " + examples,
                               policy.gates(reason::kBrokersUnresponsive)});
  }
  std::int64_t reconnected = 0;
  std::string who;
  for (const auto& r : snapshot.broker_responses) {
    if (r.disconnects == 0) continue;
    if (reconnected++ < static_cast<std::int64_t>(kDetailExamples))
      who += (who.empty() ? "" : "; ") + ("broker " + std::to_string(r.id) + " (" +
                                          std::to_string(r.disconnects) + " dropped)");
  }
  if (reconnected > 0) {
    if (reconnected > static_cast<std::int64_t>(kDetailExamples)) who += "; ...";
    v.reasons.push_back(Reason{std::string(reason::kBrokersReconnected), reconnected,
                               std::to_string(reconnected) +
                                   (reconnected == 1 ? " broker" : " brokers") +
                                   " dropped its connection since the previous probe: " + who,
                               policy.gates(reason::kBrokersReconnected)});
  }
  if (snapshot.controller_id < 0)
    v.reasons.push_back(Reason{std::string(reason::kControllerUnknown), 1,
                               "metadata names no controller (controller id " +
                                   std::to_string(snapshot.controller_id) + ")",
                               policy.gates(reason::kControllerUnknown)});
  std::stable_sort(v.reasons.begin(), v.reasons.end(), [](const Reason& a, const Reason& b) {
    return kall_index(a.code) < kall_index(b.code);
  });
}

}  // namespace isrguard::service
