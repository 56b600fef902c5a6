// skinnet version (and skinnet --version): which build this is and what it runs on, for bug reports and for
// quoting beside a benchmark figure.
//
//   skinnet 0.9.0 (commit 1f1789d)
//   build:   g++ 12.2.0, CUDA on (runtime 13.0; cuBLAS 13.1.0; cuDNN 9.19.0 headers), 0 GPU(s) visible, ..., SANITIZE off
//   cpu:     AMD EPYC (2 threads); features sse4.2 avx avx2 fma avx512f ...
//   kernels: skinnet's CPU kernels compiled for baseline x86-64 (no run-time ISA dispatch yet); GEMM and im2col
//            convolutions: OpenBLAS 0.3.21 ..., core SkylakeX
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#if __has_include(<cuda_runtime_api.h>)
#include <cuda_runtime_api.h>
#endif
#if __has_include(<cudnn_version.h>)
#include <cudnn_version.h>
#endif
#if __has_include(<cublas_api.h>)
#include <cublas_api.h>
#endif

#include "kernels/cuda/device.h"
#include "kernels/cuda/vendor.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/version.h"

extern "C" char* openblas_get_corename(void);
extern "C" char* openblas_get_config(void);

#ifndef SKINNET_GIT_COMMIT
#define SKINNET_GIT_COMMIT "unknown"
#endif

namespace nn {

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

std::string cpu_features() {
  std::vector<std::string> on;
  __builtin_cpu_init();
#define NN_FEATURE(name) \
  if (__builtin_cpu_supports(name)) on.push_back(name);
  NN_FEATURE("sse4.2") NN_FEATURE("avx") NN_FEATURE("avx2") NN_FEATURE("fma") NN_FEATURE("avx512f")
  NN_FEATURE("avx512dq") NN_FEATURE("avx512bw") NN_FEATURE("avx512vl") NN_FEATURE("avx512vnni")
  NN_FEATURE("avx512bf16")
#undef NN_FEATURE
  return on.empty() ? "none beyond x86-64" : fmt::format("{}", fmt::join(on, " "));
}

std::string cuda_line() {
  if (!cuda_built()) return "CUDA off";
  std::string s = "CUDA on";
#ifdef CUDART_VERSION
  s += fmt::format(" (runtime {}.{}", CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
#ifdef CUBLAS_VER_MAJOR
  s += fmt::format("; cuBLAS {}.{}.{}", CUBLAS_VER_MAJOR, CUBLAS_VER_MINOR, CUBLAS_VER_PATCH);
#endif
#ifdef CUDNN_MAJOR
  s += fmt::format("; cuDNN {}.{}.{}", CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL);
#endif
  s += " headers)";
#endif
  s += fmt::format(", {} GPU(s) visible, cuBLAS/cuDNN kernels {}", cuda_device_count(),
                   cuda::vendor_available() ? "available" : "not available");
  return s;
}

}  // namespace

std::string version_string() { return fmt::format("{} (commit {})", kSkinnetVersion, SKINNET_GIT_COMMIT); }

Flags version_flags() {
  return Flags("version", "Prints the version, git commit, build flags, CPU features and the kernels in use.");
}

int version_main(int argc, char** argv) {
  Flags flags = version_flags();
  if (!flags.parse(argc, argv)) return kExitOk;
  NN_USAGE_CHECK(flags.positional().empty(), "unexpected argument '{}'", flags.positional().front());
#ifdef NN_SANITIZE
  const char* sanitize = "on (AddressSanitizer + UBSan)";
#else
  const char* sanitize = "off";
#endif
  const char* corename = openblas_get_corename();
  const char* config = openblas_get_config();
  std::printf("skinnet %s\n", version_string().c_str());
  std::printf("build:   g++ %s, %s, SANITIZE %s\n", __VERSION__, cuda_line().c_str(), sanitize);
  std::printf("cpu:     %s (%u threads); features %s\n", cpu_model().c_str(), std::thread::hardware_concurrency(),
              cpu_features().c_str());
  std::printf("kernels: skinnet's CPU kernels compiled for baseline x86-64 (no run-time ISA dispatch yet); GEMM "
              "and im2col convolutions: %s, core %s%s\n",
              config ? config : "OpenBLAS", corename ? corename : "unknown",
              std::getenv("OPENBLAS_CORETYPE") ? fmt::format(" (OPENBLAS_CORETYPE={})", std::getenv("OPENBLAS_CORETYPE")).c_str()
                                               : "");
  return kExitOk;
}

}  // namespace nn
