#pragma once

#include "probes/snapshot.h"

namespace isrguard::probes {

// Where snapshots come from. The librdkafka adapter is the real one; tests use fakes.
// Called only from the probe loop thread; implementations need not be thread-safe.
class MetadataSource {
 public:
  virtual ~MetadataSource() = default;
  // One bounded probe: never blocks longer than the source's configured timeout. Expected failures are
  // returned as ProbeResult::error, never thrown.
  virtual ProbeResult probe() = 0;
};

}  // namespace isrguard::probes
