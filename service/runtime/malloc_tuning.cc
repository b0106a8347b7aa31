#include "service/runtime/malloc_tuning.h"

#include <malloc.h>

namespace isrguard::service {

void limit_malloc_arenas() { mallopt(M_ARENA_MAX, kMallocArenas); }

void release_free_memory() { malloc_trim(0); }

}  // namespace isrguard::service
