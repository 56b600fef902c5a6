// The run-wide choice between handwritten and vendor (cuBLAS/cuDNN) CUDA kernels (kernels/cuda/vendor.h).
#include "kernels/cuda/vendor.h"

#include <atomic>

#include "base/error.h"
#include "kernels/cuda/device.h"

namespace nn::cuda {

namespace {
std::atomic<KernelSource> g_source{KernelSource::handwritten};
}  // namespace

void set_kernel_source(KernelSource source) {
  if (source == KernelSource::vendor) {
    NN_CHECK(vendor_available(),
             "kernels=vendor: this build has no CUDA vendor libraries (cuBLAS/cuDNN are linked only with CUDA=1); "
             "use kernels=handwritten");
    NN_CHECK(cuda_device_count() > 0, "kernels=vendor: no CUDA device is visible; use kernels=handwritten");
  }
  g_source.store(source);
}

KernelSource kernel_source() { return g_source.load(std::memory_order_relaxed); }

KernelSource parse_kernel_source(std::string_view text, std::string_view where) {
  if (text == "handwritten") return KernelSource::handwritten;
  if (text == "vendor") return KernelSource::vendor;
  NN_FAIL("{}: unknown kernel source '{}'; expected 'handwritten' or 'vendor'", where, text);
}

const char* kernel_source_name(KernelSource source) {
  return source == KernelSource::vendor ? "vendor" : "handwritten";
}

// cuDNN pools without dilation and sizes its output as a convolution does (no ceil_mode).
bool pool2d_vendor_supports(const Pool2dParams& p) {
  return p.dil_h == 1 && p.dil_w == 1 && p.P == conv2d_output_size(p.H, p.R, p.stride_h, p.pad_h, 1) &&
         p.Q == conv2d_output_size(p.W, p.S, p.stride_w, p.pad_w, 1);
}

}  // namespace nn::cuda
