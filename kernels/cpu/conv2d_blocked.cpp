// Direct convolution in the channel-blocked layout: reorders, the plain-loop kernel, threading and
// dispatch (kernels/cpu/conv2d_blocked.h). The AVX2 kernel is in conv2d_blocked_avx2.cpp.
#include "kernels/cpu/conv2d_blocked.h"

#include <algorithm>
#include <vector>

#include "base/allocator.h"
#include "base/error.h"
#include "base/parallel.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/vec_math.h"

namespace nn::blocked {

namespace {

int64_t padded_h(const Conv2dParams& p) { return p.H + 2 * p.pad_h; }
int64_t padded_w(const Conv2dParams& p) { return p.W + 2 * p.pad_w; }

// The plain-loop kernel on one output row (the same contract as forward_row_avx2): for each output pixel and
// block, 8 accumulators that the compiler can keep in one vector.
void forward_row_plain(float* yn, const float* xn, const float* wb, const float* bias, const Conv2dParams& p,
                       int64_t kb0, int64_t kbs, int64_t pp) {
  const int64_t Cb = blocks(p.C), Hp = padded_h(p), Wp = padded_w(p), taps = p.R * p.S;
  for (int64_t kb = kb0; kb < kb0 + kbs; ++kb)
    for (int64_t q = 0; q < p.Q; ++q) {
      float acc[kBlock];
      for (int64_t k = 0; k < kBlock; ++k) acc[k] = bias && kb * kBlock + k < p.K ? bias[kb * kBlock + k] : 0.0f;
      for (int64_t cb = 0; cb < Cb; ++cb)
        for (int64_t r = 0; r < p.R; ++r) {
          const float* xrow = xn + (cb * Hp + pp * p.stride_h + r * p.dil_h) * Wp * kBlock;
          for (int64_t s = 0; s < p.S; ++s) {
            const float* xv = xrow + (q * p.stride_w + s * p.dil_w) * kBlock;
            const float* wv = wb + ((kb * Cb + cb) * taps + r * p.S + s) * kBlock * kBlock;
            for (int64_t c = 0; c < kBlock; ++c)
              for (int64_t k = 0; k < kBlock; ++k) acc[k] += xv[c] * wv[c * kBlock + k];
          }
        }
      float* y = yn + ((kb * p.P + pp) * p.Q + q) * kBlock;
      for (int64_t k = 0; k < kBlock; ++k) y[k] = acc[k];
    }
}

}  // namespace

int64_t input_size(const Conv2dParams& p) { return p.N * blocks(p.C) * padded_h(p) * padded_w(p) * kBlock; }
int64_t weight_size(const Conv2dParams& p) { return blocks(p.K) * blocks(p.C) * p.R * p.S * kBlock * kBlock; }
int64_t output_size(const Conv2dParams& p) { return p.N * blocks(p.K) * p.P * p.Q * kBlock; }

void reorder_input(const float* x, const Conv2dParams& p, float* xb) {
  const int64_t Cb = blocks(p.C), Hp = padded_h(p), Wp = padded_w(p);
  parallel_for(0, p.N * Cb, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / Cb, cb = i % Cb;
      float* dst = xb + i * Hp * Wp * kBlock;
      std::fill(dst, dst + Hp * Wp * kBlock, 0.0f);
      for (int64_t c = 0; c < kBlock && cb * kBlock + c < p.C; ++c) {
        const float* src = x + (n * p.C + cb * kBlock + c) * p.H * p.W;
        for (int64_t h = 0; h < p.H; ++h)
          for (int64_t w = 0; w < p.W; ++w) dst[((h + p.pad_h) * Wp + w + p.pad_w) * kBlock + c] = src[h * p.W + w];
      }
    }
  });
}

// One destination block [taps][8c][8k] (2.3 KB for 3x3) at a time, in parallel: every write lands in a
// block that stays in L1 (a loop over the source order scattered its writes over the whole tensor: 10 ms
// single-threaded for a 512x512x3x3 filter, more than the convolution's kernel on 7x7 maps).
void reorder_weight(const float* w, const Conv2dParams& p, float* wb) {
  const int64_t Kb = blocks(p.K), Cb = blocks(p.C), taps = p.R * p.S, block = taps * kBlock * kBlock;
  parallel_for(0, Kb * Cb, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t kb = b / Cb, cb = b % Cb;
      float* dst = wb + b * block;
      std::fill(dst, dst + block, 0.0f);  // the channels past C or K in a partial block
      for (int64_t k = kb * kBlock; k < std::min(p.K, (kb + 1) * kBlock); ++k)
        for (int64_t c = cb * kBlock; c < std::min(p.C, (cb + 1) * kBlock); ++c) {
          const float* src = w + (k * p.C + c) * taps;
          for (int64_t t = 0; t < taps; ++t) dst[(t * kBlock + c % kBlock) * kBlock + k % kBlock] = src[t];
        }
    }
  });
}

void reorder_output(const float* yb, const Conv2dParams& p, float* y, const ConvEpilogue<float>* ep) {
  const int64_t Kb = blocks(p.K), PQ = p.P * p.Q;
  parallel_for(0, p.N * p.K, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / p.K, k = i % p.K;
      const float* src = yb + ((n * Kb + k / kBlock) * PQ) * kBlock + k % kBlock;
      float* dst = y + i * PQ;
      if (!ep) {
        for (int64_t j = 0; j < PQ; ++j) dst[j] = src[j * kBlock];
        continue;
      }
      const float a = ep->scale[k], b = ep->shift[k];
      for (int64_t j = 0; j < PQ; ++j) {
        const float t = src[j * kBlock] * a + b;
        dst[j] = ep->relu ? (t < 0.0f ? 0.0f : t) : ep->silu ? t / (1.0f + exp_vec(-t)) : t;
      }
    }
  });
}

bool blocked_forward_is_faster(const Conv2dParams& p) {
  // Measured by bench-ops on Zen 3 (docs/cpu-kernels.md): the blocked kernel beats im2col + GEMM by 2.1x on
  // VGG's conv1_2 (64 channels, 224x224) and 1.3x on conv2_1 (64, 112x112), and loses with 128 channels or
  // more, on 56x56 maps and smaller, and with 3 input channels. Not measured with AVX-512 or stride 2.
  return cpu_has(CpuIsa::avx2) && p.G == 1 && p.C >= 16 && p.C <= 64 && p.R * p.S >= 9 && p.stride_h == 1 &&
         p.stride_w == 1 && p.P * p.Q >= 112 * 112;
}

void forward(float* yb, const float* xb, const float* wb, const float* bias, const Conv2dParams& p, bool avx2) {
  NN_CHECK(p.G == 1, "conv2d (blocked): groups = {} is not supported (only 1)", p.G);
  NN_CHECK(!avx2 || cpu_has(CpuIsa::avx2), "conv2d (blocked): this CPU has no AVX2 + FMA");
  const int64_t Cb = blocks(p.C), Kb = blocks(p.K), pairs = (Kb + 1) / 2;
  // Bias padded to whole blocks, so that the kernels read it without bounds tests.
  std::vector<float> padded_bias;
  if (bias) {
    padded_bias.assign(Kb * kBlock, 0.0f);
    std::copy(bias, bias + p.K, padded_bias.begin());
  }
  const float* b = bias ? padded_bias.data() : nullptr;
  const int64_t x_image = Cb * padded_h(p) * padded_w(p) * kBlock, y_image = Kb * p.P * p.Q * kBlock;
  // One item = one output row of two blocks (16 channels) of one image.
  parallel_for(0, p.N * pairs * p.P, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / (pairs * p.P), kb0 = i / p.P % pairs * 2, pp = i % p.P;
      const int64_t kbs = std::min<int64_t>(2, Kb - kb0);
      if (avx2) forward_row_avx2(yb + n * y_image, xb + n * x_image, wb, b, p, kb0, kbs, pp);
      else forward_row_plain(yb + n * y_image, xb + n * x_image, wb, b, p, kb0, kbs, pp);
    }
  });
}

void conv2d_forward_blocked_cpu(float* y, const float* x, const float* w, const float* bias, const Conv2dParams& p,
                                const ConvEpilogue<float>* ep) {
  NN_CHECK(!(bias && ep), "conv2d (blocked): a bias and an epilogue together");
  Conv2dParams one = p;  // the blocked copies hold one image at a time
  one.N = 1;
  CpuBuffer xb(static_cast<size_t>(input_size(one)) * sizeof(float)), wb(static_cast<size_t>(weight_size(p)) * sizeof(float)),
      yb(static_cast<size_t>(output_size(one)) * sizeof(float));
  reorder_weight(w, p, wb.as<float>());
  const bool avx2 = cpu_has(CpuIsa::avx2);
  for (int64_t n = 0; n < p.N; ++n) {
    reorder_input(x + n * p.C * p.H * p.W, one, xb.as<float>());
    forward(yb.as<float>(), xb.as<float>(), wb.as<float>(), bias, one, avx2);
    float* yn = y + n * p.K * p.P * p.Q;
    reorder_output(yb.as<float>(), one, yn, ep);
  }
}

}  // namespace nn::blocked
