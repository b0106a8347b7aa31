#pragma once

// Kafka wire-protocol codec for the few APIs kafkasim serves (ApiVersions, Metadata, DescribeConfigs).
// Written from the message schemas in apache/kafka clients/src/main/resources/common/message/*.json.
//
// Scope: request headers v1 and v2 (flexible), response headers v0 and v1; ApiVersions v0-v3 (v3 is
// flexible), Metadata v0-v8 (non-flexible), DescribeConfigs v0-v2 (non-flexible; v3's added field changed
// type between schema revisions, so it is not offered). Every message has an encoder and a decoder for both
// directions so unit tests can round-trip them and the integration tests can speak to kafkasim with a
// hand-written client.
//
// Decoders throw DecodeError on truncated or malformed input; callers (the broker connection loop) turn
// that into closing the connection, never into a crash.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace isrguard::kafkasim::proto {

// Api keys kafkasim knows about.
inline constexpr int16_t kApiMetadata = 3;
inline constexpr int16_t kApiApiVersions = 18;
inline constexpr int16_t kApiDescribeConfigs = 32;

// Error codes used by kafkasim (Kafka's numbering).
inline constexpr int16_t kErrNone = 0;
inline constexpr int16_t kErrUnknownTopicOrPartition = 3;
inline constexpr int16_t kErrLeaderNotAvailable = 5;
inline constexpr int16_t kErrReplicaNotAvailable = 9;
inline constexpr int16_t kErrTopicAuthorizationFailed = 29;
inline constexpr int16_t kErrUnsupportedVersion = 35;
inline constexpr int16_t kErrInvalidRequest = 42;

// DescribeConfigs resource types and config sources.
inline constexpr int8_t kResourceTopic = 2;
inline constexpr int8_t kResourceBroker = 4;
inline constexpr int8_t kSourceUnknown = 0;
inline constexpr int8_t kSourceDynamicTopic = 1;
inline constexpr int8_t kSourceDynamicBroker = 2;
inline constexpr int8_t kSourceStaticBroker = 4;
inline constexpr int8_t kSourceDefaultConfig = 5;

// Sentinel for the authorized-operations fields (Metadata v8+) when not requested.
inline constexpr int32_t kAuthorizedOperationsOmitted = INT32_MIN;

class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An unknown tagged field kept verbatim (tag number + raw bytes).
struct TaggedField {
  uint32_t tag = 0;
  std::string data;
  bool operator==(const TaggedField&) const = default;
};

// Appends big-endian primitives to a byte string.
class Writer {
 public:
  void i8(int8_t v);
  void i16(int16_t v);
  void i32(int32_t v);
  void i64(int64_t v);
  void boolean(bool v) { i8(v ? 1 : 0); }
  void uvarint(uint32_t v);
  void varint(int32_t v);  // zig-zag
  void string(std::string_view s);
  void nullable_string(const std::optional<std::string>& s);
  void compact_string(std::string_view s);
  void compact_nullable_string(const std::optional<std::string>& s);
  void array_len(size_t n) { i32(static_cast<int32_t>(n)); }
  void compact_array_len(size_t n) { uvarint(static_cast<uint32_t>(n + 1)); }
  void tagged_fields(const std::vector<TaggedField>& fields);
  void raw(std::string_view bytes) { buf_.append(bytes); }
  void reserve(size_t n) { buf_.reserve(n); }
  // Overwrites 4 bytes at `pos` (used to patch the frame size prefix).
  void patch_i32(size_t pos, int32_t v);

  size_t size() const { return buf_.size(); }
  const std::string& bytes() const { return buf_; }
  std::string take() { return std::move(buf_); }

 private:
  std::string buf_;
};

// Reads big-endian primitives from a byte view; throws DecodeError when data runs out.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  int8_t i8();
  int16_t i16();
  int32_t i32();
  int64_t i64();
  bool boolean() { return i8() != 0; }
  uint32_t uvarint();
  int32_t varint();
  std::string string();
  std::optional<std::string> nullable_string();
  std::string compact_string();
  std::optional<std::string> compact_nullable_string();
  // Returns -1 for a null array.
  int32_t array_len();
  int32_t compact_array_len();
  std::vector<TaggedField> tagged_fields();

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }

 private:
  std::string_view take(size_t n);
  // Rejects array counts that cannot fit in the remaining bytes (each element needs >= min_elem bytes).
  int32_t checked_count(int64_t n, size_t min_elem = 1);

  std::string_view data_;
  size_t pos_ = 0;
};

// True when (api_key, api_version) uses the flexible (KIP-482) encoding kafkasim knows of.
bool is_flexible(int16_t api_key, int16_t api_version);
// Request header version: 2 for flexible requests, 1 otherwise.
int request_header_version(int16_t api_key, int16_t api_version);
// Response header version: 1 for flexible responses except ApiVersions (always 0), 0 otherwise.
int response_header_version(int16_t api_key, int16_t api_version);

struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
  std::vector<TaggedField> tagged_fields;  // header v2 only
  bool operator==(const RequestHeader&) const = default;
};

void encode_request_header(Writer& w, const RequestHeader& h);
// Reads api_key/api_version first, then decides the header version from them.
RequestHeader decode_request_header(Reader& r);
// The correlation id of a raw request frame (bytes 4..7), readable even when the rest is not.
std::optional<int32_t> peek_correlation_id(std::string_view frame);

struct ResponseHeader {
  int32_t correlation_id = 0;
  std::vector<TaggedField> tagged_fields;  // header v1 only
  bool operator==(const ResponseHeader&) const = default;
};
void encode_response_header(Writer& w, const ResponseHeader& h, int header_version);
ResponseHeader decode_response_header(Reader& r, int header_version);

// ---- ApiVersions (key 18) ----
struct ApiVersionsRequest {
  std::string client_software_name;  // v3+
  std::string client_software_version;
  bool operator==(const ApiVersionsRequest&) const = default;
};
struct ApiVersionRange {
  int16_t api_key = 0;
  int16_t min_version = 0;
  int16_t max_version = 0;
  bool operator==(const ApiVersionRange&) const = default;
};
struct ApiVersionsResponse {
  int16_t error_code = 0;
  std::vector<ApiVersionRange> api_keys;
  int32_t throttle_time_ms = 0;  // v1+
  bool operator==(const ApiVersionsResponse&) const = default;
};
void encode(Writer& w, const ApiVersionsRequest& m, int16_t version);
ApiVersionsRequest decode_api_versions_request(Reader& r, int16_t version);
void encode(Writer& w, const ApiVersionsResponse& m, int16_t version);
ApiVersionsResponse decode_api_versions_response(Reader& r, int16_t version);

// ---- Metadata (key 3) ----
struct MetadataRequest {
  // nullopt: all topics. v0 has no null array; an empty v0 list also means all topics.
  std::optional<std::vector<std::string>> topics;
  bool allow_auto_topic_creation = true;               // v4+
  bool include_cluster_authorized_operations = false;  // v8+
  bool include_topic_authorized_operations = false;    // v8+
  bool operator==(const MetadataRequest&) const = default;
};
struct MetadataBroker {
  int32_t node_id = 0;
  std::string host;
  int32_t port = 0;
  std::optional<std::string> rack;  // v1+
  bool operator==(const MetadataBroker&) const = default;
};
struct MetadataPartition {
  int16_t error_code = 0;
  int32_t partition_index = 0;
  int32_t leader_id = -1;
  int32_t leader_epoch = -1;  // v7+
  std::vector<int32_t> replica_nodes;
  std::vector<int32_t> isr_nodes;
  std::vector<int32_t> offline_replicas;  // v5+
  bool operator==(const MetadataPartition&) const = default;
};
struct MetadataTopic {
  int16_t error_code = 0;
  std::string name;
  bool is_internal = false;  // v1+
  std::vector<MetadataPartition> partitions;
  int32_t topic_authorized_operations = kAuthorizedOperationsOmitted;  // v8+
  bool operator==(const MetadataTopic&) const = default;
};
struct MetadataResponse {
  int32_t throttle_time_ms = 0;  // v3+
  std::vector<MetadataBroker> brokers;
  std::optional<std::string> cluster_id;  // v2+
  int32_t controller_id = -1;             // v1+
  std::vector<MetadataTopic> topics;
  int32_t cluster_authorized_operations = kAuthorizedOperationsOmitted;  // v8+
  bool operator==(const MetadataResponse&) const = default;
};
inline constexpr int16_t kMetadataMaxVersion = 8;
void encode(Writer& w, const MetadataRequest& m, int16_t version);
MetadataRequest decode_metadata_request(Reader& r, int16_t version);
void encode(Writer& w, const MetadataResponse& m, int16_t version);
// The same answer written in pieces, for answers too big to hold twice (1M partitions): everything before
// the topics array (m.topics is not read), then the caller writes array_len and one topic at a time, then
// everything after the array.
void encode_metadata_head(Writer& w, const MetadataResponse& m, int16_t version);
void encode_metadata_topic(Writer& w, const MetadataTopic& t, int16_t version);
void encode_metadata_tail(Writer& w, const MetadataResponse& m, int16_t version);
MetadataResponse decode_metadata_response(Reader& r, int16_t version);

// ---- DescribeConfigs (key 32) ----
struct DescribeConfigsResource {
  int8_t resource_type = 0;
  std::string resource_name;
  std::optional<std::vector<std::string>> configuration_keys;  // nullopt: all configs
  bool operator==(const DescribeConfigsResource&) const = default;
};
struct DescribeConfigsRequest {
  std::vector<DescribeConfigsResource> resources;
  bool include_synonyms = false;  // v1+
  bool operator==(const DescribeConfigsRequest&) const = default;
};
struct ConfigSynonym {
  std::string name;
  std::optional<std::string> value;
  int8_t source = 0;
  bool operator==(const ConfigSynonym&) const = default;
};
struct ConfigEntry {
  std::string name;
  std::optional<std::string> value;
  bool read_only = false;
  bool is_default = false;    // v0 only on the wire
  int8_t config_source = -1;  // v1+ on the wire
  bool is_sensitive = false;
  std::vector<ConfigSynonym> synonyms;  // v1+
  bool operator==(const ConfigEntry&) const = default;
};
struct DescribeConfigsResult {
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  int8_t resource_type = 0;
  std::string resource_name;
  std::vector<ConfigEntry> configs;
  bool operator==(const DescribeConfigsResult&) const = default;
};
struct DescribeConfigsResponse {
  int32_t throttle_time_ms = 0;
  std::vector<DescribeConfigsResult> results;
  bool operator==(const DescribeConfigsResponse&) const = default;
};
inline constexpr int16_t kDescribeConfigsMaxVersion = 2;
void encode(Writer& w, const DescribeConfigsRequest& m, int16_t version);
DescribeConfigsRequest decode_describe_configs_request(Reader& r, int16_t version);
void encode(Writer& w, const DescribeConfigsResponse& m, int16_t version);
DescribeConfigsResponse decode_describe_configs_response(Reader& r, int16_t version);

// Builds a complete request frame (int32 size prefix + header + body) for hand-written clients.
template <typename Message>
std::string request_frame(const RequestHeader& header, const Message& body) {
  Writer w;
  w.i32(0);
  encode_request_header(w, header);
  encode(w, body, header.api_version);
  w.patch_i32(0, static_cast<int32_t>(w.size() - 4));
  return w.take();
}

}  // namespace isrguard::kafkasim::proto
