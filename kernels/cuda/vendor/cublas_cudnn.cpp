// The vendor entry points on cuBLAS and cuDNN (kernels/cuda/vendor.h), compiled by g++ in CUDA=1 builds.
//
// Each host thread gets one cuBLAS and one cuDNN handle per device, created on first use and bound to
// that thread's skinnet stream (nn::cuda::stream()) before every call, so vendor calls are ordered with
// the handwritten kernels. Every library call goes through NN_CUBLAS / NN_CUDNN, which fail with the call
// text, file, line and the library's status string. Workspaces come from nn::cuda::Scratch (the caching
// allocator); cuBLAS keeps its own small per-handle workspace.
// cuBLAS is opened with dlopen on first use instead of being linked: loading libcublas (and the 540 MB
// libcublasLt it pulls in) costs every process 210 MiB of resident memory at start, CPU-only runs
// included. cuDNN's libcudnn.so is a small shim that loads its engines on demand, so it stays linked.
// Arithmetic: FP32 without tensor cores (CUBLAS_DEFAULT_MATH does not use TF32 for FP32 GEMM unless
// NVIDIA_TF32_OVERRIDE says so; convolutions are set to CUDNN_FMA_MATH).
#include <cublas_v2.h>
#include <cudnn.h>
#include <dlfcn.h>

#include <array>
#include <climits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>

#define NN_CUDA_HOST_ONLY
#include "kernels/cuda/compat.h"

#include "base/error.h"
#include "kernels/cuda/vendor.h"

namespace nn {

namespace {

// The cuBLAS entry points skinnet calls (cublas_v2.h maps cublasCreate to cublasCreate_v2 and so on).
struct CublasApi {
  decltype(&cublasCreate) create = nullptr;
  decltype(&cublasSetMathMode) set_math_mode = nullptr;
  decltype(&cublasSetStream) set_stream = nullptr;
  decltype(&cublasSgemm) sgemm = nullptr;
  decltype(&cublasSscal) sscal = nullptr;
  decltype(&cublasGetStatusName) status_name = nullptr;
  decltype(&cublasGetStatusString) status_string = nullptr;
  std::string error;  // why loading failed; empty when every pointer is set
};

const CublasApi& load_cublas() {
  static CublasApi api;
  static std::once_flag once;
  std::call_once(once, [] {
    const std::string name = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
    void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);  // the executable's RUNPATH, then ld.so.cache
    if (!lib) {
      api.error = fmt::format("cannot load {}: {}", name, dlerror());
      return;
    }
    auto bind = [&](auto& fn, const char* symbol) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, symbol));
      if (!fn && api.error.empty()) api.error = fmt::format("{} has no symbol {}", name, symbol);
    };
    bind(api.create, "cublasCreate_v2");
    bind(api.set_math_mode, "cublasSetMathMode");
    bind(api.set_stream, "cublasSetStream_v2");
    bind(api.sgemm, "cublasSgemm_v2");
    bind(api.sscal, "cublasSscal_v2");
    bind(api.status_name, "cublasGetStatusName");
    bind(api.status_string, "cublasGetStatusString");
  });
  return api;
}

const CublasApi& cublas_api() {
  const CublasApi& api = load_cublas();
  NN_CHECK(api.error.empty(), "cuBLAS is not available: {}", api.error);
  return api;
}

void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS)
    NN_FAIL("cuBLAS error: {} returned {} ({}) at {}:{}", call, cublas_api().status_name(status),
            cublas_api().status_string(status), file, line);
}

void check_cudnn(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  char detail[512] = "";
  cudnnGetLastErrorString(detail, sizeof detail);
  NN_FAIL("cuDNN error: {} returned {} at {}:{}{}{}", call, cudnnGetErrorString(status), file, line,
          detail[0] ? ": " : "", detail);
}

#define NN_CUBLAS(call) check_cublas((call), #call, __FILE__, __LINE__)
#define NN_CUDNN(call) check_cudnn((call), #call, __FILE__, __LINE__)

int current_device() {
  int device = 0;
  NN_CUDA_CHECK(cudaGetDevice(&device));
  NN_CHECK(device >= 0 && device < 64, "cuda:{}: device index too large", device);
  return device;
}

// This thread's handles for the current device, bound to this thread's stream. Never destroyed: they live
// as long as the thread, and destroying them at exit could run after the CUDA runtime has shut down.
cublasHandle_t cublas() {
  static thread_local std::array<cublasHandle_t, 64> handles{};
  cublasHandle_t& h = handles[current_device()];
  if (!h) {
    NN_CUBLAS(cublas_api().create(&h));
    NN_CUBLAS(cublas_api().set_math_mode(h, CUBLAS_DEFAULT_MATH));
  }
  NN_CUBLAS(cublas_api().set_stream(h, cuda::stream()));
  return h;
}

cudnnHandle_t cudnn() {
  static thread_local std::array<cudnnHandle_t, 64> handles{};
  cudnnHandle_t& h = handles[current_device()];
  if (!h) NN_CUDNN(cudnnCreate(&h));
  NN_CUDNN(cudnnSetStream(h, cuda::stream()));
  return h;
}

int to_int(int64_t v, const char* what) {
  NN_CHECK(v >= 0 && v <= INT_MAX, "vendor kernels: {} = {} does not fit the library's 32-bit int", what, v);
  return static_cast<int>(v);
}

// cuDNN descriptors with ownership: created on construction, destroyed with the object.
template <class T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
class Descriptor {
 public:
  Descriptor() { NN_CUDNN(Create(&d_)); }
  ~Descriptor() { Destroy(d_); }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  operator T() const { return d_; }

 private:
  T d_{};
};
using TensorDesc = Descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc = Descriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc =
    Descriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;
using PoolDesc = Descriptor<cudnnPoolingDescriptor_t, cudnnCreatePoolingDescriptor, cudnnDestroyPoolingDescriptor>;

void set_nchw(cudnnTensorDescriptor_t d, int64_t n, int64_t c, int64_t h, int64_t w) {
  NN_CUDNN(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, to_int(n, "N"), to_int(c, "C"),
                                      to_int(h, "H"), to_int(w, "W")));
}

const float kOne = 1.f, kZero = 0.f;

void zero(float* p, int64_t count) { NN_CUDA_CHECK(cudaMemsetAsync(p, 0, sizeof(float) * count, cuda::stream())); }

// ---------------------------------------------------------------------------------------------------------
// Convolution. Per shape (and device and thread: handles are per thread), a plan holds the descriptors and
// the algorithm of each pass, chosen on first use by cudnnFind*AlgorithmEx: cuDNN runs every applicable
// algorithm on the call's own buffers and reports them fastest first; the fastest whose workspace fits
// kWorkspaceLimit wins. Finding costs a few milliseconds once per shape; later calls only run.

constexpr size_t kWorkspaceLimit = size_t(512) << 20;

// y [N, K, P, Q] and the bias [1, K, 1, 1] that broadcasts over it.
struct OutputDescs {
  TensorDesc y, bias;
  explicit OutputDescs(const Conv2dParams& p) {
    set_nchw(y, p.N, p.K, p.P, p.Q);
    set_nchw(bias, 1, p.K, 1, 1);
  }
};

// Only for convolutions with products: N, C, H, W, K all non-zero (cuDNN rejects empty descriptors).
struct CudnnConvPlan {
  explicit CudnnConvPlan(const Conv2dParams& p) : out(p) {}
  TensorDesc x;
  OutputDescs out;
  FilterDesc w;
  ConvDesc conv;
  bool have_fwd = false, have_bwd_data = false, have_bwd_filter = false;
  cudnnConvolutionFwdAlgo_t fwd{};
  cudnnConvolutionBwdDataAlgo_t bwd_data{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
  size_t fwd_bytes = 0, bwd_data_bytes = 0, bwd_filter_bytes = 0;
};

// Groups: the filter descriptor is [K, C/G, R, S] (what each filter reads) and the convolution descriptor
// carries G (cudnnSetConvolutionGroupCount); x and y keep all C and K channels. G is part of the key.
CudnnConvPlan& conv_plan(const Conv2dParams& p) {
  using Key = std::array<int64_t, 17>;
  static thread_local std::map<Key, std::unique_ptr<CudnnConvPlan>> plans;
  const Key key = {current_device(), p.N,        p.C,     p.H,     p.W,     p.K,     p.R, p.S, p.P, p.Q,
                   p.stride_h,       p.stride_w, p.pad_h, p.pad_w, p.dil_h, p.dil_w, p.G};
  std::unique_ptr<CudnnConvPlan>& plan = plans[key];
  if (plan) return *plan;
  NN_CHECK(p.G >= 1 && p.C % p.G == 0 && p.K % p.G == 0,
           "conv2d (vendor): groups G={} must divide C={} and K={}", p.G, p.C, p.K);
  plan = std::make_unique<CudnnConvPlan>(p);
  set_nchw(plan->x, p.N, p.C, p.H, p.W);
  NN_CUDNN(cudnnSetFilter4dDescriptor(plan->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, to_int(p.K, "K"),
                                      to_int(p.C / p.G, "C/G"), to_int(p.R, "R"), to_int(p.S, "S")));
  NN_CUDNN(cudnnSetConvolution2dDescriptor(plan->conv, to_int(p.pad_h, "pad_h"), to_int(p.pad_w, "pad_w"),
                                           to_int(p.stride_h, "stride_h"), to_int(p.stride_w, "stride_w"),
                                           to_int(p.dil_h, "dil_h"), to_int(p.dil_w, "dil_w"), CUDNN_CROSS_CORRELATION,
                                           CUDNN_DATA_FLOAT));
  NN_CUDNN(cudnnSetConvolutionGroupCount(plan->conv, to_int(p.G, "G")));
  NN_CUDNN(cudnnSetConvolutionMathType(plan->conv, CUDNN_FMA_MATH));
  return *plan;
}

// The fastest successful result within the workspace limit (results arrive fastest first).
template <class Perf>
const Perf& fastest(const Perf* results, int count, const char* pass, const Conv2dParams& p) {
  for (int i = 0; i < count; ++i)
    if (results[i].status == CUDNN_STATUS_SUCCESS && results[i].memory <= kWorkspaceLimit) return results[i];
  NN_FAIL("conv2d {} (vendor): cuDNN found no algorithm for N={} C={} H={} W={} K={} R={} S={}", pass, p.N, p.C, p.H,
          p.W, p.K, p.R, p.S);
}

}  // namespace

void gemm_vendor(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  // cuBLAS is column-major. Row-major C [M, N] with row stride ldc is, read column-major, C^T [N, M] with
  // leading dimension ldc; likewise for A and B. C^T = op(B)^T op(A)^T, so swapping the operands (and M
  // with N) computes the row-major product without moving any data.
  const cublasOperation_t op_a = ta == Trans::yes ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = tb == Trans::yes ? CUBLAS_OP_T : CUBLAS_OP_N;
  NN_CUBLAS(cublas_api().sgemm(cublas(), op_b, op_a, to_int(N, "N"), to_int(M, "M"), to_int(K, "K"), &alpha, B,
                        to_int(ldb, "ldb"), A, to_int(lda, "lda"), &beta, C, to_int(ldc, "ldc")));
}

void conv2d_forward_vendor(float* y, const float* x, const float* w, const float* bias, const Conv2dParams& p) {
  if (p.N * p.K * p.P * p.Q == 0) return;
  if (p.C * p.H * p.W == 0) {  // an empty input: no products, y is the bias (or zero)
    zero(y, p.N * p.K * p.P * p.Q);
    const OutputDescs d(p);
    if (bias) NN_CUDNN(cudnnAddTensor(cudnn(), &kOne, d.bias, bias, &kOne, d.y, y));
    return;
  }
  CudnnConvPlan& plan = conv_plan(p);
  const cudnnHandle_t h = cudnn();
  if (!plan.have_fwd) {
    cuda::Scratch<unsigned char> ws(kWorkspaceLimit);
    cudnnConvolutionFwdAlgoPerf_t results[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int count = 0;
    NN_CUDNN(cudnnFindConvolutionForwardAlgorithmEx(h, plan.x, x, plan.w, w, plan.conv, plan.out.y, y,
                                                    CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, results, ws.get(),
                                                    kWorkspaceLimit));
    const auto& best = fastest(results, count, "forward", p);
    plan.fwd = best.algo, plan.fwd_bytes = best.memory, plan.have_fwd = true;
  }
  cuda::Scratch<unsigned char> ws(plan.fwd_bytes);
  NN_CUDNN(cudnnConvolutionForward(h, &kOne, plan.x, x, plan.w, w, plan.conv, plan.fwd, ws.get(), plan.fwd_bytes,
                                   &kZero, plan.out.y, y));
  if (bias) NN_CUDNN(cudnnAddTensor(h, &kOne, plan.out.bias, bias, &kOne, plan.out.y, y));
}

void conv2d_backward_data_vendor(float* dx, const float* dy, const float* w, const Conv2dParams& p) {
  if (p.N * p.C * p.H * p.W == 0) return;
  if (p.K == 0) {  // no filters: a sum over nothing
    zero(dx, p.N * p.C * p.H * p.W);
    return;
  }
  CudnnConvPlan& plan = conv_plan(p);
  const cudnnHandle_t h = cudnn();
  if (!plan.have_bwd_data) {
    cuda::Scratch<unsigned char> ws(kWorkspaceLimit);
    cudnnConvolutionBwdDataAlgoPerf_t results[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int count = 0;
    NN_CUDNN(cudnnFindConvolutionBackwardDataAlgorithmEx(h, plan.w, w, plan.out.y, dy, plan.conv, plan.x, dx,
                                                         CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, results,
                                                         ws.get(), kWorkspaceLimit));
    const auto& best = fastest(results, count, "backward data", p);
    plan.bwd_data = best.algo, plan.bwd_data_bytes = best.memory, plan.have_bwd_data = true;
  }
  cuda::Scratch<unsigned char> ws(plan.bwd_data_bytes);
  NN_CUDNN(cudnnConvolutionBackwardData(h, &kOne, plan.w, w, plan.out.y, dy, plan.conv, plan.bwd_data, ws.get(),
                                        plan.bwd_data_bytes, &kZero, plan.x, dx));
}

void conv2d_backward_weight_vendor(float* dw, float* dbias, const float* dy, const float* x, const Conv2dParams& p) {
  const cudnnHandle_t h = cudnn();
  if (dbias && p.N * p.K > 0) {
    const OutputDescs d(p);
    NN_CUDNN(cudnnConvolutionBackwardBias(h, &kOne, d.y, dy, &kZero, d.bias, dbias));
  } else if (dbias) {
    zero(dbias, p.K);  // no images: a sum over nothing
  }
  if (dw && p.N * p.C * p.H * p.W == 0) {
    zero(dw, p.K * (p.C / p.G) * p.R * p.S);  // an empty input: every product is zero
  } else if (dw && p.K > 0) {
    CudnnConvPlan& plan = conv_plan(p);
    if (!plan.have_bwd_filter) {
      cuda::Scratch<unsigned char> ws(kWorkspaceLimit);
      cudnnConvolutionBwdFilterAlgoPerf_t results[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      int count = 0;
      NN_CUDNN(cudnnFindConvolutionBackwardFilterAlgorithmEx(h, plan.x, x, plan.out.y, dy, plan.conv, plan.w, dw,
                                                             CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, results,
                                                             ws.get(), kWorkspaceLimit));
      const auto& best = fastest(results, count, "backward weight", p);
      plan.bwd_filter = best.algo, plan.bwd_filter_bytes = best.memory, plan.have_bwd_filter = true;
    }
    cuda::Scratch<unsigned char> ws(plan.bwd_filter_bytes);
    NN_CUDNN(cudnnConvolutionBackwardFilter(h, &kOne, plan.x, x, plan.out.y, dy, plan.conv, plan.bwd_filter, ws.get(),
                                            plan.bwd_filter_bytes, &kZero, plan.w, dw));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Batch norm, spatial mode: x [N, C, HW] is described as N x C x HW x 1, the statistics as 1 x C x 1 x 1.
// skinnet's conventions differ from cuDNN's in two places, converted here:
//   - skinnet returns the biased batch variance var (ops_norm.cpp updates the running statistics itself);
//     cuDNN returns only mean and invstd, and updates running statistics with the UNBIASED variance. With
//     exponentialAverageFactor = 1 on zeroed buffers the "running" variance is exactly the unbiased batch
//     variance, scaled by (M-1)/M (cublasSscal) into skinnet's biased var.
//   - gamma/beta may be null (affine=False): cuDNN needs tensors, so ones and zeros stand in; likewise
//     scratch receives the gradients skinnet does not want.

namespace {

struct BatchNormDescs {
  TensorDesc x, stats;
  explicit BatchNormDescs(const BatchNormParams& p) {
    set_nchw(x, p.N, p.C, p.HW, 1);
    NN_CUDNN(cudnnDeriveBNTensorDescriptor(stats, x, CUDNN_BATCHNORM_SPATIAL));
  }
};

// gamma, or a scratch vector of ones when gamma is null.
const float* gamma_or_ones(const float* gamma, cuda::Scratch<float>& ones, const BatchNormDescs& d) {
  if (gamma) return gamma;
  const float one = 1.f;
  NN_CUDNN(cudnnSetTensor(cudnn(), d.stats, ones.get(), &one));
  return ones.get();
}

}  // namespace

void batch_norm_forward_train_vendor(float* y, float* mean, float* invstd, float* var, const float* x,
                                     const float* gamma, const float* beta, const BatchNormParams& p) {
  const BatchNormDescs d(p);
  cuda::Scratch<float> ones(p.C), zeros(p.C), running_mean(p.C);
  const float* scale = gamma_or_ones(gamma, ones, d);
  if (!beta) zero(zeros.get(), p.C);
  zero(running_mean.get(), p.C);
  zero(var, p.C);
  NN_CUDNN(cudnnBatchNormalizationForwardTraining(cudnn(), CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, d.x, x, d.x, y,
                                                  d.stats, scale, beta ? beta : zeros.get(), 1.0, running_mean.get(),
                                                  var, p.eps, mean, invstd));
  const double M = static_cast<double>(p.N * p.HW);
  const float to_biased = static_cast<float>((M - 1.0) / M);
  NN_CUBLAS(cublas_api().sscal(cublas(), to_int(p.C, "C"), &to_biased, var, 1));
}

void batch_norm_forward_eval_vendor(float* y, const float* x, const float* running_mean, const float* running_var,
                                    const float* gamma, const float* beta, const BatchNormParams& p) {
  const BatchNormDescs d(p);
  cuda::Scratch<float> ones(p.C), zeros(p.C);
  const float* scale = gamma_or_ones(gamma, ones, d);
  if (!beta) zero(zeros.get(), p.C);
  NN_CUDNN(cudnnBatchNormalizationForwardInference(cudnn(), CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, d.x, x, d.x, y,
                                                   d.stats, scale, beta ? beta : zeros.get(), running_mean, running_var,
                                                   p.eps));
}

void batch_norm_backward_train_vendor(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                      const float* /*invstd*/, const float* gamma, const BatchNormParams& p) {
  const BatchNormDescs d(p);
  cuda::Scratch<float> ones(p.C), dgamma_unused(dgamma ? 0 : p.C), dbeta_unused(dbeta ? 0 : p.C);
  cuda::Scratch<float> dx_unused(dx ? 0 : p.N * p.C * p.HW);
  const float* scale = gamma_or_ones(gamma, ones, d);
  // savedMean/savedInvVariance null: cuDNN recomputes both from x (skinnet keeps no mean for the backward).
  NN_CUDNN(cudnnBatchNormalizationBackward(cudnn(), CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, &kOne, &kZero, d.x, x, d.x,
                                           dy, d.x, dx ? dx : dx_unused.get(), d.stats, scale,
                                           dgamma ? dgamma : dgamma_unused.get(), dbeta ? dbeta : dbeta_unused.get(),
                                           p.eps, nullptr, nullptr));
}

// ---------------------------------------------------------------------------------------------------------
// Pooling: one descriptor per call (host-side and cheap). NaN propagates (skinnet: a NaN always wins).
// The deterministic max mode makes the backward's result independent of thread timing, as skinnet's is.

namespace {

struct PoolDescs {
  TensorDesc x, y;
  PoolDesc pool;
  PoolDescs(const Pool2dParams& p, cudnnPoolingMode_t mode) {
    NN_CHECK(cuda::pool2d_vendor_supports(p),
             "pool2d (vendor): cuDNN cannot compute this pooling (dilation or "
             "ceil_mode); the op layer should have kept it on the handwritten kernels");
    set_nchw(x, p.N, p.C, p.H, p.W);
    set_nchw(y, p.N, p.C, p.P, p.Q);
    NN_CUDNN(cudnnSetPooling2dDescriptor(pool, mode, CUDNN_PROPAGATE_NAN, to_int(p.R, "R"), to_int(p.S, "S"),
                                         to_int(p.pad_h, "pad_h"), to_int(p.pad_w, "pad_w"),
                                         to_int(p.stride_h, "stride_h"), to_int(p.stride_w, "stride_w")));
  }
};

cudnnPoolingMode_t avg_mode(const Pool2dParams& p) {
  return p.count_include_pad ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                             : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
}

void pool_forward(cudnnPoolingMode_t mode, float* y, const float* x, const Pool2dParams& p) {
  if (p.N * p.C == 0) return;
  const PoolDescs d(p, mode);
  NN_CUDNN(cudnnPoolingForward(cudnn(), d.pool, &kOne, d.x, x, &kZero, d.y, y));
}

void pool_backward(cudnnPoolingMode_t mode, float* dx, const float* dy, const float* x, const float* y,
                   const Pool2dParams& p) {
  if (p.N * p.C == 0) return;
  const PoolDescs d(p, mode);
  NN_CUDNN(cudnnPoolingBackward(cudnn(), d.pool, &kOne, d.y, y, d.y, dy, d.x, x, &kZero, d.x, dx));
}

}  // namespace

void max_pool2d_forward_vendor(float* y, const float* x, const Pool2dParams& p) {
  pool_forward(CUDNN_POOLING_MAX_DETERMINISTIC, y, x, p);
}
void max_pool2d_backward_vendor(float* dx, const float* dy, const float* x, const float* y, const Pool2dParams& p) {
  pool_backward(CUDNN_POOLING_MAX_DETERMINISTIC, dx, dy, x, y, p);
}
void avg_pool2d_forward_vendor(float* y, const float* x, const Pool2dParams& p) { pool_forward(avg_mode(p), y, x, p); }
void avg_pool2d_backward_vendor(float* dx, const float* dy, const float* x, const float* y, const Pool2dParams& p) {
  pool_backward(avg_mode(p), dx, dy, x, y, p);
}

namespace cuda {
bool vendor_available() { return load_cublas().error.empty(); }

std::string load_vendor_libraries() { return load_cublas().error; }
}  // namespace cuda

}  // namespace nn
