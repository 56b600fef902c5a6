// The peak meter (kernels/cpu/peak.h): the portable FMA loop, the timing of every loop on 1 and all threads,
// and the STREAM triad. Built for baseline x86-64; the AVX loops live in peak_avx2.cpp and peak_avx512.cpp.
#include "kernels/cpu/peak.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>

#include "base/error.h"
#include "base/parallel.h"

namespace nn {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// 12 independent scalar chains: a multiply then an add is ~6-8 cycles of latency, and a core starts about
// 2 of each per cycle.
constexpr int kPortableAcc = 12;

using FmaLoop = double (*)(int64_t reps, float* sink);

FmaLoop fma_loop_for(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::portable: return fma_loop_portable;
    case CpuIsa::avx2: return fma_loop_avx2;
    case CpuIsa::avx512: return fma_loop_avx512;
  }
  return nullptr;
}

// The triad a = b + s * c on `threads` threads, one pass: GB/s counted as STREAM does (12 bytes per element).
double triad_pass_gbs(float* a, const float* b, const float* c, int64_t n, int threads) {
  const float s = 3;
  const auto t0 = Clock::now();
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
  return 3.0 * sizeof(float) * static_cast<double>(n) / seconds_since(t0) / 1e9;
}

// Best 1-thread and all-threads triad passes, alternated for `seconds` (at least 3 of each) on arrays of
// `bytes` each, first touched by all threads (so that pages spread over memory nodes as the kernels' do).
void measure_triad(PeakReport& r, int64_t bytes, double seconds) {
  NN_CHECK(bytes >= 4096, "measure_peak: triad arrays of {} bytes are too small (at least 4096)", bytes);
  const int64_t n = bytes / static_cast<int64_t>(sizeof(float));
  std::unique_ptr<float[]> a(new float[n]), b(new float[n]), c(new float[n]);  // uninitialised: touched below
  float *pa = a.get(), *pb = b.get(), *pc = c.get();
#pragma omp parallel for num_threads(r.threads) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    pa[i] = 0;
    pb[i] = 1;
    pc[i] = 2;
  }
  const auto start = Clock::now();
  for (int pass = 0; pass < 3 || seconds_since(start) < seconds; ++pass) {
    r.triad_gbs_1t = std::max(r.triad_gbs_1t, triad_pass_gbs(pa, pb, pc, n, 1));
    r.triad_gbs_all = std::max(r.triad_gbs_all, triad_pass_gbs(pa, pb, pc, n, r.threads));
  }
  NN_CHECK(pa[n / 2] == 7.0f, "triad: wrong result {} (expected 1 + 3 * 2 = 7)", pa[n / 2]);
  r.triad_bytes = bytes;
}

}  // namespace

// -O3 would pack the 12 scalar chains into 3 SSE vectors (SLP vectorisation); this loop is meant to
// measure one lane, so vectorisation is off for this function only.
[[gnu::optimize("no-tree-vectorize")]] double fma_loop_portable(int64_t reps, float* sink) {
  float acc[kPortableAcc];
  for (int i = 0; i < kPortableAcc; ++i) acc[i] = 0.01f * static_cast<float>(i);
  const float m = 0.999f, c = 0.001f;  // acc converges to c / (1 - m) = 1: no overflow, no denormals
  for (int64_t r = 0; r < reps; ++r) {
#pragma GCC unroll 16
    for (int i = 0; i < kPortableAcc; ++i) acc[i] = acc[i] * m + c;
  }
  float sum = 0;
  for (int i = 0; i < kPortableAcc; ++i) sum += acc[i];
  *sink = sum;
  return 2.0 * kPortableAcc * static_cast<double>(reps);  // a multiply and an add per chain
}

// Every thread runs the loop in chunks of ~10 us until `seconds` have passed since they all started;
// the figure is all FLOPs over the longest thread's time.
double fma_gflops(CpuIsa isa, int threads, double seconds) {
  NN_CHECK(cpu_has(isa), "fma_gflops: this CPU cannot run {}", isa_name(isa));
  NN_CHECK(threads >= 1 && seconds > 0, "fma_gflops: threads {} and seconds {} must be positive", threads, seconds);
  const FmaLoop loop = fma_loop_for(isa);
  const int64_t chunk = 4096;  // reps: 12 x 4096 independent FMAs (or mul + add), ~25k cycles
  double flops = 0, elapsed = 0;
  std::atomic<float> sink{0};  // the loops' results go somewhere visible, so no call can be dropped
#pragma omp parallel num_threads(threads) reduction(+ : flops) reduction(max : elapsed)
  {
#pragma omp barrier
    const auto t0 = Clock::now();
    float s = 0, local = 0;
    do {
      flops += loop(chunk, &s);
      local += s;
    } while (seconds_since(t0) < seconds);
    elapsed = seconds_since(t0);
    sink.store(local, std::memory_order_relaxed);
  }
  return flops / elapsed / 1e9;
}

double PeakReport::fma_gflops(CpuIsa isa, int t) const {
  for (const Fma& f : fma)
    if (f.isa == isa && f.threads == t) return f.gflops;
  return 0;
}

double PeakReport::fma_peak(int t) const {
  const double one = fma_gflops(best_isa, 1), all = fma_gflops(best_isa, threads);
  if (t <= 1 || threads <= 1) return one;
  if (t >= threads) return all;
  return one + (all - one) * (t - 1) / (threads - 1);
}

PeakReport measure_peak(double seconds_per_test, int64_t triad_bytes) {
  NN_CHECK(seconds_per_test > 0, "measure_peak: seconds_per_test must be positive, got {}", seconds_per_test);
  PeakReport r;
  r.cpu = cpu_model_name();
  r.best_isa = best_cpu_isa();
  r.threads = num_threads();
  for (CpuIsa isa : {CpuIsa::portable, CpuIsa::avx2, CpuIsa::avx512}) {
    if (!cpu_has(isa)) continue;
    r.fma.push_back({isa, 1, 0});
    if (r.threads > 1) r.fma.push_back({isa, r.threads, 0});
  }
  // Round-robin rather than 3 runs in a row: a burst of load from a neighbour then spoils one run of
  // several tests, not every run of one.
  for (int rep = 0; rep < 3; ++rep)
    for (PeakReport::Fma& f : r.fma) f.gflops = std::max(f.gflops, fma_gflops(f.isa, f.threads, seconds_per_test / 3));
  if (triad_bytes <= 0) triad_bytes = std::clamp<int64_t>(2 * cpu_caches().l3, int64_t{64} << 20, int64_t{128} << 20);
  measure_triad(r, triad_bytes, 2 * seconds_per_test);
  if (r.threads == 1) r.triad_gbs_all = r.triad_gbs_1t;
  return r;
}

const PeakReport& machine_peak() {
  static const PeakReport report = measure_peak(0.1);
  return report;
}

}  // namespace nn
