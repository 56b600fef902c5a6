// Vendor kernels (cuBLAS/cuDNN, kernels/cuda/vendor.h) against skinnet's handwritten CUDA kernels, through
// the ops (matmul/linear, conv2d, batch_norm, pooling) so the call sites' choice is tested too: each case
// runs the same forward and backward once with KernelSource::handwritten and once with vendor.
//
// These need a real GPU and a CUDA=1 build: they form their own tier, "vendor", which only `make test-gpu`
// runs (`make test` leaves it out; it is never counted as passed where it cannot run). Run anywhere else they
// fail, saying what is missing. The "errors" case at the end runs in every build.
//
// Tolerances: both sides are float32 with different summation orders (tiled GEMM vs cuBLAS/cuDNN's chosen
// algorithm, e.g. Winograd or FFT for convolution). A sequential float32 sum of K random-sign terms is off
// by ~sqrt(K/2) units of roundoff (6e-8) of the output's rms: 2.7e-6 for the longest reduction here
// (K = 4096), so the largest of ~16k outputs stays within 2e-5 of the rms: Tol{2e-5, 2e-5}.
// Batch norm: skinnet accumulates its statistics in double, cuDNN in float32 over M = N*HW values; the
// training dx cancels heavily (it sums to zero per channel), so it is compared relative to its rms only.
// Pooling values and average-pool gradients are single sums of at most 9 terms; max pooling uses
// distinct inputs (no ties, so both route each gradient to the same element) and must agree exactly.
#include <functional>
#include <utility>

#include "kernels/cuda/device.h"
#include "kernels/cuda/vendor.h"
#include "tests/check.h"
#include "tests/cuda_check.h"

namespace nn::test {

namespace {

using cuda::KernelSource;

// Selects the kernel source for one scope and restores the previous one.
class KernelSourceScope {
 public:
  explicit KernelSourceScope(KernelSource source) : previous_(cuda::kernel_source()) {
    cuda::set_kernel_source(source);
  }
  ~KernelSourceScope() { cuda::set_kernel_source(previous_); }
  KernelSourceScope(const KernelSourceScope&) = delete;
  KernelSourceScope& operator=(const KernelSourceScope&) = delete;

 private:
  KernelSource previous_;
};

void require_vendor() {
  REQUIRE_MESSAGE(!emu::active(), "the vendor tier needs a GPU: the CUDA emulator has no cuBLAS/cuDNN (make test-gpu)");
  REQUIRE_MESSAGE(cuda::vendor_available(), "the vendor tier needs a CUDA=1 build with cuBLAS/cuDNN (make test-gpu)");
  REQUIRE_MESSAGE(cuda_device_count() > 0, "the vendor tier needs a GPU (make test-gpu)");
}

using Op = std::function<Tensor(const std::vector<Tensor>&)>;

// The op's output followed by the gradient of each input, for the output gradient drawn from `seed`,
// computed on the GPU with the given kernels. Inputs are CPU tensors; results come back to the CPU.
std::vector<Tensor> run_op(KernelSource source, const std::vector<Tensor>& inputs, const Op& op, uint64_t seed) {
  KernelSourceScope scope(source);
  std::vector<Tensor> leaves;
  for (const Tensor& t : inputs) leaves.push_back(to_cuda(t).requires_grad_());
  const Tensor y = op(leaves);
  y.backward(to_cuda(test_input(y.shape(), seed, -1, 1, DType::f32)));
  std::vector<Tensor> results = {to_cpu(y)};
  for (const Tensor& leaf : leaves) results.push_back(to_cpu(leaf.grad()));
  return results;
}

// Runs op with both kernel sources and compares output and input gradients.
void check_vendor(const std::string& what, const std::vector<Tensor>& inputs, const Op& op, Tol tol,
                  uint64_t seed = 99) {
  const std::vector<Tensor> want = run_op(KernelSource::handwritten, inputs, op, seed);
  const std::vector<Tensor> got = run_op(KernelSource::vendor, inputs, op, seed);
  check_close(what + " y", got[0], want[0], tol);
  for (size_t i = 1; i < want.size(); ++i)
    check_close(what + " d(input " + std::to_string(i - 1) + ")", got[i], want[i], tol);
}

Tensor input(const Shape& shape, uint64_t seed) { return test_input(shape, seed, -1, 1, DType::f32); }

constexpr Tol kSummationOrder{2e-5, 2e-5};

}  // namespace

TEST_SUITE("vendor") {

TEST_CASE("vendor gemm: cuBLAS matmul and linear match the handwritten GEMM") {
  require_vendor();
  // VGG19's classifier fc7 at batch 2 (4096 -> 4096): the backward runs both transposed forms.
  check_vendor("linear fc7 b2", {input({2, 4096}, 1), input({4096, 4096}, 2), input({4096}, 3)},
               [](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2]); }, kSummationOrder);
  // Awkward: odd sizes, a transposed view as the left operand, a batched product with a size-1 dim.
  check_vendor("matmul 37x19^T @ 37x23", {input({37, 19}, 4), input({37, 23}, 5)},
               [](const std::vector<Tensor>& t) { return matmul(t[0].transpose(0, 1), t[1]); }, kSummationOrder);
  check_vendor("matmul batched 3x1x17 @ 3x17x5", {input({3, 1, 17}, 6), input({3, 17, 5}, 7)},
               [](const std::vector<Tensor>& t) { return matmul(t[0], t[1]); }, kSummationOrder);
}

TEST_CASE("vendor conv2d: cuDNN forward, backward data and weight match the handwritten kernels") {
  require_vendor();
  // ResNet-50 layer2's strided 3x3 (128 -> 128, 56x56 -> 28x28) at batch 2, with bias.
  Conv2dOptions s2;
  s2.stride = 2, s2.padding = 1;
  check_vendor("conv resnet50 l2.conv2 s2",
               {input({2, 128, 56, 56}, 11), input({128, 128, 3, 3}, 12), input({128}, 13)},
               [s2](const std::vector<Tensor>& t) { return conv2d(t[0], t[1], t[2], s2); }, kSummationOrder);
  // Awkward: odd sizes, 3x2 filter, unequal strides and padding, dilation, batch 3.
  Conv2dOptions odd;
  odd.stride = Pair(2, 1), odd.padding = Pair(1, 0), odd.dilation = Pair(2, 1);
  check_vendor("conv awkward", {input({3, 5, 13, 11}, 14), input({7, 5, 3, 2}, 15), input({7}, 16)},
               [odd](const std::vector<Tensor>& t) { return conv2d(t[0], t[1], t[2], odd); }, kSummationOrder);
  // A 1x1 convolution without bias (ResNet's bottleneck conv3 shape, reduced image).
  check_vendor("conv 1x1 no bias", {input({2, 64, 14, 14}, 17), input({256, 64, 1, 1}, 18)},
               [](const std::vector<Tensor>& t) { return conv2d(t[0], t[1], Tensor(), {}); }, kSummationOrder);
}

TEST_CASE("vendor batch_norm: cuDNN training and eval match the handwritten kernels") {
  require_vendor();
  const Tol stats{1e-5, 1e-5}, cancelling{0, 2e-5};
  for (const Shape& shape : {Shape{2, 64, 56, 56}, Shape{3, 5, 7, 1}, Shape{9, 6}}) {
    const int64_t C = shape[1];
    const std::string what = "batch_norm " + shape.str();
    const Tensor x = input(shape, 21), gamma = input({C}, 22), beta = input({C}, 23);
    const Tensor dy = input(shape, 24);
    // Training with affine parameters and running statistics; then affine=False.
    for (bool affine : {true, false}) {
      std::vector<Tensor> results[2];
      for (int vendor = 0; vendor < 2; ++vendor) {
        KernelSourceScope scope(vendor ? KernelSource::vendor : KernelSource::handwritten);
        const Tensor xd = to_cuda(x).requires_grad_();
        const Tensor g = affine ? to_cuda(gamma).requires_grad_() : Tensor();
        const Tensor b = affine ? to_cuda(beta).requires_grad_() : Tensor();
        const Tensor rm = to_cuda(input({C}, 25)), rv = to_cuda(test_input({C}, 26, 0.5, 2, DType::f32));
        const Tensor y = batch_norm(xd, rm, rv, g, b, {});
        y.backward(to_cuda(dy));
        results[vendor] = {to_cpu(y), to_cpu(xd.grad()), to_cpu(rm), to_cpu(rv)};
        if (affine) results[vendor].insert(results[vendor].end(), {to_cpu(g.grad()), to_cpu(b.grad())});
      }
      const char* names[] = {" y", " dx", " running_mean", " running_var", " dgamma", " dbeta"};
      const std::string mode = affine ? " train" : " train affine=False";
      for (size_t i = 0; i < results[0].size(); ++i)
        check_close(what + mode + names[i], results[1][i], results[0][i], i == 1 ? cancelling : stats);
    }
    // Eval: cuDNN's inference forward; the backward stays handwritten under vendor (no cuDNN equivalent).
    const Tensor rm = input({C}, 25), rv = test_input({C}, 26, 0.5, 2, DType::f32);
    check_vendor(what + " eval", {x, gamma, beta},
                 [rm, rv](const std::vector<Tensor>& t) {
                   BatchNormOptions o;
                   o.training = false;
                   return batch_norm(t[0], to_cuda(rm), to_cuda(rv), t[1], t[2], o);
                 },
                 stats);
  }
}

TEST_CASE("vendor pooling: cuDNN max and average pooling match the handwritten kernels") {
  require_vendor();
  const Tensor stem = distinct_input({2, 64, 112, 112}, 31, DType::f32);  // ResNet's 3x3/2 pad 1 max pool
  MaxPool2dOptions resnet;
  resnet.kernel_size = 3, resnet.stride = Pair(2), resnet.padding = 1;
  check_vendor("max_pool resnet stem", {stem},
               [resnet](const std::vector<Tensor>& t) { return max_pool2d(t[0], resnet); }, Tol{0, 0});
  const Tensor odd = distinct_input({3, 5, 13, 11}, 32, DType::f32);
  MaxPool2dOptions vgg;  // VGG's 2x2/2 on odd sizes (the last row and column are dropped)
  check_vendor("max_pool 2x2 odd", {odd}, [vgg](const std::vector<Tensor>& t) { return max_pool2d(t[0], vgg); },
               Tol{0, 0});
  // ceil_mode adds an output row/column cuDNN cannot produce: stays handwritten, must still be identical.
  MaxPool2dOptions ceil = vgg;
  ceil.ceil_mode = true;
  check_vendor("max_pool ceil_mode (handwritten)", {odd},
               [ceil](const std::vector<Tensor>& t) { return max_pool2d(t[0], ceil); }, Tol{0, 0});
  // <= 6-term float sums and one division, in different orders: a few ulp of the sum of |terms|.
  const Tol sums{1e-6, 1e-6};
  for (bool include_pad : {true, false}) {
    AvgPool2dOptions avg;
    avg.kernel_size = Pair(3, 2), avg.stride = Pair(2, 1), avg.padding = Pair(1, 1);
    avg.count_include_pad = include_pad;
    check_vendor(std::string("avg_pool 3x2 pad ") + (include_pad ? "counted" : "excluded"),
                 {input({3, 5, 13, 11}, 33)},
                 [avg](const std::vector<Tensor>& t) { return avg_pool2d(t[0], avg); }, sums);
  }
}

}  // TEST_SUITE("vendor")

TEST_SUITE("errors") {

TEST_CASE("kernel source: bad names are rejected, vendor needs the libraries and a GPU") {
  CHECK(cuda::parse_kernel_source("handwritten", "--kernels") == KernelSource::handwritten);
  CHECK(cuda::parse_kernel_source("vendor", "--kernels") == KernelSource::vendor);
  CHECK(std::string(cuda::kernel_source_name(KernelSource::vendor)) == "vendor");
  CHECK(std::string(cuda::kernel_source_name(KernelSource::handwritten)) == "handwritten");
  try {
    cuda::parse_kernel_source("cudnn", "--kernels");
    FAIL_CHECK("parse_kernel_source accepted 'cudnn'");
  } catch (const Error& e) {
    const std::string message = e.what();
    CHECK_MESSAGE(message.find("--kernels") != std::string::npos, message);
    CHECK_MESSAGE(message.find("'cudnn'") != std::string::npos, message);
  }
  CHECK(cuda::kernel_source() == KernelSource::handwritten);  // the default
  if (cuda::vendor_available() && cuda_device_count() > 0) {
    KernelSourceScope scope(KernelSource::vendor);
    CHECK(cuda::kernel_source() == KernelSource::vendor);
  } else {
    try {
      cuda::set_kernel_source(KernelSource::vendor);
      FAIL_CHECK("set_kernel_source(vendor) succeeded without vendor libraries or a GPU");
    } catch (const Error& e) {
      const std::string message = e.what();
      CHECK_MESSAGE(message.find("kernels=vendor") != std::string::npos, message);
    }
    CHECK(cuda::kernel_source() == KernelSource::handwritten);
  }
}

TEST_CASE("vendor libraries: cuBLAS is opened on demand and every entry point resolves (no GPU needed)") {
  const std::string error = cuda::load_vendor_libraries();
  if (error.find("no CUDA vendor libraries") != std::string::npos) {  // CUDA=0 and sanitizer builds
    CHECK(!cuda::vendor_available());
    return;
  }
  // A CUDA=1 build does not link libcublas (210 MiB resident at start); it must still find and bind it.
  CHECK_MESSAGE(error.empty(), error);
  CHECK(cuda::vendor_available());
}

}  // TEST_SUITE("errors")

}  // namespace nn::test
