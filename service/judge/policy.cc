#include "service/judge/policy.h"

#include <algorithm>

#include "service/judge/reasons.h"

namespace isrguard::service {

namespace reason {
bool is_known(std::string_view code) { return std::find(kAll.begin(), kAll.end(), code) != kAll.end(); }
}  // namespace reason

void Policy::compile() {
  include_re_.reset();
  exclude_re_.reset();
  if (!topic_include.empty()) include_re_.emplace(topic_include, std::regex::ECMAScript);
  if (!topic_exclude.empty()) exclude_re_.emplace(topic_exclude, std::regex::ECMAScript);
  fleet_res_.clear();
  for (const auto& f : fleets) {
    if (f.host_regex.empty()) {
      fleet_res_.emplace_back();
    } else {
      fleet_res_.emplace_back(std::regex(f.host_regex, std::regex::ECMAScript));
    }
  }
}

bool Policy::topic_selected(const std::string& topic) const {
  if (include_re_ && !std::regex_match(topic, *include_re_)) return false;
  if (exclude_re_ && std::regex_match(topic, *exclude_re_)) return false;
  return true;
}

std::string Policy::fleet_of(BrokerId id, const std::string& host) const {
  for (std::size_t i = 0; i < fleets.size(); ++i) {
    const FleetRule& f = fleets[i];
    bool id_ok =
        f.id_ranges.empty() || std::any_of(f.id_ranges.begin(), f.id_ranges.end(),
                                           [id](const auto& r) { return id >= r.first && id <= r.second; });
    if (!id_ok) continue;
    if (!f.host_regex.empty()) {
      // A missing broker has no host: only id rules can place it.
      if (host.empty()) continue;
      if (i < fleet_res_.size() && fleet_res_[i] && !std::regex_match(host, *fleet_res_[i])) continue;
    }
    return f.name;
  }
  return default_fleet;
}

Policy Policy::with_defaults() {
  Policy p;
  for (auto code : reason::kGatingByDefault) p.gating_reasons.emplace(code);
  return p;
}

}  // namespace isrguard::service
