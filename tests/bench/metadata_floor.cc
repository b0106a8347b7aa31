// metadata_floor: the floor isrguard is measured against (issue 11). A bare librdkafka client that does what
// a probe cannot avoid doing: one all-topics Metadata request, with the client settings isrguard uses, and
// nothing else (no DescribeConfigs, no verdict, no HTTP).
//
//   metadata_floor BOOTSTRAP [--calls N] [--timeout-ms T]
//
// Makes N metadata calls in a row, keeping the newest result alive (as a long-running probe would hold its
// snapshot), then prints one line: calls, partitions, median call time, and the process's VmRSS / VmHWM.
// Exit 0 on success, 1 when a call fails, 2 on bad arguments. Benchmark tool only; never run by ctest.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0) return std::atol(line.c_str() + n + 1);
  return -1;
}

bool set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value.c_str(), err, sizeof err) == RD_KAFKA_CONF_OK) return true;
  std::fprintf(stderr, "metadata_floor: %s: %s\n", key, err);
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: metadata_floor BOOTSTRAP [--calls N] [--timeout-ms T]\n");
    return 2;
  }
  const std::string bootstrap = argv[1];
  int calls = 1;
  int timeout_ms = 30000;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (flag == "--calls" && v >= 1)
      calls = v;
    else if (flag == "--timeout-ms" && v >= 100)
      timeout_ms = v;
    else {
      std::fprintf(stderr, "metadata_floor: bad argument %s %s\n", argv[i], argv[i + 1]);
      return 2;
    }
  }

  // The same client settings the adapter sets (probes/rdkafka_source.h documents them).
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::string t = std::to_string(timeout_ms);
  if (!set(conf, "bootstrap.servers", bootstrap) || !set(conf, "client.id", "metadata_floor") ||
      !set(conf, "socket.timeout.ms", t) || !set(conf, "socket.connection.setup.timeout.ms", t) ||
      !set(conf, "reconnect.backoff.ms", "100") || !set(conf, "reconnect.backoff.max.ms", "1000") ||
      !set(conf, "topic.metadata.refresh.interval.ms", "60000") || !set(conf, "log.connection.close", "false"))
    return 2;
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "metadata_floor: %s\n", err);
    return 1;
  }

  const rd_kafka_metadata_t* held = nullptr;
  std::vector<double> ms;
  long partitions = 0;
  for (int i = 0; i < calls; ++i) {
    const rd_kafka_metadata_t* md = nullptr;
    const auto start = std::chrono::steady_clock::now();
    const rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, nullptr, &md, timeout_ms);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "metadata_floor: metadata: %s\n", rd_kafka_err2str(e));
      rd_kafka_destroy(rk);
      return 1;
    }
    if (held) rd_kafka_metadata_destroy(held);
    held = md;
  }
  for (int i = 0; i < held->topic_cnt; ++i) partitions += held->topics[i].partition_cnt;
  std::sort(ms.begin(), ms.end());
  std::printf("calls=%d partitions=%ld median_ms=%.1f rss_kb=%ld hwm_kb=%ld\n", calls, partitions,
              ms[ms.size() / 2], status_kb("VmRSS"), status_kb("VmHWM"));
  rd_kafka_metadata_destroy(held);
  rd_kafka_destroy(rk);
  return 0;
}
