// check_footprint (kernels/cpu/sanitize.h). This file is instrumented in the sanitizer build: reading the
// first poisoned byte makes AddressSanitizer report it as it would the kernel's own access.
#include "kernels/cpu/sanitize.h"

#if defined(NN_SANITIZE)
#include <sanitizer/asan_interface.h>

namespace nn {

void check_footprint(const void* p, int64_t bytes) {
  if (bytes <= 0) return;
  if (const void* bad = __asan_region_is_poisoned(const_cast<void*>(p), static_cast<size_t>(bytes))) {
    [[maybe_unused]] volatile char touched = *static_cast<const volatile char*>(bad);
  }
}

}  // namespace nn
#endif
