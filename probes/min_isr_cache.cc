#include "probes/min_isr_cache.h"

#include <algorithm>
#include <set>

namespace isrguard::probes {

MinIsrCache::MinIsrCache(MinIsrCacheOptions options) : options_(options) {}

MinIsrAsk MinIsrCache::plan(const std::vector<std::string>& present, Clock::time_point now) {
  const std::set<std::string> names(present.begin(), present.end());
  std::erase_if(entries_, [&](const auto& kv) { return !names.contains(kv.first); });

  MinIsrAsk ask;
  ask.full_refresh = !last_full_refresh_ || now - *last_full_refresh_ >= options_.refresh_period;
  for (const auto& name : names) {  // std::set: sorted, unique
    if (ask.full_refresh) {
      ask.topics.push_back(name);
      continue;
    }
    const auto it = entries_.find(name);
    const bool is_new = it == entries_.end();
    const bool retry_due =
        !is_new && !it->second.error.empty() && now - it->second.attempted_at >= options_.retry_after;
    if (is_new || retry_due) ask.topics.push_back(name);
  }
  return ask;
}

void MinIsrCache::record(const MinIsrAsk& ask, const std::map<std::string, MinIsrOutcome>& outcomes,
                         Clock::time_point now) {
  if (ask.full_refresh) last_full_refresh_ = now;
  for (const auto& name : ask.topics) {
    Entry& e = entries_[name];
    e.attempted_at = now;
    const auto it = outcomes.find(name);
    if (it != outcomes.end() && it->second.value) {
      e.value = it->second.value;
      e.read_at = now;
      e.error.clear();
    } else {
      e.error = it == outcomes.end() || it->second.error.empty() ? "no result for topic" : it->second.error;
      if (e.value && now - e.read_at > options_.max_age) e.value.reset();
    }
  }
}

MinIsrOutcome MinIsrCache::lookup(const std::string& topic, Clock::time_point now) const {
  const auto it = entries_.find(topic);
  if (it == entries_.end()) return MinIsrOutcome::failed("not read yet");
  const Entry& e = it->second;
  if (e.value && now - e.read_at <= options_.max_age) return MinIsrOutcome::read(*e.value);
  if (!e.error.empty()) return MinIsrOutcome::failed(e.error);
  const auto age_s = std::chrono::duration_cast<std::chrono::seconds>(now - e.read_at).count();
  return MinIsrOutcome::failed(
      "last value is " + std::to_string(age_s) + "s old (older than max age " +
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(options_.max_age).count()) + "s)");
}

std::ostream& operator<<(std::ostream& os, const MinIsrAsk& a) {
  os << "MinIsrAsk{" << (a.full_refresh ? "full " : "") << '[';
  for (std::size_t i = 0; i < a.topics.size(); ++i) os << (i ? "," : "") << a.topics[i];
  return os << "]}";
}

std::ostream& operator<<(std::ostream& os, const MinIsrOutcome& o) {
  if (o.value) return os << "MinIsr{" << *o.value << '}';
  return os << "MinIsr{error: " << o.error << '}';
}

}  // namespace isrguard::probes
