#pragma once

// The facts isrguard knows about a Kafka cluster at one instant. Produced by a MetadataSource (probe
// thread), consumed by the verdict (service/). Plain value types: copyable, compared whole in tests.
//
// Memory: a snapshot is the one structure that grows with the partitions (a 1M-partition cluster is held
// twice while the next snapshot is built), so partitions are stored flat per topic (PartitionTable: ~32
// bytes per RF-3 partition, no heap block per partition) and errors as codes. Budget: docs/memory.md.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

namespace isrguard::probes {

using BrokerId = std::int32_t;
inline constexpr BrokerId kNoLeader = -1;

struct Broker {
  BrokerId id = 0;
  std::string host;
  std::int32_t port = 0;
  // `broker.rack` as the broker itself reports it (librdkafka 2.0.2's metadata does not expose the rack, so
  // the adapter reads it with the per-broker check below); nullopt = unset or not read.
  std::optional<std::string> rack;
  // `process.roles` from the same answer ("broker", "broker,controller"): nullopt = not KRaft (ZooKeeper
  // mode has no such config) or not read.
  std::optional<std::string> process_roles;
  // `min.insync.replicas` as this broker is configured (its default for topics without their own value),
  // from the same answer; nullopt = not read.
  std::optional<std::int32_t> min_insync_replicas;
  // `inter.broker.protocol.version` from the same answer ("3.7-IV4"): a lower bound of the Kafka version the
  // broker runs (an operator may pin it below, never above); nullopt = not read (Kafka 4.0 dropped it).
  std::optional<std::string> inter_broker_protocol_version;

  bool operator==(const Broker&) const = default;
};

// One broker's answer to the per-broker check: a DescribeConfigs for its own BROKER resource, which
// librdkafka sends to that broker (not to whichever broker it picks), bounded by what is left of the probe
// budget. A hung broker that is still listed in metadata (a "gray failure") shows here and nowhere else.
struct BrokerResponse {
  BrokerId id = 0;
  // True when the broker answered in time. An answer carrying an error (e.g. not authorised to describe
  // broker configs) still counts: the broker is alive and serving requests.
  bool answered = false;
  // Answered: the round trip (connection set-up included when librdkafka had to reconnect).
  // Not answered: how long the probe waited before giving up.
  std::chrono::microseconds latency{0};
  std::string error;  // empty when the answer carried no error; else why ("timed out", an error name, ...)
  // Connections to this broker lost since the previous probe (probes/connection_watch.h: dropped, and the
  // broker did not take a new one at once; idle closes left out): a broker that restarted between two probes
  // shows here even when both probes found it healthy.
  std::uint32_t disconnects = 0;

  bool operator==(const BrokerResponse&) const = default;
};

// librdkafka's name for a Kafka or librdkafka error code ("LEADER_NOT_AVAILABLE"; "ERR_<n>?" for a code it
// does not know). Defined in the librdkafka adapter, the one place that includes librdkafka.
std::string error_name(std::int32_t code);

// Kafka error code as the broker (or librdkafka) reported it; 0 = none. Only the code is kept: the name is
// looked up when rendered (error_name), so a snapshot holds no string per errored partition.
struct KafkaError {
  std::int32_t code = 0;

  bool ok() const { return code == 0; }
  std::string name() const { return error_name(code); }
  bool operator==(const KafkaError&) const = default;
};

// Replica and ISR id lists are tiny (RF <= ~7): linear scans, no allocation. Plain loops rather than std::find
// or std::equal, whose unrolled bodies (or memcmp calls) keep the compiler from inlining these in the passes
// over every partition. Shared by the conversion, the history, the verdict and the disruption passes.
inline bool contains_id(std::span<const BrokerId> v, BrokerId id) {
  for (BrokerId x : v)
    if (x == id) return true;
  return false;
}
// True when v[i] does not occur before index i.
inline bool first_occurrence(std::span<const BrokerId> v, std::size_t i) {
  for (std::size_t j = 0; j < i; ++j)
    if (v[j] == v[i]) return false;
  return true;
}
// How many distinct ids `v` holds (Kafka keeps replicas and ISR as sets; metadata may list one twice).
inline std::int32_t distinct_ids(std::span<const BrokerId> v) {
  std::int32_t n = 0;
  for (std::size_t i = 0; i < v.size(); ++i) n += first_occurrence(v, i) ? 1 : 0;
  return n;
}
// The same ids in the same order.
inline bool same_ids(std::span<const BrokerId> a, std::span<const BrokerId> b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// One partition as its topic's PartitionTable stores it: spans into the table, valid while the table lives
// unchanged. 48 bytes: the per-partition helpers of the passes take it by const reference (by value it went
// through the stack on every call, a large share of the verdict's time: docs/scale.md).
struct PartitionView {
  std::int32_t id = 0;
  BrokerId leader = kNoLeader;
  std::span<const BrokerId> replicas;  // as reported (assignment order; first is the preferred leader)
  std::span<const BrokerId> isr;       // as reported; may contain ids outside `replicas` during reassignment
  KafkaError error;

  // True when the ISR is the replicas list itself (PartitionTable stores an equal list once): the same ids
  // in the same order, known without comparing them. False says nothing: compare the lists.
  bool isr_is_replicas() const { return isr.data() == replicas.data() && isr.size() == replicas.size(); }
};

// One partition owning its lists: for the few partitions a verdict or disruption answer lists (capped), and
// for building snapshots in tests. Converts to a PartitionView implicitly (like std::string to string_view).
struct PartitionInfo {
  std::int32_t id = 0;
  BrokerId leader = kNoLeader;
  std::vector<BrokerId> replicas;
  std::vector<BrokerId> isr;
  KafkaError error;

  static PartitionInfo of(PartitionView v) {
    return {v.id, v.leader, {v.replicas.begin(), v.replicas.end()}, {v.isr.begin(), v.isr.end()}, v.error};
  }
  PartitionView view() const { return {id, leader, replicas, isr, error}; }
  operator PartitionView() const { return view(); }  // NOLINT: a view of an owner, as string -> string_view
  bool operator==(const PartitionInfo&) const = default;
};

// The partitions of one topic, stored flat: one 20-byte row per partition and one id buffer for the whole
// topic holding each partition's replicas followed by its ISR (the ISR shares the replicas' ids when it is
// the same list, as in a healthy cluster). An RF-3 partition costs 32 bytes in sync, 44 out of sync, and the
// table two heap blocks, instead of two blocks per partition. Compared by content.
class PartitionTable {
 public:
  // Longest replica or ISR list a partition may have (Kafka has no such limit, but no cluster has brokers
  // enough to come near it; the librdkafka adapter reports a longer one as a metadata error).
  static constexpr std::size_t kMaxListLength = 0xffff;

  class Iterator {
   public:
    using value_type = PartitionView;
    using difference_type = std::ptrdiff_t;
    using reference = PartitionView;
    using pointer = void;
    using iterator_category = std::input_iterator_tag;

    Iterator() = default;
    Iterator(const PartitionTable* t, std::size_t i) : t_(t), i_(i) {}
    PartitionView operator*() const { return (*t_)[i_]; }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    Iterator operator++(int) {
      Iterator before = *this;
      ++i_;
      return before;
    }
    bool operator==(const Iterator&) const = default;

   private:
    const PartitionTable* t_ = nullptr;
    std::size_t i_ = 0;
  };

  std::size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  PartitionView operator[](std::size_t i) const {  // inline: every pass over the partitions calls it
    const Row& r = rows_[i];
    const BrokerId* base = ids_.data() + r.first;
    return PartitionView{r.id, r.leader, {base, r.replicas}, {r.isr_shared ? base : base + r.replicas, r.isr},
                         KafkaError{r.error}};
  }
  PartitionView at(std::size_t i) const;  // throws std::out_of_range
  Iterator begin() const { return {this, 0}; }
  Iterator end() const { return {this, rows_.size()}; }

  // Ids push_back(p) stores for a partition with these lists: what reserve() wants to know.
  static std::size_t ids_needed(std::span<const BrokerId> replicas, std::span<const BrokerId> isr);
  // Room for `partitions` partitions holding `ids` ids in all, so a table filled once allocates once.
  void reserve(std::size_t partitions, std::size_t ids);
  // Appends a copy of `p`. Throws std::length_error when a list is longer than kMaxListLength.
  void push_back(const PartitionView& p);
  // Orders the partitions by id (stable), without moving their ids.
  void sort_by_id();

  // Bytes this table holds on the heap (capacity, not size).
  std::size_t heap_bytes() const {
    return rows_.capacity() * sizeof(Row) + ids_.capacity() * sizeof(BrokerId);
  }
  bool operator==(const PartitionTable& o) const;

 private:
  struct Row {
    std::int32_t id = 0;
    BrokerId leader = kNoLeader;
    std::uint32_t first = 0;       // offset of its replicas in ids_
    std::uint16_t replicas = 0;    // count
    std::uint16_t isr = 0;         // count
    std::int16_t error = 0;        // Kafka error codes are int16 on the wire, librdkafka's own -200..-1
    std::uint16_t isr_shared = 0;  // 1: the ISR is the replicas list itself (same ids, same order)
  };
  static_assert(sizeof(Row) == 20);
  std::vector<Row> rows_;
  std::vector<BrokerId> ids_;
};

struct TopicInfo {
  std::string name;
  PartitionTable partitions;  // by id
  KafkaError error;  // topic-level error from metadata
  // min.insync.replicas as read through DescribeConfigs; nullopt when it could not be read (the service
  // then falls back to its configured default and reports the topic).
  std::optional<std::int32_t> min_insync_replicas;

  std::size_t heap_bytes() const;  // the name's and the partitions' heap blocks (capacity)
  bool operator==(const TopicInfo&) const = default;
};

struct ClusterSnapshot {
  std::vector<Broker> brokers;  // brokers present in metadata, sorted by id
  std::vector<TopicInfo> topics;  // sorted by name; internal topics included
  BrokerId controller_id = -1;    // -1 when unknown; in KRaft a random live broker
  std::string cluster_id;
  std::chrono::system_clock::time_point taken_at{};  // wall clock when the metadata request started
  std::chrono::microseconds duration{0};             // how long the whole probe took
  // Topics whose min.insync.replicas could not be read, with why (empty when all were read).
  std::vector<std::string> config_errors;
  // The per-broker check, one entry per broker in `brokers` (same order); empty when the source does not
  // check brokers (test fakes).
  std::vector<BrokerResponse> broker_responses;

  // Bytes the snapshot holds on the heap, by capacity (requested sizes: the allocator's own overhead of a
  // few bytes per block comes on top). Checked against an allocator hook in tests/memory.
  std::size_t heap_bytes() const;
  bool operator==(const ClusterSnapshot&) const = default;
};

// Why a probe produced no snapshot. `kind` is a stable snake_case code used in metrics labels:
// "timeout", "transport" (all brokers down / connection refused), "metadata" (other metadata error),
// "client" (client construction / configuration), "auth" (SASL authentication rejected: wrong credentials,
// unknown user, mechanism not enabled), "tls" (TLS handshake or broker certificate verification failed).
struct ProbeError {
  std::string kind;
  std::string message;

  bool operator==(const ProbeError&) const = default;
};

// Exactly one of snapshot / error is set.
struct ProbeResult {
  std::optional<ClusterSnapshot> snapshot;
  std::optional<ProbeError> error;
  std::chrono::microseconds duration{0};

  bool ok() const { return snapshot.has_value(); }
  bool operator==(const ProbeResult&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Broker& b);
std::ostream& operator<<(std::ostream& os, const BrokerResponse& r);
std::ostream& operator<<(std::ostream& os, const KafkaError& e);
std::ostream& operator<<(std::ostream& os, const PartitionView& p);
std::ostream& operator<<(std::ostream& os, const PartitionInfo& p);
std::ostream& operator<<(std::ostream& os, const PartitionTable& t);
std::ostream& operator<<(std::ostream& os, const TopicInfo& t);
std::ostream& operator<<(std::ostream& os, const ClusterSnapshot& s);
std::ostream& operator<<(std::ostream& os, const ProbeError& e);
std::ostream& operator<<(std::ostream& os, const ProbeResult& r);

}  // namespace isrguard::probes
