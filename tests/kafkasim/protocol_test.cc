// Codec unit tests: primitive encodings, flexible headers and tagged fields, message round trips for every
// supported version, and robustness against truncated or random input.
#include "tests/kafkasim/protocol.h"

#include <gtest/gtest.h>

#include <random>

namespace isrguard::kafkasim::proto {
namespace {

std::string hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

TEST(KafkaCodec, UnsignedVarintKnownEncodings) {
  const std::vector<std::pair<uint32_t, std::string>> rows = {{0, "00"},
                                                              {1, "01"},
                                                              {127, "7f"},
                                                              {128, "8001"},
                                                              {300, "ac02"},
                                                              {16384, "808001"},
                                                              {UINT32_MAX, "ffffffff0f"}};
  for (const auto& [value, bytes] : rows) {
    Writer w;
    w.uvarint(value);
    EXPECT_EQ(hex(w.bytes()), bytes) << value;
    Reader r(w.bytes());
    EXPECT_EQ(r.uvarint(), value);
    EXPECT_EQ(r.remaining(), 0u);
  }
}

TEST(KafkaCodec, ZigZagVarintRoundTrip) {
  for (int32_t v : {0, -1, 1, -2, 63, -64, 64, INT32_MAX, INT32_MIN}) {
    Writer w;
    w.varint(v);
    Reader r(w.bytes());
    EXPECT_EQ(r.varint(), v);
  }
  Writer w;
  w.varint(-1);
  EXPECT_EQ(hex(w.bytes()), "01");  // zig-zag: -1 -> 1
}

TEST(KafkaCodec, OverlongVarintIsAnError) {
  const std::string bytes("\xff\xff\xff\xff\xff\x01", 6);
  Reader r(bytes);
  EXPECT_THROW(r.uvarint(), DecodeError);
}

TEST(KafkaCodec, StringsClassicAndCompact) {
  Writer w;
  w.string("ab");
  w.nullable_string(std::nullopt);
  w.compact_string("xyz");
  w.compact_nullable_string(std::nullopt);
  w.compact_nullable_string(std::string());
  EXPECT_EQ(hex(w.bytes()), "00026162ffff0478797a0001");
  Reader r(w.bytes());
  EXPECT_EQ(r.string(), "ab");
  EXPECT_EQ(r.nullable_string(), std::nullopt);
  EXPECT_EQ(r.compact_string(), "xyz");
  EXPECT_EQ(r.compact_nullable_string(), std::nullopt);
  EXPECT_EQ(r.compact_nullable_string(), std::string());
}

TEST(KafkaCodec, TaggedFieldsRoundTrip) {
  const std::vector<TaggedField> fields = {{0, "abc"}, {7, ""}, {300, std::string(200, 'x')}};
  Writer w;
  w.tagged_fields(fields);
  Reader r(w.bytes());
  EXPECT_EQ(r.tagged_fields(), fields);
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(KafkaCodec, FlexibleRequestHeaderForApiVersionsV3) {
  RequestHeader h{.api_key = kApiApiVersions,
                  .api_version = 3,
                  .correlation_id = 7,
                  .client_id = "c",
                  .tagged_fields = {}};
  Writer w;
  encode_request_header(w, h);
  // key 18, version 3, correlation 7, client_id as classic int16 string "c", then 0 tagged fields.
  EXPECT_EQ(hex(w.bytes()),
            "0012000300000007000163"
            "00");
  Reader r(w.bytes());
  EXPECT_EQ(decode_request_header(r), h);
}

TEST(KafkaCodec, ClassicRequestHeaderHasNoTags) {
  RequestHeader h{.api_key = kApiMetadata,
                  .api_version = 4,
                  .correlation_id = -5,
                  .client_id = std::nullopt,
                  .tagged_fields = {}};
  Writer w;
  encode_request_header(w, h);
  EXPECT_EQ(hex(w.bytes()), "00030004fffffffbffff");  // null client_id = int16 -1, no tag section
  Reader r(w.bytes());
  EXPECT_EQ(decode_request_header(r), h);
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(KafkaCodec, HeaderVersions) {
  EXPECT_EQ(request_header_version(kApiApiVersions, 2), 1);
  EXPECT_EQ(request_header_version(kApiApiVersions, 3), 2);
  EXPECT_EQ(response_header_version(kApiApiVersions, 3), 0);  // always v0 for ApiVersions
  EXPECT_EQ(response_header_version(kApiMetadata, 8), 0);
  EXPECT_EQ(response_header_version(kApiMetadata, 9), 1);
  EXPECT_EQ(peek_correlation_id(std::string("\x00\x12\x00\x63\x00\x00\x01\x02", 8)), 258);
  EXPECT_EQ(peek_correlation_id("abc"), std::nullopt);
}

TEST(KafkaCodec, ApiVersionsRoundTripAllVersions) {
  ApiVersionsResponse resp{
      .error_code = 0, .api_keys = {{3, 0, 8}, {18, 0, 3}, {32, 0, 2}}, .throttle_time_ms = 0};
  for (int16_t v = 0; v <= 3; ++v) {
    ApiVersionsResponse m = resp;
    if (v >= 1) m.throttle_time_ms = 17;
    Writer w;
    encode(w, m, v);
    Reader r(w.bytes());
    EXPECT_EQ(decode_api_versions_response(r, v), m) << "v" << v;
    EXPECT_EQ(r.remaining(), 0u);

    ApiVersionsRequest req;
    if (v >= 3) req = {.client_software_name = "librdkafka", .client_software_version = "2.0.2"};
    Writer wq;
    encode(wq, req, v);
    Reader rq(wq.bytes());
    EXPECT_EQ(decode_api_versions_request(rq, v), req);
  }
}

TEST(KafkaCodec, ApiVersionsV3UsesCompactArrayAndTags) {
  ApiVersionsResponse m{.error_code = 0, .api_keys = {{3, 0, 8}}, .throttle_time_ms = 0};
  Writer w;
  encode(w, m, 3);
  // error 0, compact array len 1+1, entry (3,0,8) + 0 tags, throttle 0, 0 tags.
  EXPECT_EQ(hex(w.bytes()),
            "0000"
            "02"
            "000300000008"
            "00"
            "00000000"
            "00");
}

MetadataResponse sample_metadata(int16_t v) {
  MetadataResponse m;
  m.brokers = {{1, "127.0.0.1", 9092, std::nullopt}, {2, "127.0.0.1", 9093, std::nullopt}};
  if (v >= 1) {
    m.brokers[0].rack = "rack-a";
    m.controller_id = 2;
  }
  if (v >= 2) m.cluster_id = "cid";
  if (v >= 3) m.throttle_time_ms = 5;
  MetadataTopic t;
  t.name = "orders";
  t.is_internal = v >= 1;
  MetadataPartition p0{.error_code = 0,
                       .partition_index = 0,
                       .leader_id = 1,
                       .leader_epoch = -1,
                       .replica_nodes = {1, 2},
                       .isr_nodes = {1},
                       .offline_replicas = {}};
  MetadataPartition p1{.error_code = 5,
                       .partition_index = 1,
                       .leader_id = -1,
                       .leader_epoch = -1,
                       .replica_nodes = {2, 3},
                       .isr_nodes = {},
                       .offline_replicas = {}};
  if (v >= 5) p1.offline_replicas = {3};
  if (v >= 7) p0.leader_epoch = 4;
  t.partitions = {p0, p1};
  if (v >= 8) {
    t.topic_authorized_operations = 0;
    m.cluster_authorized_operations = 0;
  }
  m.topics = {t, MetadataTopic{.error_code = 3,
                               .name = "missing",
                               .is_internal = false,
                               .partitions = {},
                               .topic_authorized_operations = kAuthorizedOperationsOmitted}};
  return m;
}

TEST(KafkaCodec, MetadataRoundTripAllVersions) {
  for (int16_t v = 0; v <= kMetadataMaxVersion; ++v) {
    const auto m = sample_metadata(v);
    Writer w;
    encode(w, m, v);
    Reader r(w.bytes());
    EXPECT_EQ(decode_metadata_response(r, v), m) << "v" << v;
    EXPECT_EQ(r.remaining(), 0u) << "v" << v;

    MetadataRequest all;
    MetadataRequest some{.topics = std::vector<std::string>{"a", "b"},
                         .allow_auto_topic_creation = v < 4,  // not on the wire before v4: default true
                         .include_cluster_authorized_operations = v >= 8,
                         .include_topic_authorized_operations = false};
    for (const auto& req : {all, some}) {
      Writer wq;
      encode(wq, req, v);
      Reader rq(wq.bytes());
      EXPECT_EQ(decode_metadata_request(rq, v), req) << "v" << v;
    }
  }
}

TEST(KafkaCodec, MetadataV0EmptyTopicListMeansAll) {
  Writer w;
  w.i32(0);
  Reader r(w.bytes());
  EXPECT_EQ(decode_metadata_request(r, 0).topics, std::nullopt);
  Writer w1;
  w1.i32(0);
  w1.boolean(false);
  Reader r1(w1.bytes());
  EXPECT_EQ(decode_metadata_request(r1, 4).topics, std::vector<std::string>{});  // v1+: empty = none
}

TEST(KafkaCodec, DescribeConfigsRoundTripAllVersions) {
  for (int16_t v = 0; v <= kDescribeConfigsMaxVersion; ++v) {
    DescribeConfigsRequest req;
    req.resources = {{kResourceTopic, "orders", std::vector<std::string>{"min.insync.replicas"}},
                     {kResourceBroker, "1", std::nullopt}};
    req.include_synonyms = v >= 1;
    Writer wq;
    encode(wq, req, v);
    Reader rq(wq.bytes());
    EXPECT_EQ(decode_describe_configs_request(rq, v), req) << "v" << v;

    ConfigEntry e;
    e.name = "min.insync.replicas";
    e.value = "2";
    if (v == 0) {
      e.is_default = true;
    } else {
      e.config_source = kSourceDynamicTopic;
      e.synonyms = {{"min.insync.replicas", "2", kSourceDynamicTopic}, {"min.insync.replicas", "1", 5}};
    }
    DescribeConfigsResponse resp;
    resp.throttle_time_ms = 3;
    resp.results = {{.error_code = 0,
                     .error_message = std::nullopt,
                     .resource_type = kResourceTopic,
                     .resource_name = "orders",
                     .configs = {e}},
                    {.error_code = 3,
                     .error_message = "Topic x does not exist",
                     .resource_type = kResourceTopic,
                     .resource_name = "x",
                     .configs = {}}};
    Writer w;
    encode(w, resp, v);
    Reader r(w.bytes());
    EXPECT_EQ(decode_describe_configs_response(r, v), resp) << "v" << v;
    EXPECT_EQ(r.remaining(), 0u);
  }
}

TEST(KafkaCodec, UnsupportedVersionsAreRejected) {
  Writer w;
  EXPECT_THROW(encode(w, MetadataRequest{}, 9), DecodeError);
  Reader r("");
  EXPECT_THROW(decode_describe_configs_request(r, 3), DecodeError);
}

TEST(KafkaCodec, EveryTruncationIsADecodeErrorNotACrash) {
  const auto m = sample_metadata(kMetadataMaxVersion);
  Writer w;
  encode(w, m, kMetadataMaxVersion);
  const std::string& full = w.bytes();
  for (size_t n = 0; n < full.size(); ++n) {
    Reader r(std::string_view(full).substr(0, n));
    EXPECT_THROW(decode_metadata_response(r, kMetadataMaxVersion), DecodeError) << "prefix " << n;
  }
}

TEST(KafkaCodec, HugeArrayCountsAreRejectedBeforeAllocating) {
  Writer w;
  w.i32(0x7fffffff);
  Reader r(w.bytes());
  EXPECT_THROW(decode_metadata_request(r, 1), DecodeError);
}

TEST(KafkaCodec, RandomInputNeverCrashes) {
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::string data(rng() % 64, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    for (int16_t v : {0, 1, 4, 8}) {
      try {
        Reader r(data);
        decode_request_header(r);
        decode_metadata_request(r, v);
      } catch (const DecodeError&) {
      }
      try {
        Reader r(data);
        decode_describe_configs_request(r, static_cast<int16_t>(v % 3));
      } catch (const DecodeError&) {
      }
      try {
        Reader r(data);
        decode_api_versions_request(r, 3);
      } catch (const DecodeError&) {
      }
    }
  }
  SUCCEED();
}

}  // namespace
}  // namespace isrguard::kafkasim::proto
