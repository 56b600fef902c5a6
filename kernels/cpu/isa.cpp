#include "kernels/cpu/isa.h"

#include <unistd.h>

#include <fstream>
#include <string>

namespace nn {

const char* isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::portable: return "portable";
    case CpuIsa::avx2: return "avx2";
    case CpuIsa::avx512: return "avx512";
  }
  return "?";
}

bool cpu_has(CpuIsa isa) {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  static const bool avx512 = avx2 && __builtin_cpu_supports("avx512f");
  switch (isa) {
    case CpuIsa::portable: return true;
    case CpuIsa::avx2: return avx2;
    case CpuIsa::avx512: return avx512;
  }
  return false;
}

CpuIsa best_cpu_isa() {
  return cpu_has(CpuIsa::avx512) ? CpuIsa::avx512 : cpu_has(CpuIsa::avx2) ? CpuIsa::avx2 : CpuIsa::portable;
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, name = "unknown CPU", family, model;
  auto value = [](const std::string& l) {
    const auto colon = l.find(':');
    return colon == std::string::npos ? std::string() : l.substr(l.find_first_not_of(" \t", colon + 1));
  };
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) name = value(line);
    else if (line.rfind("cpu family", 0) == 0) family = value(line);
    else if (line.rfind("model", 0) == 0 && line.find("name") == std::string::npos) model = value(line);
    else if (line.empty() && !family.empty()) break;  // the first processor is enough
  }
  if (!family.empty()) name += " (family " + family + ", model " + model + ")";
  return name;
}

const CpuCaches& cpu_caches() {
  static const CpuCaches caches = [] {
    auto size = [](int name, int64_t fallback) {
      const long v = sysconf(name);
      return v > 0 ? static_cast<int64_t>(v) : fallback;
    };
    return CpuCaches{size(_SC_LEVEL1_DCACHE_SIZE, 32 << 10), size(_SC_LEVEL2_CACHE_SIZE, 512 << 10),
                     size(_SC_LEVEL3_CACHE_SIZE, 8 << 20)};
  }();
  return caches;
}

}  // namespace nn
