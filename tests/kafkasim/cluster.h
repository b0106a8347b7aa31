#pragma once

// kafkasim::Cluster — a simulated Kafka cluster that speaks the real Kafka wire protocol on 127.0.0.1, so
// real clients (librdkafka, kcat) see exactly the metadata a test configures: ISR != replicas, offline
// partitions, missing brokers, reassignments, min.insync.replicas via DescribeConfigs.
//
// Served APIs: ApiVersions v0-v3, Metadata v0-v8, DescribeConfigs v0-v2; SaslHandshake v0-v1 and
// SaslAuthenticate v0-v1 on SASL listeners (sasl.h; TLS in tls.h, see set_security). Other requests close
// the connection (as a real broker does for unknown APIs).
//
// Usage:
//   kafkasim::ClusterSpec spec = kafkasim::make_cluster({1, 2, 3});       // controller = 1
//   spec.topics.push_back(kafkasim::make_topic("orders", kafkasim::round_robin_partitions(12, 3, {1, 2, 3}),
//                                              {{"min.insync.replicas", "2"}}));
//   spec.topics.push_back(kafkasim::make_topic("audit", {kafkasim::make_partition(0, -1, {3}, {}, 5)}));
//   kafkasim::Cluster c(spec);
//   c.start();                          // every broker listens on its own ephemeral 127.0.0.1 port
//   std::string bs = c.bootstrap_servers();   // "127.0.0.1:40001,127.0.0.1:40002,..."
//   c.set_isr("orders", 0, {1, 2});     // under-replicated
//   c.broker_down(3);                   // refused + gone from Metadata; partitions it led: leader -1
//   c.broker_up(3);
//
// Fault semantics (all explicit; nothing else changes behind the test's back):
//   broker_down(id): listener closed (connect -> ECONNREFUSED), open connections closed, broker absent from
//     Metadata. Partitions whose leader was `id` get leader -1 and error 5 (LEADER_NOT_AVAILABLE).
//     Replicas and ISRs are NOT changed; call remove_from_isrs(id) / elect_leaders() for that (the
//     scenario step "broker_down" has flags for both). In Metadata v5+ replicas on down brokers are
//     reported as offline_replicas.
//   broker_up(id): listener re-opened on the same port, broker listed again. Partitions are unchanged;
//     see rejoin_isrs(id) / elect_leaders().
//   broker_hang(id): accepts connections and reads requests but never answers (client-side timeouts);
//     still listed in Metadata. broker_up(id) ends the hang.
//   hang_next_metadata_broker(): the next broker asked for all-topics Metadata hangs (as broker_hang), so
//     a test can hang exactly the broker a client uses for Metadata, on its open connection.
//   set_latency(id, d): every answer from that broker is delayed by d.
//   inject_error(e): the next e.remaining requests of e.api_key get error e.error_code (see InjectedError).
//
// Thread-safety: every method may be called from any thread while clients are connected. Methods that
// name an unknown broker/topic/partition throw std::invalid_argument.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tests/kafkasim/broker_server.h"
#include "tests/kafkasim/model.h"

namespace isrguard::kafkasim {

// One request as a broker received it (Cluster::requests_received), in arrival order across the cluster.
struct ReceivedRequest {
  uint64_t seq = 0;  // 0, 1, 2, ... in the order the brokers' handlers were entered
  int32_t broker_id = 0;
  int16_t api_key = -1;     // -1: the header could not be read
  bool all_topics = false;  // Metadata asking for every topic (a null topic array)
  bool answered = false;    // an answer was (or, after the broker's latency, will be) written
};

class Cluster {
 public:
  // Throws std::invalid_argument on duplicate broker ids or topic names. Replica ids of unknown brokers
  // are allowed: they model brokers that never registered (a "missing broker").
  explicit Cluster(ClusterSpec spec);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Security of listeners started from now on (call before start()): TLS and/or SASL (broker_server.h).
  void set_security(ListenerSecurity security);
  // Starts one listener per broker. Throws std::runtime_error if a port cannot be bound.
  void start();
  // Stops all listeners; idempotent. The destructor calls it.
  void stop();

  // "127.0.0.1:p1,127.0.0.1:p2,..." for brokers that are not down, in spec order.
  std::string bootstrap_servers() const;
  // Bound port of a broker (0 before start()).
  int32_t port(int32_t broker_id) const;

  // Snapshots.
  ClusterSpec spec() const;
  std::vector<BrokerView> brokers() const;
  PartitionSpec partition(std::string_view topic, int32_t partition) const;
  std::vector<InjectedError> injected_errors() const;
  // Requests answered so far, by api key (for tests).
  uint64_t requests_served(int16_t api_key) const;
  // Every request received since start(), answered or not (hung brokers read and drop theirs), in arrival
  // order: for tests of what a client sent before what.
  std::vector<ReceivedRequest> requests_received() const;
  // Connections closed so far because they were idle (set_idle_timeout).
  uint64_t idle_closes() const { return idle_closes_.load(); }

  // ---- Topology ----
  void add_broker(BrokerSpec b);    // starts its listener if the cluster is started
  void remove_broker(int32_t id);   // stops its listener and forgets it; partitions are unchanged
  void set_controller(int32_t id);  // -1 allowed: "no controller"
  void set_cluster_id(std::string id);

  // ---- Topics / partitions ----
  void create_topic(TopicSpec t);  // throws if it exists
  void delete_topic(std::string_view name);
  void set_partition(std::string_view topic, PartitionSpec p);  // replaces (or appends) partition p.partition
  void set_leader(std::string_view topic, int32_t partition, int32_t leader);
  void set_replicas(std::string_view topic, int32_t partition, std::vector<int32_t> replicas);
  void set_isr(std::string_view topic, int32_t partition, std::vector<int32_t> isr);
  void set_partition_error(std::string_view topic, int32_t partition, int16_t error_code);
  void set_topic_error(std::string_view topic, int16_t error_code);
  // Reassignment in progress: appends `adding` to the replicas (not to the ISR).
  void start_reassignment(std::string_view topic, int32_t partition, const std::vector<int32_t>& adding);
  // Removes `broker` from every ISR it is in. May leave an ISR empty (its only in-sync replica died).
  void remove_from_isrs(int32_t broker);
  // Adds `broker` back to the ISR of every partition that has it as a replica (ISR kept in replica order).
  void rejoin_isrs(int32_t broker);
  // For partitions without a live leader: leader = first ISR member that is not down, error cleared; no
  // candidate leaves leader -1. With preferred=true also moves leadership back to replicas[0] when that
  // broker is up and in the ISR.
  void elect_leaders(bool preferred = false);

  // ---- Configs ----
  void set_topic_config(std::string_view topic, std::string key, std::string value);
  void set_broker_default(std::string key, std::string value);
  // Broker `id`'s own static config `key` (BrokerSpec::configs); nullopt removes it (the default shows).
  void set_broker_config(int32_t id, std::string key, std::optional<std::string> value);
  // DescribeConfigs of `topic`'s resource (every topic's when empty) answers `error_code` per resource
  // (TopicSpec::describe_configs_error; 29 TOPIC_AUTHORIZATION_FAILED as without the ACL); 0 serves again.
  void refuse_topic_configs(std::string_view topic, int16_t error_code);

  // ---- Faults ----
  void broker_down(int32_t id);
  void broker_up(int32_t id);
  void broker_hang(int32_t id);
  // A killed broker process: listener closed (connect refused), open connections reset (RST), still listed
  // in Metadata, partitions unchanged (Kafka notices only when the broker's session expires: call
  // broker_down / remove_from_isrs for that). broker_up(id) restarts it on the same port.
  void broker_kill(int32_t id);
  // A network partition of one broker: its open connections are black-holed (nothing read or answered, no
  // FIN or RST), new connections are accepted by the kernel but never served; still listed in Metadata.
  // broker_up(id) heals it.
  void broker_partition(int32_t id);
  // Every broker closes a connection that has had no request for `idle` (0 = never, the default), as a
  // broker's connections.max.idle.ms does: an orderly close (FIN), listener open, the broker healthy.
  void set_idle_timeout(std::chrono::milliseconds idle);
  // Hangs the broker a client picks for Metadata, after it connected: the next broker that receives an
  // all-topics Metadata request drops it and hangs from then on (as broker_hang; broker_up ends it).
  // hung_for_metadata() names that broker (-1 until one was picked).
  void hang_next_metadata_broker();
  int32_t hung_for_metadata() const;
  void set_latency(int32_t id, std::chrono::milliseconds latency);
  // Every all-topics Metadata answer (from any broker) is delayed by `latency` on top of the broker's own, as
  // a large cluster's answer takes long to build. A broker answers one connection's requests in order, so
  // the requests sent after it on that connection wait too.
  void set_metadata_latency(std::chrono::milliseconds latency);
  void inject_error(InjectedError e);
  void clear_injected_errors();
  // A broker that flaps on a schedule: a background thread repeats {down for `down_for`, up for `up_for`}
  // until stop_flapping(id) or stop(). Down = broker_down + remove_from_isrs + elect_leaders (what the
  // controller does); up = broker_up + rejoin_isrs + elect_leaders(preferred). Each cycle ends in the state
  // it started from, so a client probing only while the broker is up sees a healthy cluster.
  // stop_flapping leaves the broker up.
  void start_flapping(int32_t id, std::chrono::milliseconds down_for, std::chrono::milliseconds up_for);
  void stop_flapping(int32_t id);

 private:
  struct BrokerRuntime {
    BrokerView view;
    std::unique_ptr<BrokerServer> server;
  };

  // Request handling (connection threads, mu_ held): handle() decodes the header and dispatches on the API
  // key to one function per API; each answers, drops or closes.
  struct Request;  // cluster.cc
  HandlerResult handle(int32_t broker_id, std::string_view frame);
  HandlerResult api_versions_locked(Request& req);
  HandlerResult metadata_locked(Request& req);
  HandlerResult describe_configs_locked(Request& req);
  // For an all-topics Metadata request: true when hang_next_metadata_broker() is pending (the broker hangs).
  bool hang_for_metadata_locked(int32_t broker_id);
  // The first matching injected error for this request (one use consumed), or kErrNone.
  int16_t take_injected_locked(const Request& req);
  void start_listener_locked(BrokerRuntime& b);  // needs ops_mu_
  // Sets a listening status (up or hung), re-opening the listener of a broker that was down.
  void set_listening_status(int32_t id, BrokerStatus status);
  BrokerRuntime& broker_locked(int32_t id);
  const BrokerRuntime& broker_locked(int32_t id) const;
  TopicSpec& topic_locked(std::string_view name);
  PartitionSpec& partition_locked(std::string_view topic, int32_t partition);

  // Lock order: ops_mu_ (serialises listener start/stop) before mu_ (state). Connection threads only
  // take mu_, so stopping a listener (which joins its threads) is done with ops_mu_ held and mu_ free.
  struct Flapper;
  void stop_flappers();
  std::mutex flap_mu_;  // guards flappers_; never held while calling broker operations
  std::map<int32_t, std::unique_ptr<Flapper>> flappers_;

  mutable std::mutex ops_mu_;
  mutable std::mutex mu_;
  ClusterSpec spec_;  // brokers_ holds the broker specs; spec_.brokers is kept empty
  std::vector<std::unique_ptr<BrokerRuntime>> brokers_;
  std::vector<InjectedError> injected_;
  std::map<int16_t, uint64_t> served_;
  std::vector<ReceivedRequest> received_;  // guarded by mu_
  std::atomic<uint64_t> idle_closes_{0};
  bool hang_next_metadata_ = false;
  std::chrono::milliseconds idle_timeout_{0};  // guarded by mu_; applied to each listener started
  std::chrono::milliseconds metadata_latency_{0};  // guarded by mu_
  int32_t hung_for_metadata_ = -1;
  ListenerSecurity security_;  // guarded by ops_mu_
  bool started_ = false;
};

}  // namespace isrguard::kafkasim
