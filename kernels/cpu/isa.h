// What this CPU can run: its vector instruction sets and cache sizes, read once at run time.
//
// Kernels with hand-vectorised variants (the GEMM micro-kernels in kernels/cpu/gemm/, the depthwise
// convolution) compile each variant in its own file with that ISA's flags (`*_avx2.cpp`: -mavx2 -mfma,
// `*_avx512.cpp`: -mavx512f -mavx2 -mfma; Makefile) and pick one here by CPUID, so one binary runs
// everywhere and uses the widest units it finds. Host-only (not for nvcc).
#pragma once

#include <cstdint>
#include <string>

namespace nn {

// Ordered: each level includes the ones before it.
enum class CpuIsa { portable, avx2, avx512 };  // portable: baseline x86-64 (SSE2); avx2: AVX2 + FMA; avx512: AVX-512F too

const char* isa_name(CpuIsa isa);  // "portable", "avx2", "avx512"

// Whether this CPU and OS run `isa` (CPUID and the OS's saved register state, via GCC's
// __builtin_cpu_supports). portable is always true.
bool cpu_has(CpuIsa isa);

// The widest ISA cpu_has accepts.
CpuIsa best_cpu_isa();

// "AMD EPYC 7B13 (family 25, model 1)": /proc/cpuinfo's model name, family and model, for benchmark reports.
std::string cpu_model_name();

// Data-cache sizes in bytes seen by one core (L3 is the whole shared cache); fallbacks 32 KiB, 512 KiB and
// 8 MiB where the system does not say.
struct CpuCaches {
  int64_t l1d, l2, l3;
};
const CpuCaches& cpu_caches();

}  // namespace nn
