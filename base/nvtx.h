// NVTX ranges: named spans on the Nsight Systems timeline (docs/profiling.md).
//
// Every op opens a range named after itself where it dispatches (tensor/dispatch.h: "conv2d", "relu",
// ...) and every module call one named after the module type (layers/module.cpp: "Conv2d",
// "BatchNorm2d", ...), so a kernel on the timeline sits under the op that launched it and the layer that
// ran the op. Built in when the CUDA headers are on the include path (CUDA=1 builds: NVTX v3 is
// header-only and costs one predictable branch per range when no profiler is attached); elsewhere the
// ranges compile to nothing.
#pragma once

#if __has_include(<nvtx3/nvToolsExt.h>)
#include <nvtx3/nvToolsExt.h>
#define NN_NVTX 1
#endif

namespace nn {

class NvtxRange {
 public:
  explicit NvtxRange([[maybe_unused]] const char* name) {
#if defined(NN_NVTX)
    nvtxRangePushA(name);
#endif
  }
  ~NvtxRange() {
#if defined(NN_NVTX)
    nvtxRangePop();
#endif
  }
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

}  // namespace nn
