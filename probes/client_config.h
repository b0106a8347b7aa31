#pragma once

// Internal to probes/ (includes librdkafka): the librdkafka configuration the adapter's clients are created
// from, built and validated from RdKafkaSourceConfig. (is_secret_property and is_client_property, declared
// in probes/rdkafka_source.h, are defined beside it.)

#include <librdkafka/rdkafka.h>

#include <string>
#include <vector>

#include "probes/rdkafka_log.h"
#include "probes/rdkafka_source.h"

namespace isrguard::probes {

// Validates `config` and returns the librdkafka configuration every client of the adapter is duplicated
// from: the user's properties, then the adapter's defaults and caps (RdKafkaSourceConfig::properties lists
// them), with `sink` receiving the log, error and statistics callbacks (it must outlive every client).
// Throws std::invalid_argument listing every invalid property key and setting (secret values never appear).
// The caller owns the result (rd_kafka_conf_destroy).
rd_kafka_conf_t* build_client_template(const RdKafkaSourceConfig& config, LogSink& sink);

// Values of the secret properties in `config` (3 characters or more), for LogSink to scrub from log lines.
std::vector<std::string> secret_values(const RdKafkaSourceConfig& config);

// bootstrap.servers (else its alias metadata.broker.list) as configured, for messages; "" when neither
// is set.
std::string configured_bootstrap(const RdKafkaSourceConfig& config);

}  // namespace isrguard::probes
