// skinnet bench-peak: the machine's ceilings (kernels/cpu/peak.h): float32 FMA GFLOP/s of every vector ISA
// the CPU has, on one thread and on all, and the memory bandwidth of the STREAM triad. bench-compare and
// profile quote kernels' GFLOP/s as a share of the FMA figure; the triad is the bound of memory-bound ones.
#include <cstdio>

#include "kernels/cpu/peak.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"

namespace nn {

namespace {

double mib(int64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

void print_table(const PeakReport& r, double seconds) {
  const CpuCaches& c = cpu_caches();
  std::printf("skinnet bench-peak: %s, best ISA %s, %d threads, best of 3 runs in %.2f s per test\n", r.cpu.c_str(),
              isa_name(r.best_isa), r.threads, seconds);
  std::printf("caches (per core, L3 shared): L1d %.0f KiB, L2 %.0f KiB, L3 %.0f MiB\n\n", mib(c.l1d) * 1024,
              mib(c.l2) * 1024, mib(c.l3));
  const double base = r.fma_gflops(CpuIsa::portable, 1);
  std::printf("%-28s %7s %9s %13s %12s\n", "float32 FMA loop", "threads", "GFLOP/s", "vs portable 1", "vs 1 thread");
  for (const PeakReport::Fma& f : r.fma) {
    const char* what = f.isa == CpuIsa::portable ? "portable (scalar mul + add)"
                       : f.isa == CpuIsa::avx2   ? "avx2 (8 lanes, FMA)"
                                                 : "avx512 (16 lanes, FMA)";
    std::printf("%-28s %7d %9.1f %13.1f %12.2f\n", what, f.threads, f.gflops, f.gflops / base,
                f.gflops / r.fma_gflops(f.isa, 1));
  }
  std::printf("\n%-28s %7s %9s %12s\n", "STREAM triad a = b + s*c", "threads", "GB/s", "vs 1 thread");
  const std::string arrays = fmt::format("3 x {:.0f} MiB arrays", mib(r.triad_bytes));
  std::printf("%-28s %7d %9.1f %12.2f\n", arrays.c_str(), 1, r.triad_gbs_1t, 1.0);
  if (r.threads > 1)
    std::printf("%-28s %7d %9.1f %12.2f\n", arrays.c_str(), r.threads, r.triad_gbs_all, r.triad_gbs_all / r.triad_gbs_1t);
  std::printf("\npeak: %.1f GFLOP/s (%s, %d threads), %.1f GB/s; triad bytes are 12 per element (STREAM: the "
              "write-allocate read of a[] is not counted)\n",
              r.fma_peak(r.threads), isa_name(r.best_isa), r.threads, r.triad_gbs_all);
}

void print_json(const PeakReport& r, double seconds) {
  const CpuCaches& c = cpu_caches();
  std::string fma;
  for (const PeakReport::Fma& f : r.fma)
    fma += fmt::format("{}{{\"isa\": \"{}\", \"threads\": {}, \"gflops\": {:.2f}}}", fma.empty() ? "" : ", ",
                       isa_name(f.isa), f.threads, f.gflops);
  // The model name comes from /proc/cpuinfo; quotes and backslashes would break the JSON string.
  std::string cpu;
  for (char ch : r.cpu)
    if (ch != '"' && ch != '\\') cpu += ch;
  std::printf("{\"cpu\": \"%s\", \"best_isa\": \"%s\", \"threads\": %d, \"seconds_per_test\": %.3f, "
              "\"caches\": {\"l1d\": %lld, \"l2\": %lld, \"l3\": %lld}, \"fma\": [%s], \"fma_peak_gflops\": %.2f, "
              "\"fma_peak_1t_gflops\": %.2f, \"triad_array_bytes\": %lld, \"triad_gbs_1t\": %.2f, "
              "\"triad_gbs_all\": %.2f}\n",
              cpu.c_str(), isa_name(r.best_isa), r.threads, seconds, static_cast<long long>(c.l1d),
              static_cast<long long>(c.l2), static_cast<long long>(c.l3), fma.c_str(), r.fma_peak(r.threads),
              r.fma_peak(1), static_cast<long long>(r.triad_bytes), r.triad_gbs_1t, r.triad_gbs_all);
}

}  // namespace

Flags bench_peak_flags() {
  Flags flags("bench-peak",
              "Measures the machine's peak: float32 FMA GFLOP/s per vector ISA on 1 and all threads, and the STREAM "
              "triad's GB/s.");
  flags.add("seconds", "0.6", "time per test (best of 3 runs of a third each)")
      .add_switch("json", "print one JSON object instead of the table");
  return flags;
}

int bench_peak_main(int argc, char** argv) {
  Flags flags = bench_peak_flags();
  if (!flags.parse(argc, argv)) return kExitOk;
  NN_USAGE_CHECK(flags.positional().empty(), "unexpected argument '{}'", flags.positional()[0]);
  const double seconds = flags.real("seconds");
  NN_USAGE_CHECK(seconds > 0 && seconds <= 60, "--seconds must be in (0, 60], got {}", seconds);
  const PeakReport r = measure_peak(seconds);
  if (flags.on("json")) print_json(r, seconds);
  else print_table(r, seconds);
  return kExitOk;
}

}  // namespace nn
