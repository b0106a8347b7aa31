#include "tests/kafkasim/protocol.h"

#include <cstring>
#include <limits>

namespace isrguard::kafkasim::proto {

// ---- Writer ----

void Writer::i8(int8_t v) { buf_.push_back(static_cast<char>(v)); }

void Writer::i16(int16_t v) {
  const auto u = static_cast<uint16_t>(v);
  buf_.push_back(static_cast<char>(u >> 8));
  buf_.push_back(static_cast<char>(u & 0xff));
}

void Writer::i32(int32_t v) {
  const auto u = static_cast<uint32_t>(v);
  for (int shift = 24; shift >= 0; shift -= 8) buf_.push_back(static_cast<char>((u >> shift) & 0xff));
}

void Writer::i64(int64_t v) {
  const auto u = static_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) buf_.push_back(static_cast<char>((u >> shift) & 0xff));
}

void Writer::uvarint(uint32_t v) {
  while (v >= 0x80) {
    buf_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  buf_.push_back(static_cast<char>(v));
}

void Writer::varint(int32_t v) {
  const auto u = static_cast<uint32_t>(v);
  uvarint((u << 1) ^ static_cast<uint32_t>(v >> 31));
}

void Writer::string(std::string_view s) {
  i16(static_cast<int16_t>(s.size()));
  buf_.append(s);
}

void Writer::nullable_string(const std::optional<std::string>& s) {
  if (!s) {
    i16(-1);
    return;
  }
  string(*s);
}

void Writer::compact_string(std::string_view s) {
  uvarint(static_cast<uint32_t>(s.size() + 1));
  buf_.append(s);
}

void Writer::compact_nullable_string(const std::optional<std::string>& s) {
  if (!s) {
    uvarint(0);
    return;
  }
  compact_string(*s);
}

void Writer::tagged_fields(const std::vector<TaggedField>& fields) {
  uvarint(static_cast<uint32_t>(fields.size()));
  for (const auto& f : fields) {
    uvarint(f.tag);
    uvarint(static_cast<uint32_t>(f.data.size()));
    buf_.append(f.data);
  }
}

void Writer::patch_i32(size_t pos, int32_t v) {
  const auto u = static_cast<uint32_t>(v);
  for (int i = 0; i < 4; ++i) buf_[pos + i] = static_cast<char>((u >> (24 - 8 * i)) & 0xff);
}

// ---- Reader ----

std::string_view Reader::take(size_t n) {
  if (n > remaining())
    throw DecodeError("truncated message: need " + std::to_string(n) + " bytes at offset " +
                      std::to_string(pos_) + ", have " + std::to_string(remaining()));
  auto out = data_.substr(pos_, n);
  pos_ += n;
  return out;
}

int8_t Reader::i8() { return static_cast<int8_t>(take(1)[0]); }

int16_t Reader::i16() {
  auto b = take(2);
  return static_cast<int16_t>((static_cast<uint8_t>(b[0]) << 8) | static_cast<uint8_t>(b[1]));
}

int32_t Reader::i32() {
  auto b = take(4);
  uint32_t u = 0;
  for (char c : b) u = (u << 8) | static_cast<uint8_t>(c);
  return static_cast<int32_t>(u);
}

int64_t Reader::i64() {
  auto b = take(8);
  uint64_t u = 0;
  for (char c : b) u = (u << 8) | static_cast<uint8_t>(c);
  return static_cast<int64_t>(u);
}

uint32_t Reader::uvarint() {
  uint32_t v = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    const auto b = static_cast<uint8_t>(take(1)[0]);
    if (shift == 28 && (b & 0xf0) != 0) throw DecodeError("varint does not fit 32 bits");
    v |= static_cast<uint32_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  throw DecodeError("varint longer than 5 bytes");
}

int32_t Reader::varint() {
  const uint32_t u = uvarint();
  return static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
}

std::string Reader::string() {
  const int16_t n = i16();
  if (n < 0) throw DecodeError("null string where a string is required");
  return std::string(take(static_cast<size_t>(n)));
}

std::optional<std::string> Reader::nullable_string() {
  const int16_t n = i16();
  if (n < 0) return std::nullopt;
  return std::string(take(static_cast<size_t>(n)));
}

std::string Reader::compact_string() {
  auto s = compact_nullable_string();
  if (!s) throw DecodeError("null compact string where a string is required");
  return *std::move(s);
}

std::optional<std::string> Reader::compact_nullable_string() {
  const uint32_t n = uvarint();
  if (n == 0) return std::nullopt;
  return std::string(take(n - 1));
}

int32_t Reader::checked_count(int64_t n, size_t min_elem) {
  if (n < 0) return -1;
  if (static_cast<uint64_t>(n) * min_elem > remaining())
    throw DecodeError("array count " + std::to_string(n) + " exceeds remaining bytes");
  return static_cast<int32_t>(n);
}

int32_t Reader::array_len() {
  const int32_t n = i32();
  if (n < -1) throw DecodeError("negative array count " + std::to_string(n));
  return checked_count(n);
}

int32_t Reader::compact_array_len() {
  const uint32_t n = uvarint();
  return checked_count(static_cast<int64_t>(n) - 1);
}

std::vector<TaggedField> Reader::tagged_fields() {
  const int32_t n = checked_count(uvarint());
  std::vector<TaggedField> out;
  out.reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    TaggedField f;
    f.tag = uvarint();
    const uint32_t size = uvarint();
    f.data = std::string(take(size));
    out.push_back(std::move(f));
  }
  return out;
}

// ---- Headers ----

bool is_flexible(int16_t api_key, int16_t api_version) {
  switch (api_key) {
    case kApiApiVersions:
      return api_version >= 3;
    case kApiMetadata:
      return api_version >= 9;
    case kApiDescribeConfigs:
      return api_version >= 4;
    default:
      return false;
  }
}

int request_header_version(int16_t api_key, int16_t api_version) {
  return is_flexible(api_key, api_version) ? 2 : 1;
}

int response_header_version(int16_t api_key, int16_t api_version) {
  // ApiVersions responses always use header v0 so that a client can parse the error of an
  // unsupported-version reply whatever version it asked for.
  if (api_key == kApiApiVersions) return 0;
  return is_flexible(api_key, api_version) ? 1 : 0;
}

void encode_request_header(Writer& w, const RequestHeader& h) {
  w.i16(h.api_key);
  w.i16(h.api_version);
  w.i32(h.correlation_id);
  w.nullable_string(h.client_id);  // stays a classic (non-compact) string even in header v2
  if (request_header_version(h.api_key, h.api_version) >= 2) w.tagged_fields(h.tagged_fields);
}

RequestHeader decode_request_header(Reader& r) {
  RequestHeader h;
  h.api_key = r.i16();
  h.api_version = r.i16();
  h.correlation_id = r.i32();
  h.client_id = r.nullable_string();
  if (request_header_version(h.api_key, h.api_version) >= 2) h.tagged_fields = r.tagged_fields();
  return h;
}

std::optional<int32_t> peek_correlation_id(std::string_view frame) {
  if (frame.size() < 8) return std::nullopt;
  Reader r(frame.substr(4, 4));
  return r.i32();
}

void encode_response_header(Writer& w, const ResponseHeader& h, int header_version) {
  w.i32(h.correlation_id);
  if (header_version >= 1) w.tagged_fields(h.tagged_fields);
}

ResponseHeader decode_response_header(Reader& r, int header_version) {
  ResponseHeader h;
  h.correlation_id = r.i32();
  if (header_version >= 1) h.tagged_fields = r.tagged_fields();
  return h;
}

// ---- ApiVersions ----

void encode(Writer& w, const ApiVersionsRequest& m, int16_t version) {
  if (version >= 3) {
    w.compact_string(m.client_software_name);
    w.compact_string(m.client_software_version);
    w.tagged_fields({});
  }
}

ApiVersionsRequest decode_api_versions_request(Reader& r, int16_t version) {
  ApiVersionsRequest m;
  if (version >= 3) {
    m.client_software_name = r.compact_string();
    m.client_software_version = r.compact_string();
    r.tagged_fields();
  }
  return m;
}

void encode(Writer& w, const ApiVersionsResponse& m, int16_t version) {
  const bool flexible = version >= 3;
  w.i16(m.error_code);
  if (flexible)
    w.compact_array_len(m.api_keys.size());
  else
    w.array_len(m.api_keys.size());
  for (const auto& k : m.api_keys) {
    w.i16(k.api_key);
    w.i16(k.min_version);
    w.i16(k.max_version);
    if (flexible) w.tagged_fields({});
  }
  if (version >= 1) w.i32(m.throttle_time_ms);
  if (flexible) w.tagged_fields({});
}

ApiVersionsResponse decode_api_versions_response(Reader& r, int16_t version) {
  const bool flexible = version >= 3;
  ApiVersionsResponse m;
  m.error_code = r.i16();
  const int32_t n = flexible ? r.compact_array_len() : r.array_len();
  for (int32_t i = 0; i < n; ++i) {
    ApiVersionRange k;
    k.api_key = r.i16();
    k.min_version = r.i16();
    k.max_version = r.i16();
    if (flexible) r.tagged_fields();
    m.api_keys.push_back(k);
  }
  if (version >= 1) m.throttle_time_ms = r.i32();
  if (flexible) r.tagged_fields();
  return m;
}

// ---- Metadata ----

namespace {

void write_i32_array(Writer& w, const std::vector<int32_t>& v) {
  w.array_len(v.size());
  for (int32_t x : v) w.i32(x);
}

std::vector<int32_t> read_i32_array(Reader& r) {
  const int32_t n = r.array_len();
  if (n < 0) throw DecodeError("null int32 array");
  std::vector<int32_t> v;
  v.reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) v.push_back(r.i32());
  return v;
}

void require_version(int16_t version, int16_t max, const char* what) {
  if (version < 0 || version > max)
    throw DecodeError(std::string(what) + " version " + std::to_string(version) + " not supported");
}

}  // namespace

void encode(Writer& w, const MetadataRequest& m, int16_t version) {
  require_version(version, kMetadataMaxVersion, "Metadata");
  if (!m.topics) {
    // v0 has no null array: an empty list asks for all topics.
    w.i32(version >= 1 ? -1 : 0);
  } else {
    w.array_len(m.topics->size());
    for (const auto& t : *m.topics) w.string(t);
  }
  if (version >= 4) w.boolean(m.allow_auto_topic_creation);
  if (version >= 8) {
    w.boolean(m.include_cluster_authorized_operations);
    w.boolean(m.include_topic_authorized_operations);
  }
}

MetadataRequest decode_metadata_request(Reader& r, int16_t version) {
  require_version(version, kMetadataMaxVersion, "Metadata");
  MetadataRequest m;
  const int32_t n = r.array_len();
  if (n >= 0 && !(version == 0 && n == 0)) {
    m.topics.emplace();
    for (int32_t i = 0; i < n; ++i) m.topics->push_back(r.string());
  }
  if (version >= 4) m.allow_auto_topic_creation = r.boolean();
  if (version >= 8) {
    m.include_cluster_authorized_operations = r.boolean();
    m.include_topic_authorized_operations = r.boolean();
  }
  return m;
}

void encode_metadata_head(Writer& w, const MetadataResponse& m, int16_t version) {
  require_version(version, kMetadataMaxVersion, "Metadata");
  if (version >= 3) w.i32(m.throttle_time_ms);
  w.array_len(m.brokers.size());
  for (const auto& b : m.brokers) {
    w.i32(b.node_id);
    w.string(b.host);
    w.i32(b.port);
    if (version >= 1) w.nullable_string(b.rack);
  }
  if (version >= 2) w.nullable_string(m.cluster_id);
  if (version >= 1) w.i32(m.controller_id);
}

void encode_metadata_topic(Writer& w, const MetadataTopic& t, int16_t version) {
  w.i16(t.error_code);
  w.string(t.name);
  if (version >= 1) w.boolean(t.is_internal);
  w.array_len(t.partitions.size());
  for (const auto& p : t.partitions) {
    w.i16(p.error_code);
    w.i32(p.partition_index);
    w.i32(p.leader_id);
    if (version >= 7) w.i32(p.leader_epoch);
    write_i32_array(w, p.replica_nodes);
    write_i32_array(w, p.isr_nodes);
    if (version >= 5) write_i32_array(w, p.offline_replicas);
  }
  if (version >= 8) w.i32(t.topic_authorized_operations);
}

void encode_metadata_tail(Writer& w, const MetadataResponse& m, int16_t version) {
  if (version >= 8) w.i32(m.cluster_authorized_operations);
}

void encode(Writer& w, const MetadataResponse& m, int16_t version) {
  encode_metadata_head(w, m, version);
  w.array_len(m.topics.size());
  for (const auto& t : m.topics) encode_metadata_topic(w, t, version);
  encode_metadata_tail(w, m, version);
}

MetadataResponse decode_metadata_response(Reader& r, int16_t version) {
  require_version(version, kMetadataMaxVersion, "Metadata");
  MetadataResponse m;
  if (version >= 3) m.throttle_time_ms = r.i32();
  const int32_t nb = r.array_len();
  for (int32_t i = 0; i < nb; ++i) {
    MetadataBroker b;
    b.node_id = r.i32();
    b.host = r.string();
    b.port = r.i32();
    if (version >= 1) b.rack = r.nullable_string();
    m.brokers.push_back(std::move(b));
  }
  if (version >= 2) m.cluster_id = r.nullable_string();
  if (version >= 1) m.controller_id = r.i32();
  const int32_t nt = r.array_len();
  for (int32_t i = 0; i < nt; ++i) {
    MetadataTopic t;
    t.error_code = r.i16();
    t.name = r.string();
    if (version >= 1) t.is_internal = r.boolean();
    const int32_t np = r.array_len();
    for (int32_t j = 0; j < np; ++j) {
      MetadataPartition p;
      p.error_code = r.i16();
      p.partition_index = r.i32();
      p.leader_id = r.i32();
      if (version >= 7) p.leader_epoch = r.i32();
      p.replica_nodes = read_i32_array(r);
      p.isr_nodes = read_i32_array(r);
      if (version >= 5) p.offline_replicas = read_i32_array(r);
      t.partitions.push_back(std::move(p));
    }
    if (version >= 8) t.topic_authorized_operations = r.i32();
    m.topics.push_back(std::move(t));
  }
  if (version >= 8) m.cluster_authorized_operations = r.i32();
  return m;
}

// ---- DescribeConfigs ----

void encode(Writer& w, const DescribeConfigsRequest& m, int16_t version) {
  require_version(version, kDescribeConfigsMaxVersion, "DescribeConfigs");
  w.array_len(m.resources.size());
  for (const auto& res : m.resources) {
    w.i8(res.resource_type);
    w.string(res.resource_name);
    if (!res.configuration_keys) {
      w.i32(-1);
    } else {
      w.array_len(res.configuration_keys->size());
      for (const auto& k : *res.configuration_keys) w.string(k);
    }
  }
  if (version >= 1) w.boolean(m.include_synonyms);
}

DescribeConfigsRequest decode_describe_configs_request(Reader& r, int16_t version) {
  require_version(version, kDescribeConfigsMaxVersion, "DescribeConfigs");
  DescribeConfigsRequest m;
  const int32_t n = r.array_len();
  for (int32_t i = 0; i < n; ++i) {
    DescribeConfigsResource res;
    res.resource_type = r.i8();
    res.resource_name = r.string();
    const int32_t nk = r.array_len();
    if (nk >= 0) {
      res.configuration_keys.emplace();
      for (int32_t k = 0; k < nk; ++k) res.configuration_keys->push_back(r.string());
    }
    m.resources.push_back(std::move(res));
  }
  if (version >= 1) m.include_synonyms = r.boolean();
  return m;
}

void encode(Writer& w, const DescribeConfigsResponse& m, int16_t version) {
  require_version(version, kDescribeConfigsMaxVersion, "DescribeConfigs");
  w.i32(m.throttle_time_ms);
  w.array_len(m.results.size());
  for (const auto& res : m.results) {
    w.i16(res.error_code);
    w.nullable_string(res.error_message);
    w.i8(res.resource_type);
    w.string(res.resource_name);
    w.array_len(res.configs.size());
    for (const auto& c : res.configs) {
      w.string(c.name);
      w.nullable_string(c.value);
      w.boolean(c.read_only);
      if (version == 0)
        w.boolean(c.is_default);
      else
        w.i8(c.config_source);
      w.boolean(c.is_sensitive);
      if (version >= 1) {
        w.array_len(c.synonyms.size());
        for (const auto& s : c.synonyms) {
          w.string(s.name);
          w.nullable_string(s.value);
          w.i8(s.source);
        }
      }
    }
  }
}

DescribeConfigsResponse decode_describe_configs_response(Reader& r, int16_t version) {
  require_version(version, kDescribeConfigsMaxVersion, "DescribeConfigs");
  DescribeConfigsResponse m;
  m.throttle_time_ms = r.i32();
  const int32_t n = r.array_len();
  for (int32_t i = 0; i < n; ++i) {
    DescribeConfigsResult res;
    res.error_code = r.i16();
    res.error_message = r.nullable_string();
    res.resource_type = r.i8();
    res.resource_name = r.string();
    const int32_t nc = r.array_len();
    for (int32_t j = 0; j < nc; ++j) {
      ConfigEntry c;
      c.name = r.string();
      c.value = r.nullable_string();
      c.read_only = r.boolean();
      if (version == 0)
        c.is_default = r.boolean();
      else
        c.config_source = r.i8();
      c.is_sensitive = r.boolean();
      if (version >= 1) {
        const int32_t ns = r.array_len();
        for (int32_t k = 0; k < ns; ++k) {
          ConfigSynonym s;
          s.name = r.string();
          s.value = r.nullable_string();
          s.source = r.i8();
          c.synonyms.push_back(std::move(s));
        }
      }
      res.configs.push_back(std::move(c));
    }
    m.results.push_back(std::move(res));
  }
  return m;
}

}  // namespace isrguard::kafkasim::proto
