// The machine's peak: how many float32 FLOP/s the cores can issue and how many GB/s the memory delivers,
// measured, not looked up (`skinnet bench-peak`; docs/performance.md).
//
// These are the two ceilings of every CPU kernel (the roofline): a compute-bound kernel (GEMM, the
// convolutions) cannot beat the FMA figure of its ISA and thread count, a memory-bound one (elementwise ops,
// the depthwise convolution) cannot beat the triad figure. "% of peak" in bench-compare and profile is a
// kernel's GFLOP/s over fma_peak(threads).
//
// FMA throughput: a loop that does nothing but independent multiply-adds on registers (no loads or stores),
// with enough independent accumulators to cover latency x pipes (an FMA takes ~4 cycles and a core starts
// 2 per cycle, so at least 8 must be in flight):
//   portable  scalar float `acc = acc * m + c` (mulss + addss, 1 lane, 2 FLOP): the baseline x86-64 build
//             has no FMA; this is what a loop the compiler leaves unvectorised gets. Auto-vectorised baseline
//             code (SSE2, 4 lanes) can reach up to 4x it.
//   avx2      12 ymm accumulators, vfmadd on 8 lanes (16 FLOP per instruction; kernels/cpu/peak_avx2.cpp)
//   avx512    24 zmm accumulators, vfmadd on 16 lanes (32 FLOP per instruction; kernels/cpu/peak_avx512.cpp)
// for one thread and for all OpenMP threads (each runs the loop; the figure is their sum).
//
// Memory bandwidth: the STREAM triad a[i] = b[i] + s * c[i] on three float arrays far larger than the L3,
// counted as STREAM does: 3 x 4 bytes per element. The write-allocate read of a[] (the cache line is
// fetched before it is written) is not counted, so the bus moves ~4/3 of the figure.
//
// Every test runs for a fixed time and keeps the best of a few repetitions: these shared machines are noisy,
// and the peak is what the hardware can do, not what it did on average.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cpu/isa.h"

namespace nn {

struct PeakReport {
  std::string cpu;  // cpu_model_name()
  CpuIsa best_isa = CpuIsa::portable;
  int threads = 1;  // "all threads": num_threads() when measured
  struct Fma {
    CpuIsa isa;
    int threads;
    double gflops;  // float32, 2 FLOP per lane per FMA
  };
  std::vector<Fma> fma;  // every ISA this CPU has, x {1 thread, all threads}
  double triad_gbs_1t = 0, triad_gbs_all = 0;
  int64_t triad_bytes = 0;  // size of each of the three arrays

  // The best ISA's FMA GFLOP/s for `threads` threads: the 1-thread figure for 1, the all-threads figure
  // for `threads` or more, scaled linearly in between.
  double fma_peak(int threads) const;
  double fma_gflops(CpuIsa isa, int threads) const;  // a measured row; 0 when not measured
};

// Measures everything above: each FMA test takes `seconds_per_test` (the best of 3 runs of a third, taken
// in turns with the other tests), the triad 2 x `seconds_per_test` for both thread counts (best pass).
// Triad arrays: `triad_bytes` each, or by default 2 x the L3 within [64, 128] MiB (virtual machines may
// report the host's whole L3: 256 MiB on the development VM, whose lscpu says 32 MiB). Faulting their pages
// in takes most of the triad's time (~0.3 s for 3 x 128 MiB there).
PeakReport measure_peak(double seconds_per_test, int64_t triad_bytes = 0);

// measure_peak once per process (about 1 s), for tools that print "% of peak".
const PeakReport& machine_peak();

// One run of one FMA loop on `threads` threads for `seconds`: GFLOP/s, summed over the threads.
double fma_gflops(CpuIsa isa, int threads, double seconds);

// The register-only FMA loops, one per ISA file: `reps` passes over their accumulators. Each returns the
// FLOPs it did and stores the sum of its accumulators in *sink (so that the compiler cannot drop the loop).
double fma_loop_portable(int64_t reps, float* sink);  // peak.cpp
double fma_loop_avx2(int64_t reps, float* sink);      // peak_avx2.cpp (-mavx2 -mfma)
double fma_loop_avx512(int64_t reps, float* sink);    // peak_avx512.cpp (-mavx512f)

}  // namespace nn
