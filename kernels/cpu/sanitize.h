// Vector kernels under AddressSanitizer (make test SANITIZE=1) without a shadow check per load.
//
// ASan instruments every load and store; in a register-blocked kernel that issues one broadcast or vector load
// per couple of FMAs, the checks cost more than the arithmetic (the GEMM micro-kernels ran 20x slower
// instrumented, and the sanitizer suite spent most of its time in them). Such a kernel is marked
// NN_UNINSTRUMENTED_KERNEL and its caller checks the kernel's whole footprint once per call, before the kernel
// reads anything, with check_footprint: poisoned memory anywhere in it gets AddressSanitizer's usual report
// (heap overflow, use after free ..., with the allocation's stack). Outside the sanitizer build both are
// nothing. Users: the GEMM micro-kernels (gemm/packed.h) and the blocked convolution's row kernels
// (conv2d_blocked_*.cpp).
#pragma once

#include <cstdint>

namespace nn {

#if defined(NN_SANITIZE)
#define NN_UNINSTRUMENTED_KERNEL __attribute__((no_sanitize("address")))
void check_footprint(const void* p, int64_t bytes);  // [p, p + bytes) must be addressable
#else
#define NN_UNINSTRUMENTED_KERNEL
inline void check_footprint(const void*, int64_t) {}
#endif

}  // namespace nn
