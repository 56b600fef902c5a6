// CUDA copy, cast and fill (kernels/cuda/copy.cu) against the CPU kernels, through the tensor ops that use
// them (to(dtype), contiguous, copy_, fill_): every dtype pair, contiguous and strided sources and
// destinations, a broadcast source. Conversions are static_cast on both sides, so every result is exact.
#include <cmath>

#include "tests/check.h"
#include "tests/cuda_check.h"

namespace nn::test {

namespace {

constexpr Tol kExact{0, 0};
constexpr DType kDTypes[] = {DType::f32, DType::f64, DType::i64, DType::u8};

// A [3, 5, 7] source of dtype `src` whose values every destination `dst` can hold (float to integer
// conversion of an out-of-range value is undefined): fractions to truncate (and negative ones unless dst is
// u8), doubles that float must round (k/3). i64 sources hold negative values for every dst (integer to u8
// wraps modulo 256 on both sides) and, every 3rd, values beyond float's 24-bit mantissa.
Tensor copy_source(DType src, DType dst) {
  const Shape s{3, 5, 7};
  std::vector<double> v(static_cast<size_t>(s.numel()));
  for (size_t k = 0; k < v.size(); ++k) {
    const double t = std::fmod(static_cast<double>(k) * 7.31 + static_cast<double>(k) / 3.0, 255.0);
    v[k] = src != DType::i64 && (dst == DType::u8 || src == DType::u8) ? t : t - 100.5;
  }
  if (src == DType::i64) {
    std::vector<int64_t> w(v.size());
    for (size_t k = 0; k < v.size(); ++k) w[k] = static_cast<int64_t>(v[k]) * ((k % 3 == 0) ? 16777217 : 1);
    return from_vector(w, s);
  }
  return from_vector(v, s).to(src);
}

// Same-dtype copies as well as conversions: the strided cases (a permuted and a step-2 slice of the
// source) go through to(dtype) when the dtypes differ and contiguous() when they do not.
Tensor convert(const Tensor& t, DType dst) { return t.dtype() == dst ? t.contiguous() : t.to(dst); }

}  // namespace

TEST_SUITE("cuda") {
  // Awkward: [3, 5, 7] (105 elements, one partial block), permuted to [7, 3, 5] and sliced every 2nd
  // along the last dimension; a copy_ into a transposed destination view; a broadcast [7] source.
  TEST_CASE("cuda copy: every dtype pair equals the CPU (3x5x7: contiguous, permuted, sliced; strided and broadcast copy_)") {
    for_each_schedule([&] {
      for (DType src : kDTypes)
        for (DType dst : kDTypes) {
          INFO(dtype_name(src), " -> ", dtype_name(dst));
          const Tensor x = copy_source(src, dst), cx = to_cuda(x);
          check_close("contiguous", to_cpu(convert(cx, dst)), convert(x, dst), kExact);
          check_close("permuted", to_cpu(convert(cx.permute({2, 0, 1}), dst)), convert(x.permute({2, 0, 1}), dst),
                      kExact);
          check_close("sliced", to_cpu(convert(cx.slice(2, 1, 7, 2), dst)), convert(x.slice(2, 1, 7, 2), dst), kExact);
          // copy_ into every other row of a transposed [7, 5, 3] destination (the rest stays as filled).
          Tensor out = full({7, 5, 3}, 9, dst), cout = to_cuda(out);
          out.slice(1, 0, 5, 2).transpose(0, 2).copy_(x.slice(1, 0, 5, 2));
          cout.slice(1, 0, 5, 2).transpose(0, 2).copy_(cx.slice(1, 0, 5, 2));
          check_close("copy_ into a strided view", to_cpu(cout), out, kExact);
          // copy_ of a [7] row broadcast over [3, 5, 7].
          Tensor rows = empty({3, 5, 7}, dst), crows = empty({3, 5, 7}, dst, Device::cuda());
          rows.copy_(x.select(0, 1).select(0, 2));
          crows.copy_(cx.select(0, 1).select(0, 2));
          check_close("copy_ of a broadcast row", to_cpu(crows), rows, kExact);
        }
    });
  }

  // Model-sized: a ResNet-18 activation [2, 64, 56, 56] made channels-last (contiguous() of a permuted
  // view: strided reads, coalesced writes), and a uint8 NHWC batch of two 224x224 images to float.
  TEST_CASE("cuda copy: NCHW to NHWC of [2,64,56,56] and u8 [2,224,224,3] to f32 equal the CPU") {
    const Tensor act = test_input({2, 64, 56, 56}, 1, -1, 1, DType::f32), cact = to_cuda(act);
    Generator gen(2);
    const Tensor pixels = randint(0, 256, {2, 224, 224, 3}, gen).to(DType::u8), cpixels = to_cuda(pixels);
    for_each_schedule([&] {
      check_close("NHWC", to_cpu(cact.permute({0, 2, 3, 1}).contiguous()), act.permute({0, 2, 3, 1}).contiguous(),
                  kExact);
      check_close("u8 to f32", to_cpu(cpixels.to(DType::f32)), pixels.to(DType::f32), kExact);
    });
  }

  // fill_ of every dtype: a whole tensor (contiguous walk) and every 2nd column of a transposed view
  // (strided; the elements between must keep their earlier value). 2.75 truncates for the integer dtypes.
  TEST_CASE("cuda fill: every dtype equals the CPU (5x7 whole and a strided view)") {
    for_each_schedule([&] {
      for (DType t : kDTypes) {
        INFO(dtype_name(t));
        Tensor x = empty({5, 7}, t), cx = empty({5, 7}, t, Device::cuda());
        x.fill_(2.75);
        cx.fill_(2.75);
        check_close("whole", to_cpu(cx), x, kExact);
        const double value = t == DType::u8 ? 200 : -1;
        x.transpose(0, 1).slice(1, 0, 5, 2).fill_(value);
        cx.transpose(0, 1).slice(1, 0, 5, 2).fill_(value);
        check_close("strided view", to_cpu(cx), x, kExact);
      }
    });
  }
}

}  // namespace nn::test
