// skinnet bench-ops: GFLOP/s of the CPU GEMM and of conv2d forward, backward-data and backward-weight on
// every distinct convolution of ResNet-50 and VGG19 at 224x224, and GB/s of the depthwise convolutions of
// EfficientNet-B0 beside this machine's copy bandwidth (they are memory-bound: docs/depthwise.md).
//
// Each shape is first validated: the fast kernels against the reference loops on the same layer with a
// smaller image (the reference is too slow for full size). Then each pass is warmed up once and timed
// --reps times; the table shows the median. The last line weights each shape by how often it occurs in
// the network: the convolution time of one forward+backward pass per image.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <vector>

#include "base/parallel.h"
#include "base/random.h"
#include "bench/layer_shapes.h"
#include "kernels/conv2d.h"
#include "kernels/gemm.h"
#include "tensor/tensor.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"

namespace nn {

namespace {

template <class F>
double median_ms(int reps, F&& f) {
  f();  // warm-up: first-touch page faults, OpenBLAS buffers
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

double max_rel_error(const Tensor& got, const Tensor& want) {
  const float *g = got.data<float>(), *w = want.data<float>();
  double max_abs = 0, scale = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    max_abs = std::max(max_abs, static_cast<double>(std::fabs(g[i] - w[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(w[i])));
  }
  return max_abs / std::max(scale, 1e-30);
}

// Fast kernels against the reference loops on a small image with the layer's channels and filters.
// Returns the worst relative error (max |diff| / max |reference|) of the three passes.
double validate(const ConvShape& s, Generator& gen) {
  const Conv2dParams p = params_for(s, 2, std::min<int64_t>(s.H, 15));
  Tensor x = randn({p.N, p.C, p.H, p.W}, gen), w = randn({p.K, p.C / p.G, p.R, p.S}, gen), b = randn({p.K}, gen);
  Tensor dy = randn({p.N, p.K, p.P, p.Q}, gen);
  Tensor y0 = empty(dy.shape()), y1 = empty(dy.shape()), dx0 = empty(x.shape()), dx1 = empty(x.shape());
  Tensor dw0 = empty(w.shape()), dw1 = empty(w.shape()), db0 = empty(b.shape()), db1 = empty(b.shape());
  conv2d_forward_cpu<float>(y0.data<float>(), x.data<float>(), w.data<float>(), b.data<float>(), p);
  conv2d_forward_reference_cpu<float>(y1.data<float>(), x.data<float>(), w.data<float>(), b.data<float>(), p);
  conv2d_backward_data_cpu<float>(dx0.data<float>(), dy.data<float>(), w.data<float>(), p);
  conv2d_backward_data_reference_cpu<float>(dx1.data<float>(), dy.data<float>(), w.data<float>(), p);
  conv2d_backward_weight_cpu<float>(dw0.data<float>(), db0.data<float>(), dy.data<float>(), x.data<float>(), p);
  conv2d_backward_weight_reference_cpu<float>(dw1.data<float>(), db1.data<float>(), dy.data<float>(), x.data<float>(), p);
  return std::max({max_rel_error(y0, y1), max_rel_error(dx0, dx1), max_rel_error(dw0, dw1), max_rel_error(db0, db1)});
}

int bench_convs(const char* model, const std::vector<ConvShape>& shapes, int64_t N, int reps, Generator& gen) {
  std::printf("\nconv2d, %s, batch %lld, float32, median of %d (ms and GFLOP/s per pass)\n", model,
              static_cast<long long>(N), reps);
  std::printf("%-15s %3s %-26s %9s %7s %9s %7s %9s %7s %9s\n", "layer", "x", "C,HxW->K,RxS/stride", "fwd ms", "GF/s",
              "bwd-d ms", "GF/s", "bwd-w ms", "GF/s", "max err");
  double total_ms = 0, total_flop = 0;
  int bad = 0;
  for (const ConvShape& s : shapes) {
    const double err = validate(s, gen);
    const Conv2dParams p = params_for(s, N, s.H);
    Tensor x = randn({p.N, p.C, p.H, p.W}, gen), w = randn({p.K, p.C, p.R, p.S}, gen), b = randn({p.K}, gen);
    Tensor y = empty({p.N, p.K, p.P, p.Q}), dy = randn(y.shape(), gen), dx = empty(x.shape()), dw = empty(w.shape());
    const double flop = conv2d_flops(p);
    const double f = median_ms(reps, [&] { conv2d_forward_cpu<float>(y.data<float>(), x.data<float>(), w.data<float>(), b.data<float>(), p); });
    const double d = s.C == 3 ? NAN : median_ms(reps, [&] {  // the network input needs no gradient
      conv2d_backward_data_cpu<float>(dx.data<float>(), dy.data<float>(), w.data<float>(), p);
    });
    const double g = median_ms(reps, [&] {
      conv2d_backward_weight_cpu<float>(dw.data<float>(), nullptr, dy.data<float>(), x.data<float>(), p);
    });
    const std::string shape = fmt::format("{},{}x{}->{},{}x{}/{}", s.C, s.H, s.H, s.K, s.R, s.R, s.stride);
    std::printf("%-15s %3d %-26s %9.2f %7.1f %9.2f %7.1f %9.2f %7.1f %9.1e%s\n", s.name, s.count, shape.c_str(), f,
                flop / f / 1e6, d, flop / d / 1e6, g, flop / g / 1e6, err, err > 1e-4 ? "  MISMATCH" : "");
    bad += err > 1e-4;
    total_ms += s.count * (f + (std::isnan(d) ? 0 : d) + g);
    total_flop += s.count * flop * (std::isnan(d) ? 2 : 3);
  }
  std::printf("%s all convolutions, forward + backward: %.1f ms per batch of %lld = %.2f images/s, %.1f GFLOP/s\n",
              model, total_ms, static_cast<long long>(N), N * 1000.0 / total_ms, total_flop / total_ms / 1e6);
  return bad;
}

// Memory bandwidth as a copy of 256 MiB into another 256 MiB buffer over all threads: bytes read plus
// bytes written per second, the yardstick of a memory-bound kernel on this machine.
double copy_bandwidth_gbs(int reps) {
  const int64_t n = int64_t{64} << 20;  // floats
  Tensor a = full({n}, 1.0f), b = empty({n});
  const float* src = a.data<float>();
  float* dst = b.data<float>();
  const double ms = median_ms(reps, [&] {
    parallel_for(0, n, 1 << 16, [&](int64_t i0, int64_t i1) {
      std::memcpy(dst + i0, src + i0, static_cast<size_t>(i1 - i0) * sizeof(float));
    });
  });
  return 2.0 * static_cast<double>(n) * sizeof(float) / ms / 1e6;
}

// Depthwise convolutions: ms and GB/s per pass, counting the least traffic each pass needs (forward x in,
// y out; backward data dy in, dx out; backward weight dy and x in), against the copy bandwidth measured
// in the same run.
int bench_depthwise(int64_t N, int reps, Generator& gen) {
  const double copy = copy_bandwidth_gbs(reps);
  std::printf("\ndepthwise conv2d, efficientnet_b0, batch %lld, float32, median of %d; copy bandwidth %.1f GB/s "
              "(read + write)\n", static_cast<long long>(N), reps, copy);
  std::printf("%-13s %3s %-22s %8s %6s %5s %8s %6s %5s %8s %6s %5s %9s\n", "layer", "x", "C,HxW,RxS/stride", "fwd ms",
              "GB/s", "%cp", "bwd-d ms", "GB/s", "%cp", "bwd-w ms", "GB/s", "%cp", "max err");
  int bad = 0;
  double total_ms = 0, total_bytes = 0;
  for (const ConvShape& s : kEfficientNetB0Depthwise) {
    const double err = validate(s, gen);
    const Conv2dParams p = params_for(s, N, s.H);
    Tensor x = randn({p.N, p.C, p.H, p.W}, gen), w = randn({p.K, 1, p.R, p.S}, gen), b = randn({p.K}, gen);
    Tensor y = empty({p.N, p.K, p.P, p.Q}), dy = randn(y.shape(), gen), dx = empty(x.shape()), dw = empty(w.shape());
    const double xb = 4.0 * static_cast<double>(x.numel()), yb = 4.0 * static_cast<double>(y.numel());
    const double f = median_ms(reps, [&] { conv2d_forward_cpu<float>(y.data<float>(), x.data<float>(), w.data<float>(), b.data<float>(), p); });
    const double d = median_ms(reps, [&] { conv2d_backward_data_cpu<float>(dx.data<float>(), dy.data<float>(), w.data<float>(), p); });
    const double g = median_ms(reps, [&] {
      conv2d_backward_weight_cpu<float>(dw.data<float>(), b.data<float>(), dy.data<float>(), x.data<float>(), p);
    });
    const double fg = (xb + yb) / f / 1e6, dg = (yb + xb) / d / 1e6, gg = (yb + xb) / g / 1e6;
    const std::string shape = fmt::format("{},{}x{},{}x{}/{}", s.C, s.H, s.H, s.R, s.R, s.stride);
    std::printf("%-13s %3d %-22s %8.3f %6.1f %4.0f%% %8.3f %6.1f %4.0f%% %8.3f %6.1f %4.0f%% %9.1e%s\n", s.name, s.count,
                shape.c_str(), f, fg, 100 * fg / copy, d, dg, 100 * dg / copy, g, gg, 100 * gg / copy, err,
                err > 1e-4 ? "  MISMATCH" : "");
    bad += err > 1e-4;
    total_ms += s.count * (f + d + g);
    total_bytes += s.count * 3 * (xb + yb);
  }
  std::printf("efficientnet_b0 all depthwise convolutions, forward + backward: %.2f ms per batch of %lld, %.1f GB/s "
              "(%.0f%% of copy)\n", total_ms, static_cast<long long>(N), total_bytes / total_ms / 1e6,
              100 * total_bytes / total_ms / 1e6 / copy);
  return bad;
}

int bench_gemm(int reps, Generator& gen) {
  struct G {
    const char* name;
    int64_t M, N, K;
  };
  const std::vector<G> shapes = {{"square 512", 512, 512, 512},      {"square 1024", 1024, 1024, 1024},
                                 {"square 2048", 2048, 2048, 2048},  {"vgg fc6 b32", 32, 4096, 25088},
                                 {"r50 l4 1x1 b8", 2048, 392, 512},  {"vgg conv3 b1", 256, 3136, 2304}};
  std::printf("\nGEMM (OpenBLAS sgemm, row-major NN), median of %d\n", reps);
  std::printf("%-16s %6s %6s %6s %9s %8s %9s\n", "shape", "M", "N", "K", "ms", "GFLOP/s", "max err");
  int bad = 0;
  for (const G& s : shapes) {
    Tensor a = randn({s.M, s.K}, gen), b = randn({s.K, s.N}, gen), c = empty({s.M, s.N});
    const double ms = median_ms(reps, [&] {
      gemm_cpu<float>(Trans::no, Trans::no, s.M, s.N, s.K, 1.f, a.data<float>(), s.K, b.data<float>(), s.N, 0.f,
                      c.data<float>(), s.N);
    });
    // validate 64 rows against the reference
    const int64_t rows = std::min<int64_t>(s.M, 64);
    Tensor ref = empty({rows, s.N});
    gemm_reference_cpu<float>(Trans::no, Trans::no, rows, s.N, s.K, 1.f, a.data<float>(), s.K, b.data<float>(), s.N,
                              0.f, ref.data<float>(), s.N);
    const double err = max_rel_error(c.slice(0, 0, rows).contiguous(), ref);
    bad += err > 1e-4;
    std::printf("%-16s %6lld %6lld %6lld %9.2f %8.1f %9.1e%s\n", s.name, static_cast<long long>(s.M),
                static_cast<long long>(s.N), static_cast<long long>(s.K), ms, gemm_flops(s.M, s.N, s.K) / ms / 1e6, err,
                err > 1e-4 ? "  MISMATCH" : "");
  }
  return bad;
}

}  // namespace

Flags bench_ops_flags() {
  Flags flags("bench-ops", "Times GEMM and conv2d (forward, backward data, backward weight) on the CPU.");
  flags.add("models", "resnet50,vgg19,efficientnet_b0",
            "networks whose convolutions to time: resnet50, vgg19, efficientnet_b0 (its depthwise ones; comma-separated)")
      .add("batch-size", "8", "images per batch")
      .add("reps", "3", "timed repetitions per pass (median reported)")
      .add("gemm", "1", "also time plain GEMMs (1 or 0)");
  return flags;
}

int bench_ops_main(int argc, char** argv) {
  Flags flags = bench_ops_flags();
  if (!flags.parse(argc, argv)) return 0;
  const int64_t batch = flags.integer("batch-size");
  const int reps = static_cast<int>(flags.integer("reps"));
  NN_USAGE_CHECK(batch > 0 && reps > 0, "--batch-size and --reps must be positive");
  std::printf("skinnet bench-ops: %d threads, OPENBLAS_CORETYPE=%s\n", num_threads(),
              std::getenv("OPENBLAS_CORETYPE") ? std::getenv("OPENBLAS_CORETYPE") : "(unset)");
  Generator gen(1234);
  int bad = 0;
  if (flags.integer("gemm")) bad += bench_gemm(reps, gen);
  std::string models = flags.str("models");
  for (const std::string& m : {std::string("resnet50"), std::string("vgg19")}) {
    if (models.find(m) == std::string::npos) continue;
    bad += bench_convs(m.c_str(), m == "resnet50" ? kResNet50 : kVgg19, batch, reps, gen);
  }
  if (models.find("efficientnet_b0") != std::string::npos) bad += bench_depthwise(batch, reps, gen);
  NN_CHECK(bad == 0, "{} kernels disagreed with the reference (marked MISMATCH above)", bad);
  return 0;
}

}  // namespace nn
