#pragma once

// glibc malloc settings for a long-running service whose big allocations (a snapshot of up to 1M partitions,
// response bodies of several MB) are made on several threads: the probe loop, libmicrohttpd's workers and
// librdkafka's. With glibc's default of 8 arenas per core, RSS climbs under continuous scraping: each arena
// keeps freed response buffers and old snapshots for reuse by its own threads (figures:
// docs/scale.md#serve-mode-rss-under-continuous-scraping).

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
