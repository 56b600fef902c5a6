// max_pool2d, avg_pool2d, adaptive_avg_pool2d: known answers, gradcheck and PyTorch parity, with the
// ceil_mode edges (windows hanging past the input or the padding, a last window dropped) spelled out.
#include <cmath>
#include <limits>
#include <random>

#include "kernels/pool2d.h"
#include "tests/check.h"

namespace nn::test {

namespace {

Pair pair(const nlohmann::json& v) { return Pair(v[0], v[1]); }

// 1..n in row-major order, as a [1, 1, H, W] image.
Tensor ramp(int64_t H, int64_t W) {
  std::vector<float> v(H * W);
  for (int64_t i = 0; i < H * W; ++i) v[i] = static_cast<float>(i + 1);
  return from_vector(v, {1, 1, H, W});
}

Tensor pool_case(const TorchCase& c, const Tensor& x) {
  const nlohmann::json& p = c.params;
  if (p["op"] == "max") {
    return max_pool2d(x, {.kernel_size = pair(p["kernel"]), .stride = pair(p["stride"]), .padding = pair(p["padding"]),
                          .dilation = pair(p["dilation"]), .ceil_mode = p["ceil_mode"]});
  }
  if (p["op"] == "avg") {
    return avg_pool2d(x, {.kernel_size = pair(p["kernel"]), .stride = pair(p["stride"]), .padding = pair(p["padding"]),
                          .ceil_mode = p["ceil_mode"], .count_include_pad = p["count_include_pad"]});
  }
  return adaptive_avg_pool2d(x, pair(p["output_size"]));
}

void check_torch_family(const std::string& op) { check_torch_one_input("pool2d", op, pool_case); }

}  // namespace

TEST_SUITE("known") {
  // x [1, 1, 3, 5] holds (7 i mod 15) + 1 for i = 0..14, a permutation of 1..15 (no ties):
  //   row 0:  1  8 15  7 14
  //   row 1:  6 13  5 12  4
  //   row 2: 11  3 10  2  9
  // (a) 3x3, stride 2, padding 1 (ResNet stem): P = (3+2-3)/2+1 = 2, Q = (5+2-3)/2+1 = 3; windows clipped to
  //     rows {0,1}, {1,2} and columns {0,1}, {1,2,3}, {3,4}. Maxima 13 (1,1), 15 (0,2), 14 (0,4);
  //     13 (1,1), 13 (1,1), 12 (1,3). dy = 1..6: dx(1,1) = 1+4+5 = 10, dx(0,2) = 2, dx(0,4) = 3, dx(1,3) = 6.
  // (b) 2x2, stride 2, ceil_mode: P = ceil(1/2)+1 = 2, Q = ceil(3/2)+1 = 3 (floor mode: 1x2); the last row and
  //     column windows hold one input row/column: maxima 13, 15, 14 / 11, 10, 9. dy = 1: dx is 1 at each.
  // (c) 2x2, stride 1, dilation 2: P = 3-2-1+1 = 1, Q = 5-2-1+1 = 3; taps rows {0,2}, columns {q, q+2}:
  //     max(1, 15, 11, 10) = 15 (0,2), max(8, 7, 3, 2) = 8 (0,1), max(15, 14, 10, 9) = 15 (0,2).
  //     dy = [1, 2, 3]: dx(0,2) = 1+3 = 4, dx(0,1) = 2.
  // Also: -1..-15 with (a) takes the top-left inside element of each window, never the padding; on a 2x3
  // plane of ones a 2x2/1 pool sends each gradient to the window's first element, (0,0) and (0,1).
  TEST_CASE("max_pool2d: stem 3x3/2 pad 1, 2x2 ceil_mode, dilation 2 on a 3x5 image") {
    std::vector<float> xs(15);
    for (int i = 0; i < 15; ++i) xs[i] = static_cast<float>((7 * i) % 15 + 1);
    Tensor x = leaf(from_vector(xs, {1, 1, 3, 5}));
    Tensor y = max_pool2d(x, {.kernel_size = 3, .stride = 2, .padding = 1});
    CHECK(y.shape() == Shape{1, 1, 2, 3});
    check_values("y (stem)", y, {13, 15, 14, 13, 13, 12});
    y.backward(from_vector<float>({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3}));
    check_values("dx (stem)", x.grad(), {0, 0, 2, 0, 3, 0, 10, 0, 6, 0, 0, 0, 0, 0, 0});

    x = leaf(from_vector(xs, {1, 1, 3, 5}));
    MaxPool2dOptions o;  // stride defaults to the kernel size
    o.kernel_size = 2;
    CHECK(max_pool2d(x, o).shape() == Shape{1, 1, 1, 2});
    o.ceil_mode = true;
    y = max_pool2d(x, o);
    CHECK(y.shape() == Shape{1, 1, 2, 3});
    check_values("y (ceil)", y, {13, 15, 14, 11, 10, 9});
    y.backward(ones_like(y));
    check_values("dx (ceil)", x.grad(), {0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1});

    // Padding never wins: on -1..-15 the stem windows' maxima are their top-left inside elements.
    y = max_pool2d(neg(ramp(3, 5)), {.kernel_size = 3, .stride = 2, .padding = 1});
    check_values("y (negative, padded)", y, {-1, -2, -4, -6, -7, -9});
    // Ties: the first maximum in the window (row-major) takes the gradient.
    Tensor flat = leaf(ones({1, 1, 2, 3}));
    y = max_pool2d(flat, {.kernel_size = 2, .stride = 1});
    y.backward(ones_like(y));
    check_values("dx (ties)", flat.grad(), {1, 1, 0, 0, 0, 0});

    x = leaf(from_vector(xs, {1, 1, 3, 5}));
    y = max_pool2d(x, {.kernel_size = 2, .stride = 1, .dilation = 2});
    CHECK(y.shape() == Shape{1, 1, 1, 3});
    check_values("y (dilation)", y, {15, 8, 15});
    y.backward(from_vector<float>({1, 2, 3}, {1, 1, 1, 3}));
    check_values("dx (dilation)", x.grad(), {0, 2, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  }

  // The CPU max kernel runs a row of windows one tap at a time with selects (4 columns at a time in SSE2,
  // kernels/cpu/pool2d.cpp). Against one window at a time, written here: on values drawn from a few levels
  // (many ties) with NaNs and -infs mixed in, every output and argmax must agree exactly, for widths that
  // leave 0-3 columns to the scalar tail, strides 1-3, dilation, padding and ceil_mode windows.
  TEST_CASE("max_pool2d: CPU kernel equals one window at a time (ties, NaN, -inf, every tail width)") {
    std::mt19937 rng(7);
    const float levels[] = {0.f, 1.f, 2.f, -std::numeric_limits<float>::infinity(), std::nanf("")};
    struct Case { int64_t H, W, R, S, stride, pad, dil; bool ceil; };
    for (const Case c : {Case{9, 13, 3, 3, 2, 1, 1, false}, Case{8, 10, 3, 3, 2, 1, 1, true}, Case{7, 11, 2, 3, 1, 0, 1, false},
                         Case{10, 14, 3, 2, 3, 1, 2, true}, Case{6, 9, 2, 2, 2, 0, 1, true}, Case{5, 12, 4, 4, 1, 2, 1, false}}) {
      Pool2dParams p{.N = 2, .C = 3, .H = c.H, .W = c.W, .R = c.R, .S = c.S, .stride_h = c.stride, .stride_w = c.stride,
                     .pad_h = c.pad, .pad_w = c.pad, .dil_h = c.dil, .dil_w = c.dil};
      p.P = pool_output_size(c.H, c.R, c.stride, c.pad, c.dil, c.ceil);
      p.Q = pool_output_size(c.W, c.S, c.stride, c.pad, c.dil, c.ceil);
      std::vector<float> x(p.N * p.C * p.H * p.W), y(p.N * p.C * p.P * p.Q);
      std::vector<int64_t> argmax(y.size());
      for (float& v : x) v = levels[std::uniform_int_distribution<int>(0, 19)(rng) % 5 == 4 ? 4 : rng() % 4];
      max_pool2d_forward_cpu<float>(y.data(), argmax.data(), x.data(), p);
      int64_t o = 0, nans = 0;
      for (int64_t j = 0; j < p.N * p.C; ++j) {
        for (int64_t op = 0; op < p.P; ++op) {
          for (int64_t oq = 0; oq < p.Q; ++oq, ++o) {
            float best = -std::numeric_limits<float>::infinity();
            int64_t best_i = -1;
            for (int64_t r = 0; r < p.R; ++r) {
              for (int64_t s = 0; s < p.S; ++s) {
                const int64_t h = op * p.stride_h - p.pad_h + r * p.dil_h, w = oq * p.stride_w - p.pad_w + s * p.dil_w;
                if (h < 0 || h >= p.H || w < 0 || w >= p.W) continue;
                const float v = x[j * p.H * p.W + h * p.W + w];
                if (best_i < 0 || v > best || std::isnan(v)) {  // the first inside value, a larger one, a NaN
                  best = v;
                  best_i = h * p.W + w;
                }
              }
            }
            nans += std::isnan(best);
            INFO("case H=" << c.H << " W=" << c.W << " output " << o);
            REQUIRE((std::isnan(best) ? std::isnan(y[o]) : y[o] == best));
            REQUIRE(argmax[o] == best_i);
          }
        }
      }
      CHECK(nans > 0);  // the NaN rule was exercised
    }
  }

  // x = 1..15 as 3x5 (rows 1-5, 6-10, 11-15).
  // (a) 3x3, stride 2, padding 1: windows as in max_pool2d (a), each 3x3 with padding. Sums 16, 33, 28 / 36,
  //     63, 48. count_include_pad: all divisors 9. Otherwise the inside counts 4, 6, 4 / 4, 6, 4:
  //     4, 5.5, 7 / 9, 10.5, 12. dy = 1: dx = (windows covering) / 9 = rows [1, 2, 1] x columns
  //     [1, 2, 1, 2, 1] / 9; without the padding, dx = rows [1, 2, 1] / 2 x columns [1/2, 5/6, 1/3, 5/6, 1/2]
  //     (a window is 2 inside rows by 2, 3, 2 columns).
  // (b) 2x2, stride 2, ceil_mode, no padding: 2x3 windows; those past the input are clipped to it and
  //     PyTorch divides by the clipped size even with count_include_pad: 16/4, 24/4, 15/2 / 23/2, 27/2, 15/1.
  //     dy = 1: dx = 1/4 inside full windows, 1/2 in the last column or row, 1 at the corner.
  // (c) x = 1..18 as 3x6, 3x3, stride 2, padding 1, ceil_mode: P = 2, Q = (6+2-3+1)/2+1 = 4; the last
  //     column window [5, 8) hangs past the right padding (ends at 7): its padded size is 3x2, not 3x3.
  //     Column sums over rows {0,1}: 2c+8; over rows {1,2}: 2c+20. Sums 18, 36, 48, 18 / 42, 72, 84, 30.
  //     count_include_pad: /9, /9, /9, /6 -> 2, 4, 16/3, 3 / 14/3, 8, 28/3, 5;
  //     without: /4, /6, /6, /2 -> 4.5, 6, 8, 9 / 10.5, 12, 14, 15.
  //     dy = 1 (count_include_pad): dx = rows [1, 2, 1] x columns [1/9, 2/9, 1/9, 2/9, 1/9, 1/9 + 1/6].
  TEST_CASE("avg_pool2d: padding with and without count_include_pad, ceil_mode edges") {
    Tensor x = leaf(ramp(3, 5));
    Tensor y = avg_pool2d(x, {.kernel_size = 3, .stride = 2, .padding = 1});
    check_values("y (include pad)", y, {16.0 / 9, 33.0 / 9, 28.0 / 9, 4, 7, 48.0 / 9});
    y.backward(ones_like(y));
    std::vector<double> want(15);
    const double rows[] = {1, 2, 1}, cols[] = {1, 2, 1, 2, 1}, cols_ex[] = {0.5, 5.0 / 6, 1.0 / 3, 5.0 / 6, 0.5};
    for (int i = 0; i < 15; ++i) want[i] = rows[i / 5] * cols[i % 5] / 9;
    check_values("dx (include pad)", x.grad(), want);

    x = leaf(ramp(3, 5));
    y = avg_pool2d(x, {.kernel_size = 3, .stride = 2, .padding = 1, .count_include_pad = false});
    check_values("y (exclude pad)", y, {4, 5.5, 7, 9, 10.5, 12});
    y.backward(ones_like(y));
    for (int i = 0; i < 15; ++i) want[i] = rows[i / 5] / 2 * cols_ex[i % 5];
    check_values("dx (exclude pad)", x.grad(), want);

    x = leaf(ramp(3, 5));
    AvgPool2dOptions o;  // stride defaults to the kernel size
    o.kernel_size = 2;
    o.ceil_mode = true;
    y = avg_pool2d(x, o);
    CHECK(y.shape() == Shape{1, 1, 2, 3});
    check_values("y (ceil, no pad)", y, {4, 6, 7.5, 11.5, 13.5, 15});
    y.backward(ones_like(y));
    check_values("dx (ceil, no pad)", x.grad(),
                 {0.25, 0.25, 0.25, 0.25, 0.5, 0.25, 0.25, 0.25, 0.25, 0.5, 0.5, 0.5, 0.5, 0.5, 1});

    x = leaf(ramp(3, 6));
    y = avg_pool2d(x, {.kernel_size = 3, .stride = 2, .padding = 1, .ceil_mode = true});
    CHECK(y.shape() == Shape{1, 1, 2, 4});
    check_values("y (ceil, past the padding)", y, {2, 4, 16.0 / 3, 3, 14.0 / 3, 8, 28.0 / 3, 5});
    y.backward(ones_like(y));
    const double cols6[] = {1.0 / 9, 2.0 / 9, 1.0 / 9, 2.0 / 9, 1.0 / 9, 1.0 / 9 + 1.0 / 6};
    want.resize(18);
    for (int i = 0; i < 18; ++i) want[i] = rows[i / 6] * cols6[i % 6];
    check_values("dx (ceil, past the padding)", x.grad(), want);
    y = avg_pool2d(ramp(3, 6), {.kernel_size = 3, .stride = 2, .padding = 1, .ceil_mode = true,
                                .count_include_pad = false});
    check_values("y (ceil, past the padding, exclude pad)", y, {4.5, 6, 8, 9, 10.5, 12, 14, 15});
  }

  // (a) x = 1..35 as 7x5 -> 3x2. Rows [floor(p*7/3), ceil((p+1)*7/3)) = [0,3), [2,5), [4,7); columns [0,3),
  //     [2,5). x = 5h + w + 1 is linear, so each mean is the value at the window's centre: rows 1, 3, 5,
  //     columns 1, 3: 7, 9 / 17, 19 / 27, 29. dy = 1: every window has 9 elements; dx = (rows covering:
  //     1,1,2,1,2,1,1) x (columns covering: 1,1,2,1,1) / 9.
  // (b) x = 1..6 as 2x3 -> 3x4 (larger than the input): rows [0,1), [0,2), [1,2); columns [0,1), [0,2),
  //     [1,3), [2,3). x = 3h + w + 1: means 1, 1.5, 2.5, 3 / 2.5, 3, 4, 4.5 / 4, 4.5, 5.5, 6.
  //     dy = 1: dx = (sum over covering rows of 1/height) x (sum over covering columns of 1/width)
  //     = 1.5 (both rows) x [1 + 1/2, 1/2 + 1/2, 1/2 + 1] = [2.25, 1.5, 2.25] in each row.
  TEST_CASE("adaptive_avg_pool2d: 7x5 to 3x2 (overlapping windows), 2x3 to 3x4 (larger than the input)") {
    Tensor x = leaf(ramp(7, 5));
    Tensor y = adaptive_avg_pool2d(x, {3, 2});
    CHECK(y.shape() == Shape{1, 1, 3, 2});
    check_values("y (7x5 -> 3x2)", y, {7, 9, 17, 19, 27, 29});
    y.backward(ones_like(y));
    const double rows[] = {1, 1, 2, 1, 2, 1, 1}, cols[] = {1, 1, 2, 1, 1};
    std::vector<double> want(35);
    for (int i = 0; i < 35; ++i) want[i] = rows[i / 5] * cols[i % 5] / 9;
    check_values("dx (7x5 -> 3x2)", x.grad(), want);

    x = leaf(ramp(2, 3));
    y = adaptive_avg_pool2d(x, {3, 4});
    CHECK(y.shape() == Shape{1, 1, 3, 4});
    check_values("y (2x3 -> 3x4)", y, {1, 1.5, 2.5, 3, 2.5, 3, 4, 4.5, 4, 4.5, 5.5, 6});
    y.backward(ones_like(y));
    check_values("dx (2x3 -> 3x4)", x.grad(), {2.25, 1.5, 2.25, 2.25, 1.5, 2.25});
  }
}

TEST_SUITE("gradcheck") {
  // distinct_input keeps values 0.01 apart, far beyond the 1e-6 step, so no window's maximum changes.
  TEST_CASE("max_pool2d: stem, ceil_mode with dilation and rectangular kernel") {
    gradcheck("max_pool2d stem",
              [](const std::vector<Tensor>& in) {
                return max_pool2d(in[0], {.kernel_size = 3, .stride = 2, .padding = 1});
              },
              {distinct_input({2, 2, 7, 6}, 1)});
    gradcheck("max_pool2d ceil dilation",
              [](const std::vector<Tensor>& in) {
                return max_pool2d(in[0], {.kernel_size = {2, 3}, .stride = Pair(2, 1), .padding = 1, .dilation = {2, 1},
                                          .ceil_mode = true});
              },
              {distinct_input({2, 2, 8, 5}, 2)});
  }
  TEST_CASE("avg_pool2d: padding in and out of the divisor, ceil_mode, rectangular") {
    gradcheck("avg_pool2d ceil exclude pad",
              [](const std::vector<Tensor>& in) {
                return avg_pool2d(in[0], {.kernel_size = 3, .stride = 2, .padding = 1, .ceil_mode = true,
                                          .count_include_pad = false});
              },
              {test_input({2, 2, 5, 6}, 3)});
    gradcheck("avg_pool2d ceil include pad rectangular",
              [](const std::vector<Tensor>& in) {
                return avg_pool2d(in[0], {.kernel_size = {2, 3}, .stride = Pair(1, 2), .padding = {1, 0},
                                          .ceil_mode = true});
              },
              {test_input({2, 2, 4, 6}, 4)});
  }
  TEST_CASE("adaptive_avg_pool2d: smaller and larger than the input") {
    gradcheck("adaptive 7x5 -> 3x2", [](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], {3, 2}); },
              {test_input({2, 2, 7, 5}, 5)});
    gradcheck("adaptive 2x3 -> 3x4", [](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], {3, 4}); },
              {test_input({1, 2, 2, 3}, 6)});
  }
}

TEST_SUITE("torch") {
  TEST_CASE("max_pool2d: forward and gradients match PyTorch (stem, VGG, ceil_mode, dilation)") {
    check_torch_family("max");
  }
  TEST_CASE("avg_pool2d: forward and gradients match PyTorch (count_include_pad, ceil_mode edges)") {
    check_torch_family("avg");
  }
  TEST_CASE("adaptive_avg_pool2d: forward and gradients match PyTorch") { check_torch_family("adaptive_avg"); }
}

}  // namespace nn::test
