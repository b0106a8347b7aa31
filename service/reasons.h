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
// Topic or partition errors in metadata other than "leader not available" (which is offline).
inline constexpr std::string_view kMetadataErrors = "metadata_errors";
inline constexpr std::string_view kProbeFailed = "probe_failed";
inline constexpr std::string_view kSnapshotStale = "snapshot_stale";
// Reported, never gating by default: topics whose replica count <= min.insync.replicas (one broker loss
// stops producers with acks=all), and topics whose min.insync.replicas could not be read.
inline constexpr std::string_view kMinIsrRiskTopics = "min_isr_risk_topics";
inline constexpr std::string_view kMinIsrUnknownTopics = "min_isr_unknown_topics";
// Operator overrides (service/overrides.h): a freeze always gates; an invalid overrides file is reported
// (the last valid set stays in force) and gates only when listed in --gating-reasons.
inline constexpr std::string_view kOverrideFreeze = "override_freeze";
inline constexpr std::string_view kOverridesInvalid = "overrides_invalid";

inline constexpr std::array<std::string_view, 12> kAll = {kOfflinePartitions,     kUnderReplicatedPartitions,
                                                          kUnderMinIsrPartitions, kAtMinIsrPartitions,
                                                          kBrokersMissing,        kMetadataErrors,
                                                          kProbeFailed,           kSnapshotStale,
                                                          kMinIsrRiskTopics,      kMinIsrUnknownTopics,
                                                          kOverrideFreeze,        kOverridesInvalid};

// Default set that closes the gate: everything but at-min-ISR and the two topic-risk reports.
inline constexpr std::array<std::string_view, 8> kGatingByDefault = {
    kOfflinePartitions,     kUnderReplicatedPartitions,
    kUnderMinIsrPartitions, kBrokersMissing,
    kMetadataErrors,        kProbeFailed,
    kSnapshotStale,         kOverrideFreeze};

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
