#pragma once

// Stable reason codes: used verbatim in JSON, /readyz?verbose, logs and metric labels. Never rename.

#include <array>
#include <string_view>

namespace isrguard::service::reason {

inline constexpr std::string_view kOfflinePartitions = "offline_partitions";
inline constexpr std::string_view kUnderReplicatedPartitions = "under_replicated_partitions";
inline constexpr std::string_view kUnderMinIsrPartitions = "under_min_isr_partitions";
inline constexpr std::string_view kAtMinIsrPartitions = "at_min_isr_partitions";
inline constexpr std::string_view kBrokersMissing = "brokers_missing";
// A broker listed in metadata that did not answer the per-broker check in time or answered slower than
// --broker-slow-after (service/judge/responsiveness.h).
inline constexpr std::string_view kBrokersUnresponsive = "brokers_unresponsive";
// A broker's connection dropped since the previous probe (it restarted, or was cut off, between two probes):
// a recent failure, so the gate closes for that probe and the recovery hold starts again.
inline constexpr std::string_view kBrokersReconnected = "brokers_reconnected";
// Metadata names no controller (controller id -1): leadership cannot move when a broker goes.
inline constexpr std::string_view kControllerUnknown = "controller_unknown";
// Topic or partition errors in metadata other than "leader not available" (which is offline).
inline constexpr std::string_view kMetadataErrors = "metadata_errors";
inline constexpr std::string_view kProbeFailed = "probe_failed";
inline constexpr std::string_view kSnapshotStale = "snapshot_stale";
// Reported, never gating by default: topics whose replica count <= min.insync.replicas (one broker loss
// stops producers with acks=all), and topics whose min.insync.replicas could not be read.
inline constexpr std::string_view kMinIsrRiskTopics = "min_isr_risk_topics";
inline constexpr std::string_view kMinIsrUnknownTopics = "min_isr_unknown_topics";
// Operator overrides (service/judge/overrides.h): a freeze always gates; an invalid overrides file is reported
// (the last valid set stays in force) and gates only when listed in --gating-reasons.
inline constexpr std::string_view kOverrideFreeze = "override_freeze";
inline constexpr std::string_view kOverridesInvalid = "overrides_invalid";

inline constexpr std::array<std::string_view, 15> kAll = {
    kOfflinePartitions,   kUnderReplicatedPartitions, kUnderMinIsrPartitions, kAtMinIsrPartitions,
    kBrokersMissing,      kBrokersUnresponsive,       kBrokersReconnected,    kControllerUnknown,
    kMetadataErrors,      kProbeFailed,               kSnapshotStale,         kMinIsrRiskTopics,
    kMinIsrUnknownTopics, kOverrideFreeze,            kOverridesInvalid};

// Default set that closes the gate: everything but at-min-ISR, the two topic-risk reports and overrides_invalid.
inline constexpr std::array<std::string_view, 11> kGatingByDefault = {
    kOfflinePartitions, kUnderReplicatedPartitions, kUnderMinIsrPartitions, kBrokersMissing,
    kBrokersUnresponsive, kBrokersReconnected,      kControllerUnknown,     kMetadataErrors,
    kProbeFailed,       kSnapshotStale,             kOverrideFreeze};

bool is_known(std::string_view code);

}  // namespace isrguard::service::reason

namespace isrguard::service::pstate {
// Per-partition state codes (a partition may have several), used by /v1/partitions?state= and metrics.
inline constexpr std::string_view kOffline = "offline";
inline constexpr std::string_view kUnderReplicated = "under_replicated";
inline constexpr std::string_view kUnderMinIsr = "under_min_isr";
inline constexpr std::string_view kAtMinIsr = "at_min_isr";
inline constexpr std::string_view kReassigning = "reassigning";
inline constexpr std::string_view kError = "error";
inline constexpr std::string_view kHealthy = "healthy";
inline constexpr std::array<std::string_view, 7> kAll = {
    kOffline, kUnderReplicated, kUnderMinIsr, kAtMinIsr, kReassigning, kError, kHealthy};
}  // namespace isrguard::service::pstate
