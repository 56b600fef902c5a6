// Choosing OpenBLAS's kernels (see gemm.h, select_openblas_kernels).
//
// OpenBLAS picks its kernels once, when it is loaded: OPENBLAS_CORETYPE if set, else its own CPUID table.
// Two traps seen on our machines: environments that set OPENBLAS_CORETYPE=Haswell on AVX-512 CPUs (half
// the GEMM speed), and CPUs newer than Debian's OpenBLAS 0.3.21 knows (a Xeon reporting itself as just
// "Intel(R) Xeon(R) Processor"), for which it falls back to Prescott's SSE3 kernels: about a tenth.
// The fix has to come before OpenBLAS is loaded, so the program sets the variable and restarts itself.
#include <cpuid.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/gemm.h"

extern "C" char* openblas_get_corename(void);

namespace nn {

namespace {

// The best OpenBLAS core type this CPU can run: SkylakeX (AVX-512 F/DQ/BW/VL), Haswell (AVX2 + FMA), or
// "" (leave OpenBLAS's choice alone). The OS must also save the wide registers (OSXSAVE / XCR0).
std::string best_core() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return "";
  const bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28);
  if (!(fma && osxsave && avx)) return "";
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool ymm = (xcr0_lo & 0x6) == 0x6, zmm = (xcr0_lo & 0xe6) == 0xe6;
  if (!ymm || !__get_cpuid_count(7, 0, &a, &b, &c, &d)) return "";
  const bool avx2 = b & (1u << 5);
  const bool avx512 = (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) && (b & (1u << 31));  // F DQ BW VL
  if (avx512 && zmm) return "SkylakeX";
  return avx2 ? "Haswell" : "";
}

// Core names of OpenBLAS's kernels that use AVX2 or better.
bool fast_core(const std::string& name) {
  for (const char* good : {"Haswell", "SkylakeX", "Zen", "Cooperlake", "SapphireRapids"})
    if (name == good) return true;
  return false;
}

}  // namespace

void select_openblas_kernels(char** argv, const char* program) {
  if (std::getenv("NN_KEEP_OPENBLAS_CORETYPE")) return;
  const std::string best = best_core();
  const char* set = std::getenv("OPENBLAS_CORETYPE");
  const std::string current = openblas_get_corename() ? openblas_get_corename() : "";
  if (best.empty()) return;  // nothing better to offer
  if (set ? std::string(set) == best : fast_core(current)) return;
  std::fprintf(stderr, "%s: OpenBLAS chose its %s kernels%s; restarting with OPENBLAS_CORETYPE=%s for this CPU "
                       "(NN_KEEP_OPENBLAS_CORETYPE=1 keeps OpenBLAS's choice)\n",
               program, current.c_str(), set ? (std::string(" (OPENBLAS_CORETYPE=") + set + ")").c_str() : "",
               best.c_str());
  setenv("OPENBLAS_CORETYPE", best.c_str(), 1);
  setenv("NN_KEEP_OPENBLAS_CORETYPE", "1", 1);  // the restarted program keeps it: no loop
  execv("/proc/self/exe", argv);
  std::fprintf(stderr, "%s: could not restart (%s); continuing with OpenBLAS's %s kernels\n", program,
               std::strerror(errno), current.c_str());
}

}  // namespace nn
