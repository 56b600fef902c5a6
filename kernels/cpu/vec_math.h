// exp for the CPU kernels' vectorised loops. The C library's expf is a function call per element that GCC
// cannot vectorise (without -ffast-math), which made SiLU, EfficientNet's activation, a third of its
// training step. exp_vec<float> is Cephes' expf written in plain arithmetic that a loop vectorises:
// x = n ln 2 + r with |r| <= ln 2 / 2 (ln 2 split in two for an exact product), e^r by a degree-6
// polynomial, times 2^n built in the exponent bits. Its error is within 2 ulp of the true value on
// [-87.33, 88.37]; inputs are clamped there (e^x below 2^-126 is returned as about 1.2e-38, not a
// denormal; above 88.37, where 2^n would need n = 128, as 2.4e38), and NaN stays NaN. Double keeps
// std::exp.
// `static`: each file gets its own copy, so the AVX2 build of a kernel (kernels/cpu/*_avx2.cpp) never
// shares one with the baseline build (kernels/cpu/conv2d_depthwise_impl.h says why that matters).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace nn {

template <class T>
[[gnu::always_inline]] static inline T exp_vec(T x) {  // inlined, or the caller's loop cannot vectorise
  if constexpr (sizeof(T) == 8) {
    return std::exp(x);
  } else {
    // Selects as bit masks, not `?:`: GCC turns a float `?:` into a branch here and then cannot vectorise.
    const uint32_t bits = std::bit_cast<uint32_t>(x);
    const uint32_t nan = (bits & 0x7fffffffu) > 0x7f800000u ? 0xffffffffu : 0u;
    const uint32_t low = x < -87.33654f ? 0xffffffffu : 0u;  // n >= -126: 2^n stays a normal float
    const uint32_t high = x > 88.37626f ? 0xffffffffu : 0u;
    const uint32_t vb = (bits & ~(low | high | nan)) | (std::bit_cast<uint32_t>(-87.33654f) & low) |
                        (std::bit_cast<uint32_t>(88.37626f) & high);  // NaN becomes 0 here, restored below
    const float v = std::bit_cast<float>(vb);
    // n = round(v / ln 2), by adding 1.5 * 2^23 (the float's last mantissa bit is then the unit)
    const float shifted = v * 1.44269504088896341f + 12582912.0f;
    const int32_t n = std::bit_cast<int32_t>(shifted) - std::bit_cast<int32_t>(12582912.0f);
    const float fn = shifted - 12582912.0f;
    float r = v - fn * 0.693359375f;  // ln 2 = 0.693359375 - 2.12194440e-4, the first part exact in n
    r = r + fn * 2.12194440e-4f;
    const float z = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float er = p * z + r + 1.0f;
    const float scale = std::bit_cast<float>((n + 127) << 23);
    return std::bit_cast<float>((std::bit_cast<uint32_t>(er * scale) & ~nan) | (bits & nan));
  }
}

// ReLU and its gradient as bit masks, for the same reason: a `?:` on the sign becomes a branch that
// mispredicts half the time on activations and stops the loop vectorising (batch norm + ReLU's forward was
// 6x slower that way on ResNet-50). relu_vec(v) = v < 0 ? 0 : v (NaN stays NaN); relu_grad_vec(g, y) =
// y <= 0 ? 0 : g (as PyTorch's threshold_backward on the result: a NaN output passes g).
template <class T>
[[gnu::always_inline]] static inline T relu_vec(T v) {
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  const Bits keep = Bits(0) - static_cast<Bits>(!(v < T(0)));
  return std::bit_cast<T>(std::bit_cast<Bits>(v) & keep);
}

template <class T>
[[gnu::always_inline]] static inline T relu_grad_vec(T g, T y) {
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  const Bits keep = Bits(0) - static_cast<Bits>(!(y <= T(0)));
  return std::bit_cast<T>(std::bit_cast<Bits>(g) & keep);
}

}  // namespace nn
