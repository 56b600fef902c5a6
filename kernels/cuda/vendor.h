// Vendor kernels: the same ops on NVIDIA's libraries (cuBLAS for GEMM, cuDNN for convolution, batch norm
// and pooling), selectable for a whole run instead of skinnet's handwritten CUDA kernels.
//
// They serve two purposes: a yardstick (bench-gpu prints handwritten/vendor time ratios) and a second
// opinion (tests/test_cuda_vendor.cpp compares both on a GPU). The selection is run-wide and read by the
// op layer (tensor/ops_gemm.cpp, ops_conv.cpp, ops_norm.cpp, ops_pool.cpp): with KernelSource::vendor
// the CUDA branch calls the *_vendor function below, otherwise the handwritten *_cuda one.
//
// Builds: with CUDA=1 the entry points are kernels/cuda/vendor/cublas_cudnn.cpp (linked with -lcudnn;
// cuBLAS is opened with dlopen on first use); every other build (CPU-only, the emulator test binary) links kernels/cuda/vendor/none.cpp,
// where each one fails "built without CUDA vendor libraries" and vendor_available() is false.
//
// What stays handwritten under KernelSource::vendor (cuDNN has no matching operation):
//   - batch norm backward in eval mode (statistics held constant) and adaptive average pooling;
//   - pooling with dilation or with ceil_mode adding an output row/column (pool2d_vendor_supports).
// Pooling: cuDNN returns no argmax indices, and its backward (cudnnPoolingBackward) takes x and y. So under
// vendor the pooling forward saves x and y for the backward instead of the indices (tensor/ops_pool2d.cpp),
// and the vendor pooling entry points have their own signatures. Where a max-pool window holds several
// equal maxima, cuDNN may route the gradient to a different one than skinnet (first maximum wins).
// Precision: FP32 throughout, tensor cores off (CUDNN_FMA_MATH, CUBLAS_DEFAULT_MATH without TF32), the
// same arithmetic class as the handwritten kernels, so comparisons and timings are like for like.
#pragma once

#include <string>
#include <string_view>

#include "kernels/batch_norm.h"
#include "kernels/conv2d.h"
#include "kernels/gemm.h"
#include "kernels/pool2d.h"

namespace nn::cuda {

enum class KernelSource { handwritten, vendor };

// The run-wide choice (default handwritten). Selecting vendor fails with an nn::Error when this build has
// no vendor libraries or there is no CUDA device.
void set_kernel_source(KernelSource source);
KernelSource kernel_source();
// "handwritten" or "vendor"; anything else fails with an error naming `where` (e.g. "--kernels") and text.
KernelSource parse_kernel_source(std::string_view text, std::string_view where);
const char* kernel_source_name(KernelSource source);
// True only in a CUDA=1 build linked with cuDNN (kernels/cuda/vendor/cublas_cudnn.cpp) where cuBLAS,
// opened on first use rather than linked (it would add 210 MiB to every process), loads.
bool vendor_available();
// Opens cuBLAS and resolves every entry point skinnet calls (no GPU needed); "" or the reason it cannot.
std::string load_vendor_libraries();

// Pooling cuDNN computes with skinnet's (PyTorch's) semantics: no dilation, and no extra ceil_mode
// output row or column (cuDNN sizes outputs with floor). Others stay on the handwritten kernels.
bool pool2d_vendor_supports(const Pool2dParams& p);

}  // namespace nn::cuda

namespace nn {

// Same signatures and semantics as the *_cuda entry points in kernels/gemm.h, conv2d.h, batch_norm.h.
void gemm_vendor(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

void conv2d_forward_vendor(float* y, const float* x, const float* w, const float* bias, const Conv2dParams& p);
void conv2d_backward_data_vendor(float* dx, const float* dy, const float* w, const Conv2dParams& p);
void conv2d_backward_weight_vendor(float* dw, float* dbias, const float* dy, const float* x, const Conv2dParams& p);

void batch_norm_forward_train_vendor(float* y, float* mean, float* invstd, float* var, const float* x,
                                     const float* gamma, const float* beta, const BatchNormParams& p);
void batch_norm_forward_eval_vendor(float* y, const float* x, const float* running_mean, const float* running_var,
                                    const float* gamma, const float* beta, const BatchNormParams& p);
// Training-mode backward; invstd is accepted for symmetry, cuDNN recomputes the statistics from x.
void batch_norm_backward_train_vendor(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                      const float* invstd, const float* gamma, const BatchNormParams& p);

// Pooling without indices: the max backward finds each window's maximum again from x and y.
// Only for pool2d_vendor_supports(p).
void max_pool2d_forward_vendor(float* y, const float* x, const Pool2dParams& p);
void max_pool2d_backward_vendor(float* dx, const float* dy, const float* x, const float* y, const Pool2dParams& p);
void avg_pool2d_forward_vendor(float* y, const float* x, const Pool2dParams& p);
void avg_pool2d_backward_vendor(float* dx, const float* dy, const float* x, const float* y, const Pool2dParams& p);

}  // namespace nn
