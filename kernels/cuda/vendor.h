// Vendor kernels: the same ops on NVIDIA's libraries (cuBLAS for GEMM, cuDNN for convolution, batch norm
// and pooling), selectable for a whole run instead of skinnet's handwritten CUDA kernels.
//
// They serve two purposes: a yardstick (bench-gpu prints handwritten/vendor time ratios) and a second
// opinion (tests/test_cuda_vendor.cpp compares both on a GPU). The selection is run-wide and read by
// tensor/dispatch.h alone: with KernelSource::vendor a CUDA op runs the `vendor` kernel of its kernel table
// where the table has one, otherwise the handwritten `cuda` one. The *_vendor entry points are declared
// beside the *_cuda ones in the family headers (kernels/gemm.h, conv2d.h, batch_norm.h, pool2d.h), whose
// tables list them.
//
// Builds: with CUDA=1 the entry points are kernels/cuda/vendor/cublas_cudnn.cpp (linked with -lcudnn;
// cuBLAS is opened with dlopen on first use); every other build (CPU-only, the emulator test binary) links kernels/cuda/vendor/none.cpp,
// where each one fails "built without CUDA vendor libraries" and vendor_available() is false.
//
// What stays handwritten under KernelSource::vendor (cuDNN has no matching operation):
//   - batch norm backward in eval mode (statistics held constant) and adaptive average pooling;
//   - pooling with dilation or with ceil_mode adding an output row/column (cuda::pool2d_vendor_supports
//     in kernels/pool2d.h).
// Pooling: cuDNN returns no argmax indices, and its backward (cudnnPoolingBackward) takes x and y. So under
// vendor the pooling forward saves x and y for the backward instead of the indices (tensor/ops_pool2d.cpp),
// and the vendor pooling entry points have their own signatures (the tables in kernels/pool2d.h call every
// backend with one argument list and drop what each does not read). Where a max-pool window holds several
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

}  // namespace nn::cuda
