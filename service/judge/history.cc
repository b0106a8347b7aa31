#include "service/judge/history.h"

#include <algorithm>
#include <array>

#include "probes/split.h"

namespace isrguard::service {
namespace {

using probes::BrokerId;
using probes::PartitionView;
using probes::TopicInfo;

using probes::contains_id;
using probes::distinct_ids;

// A replica set sorted into a fixed buffer (no allocation per partition); `fits` is false when it has more
// than kMaxBaselineReplicas distinct replicas.
struct SortedSet {
  std::array<BrokerId, kMaxBaselineReplicas> ids;  // [0, size) used
  std::size_t size = 0;
  bool fits = true;

  explicit SortedSet(std::span<const BrokerId> replicas) {
    for (BrokerId id : replicas) {
      if (contains_id(view(), id)) continue;
      if (size == ids.size()) {
        fits = false;
        return;
      }
      std::size_t at = size++;  // insertion sort: a handful of ids
      for (; at > 0 && ids[at - 1] > id; --at) ids[at] = ids[at - 1];
      ids[at] = id;
    }
  }
  std::span<const BrokerId> view() const { return {ids.data(), size}; }
};

bool fully_in_sync(const PartitionView& p) {
  if (p.replicas.empty() || p.leader == probes::kNoLeader) return false;
  if (p.isr_is_replicas()) return true;
  for (BrokerId r : p.replicas)
    if (!contains_id(p.isr, r)) return false;
  return true;
}

// What one partition's next baseline is, before it is written into the topic's table.
struct Decision {
  BaselineOrigin origin = BaselineOrigin::kNone;
  bool from_replicas = false;  // true: the partition's own replicas; false: carried from the previous history
  std::size_t size = 0;
};

Decision decide(const PartitionView& p, const TopicBaselines* prev, bool primed) {
  const Baseline before = prev ? prev->get(p.id) : Baseline{};
  // Fully in sync: the current assignment is the baseline (too many replicas to remember: none). Most
  // partitions are in sync with their remembered set: carry it without sorting.
  if (fully_in_sync(p)) {
    const auto n = static_cast<std::size_t>(distinct_ids(p.replicas));
    if (n > kMaxBaselineReplicas) return {};
    const bool same = before.known() && before.replicas.size() == n &&
                      std::all_of(before.replicas.begin(), before.replicas.end(),
                                  [&](BrokerId id) { return contains_id(p.replicas, id); });
    return {BaselineOrigin::kInSync, !same, n};
  }
  if (before.known()) return {before.origin, false, before.replicas.size()};
  // A partition first listed after our first snapshot was created since: it is not being reassigned, so its
  // replicas as created are its baseline. (Ids beyond an errored, unlisted topic's are not known to be new.)
  const bool created =
      primed && (!prev || (prev->listed() && static_cast<std::size_t>(p.id) >= prev->partitions()));
  const auto n = static_cast<std::size_t>(distinct_ids(p.replicas));
  if (created && n > 0 && n <= kMaxBaselineReplicas) return {BaselineOrigin::kCreated, true, n};
  return {};
}

using TopicPtr = std::shared_ptr<const TopicBaselines>;

// `decisions`: scratch reused across topics.
TopicPtr advance_topic(const TopicInfo& t, const TopicPtr& prev_ptr, bool primed,
                       std::vector<Decision>& decisions) {
  const TopicBaselines* prev = prev_ptr.get();
  // An errored topic's partitions may be missing from the listing: keep what we knew.
  if (!t.error.ok()) return prev ? prev_ptr : std::make_shared<const TopicBaselines>(0, 0, false);
  const std::size_t n = t.partitions.size();
  // Pass 1 decides every partition and sizes the rows; pass 2 writes them, unless nothing changed.
  decisions.assign(n, Decision{});
  std::size_t width = 0;
  bool unchanged = prev && prev->listed() && prev->partitions() == n;
  for (std::size_t i = 0; i < n; ++i) {
    PartitionView p = t.partitions[i];
    if (p.id < 0 || static_cast<std::size_t>(p.id) >= n) {  // never sent by Kafka: not remembered
      unchanged = false;
      continue;
    }
    decisions[i] = decide(p, prev, primed);
    width = std::max(width, decisions[i].size);
    unchanged = unchanged && !decisions[i].from_replicas && decisions[i].origin == prev->get(p.id).origin;
  }
  if (unchanged && width == prev->width()) return prev_ptr;
  auto next_ptr = std::make_shared<TopicBaselines>(n, width, true);
  TopicBaselines& next = *next_ptr;
  for (std::size_t i = 0; i < n; ++i) {
    PartitionView p = t.partitions[i];
    const Decision& d = decisions[i];
    if (d.origin == BaselineOrigin::kNone) continue;
    if (d.from_replicas)
      next.set(p.id, SortedSet(p.replicas).view(), d.origin);
    else
      next.set(p.id, prev->get(p.id).replicas, d.origin);
  }
  return next_ptr;
}

std::map<BrokerId, SeenBroker> advance_brokers(const std::map<BrokerId, SeenBroker>& prev,
                                               const std::vector<probes::Broker>& present,
                                               const Policy& policy, SteadyClock::time_point now) {
  std::map<BrokerId, SeenBroker> next;
  const bool remember = policy.forget_missing_brokers_after.count() > 0;  // 0: memory off
  for (const auto& [id, seen] : prev)
    if (remember && now - seen.last_seen <= policy.forget_missing_brokers_after) next.emplace(id, seen);
  for (const auto& b : present) next[b.id] = SeenBroker{b.host, b.port, now};
  if (next.size() <= policy.remembered_brokers_cap) return next;
  // Over the cap: forget the brokers gone longest (then the highest ids, so the result is deterministic).
  std::vector<std::pair<SteadyClock::time_point, BrokerId>> order;
  for (const auto& [id, seen] : next) order.emplace_back(seen.last_seen, id);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second > b.second;
  });
  for (std::size_t i = 0; next.size() > policy.remembered_brokers_cap; ++i) next.erase(order[i].second);
  return next;
}

}  // namespace

Baseline first_baseline(const probes::PartitionView& p, std::size_t partitions,
                        std::array<BrokerId, kMaxBaselineReplicas>& scratch) {
  if (p.id < 0 || static_cast<std::size_t>(p.id) >= partitions) return {};  // not remembered (advance_topic)
  const Decision d = decide(p, nullptr, false);
  if (d.origin == BaselineOrigin::kNone) return {};
  const SortedSet sorted(p.replicas);  // decide() took the replicas themselves: it had no previous baseline
  for (std::size_t i = 0; i < sorted.size; ++i) scratch[i] = sorted.ids[i];
  return {std::span<const BrokerId>(scratch.data(), sorted.size), d.origin};
}

std::string_view to_string(BaselineOrigin o) {
  switch (o) {
    case BaselineOrigin::kNone:
      return "none";
    case BaselineOrigin::kInSync:
      return "in_sync";
    case BaselineOrigin::kCreated:
      return "created";
  }
  return "none";
}

TopicBaselines::TopicBaselines(std::size_t partitions, std::size_t width, bool listed)
    : width_(width), listed_(listed), slots_(partitions * width), rows_(partitions) {}

void TopicBaselines::set(std::int32_t partition, std::span<const BrokerId> sorted, BaselineOrigin origin) {
  if (partition < 0 || static_cast<std::size_t>(partition) >= rows_.size() || sorted.size() > width_) return;
  const std::size_t at = static_cast<std::size_t>(partition) * width_;
  std::copy(sorted.begin(), sorted.end(), slots_.begin() + static_cast<std::ptrdiff_t>(at));
  rows_[static_cast<std::size_t>(partition)] = Row{origin, static_cast<std::uint8_t>(sorted.size())};
}

const TopicBaselines* History::topic(std::string_view name) const {
  auto it = topics.find(name);
  return it == topics.end() ? nullptr : it->second.get();
}

bool History::operator==(const History& o) const {
  return primed == o.primed && brokers == o.brokers &&
         std::equal(
             topics.begin(), topics.end(), o.topics.begin(), o.topics.end(),
             [](const auto& a, const auto& b) { return a.first == b.first && *a.second == *b.second; });
}

History advance(const History& prev, const probes::ClusterSnapshot& snapshot, const Policy& policy,
                SteadyClock::time_point now, std::size_t split_from) {
  // Topics [begin, end) into `out`, in snapshot order: the first of two same-named topics wins (as one
  // map built in order would keep it).
  auto advance_topics = [&](std::size_t begin, std::size_t end, History::Topics& out) {
    std::vector<Decision> scratch;
    for (std::size_t i = begin; i < end; ++i) {
      const TopicInfo& t = snapshot.topics[i];
      if (!policy.topic_selected(t.name)) continue;
      const auto before = prev.topics.find(t.name);
      out.emplace_hint(out.end(), t.name,
                       advance_topic(t, before == prev.topics.end() ? nullptr : before->second, prev.primed,
                                     scratch));
    }
  };
  History next;
  const std::size_t n = snapshot.topics.size();
  const std::size_t k = probes::split_topics(snapshot.topics, split_from);
  if (k == n) {
    advance_topics(0, n, next.topics);
  } else {
    History::Topics later;
    probes::run_both([&] { advance_topics(0, k, next.topics); }, [&] { advance_topics(k, n, later); });
    next.topics.merge(later);  // moves nodes; a name already in the first part stays as it was
  }
  next.brokers = advance_brokers(prev.brokers, snapshot.brokers, policy, now);
  next.primed = true;
  return next;
}

std::ostream& operator<<(std::ostream& os, const Baseline& b) {
  os << "Baseline{" << to_string(b.origin) << " [";
  for (std::size_t i = 0; i < b.replicas.size(); ++i) os << (i ? "," : "") << b.replicas[i];
  return os << "]}";
}
std::ostream& operator<<(std::ostream& os, const SeenBroker& b) {
  return os << "SeenBroker{" << b.host << ':' << b.port
            << " last_seen=" << b.last_seen.time_since_epoch().count() << '}';
}
std::ostream& operator<<(std::ostream& os, const History& h) {
  os << "History{primed=" << h.primed << " topics=[";
  for (const auto& [name, t] : h.topics) {
    os << name << ":{";
    for (std::size_t i = 0; i < t->partitions(); ++i)
      os << (i ? " " : "") << t->get(static_cast<std::int32_t>(i));
    os << "} ";
  }
  os << "] brokers=[";
  for (const auto& [id, b] : h.brokers) os << id << '=' << b << ' ';
  return os << "]}";
}

}  // namespace isrguard::service
