#pragma once

#include <functional>
#include <ostream>
#include <string>

#include "probes/snapshot.h"

namespace isrguard::probes {

// A known broker's established connection went down and the broker did not take a new one at once
// (probes/connection_watch.h): a failure known before the next probe.
struct ConnectionLoss {
  BrokerId id = 0;
  std::string detail;  // "broker 2 (127.0.0.1:9092): connection lost, reconnect refused: Connection refused"

  bool operator==(const ConnectionLoss&) const = default;
};
std::ostream& operator<<(std::ostream& os, const ConnectionLoss& l);  // probes/connection_watch.cc

// Called on a thread of the source's own, never the probe loop's; must not block for long.
using ConnectionListener = std::function<void(const ConnectionLoss&)>;

// Where snapshots come from. The librdkafka adapter is the real one; tests use fakes.
// Called only from the probe loop thread; implementations need not be thread-safe.
class MetadataSource {
 public:
  virtual ~MetadataSource() = default;
  // One bounded probe: never blocks longer than the source's configured timeout. Expected failures are
  // returned as ProbeResult::error, never thrown.
  virtual ProbeResult probe() = 0;
  // Who hears of connection losses as they happen (between and during probes). Sources without
  // connections of their own (tests' fakes) never call it. Set before the loop runs; empty: nobody.
  virtual void on_connection_loss(ConnectionListener listener) { (void)listener; }
};

}  // namespace isrguard::probes
