// Direct convolution in the channel-blocked layout: reorders, the plain-loop kernel, threading and
// dispatch (kernels/cpu/conv2d_blocked.h). The vector kernels are in conv2d_blocked_avx2.cpp (nChw8c) and
// conv2d_blocked_avx512.cpp (nChw16c).
#include "kernels/cpu/conv2d_blocked.h"

#include <algorithm>
#include <vector>

#include "base/allocator.h"
#include "base/error.h"
#include "base/math.h"
#include "base/parallel.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/sanitize.h"
#include "kernels/cpu/vec_math.h"

namespace nn::blocked {

namespace {

int64_t padded_h(const Conv2dParams& p) { return p.H + 2 * p.pad_h; }
int64_t padded_w(const Conv2dParams& p) { return p.W + 2 * p.pad_w; }

// The plain-loop kernel on one output row (the same contract as forward_row_avx2), on blocks of B channels:
// for each output pixel and block, B accumulators that the compiler can keep in vectors.
template <int64_t B>
void forward_row_plain(float* yn, const float* xn, const float* wb, const float* bias, const Conv2dParams& p,
                       int64_t kb0, int64_t kbs, int64_t pp) {
  const int64_t Cb = blocks(p.C, B), Hp = padded_h(p), Wp = padded_w(p), taps = p.R * p.S;
  for (int64_t kb = kb0; kb < kb0 + kbs; ++kb)
    for (int64_t q = 0; q < p.Q; ++q) {
      float acc[B];
      for (int64_t k = 0; k < B; ++k) acc[k] = bias && kb * B + k < p.K ? bias[kb * B + k] : 0.0f;
      for (int64_t cb = 0; cb < Cb; ++cb)
        for (int64_t r = 0; r < p.R; ++r) {
          const float* xrow = xn + (cb * Hp + pp * p.stride_h + r * p.dil_h) * Wp * B;
          for (int64_t s = 0; s < p.S; ++s) {
            const float* xv = xrow + (q * p.stride_w + s * p.dil_w) * B;
            const float* wv = wb + ((kb * Cb + cb) * taps + r * p.S + s) * B * B;
            for (int64_t c = 0; c < B; ++c)
              for (int64_t k = 0; k < B; ++k) acc[k] += xv[c] * wv[c * B + k];
          }
        }
      float* y = yn + ((kb * p.P + pp) * p.Q + q) * B;
      for (int64_t k = 0; k < B; ++k) y[k] = acc[k];
    }
}

// What a row kernel call may touch (for the sanitizer build, where the vector kernels are not instrumented:
// kernels/cpu/sanitize.h): the input rows of every channel block that output row pp reads, the weights and
// bias of output blocks [kb0, kb0 + kbs), and that row of each of those output blocks.
void check_row_footprint(const float* yn, const float* xn, const float* wb, const float* bias, const Conv2dParams& p,
                         int64_t block, int64_t kb0, int64_t kbs, int64_t pp) {
  const int64_t Cb = blocks(p.C, block), Hp = padded_h(p), Wp = padded_w(p), taps = p.R * p.S;
  const int64_t first_row = pp * p.stride_h, last_row = (Cb - 1) * Hp + pp * p.stride_h + (p.R - 1) * p.dil_h;
  const int64_t f = int64_t{sizeof(float)};
  check_footprint(xn + first_row * Wp * block, (last_row + 1 - first_row) * Wp * block * f);
  check_footprint(wb + kb0 * Cb * taps * block * block, kbs * Cb * taps * block * block * f);
  if (bias) check_footprint(bias + kb0 * block, kbs * block * f);
  for (int64_t k = kb0; k < kb0 + kbs; ++k) check_footprint(yn + (k * p.P + pp) * p.Q * block, p.Q * block * f);
}

}  // namespace

Kernel best_kernel() {
  return cpu_has(CpuIsa::avx512) ? Kernel::avx512 : cpu_has(CpuIsa::avx2) ? Kernel::avx2 : Kernel::plain;
}

int64_t block_of(Kernel k) { return k == Kernel::avx512 ? 16 : 8; }

const char* kernel_name(Kernel k) { return k == Kernel::avx512 ? "AVX-512" : k == Kernel::avx2 ? "AVX2" : "plain"; }

int64_t input_size(const Conv2dParams& p, int64_t block) {
  return p.N * blocks(p.C, block) * padded_h(p) * padded_w(p) * block;
}
int64_t weight_size(const Conv2dParams& p, int64_t block) {
  return blocks(p.K, block) * blocks(p.C, block) * p.R * p.S * block * block;
}
int64_t output_size(const Conv2dParams& p, int64_t block) { return p.N * blocks(p.K, block) * p.P * p.Q * block; }

// One padded row of one block at a time, written in order (pixel after pixel, the block's channels side by
// side) from `block` source rows read in order. With the channel loop outside, each write landed on another
// 64-byte line and the destination was swept `block` times: on VGG's conv1_2 the two reorders took 40% of
// the blocked forward's time.
void reorder_input(const float* x, const Conv2dParams& p, int64_t block, float* xb) {
  const int64_t Cb = blocks(p.C, block), Hp = padded_h(p), Wp = padded_w(p), HW = p.H * p.W;
  parallel_for(0, p.N * Cb * Hp, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / (Cb * Hp), cb = i / Hp % Cb, h = i % Hp - p.pad_h;
      const int64_t channels = std::min(block, p.C - cb * block);
      float* dst = xb + i * Wp * block;
      if (h < 0 || h >= p.H) {
        std::fill(dst, dst + Wp * block, 0.0f);
        continue;
      }
      std::fill(dst, dst + p.pad_w * block, 0.0f);
      std::fill(dst + (p.pad_w + p.W) * block, dst + Wp * block, 0.0f);
      const float* src = x + ((n * p.C + cb * block) * p.H + h) * p.W;  // channel c's row at src + c * HW
      for (int64_t w = 0; w < p.W; ++w) {
        float* d = dst + (p.pad_w + w) * block;
        for (int64_t c = 0; c < channels; ++c) d[c] = src[c * HW + w];
        for (int64_t c = channels; c < block; ++c) d[c] = 0.0f;
      }
    }
  });
}

// One destination block [taps][B c][B k] (2.3 KB for 3x3 with B = 8, 9.2 KB with 16) at a time, in
// parallel: every write lands in a block that stays in L1 (a loop over the source order scattered its writes
// over the whole tensor: 10 ms single-threaded for a 512x512x3x3 filter, more than the convolution's kernel on
// 7x7 maps).
void reorder_weight(const float* w, const Conv2dParams& p, int64_t block, float* wb) {
  const int64_t Kb = blocks(p.K, block), Cb = blocks(p.C, block), taps = p.R * p.S;
  const int64_t size = taps * block * block;
  parallel_for(0, Kb * Cb, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t kb = b / Cb, cb = b % Cb;
      float* dst = wb + b * size;
      std::fill(dst, dst + size, 0.0f);  // the channels past C or K in a partial block
      const int64_t filters = std::min(block, p.K - kb * block), channels = std::min(block, p.C - cb * block);
      for (int64_t k = 0; k < filters; ++k)
        for (int64_t c = 0; c < channels; ++c) {
          const float* src = w + ((kb * block + k) * p.C + cb * block + c) * taps;
          for (int64_t t = 0; t < taps; ++t) dst[(t * block + c) * block + k] = src[t];
        }
    }
  });
}

// A stretch of 64 pixels of one block at a time (4 KB with blocks of 16: it stays in L1 while each of its
// channels is written out as a contiguous run); one channel at a time over the whole map re-read every
// line of the block `block` times.
void reorder_output(const float* yb, const Conv2dParams& p, int64_t block, float* y, const ConvEpilogue<float>* ep) {
  constexpr int64_t kPixels = 64;
  const int64_t Kb = blocks(p.K, block), PQ = p.P * p.Q, stretches = ceil_div(PQ, kPixels);
  parallel_for(0, p.N * Kb * stretches, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / (Kb * stretches), kb = i / stretches % Kb, j0 = i % stretches * kPixels;
      const int64_t j1 = std::min(PQ, j0 + kPixels);
      const float* src = yb + (n * Kb + kb) * PQ * block;
      for (int64_t k = kb * block; k < std::min(p.K, (kb + 1) * block); ++k) {
        const float* s = src + k % block;
        float* dst = y + (n * p.K + k) * PQ;
        if (!ep) {
          for (int64_t j = j0; j < j1; ++j) dst[j] = s[j * block];
          continue;
        }
        const float a = ep->scale[k], b = ep->shift[k];
        for (int64_t j = j0; j < j1; ++j) {
          const float t = s[j * block] * a + b;
          dst[j] = ep->relu ? (t < 0.0f ? 0.0f : t) : ep->silu ? t / (1.0f + exp_vec(-t)) : t;
        }
      }
    }
  });
}

bool blocked_forward_is_faster(const Conv2dParams& p) {
  if (p.G != 1 || p.R * p.S < 9) return false;
  switch (best_kernel()) {
    case Kernel::avx512:
      // Measured on Zen 5 (docs/cpu-kernels.md), batch 8, with the reorders: 1.1-1.7x im2col + GEMM on every
      // 3x3 layer of ResNet-50 and VGG19 with 28x28 outputs or more (stride 1 or 2, 64-512 channels) and on
      // 14x14 outputs with 256 input channels; even at 7x7 (0.97-1.04); 0.94 on VGG's conv5 (512 channels,
      // 14x14); 0.34-0.37 with 3 input channels. Not measured below 64 channels or with dilation.
      return p.C >= 64 && (p.P * p.Q >= 28 * 28 || (p.P * p.Q >= 14 * 14 && p.C <= 256));
    case Kernel::avx2:
      // Measured on Zen 3: 2.1x on VGG's conv1_2 (64 channels, 224x224) and 1.3x on conv2_1 (64, 112x112);
      // slower with 128 channels or more, on 56x56 maps and smaller, and with 3 input channels.
      return p.C >= 16 && p.C <= 64 && p.stride_h == 1 && p.stride_w == 1 && p.P * p.Q >= 112 * 112;
    case Kernel::plain: return false;
  }
  return false;
}

void forward(float* yb, const float* xb, const float* wb, const float* bias, const Conv2dParams& p, int64_t block,
             Kernel kernel) {
  NN_CHECK(p.G == 1, "conv2d (blocked): groups = {} is not supported (only 1)", p.G);
  NN_CHECK(block == 8 || block == 16, "conv2d (blocked): blocks of {} channels (8 or 16 only)", block);
  NN_CHECK(kernel == Kernel::plain || block == block_of(kernel),
           "conv2d (blocked): the {} kernel takes blocks of {} channels, not {}", kernel_name(kernel),
           block_of(kernel), block);
  NN_CHECK(kernel != Kernel::avx2 || cpu_has(CpuIsa::avx2), "conv2d (blocked): this CPU has no AVX2 + FMA");
  NN_CHECK(kernel != Kernel::avx512 || cpu_has(CpuIsa::avx512), "conv2d (blocked): this CPU has no AVX-512F");
  const int64_t Cb = blocks(p.C, block), Kb = blocks(p.K, block), pairs = (Kb + 1) / 2;
  // Bias padded to whole blocks, so that the kernels read it without bounds tests.
  std::vector<float> padded_bias;
  if (bias) {
    padded_bias.assign(Kb * block, 0.0f);
    std::copy(bias, bias + p.K, padded_bias.begin());
  }
  const float* b = bias ? padded_bias.data() : nullptr;
  const int64_t x_image = Cb * padded_h(p) * padded_w(p) * block, y_image = Kb * p.P * p.Q * block;
  using RowKernel = void (*)(float*, const float*, const float*, const float*, const Conv2dParams&, int64_t, int64_t,
                             int64_t);
  const RowKernel row = kernel == Kernel::avx2     ? forward_row_avx2
                        : kernel == Kernel::avx512 ? forward_row_avx512
                        : block == 8               ? forward_row_plain<8>
                                                   : forward_row_plain<16>;
  // One item = one output row of two blocks (16 or 32 channels) of one image.
  parallel_for(0, p.N * pairs * p.P, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / (pairs * p.P), kb0 = i / p.P % pairs * 2, pp = i % p.P;
      const int64_t kbs = std::min<int64_t>(2, Kb - kb0);
      float* yn = yb + n * y_image;
      const float* xn = xb + n * x_image;
      if (kernel != Kernel::plain) check_row_footprint(yn, xn, wb, b, p, block, kb0, kbs, pp);
      row(yn, xn, wb, b, p, kb0, kbs, pp);
    }
  });
}

void conv2d_forward_blocked_cpu(float* y, const float* x, const float* w, const float* bias, const Conv2dParams& p,
                                const ConvEpilogue<float>* ep) {
  NN_CHECK(!(bias && ep), "conv2d (blocked): a bias and an epilogue together");
  if (p.N == 0) return;
  const Kernel kernel = best_kernel();
  const int64_t block = block_of(kernel);
  // The blocked copies hold a group of images: as many as keep the input copy within 8 MiB (one image of
  // VGG's 224x224 maps is 13 MB; ResNet's 7x7 maps fit a whole batch, and the threads then share one
  // parallel loop over every image's rows instead of each image's few).
  Conv2dParams group = p;
  const int64_t image_bytes = input_size(p, block) / p.N * int64_t{sizeof(float)};
  group.N = std::clamp<int64_t>((int64_t{8} << 20) / image_bytes, 1, p.N);
  CpuBuffer xb(static_cast<size_t>(input_size(group, block)) * sizeof(float)),
      wb(static_cast<size_t>(weight_size(p, block)) * sizeof(float)),
      yb(static_cast<size_t>(output_size(group, block)) * sizeof(float));
  reorder_weight(w, p, block, wb.as<float>());
  for (int64_t n = 0; n < p.N; n += group.N) {
    Conv2dParams part = group;
    part.N = std::min(group.N, p.N - n);
    reorder_input(x + n * p.C * p.H * p.W, part, block, xb.as<float>());
    forward(yb.as<float>(), xb.as<float>(), wb.as<float>(), bias, part, block, kernel);
    reorder_output(yb.as<float>(), part, block, y + n * p.K * p.P * p.Q, ep);
  }
}

}  // namespace nn::blocked
