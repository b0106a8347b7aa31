#pragma once

// glibc malloc settings for a long-running service whose big allocations (a snapshot of up to 1M partitions,
// response bodies of several MB) are made on several threads: the probe loop, libmicrohttpd's workers and
// librdkafka's. Measured in serve mode at 200k partitions with /metrics, /v1/status and /v1/partitions
// scraped back to back for 30 s (docs/benchmarks.md): glibc's default of 8 arenas per core let RSS climb
// 133 -> 199 MB, each arena keeping freed response buffers and old snapshots for reuse by its own threads.

namespace isrguard::service {

// Arenas glibc may create (mallopt M_ARENA_MAX). Two: the probe thread and the HTTP threads rarely allocate
// at the same time, and fewer arenas means less memory held free per arena.
inline constexpr int kMallocArenas = 2;

// Call once at start-up, before any thread starts.
void limit_malloc_arenas();

// Returns free memory at the top and in the middle of every arena to the system (malloc_trim). Called by the
// probe loop after each publication, when the previous snapshot has just been freed.
void release_free_memory();

}  // namespace isrguard::service
