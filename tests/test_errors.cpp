// Bad input: every op reports shape, dtype and device mismatches with an nn::Error that names the op
// and the shapes, before touching any data; nothing crashes and nothing returns a silently wrong result.
#include <functional>
#include <memory>

#include "kernels/cuda/device.h"
#include "tests/check.h"

namespace nn::test {

namespace {

// Runs f, which must throw nn::Error whose message contains every one of `parts`.
void expect_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const std::string& part : parts)
      CHECK_MESSAGE(message.find(part) != std::string::npos, "message \"" << message << "\" does not mention \"" << part << "\"");
    return;
  } catch (const std::exception& e) {
    FAIL_CHECK("threw a " << typeid(e).name() << " instead of nn::Error: " << e.what());
    return;
  }
  std::string expected;
  for (const auto& p : parts) expected += " '" + p + "'";
  FAIL_CHECK("no error was thrown; expected one mentioning" << expected);
}

// A tensor that claims to live on cuda:0 (its memory is on the host and is never touched: every op must
// refuse the device mix before running a kernel).
Tensor fake_cuda_tensor(const Shape& shape) {
  auto buffer = std::shared_ptr<float[]>(new float[static_cast<size_t>(shape.numel())]());
  auto storage = Storage::wrap(buffer.get(), static_cast<size_t>(shape.numel()) * 4, Device::cuda(0), buffer);
  return make_tensor(storage, shape, contiguous_strides(shape), 0, DType::f32);
}

}  // namespace

TEST_SUITE("errors") {
  TEST_CASE("errors: elementwise shape, dtype and device mismatches") {
    expect_error([] { add(ones({2, 3}), ones({4})); }, {"add", "[2, 3]", "[4]", "broadcast"});
    expect_error([] { mul(ones({2, 3}), ones({2, 3}, DType::f64)); }, {"mul", "dtypes differ", "f32", "f64"});
    expect_error([] { sub(ones({2}), fake_cuda_tensor({2})); }, {"sub", "different devices", "cpu", "cuda:0"});
    expect_error([] { relu(arange(3, DType::i64)); }, {"relu", "floating", "i64"});
    expect_error([] { exp(Tensor()); }, {"exp", "undefined"});
  }

  TEST_CASE("errors: conv2d arguments") {
    expect_error([] { conv2d(ones({1, 3, 8, 8}), ones({4, 2, 3, 3})); }, {"conv2d", "3 channels", "[4, 2, 3, 3]"});
    expect_error([] { conv2d(ones({3, 8, 8}), ones({4, 3, 3, 3})); }, {"conv2d", "[N, C, H, W]", "[3, 8, 8]"});
    expect_error([] { conv2d(ones({1, 1, 2, 2}), ones({1, 1, 3, 3})); }, {"conv2d", "smaller than", "3x3"});
    expect_error([] { conv2d(ones({1, 1, 5, 5}), ones({1, 1, 3, 3}), {}, {.stride = 0}); }, {"conv2d", "stride"});
    expect_error([] { conv2d(ones({1, 1, 5, 5}), ones({2, 1, 3, 3}), ones({3})); }, {"conv2d", "bias", "[3]"});
    expect_error([] { conv2d(ones({1, 3, 5, 5}), ones({2, 1, 3, 3}), {}, {.groups = 2}); }, {"conv2d", "groups", "divide"});
    expect_error([] { conv2d(ones({1, 1, 5, 5}), fake_cuda_tensor({1, 1, 3, 3})); }, {"conv2d", "different devices"});
  }

  TEST_CASE("errors: matmul and linear shapes") {
    expect_error([] { matmul(ones({2, 3}), ones({4, 5})); }, {"matmul", "[2, 3]", "[4, 5]"});
    expect_error([] { matmul(ones({3}), ones({3, 2})); }, {"matmul", "[3]"});
    expect_error([] { linear(ones({4, 10}), ones({5, 9})); }, {"linear", "[4, 10]", "[5, 9]"});
    expect_error([] { linear(ones({4, 10}), ones({5, 10}), ones({4})); }, {"linear", "bias", "[4]"});
  }

  TEST_CASE("errors: batch_norm arguments") {
    const Tensor x = ones({2, 3, 4, 4});
    expect_error([&] { batch_norm(x, zeros({4}), ones({4}), {}, {}, {}); }, {"batch_norm", "running_mean", "3 channels"});
    expect_error([&] { batch_norm(x, {}, {}, {}, {}, {.training = false}); }, {"batch_norm", "eval", "running"});
    expect_error([] { batch_norm(ones({1, 3}), {}, {}, {}, {}, {}); }, {"batch_norm", "more than one value"});
    expect_error([&] { batch_norm(x, zeros({3}), {}, {}, {}, {}); }, {"batch_norm", "both"});
  }

  TEST_CASE("errors: pooling arguments") {
    expect_error([] { max_pool2d(ones({1, 1, 5, 5}), {.kernel_size = 2, .padding = 2}); }, {"max_pool2d", "padding"});
    expect_error([] { max_pool2d(ones({1, 1, 2, 2}), {.kernel_size = 3}); }, {"max_pool2d", "too small", "[1, 1, 2, 2]"});
    expect_error([] { avg_pool2d(ones({1, 5, 5}), {.kernel_size = 2}); }, {"avg_pool2d", "[N, C, H, W]"});
    expect_error([] { adaptive_avg_pool2d(ones({1, 1, 5, 5}), {0, 1}); }, {"adaptive_avg_pool2d", "positive"});
  }

  TEST_CASE("errors: reductions, views and element access") {
    expect_error([] { sum(ones({2, 3}), {2}); }, {"sum", "dimension 2", "2 dimensions"});
    expect_error([] { sum(ones({2, 3}), {1, -1}); }, {"sum", "twice"});
    expect_error([] { max(ones({2, 0}), 1); }, {"max", "empty"});
    expect_error([] { ones({2, 3}).item<float>(); }, {"item", "[2, 3]"});
    expect_error([] { ones({2, 3}).data<double>(); }, {"data", "f32", "f64"});
    expect_error([] { ones({2, 3}).reshape({4, 2}); }, {"reshape", "[2, 3]", "[4, 2]"});
    expect_error([] { ones({2, 3}).permute({0, 0}); }, {"permute", "repeated"});
    expect_error([] { ones({2, 3}).expand({2, 4}); }, {"expand", "cannot become 4"});
  }

  TEST_CASE("errors: CUDA devices in a build without CUDA") {
    if (cuda_built()) return;  // covered by the CUDA backend's own tests
    expect_error([] { ones({2}).to(Device::cuda()); }, {"cuda:0", "without CUDA"});
    expect_error([] { empty({2}, DType::f32, Device::cuda(1)); }, {"cuda:1", "without CUDA"});
  }

  TEST_CASE("errors: an op given a CUDA tensor fails loudly instead of running on the CPU") {
    // Without CUDA the output allocation fails; with CUDA but no kernel yet, the CUDA entry point does.
    expect_error([] { relu(fake_cuda_tensor({4})); }, {"cuda"});
    expect_error([] { conv2d(fake_cuda_tensor({1, 1, 4, 4}), fake_cuda_tensor({1, 1, 3, 3})); }, {"cuda"});
  }
}

}  // namespace nn::test
