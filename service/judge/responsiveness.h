#pragma once

// Judgement over the per-broker check (probes::BrokerResponse) and the metadata's controller id. Kept apart
// from the partition passes in verdict.cc: it reads only the snapshot's brokers and broker_responses.
//
// brokers_unresponsive: a broker listed in metadata that did not answer its DescribeConfigs within
//   Policy::broker_slow_after (the probe gives the check up then), or answered slower. A hung broker keeps its partitions' ISR in
//   metadata (only the leader shrinks an ISR), so metadata alone looks healthy while those partitions are
//   unavailable: this check is the only one that sees it.
// brokers_reconnected: a broker whose connection was lost since the previous probe (BrokerResponse::
//   disconnects; the probe loop also adds it the moment a loss happens, docs/faults.md#closing-on-events). A broker that restarted between two probes looks healthy to both; treating the drop as a
//   recent failure closes the gate for one probe and restarts the recovery hold.
// controller_unknown: metadata names no controller (-1). In ZooKeeper mode no controller is elected; in KRaft
//   the field is a random live broker, so -1 means none is live. Either way leadership cannot move when a
//   broker goes, so a voluntary disruption is unsafe.

#include "service/judge/verdict_types.h"

namespace isrguard::service {

// Fills BrokerHealth::response / unresponsive of `v.brokers` and adds the two reasons above to `v.reasons`,
// keeping reason::kAll order. Pure.
void judge_responsiveness(const ClusterSnapshot& snapshot, const Policy& policy, Verdict& v);

// True when the broker did not answer, or answered slower than policy.broker_slow_after.
bool is_unresponsive(const probes::BrokerResponse& r, const Policy& policy);

}  // namespace isrguard::service
