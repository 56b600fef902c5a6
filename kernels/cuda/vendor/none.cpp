// The vendor entry points of builds without cuBLAS/cuDNN (CPU-only builds and the CUDA emulator's test
// binary): vendor_available() is false, so set_kernel_source(vendor) refuses and nothing reaches these;
// each still fails with a message rather than computing anything.
#include "base/error.h"
#include "kernels/cuda/vendor.h"

#define NN_NO_VENDOR(name) \
  NN_FAIL("{}: skinnet was built without CUDA vendor libraries (cuBLAS/cuDNN; build with CUDA=1)", name)

namespace nn {

namespace cuda {
bool vendor_available() { return false; }

std::string load_vendor_libraries() { return "this build has no CUDA vendor libraries (CUDA=0)"; }
}  // namespace cuda

void gemm_vendor(Trans, Trans, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float,
                 float*, int64_t) {
  NN_NO_VENDOR("gemm_vendor");
}

void conv2d_forward_vendor(float*, const float*, const float*, const float*, const Conv2dParams&) {
  NN_NO_VENDOR("conv2d_forward_vendor");
}
void conv2d_backward_data_vendor(float*, const float*, const float*, const Conv2dParams&) {
  NN_NO_VENDOR("conv2d_backward_data_vendor");
}
void conv2d_backward_weight_vendor(float*, float*, const float*, const float*, const Conv2dParams&) {
  NN_NO_VENDOR("conv2d_backward_weight_vendor");
}

void batch_norm_forward_train_vendor(float*, float*, float*, float*, const float*, const float*, const float*,
                                     const BatchNormParams&) {
  NN_NO_VENDOR("batch_norm_forward_train_vendor");
}
void batch_norm_forward_eval_vendor(float*, const float*, const float*, const float*, const float*, const float*,
                                    const BatchNormParams&) {
  NN_NO_VENDOR("batch_norm_forward_eval_vendor");
}
void batch_norm_backward_train_vendor(float*, float*, float*, const float*, const float*, const float*, const float*,
                                      const BatchNormParams&) {
  NN_NO_VENDOR("batch_norm_backward_train_vendor");
}

void max_pool2d_forward_vendor(float*, const float*, const Pool2dParams&) { NN_NO_VENDOR("max_pool2d_forward_vendor"); }
void max_pool2d_backward_vendor(float*, const float*, const float*, const float*, const Pool2dParams&) {
  NN_NO_VENDOR("max_pool2d_backward_vendor");
}
void avg_pool2d_forward_vendor(float*, const float*, const Pool2dParams&) { NN_NO_VENDOR("avg_pool2d_forward_vendor"); }
void avg_pool2d_backward_vendor(float*, const float*, const float*, const float*, const Pool2dParams&) {
  NN_NO_VENDOR("avg_pool2d_backward_vendor");
}

}  // namespace nn
