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
#include <string>
#include <utility>
#include <vector>

#include <omp.h>

#include "base/parallel.h"
#include "base/random.h"
#include "bench/layer_shapes.h"
#include "kernels/conv2d.h"
#include "kernels/cpu/conv2d_blocked.h"
#include "kernels/cpu/gemm/ladder.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/gemm/packed.h"
#include "kernels/cpu/peak.h"
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
  double blocked_err = 0;
  if (p.G == 1) {  // the channel-blocked direct forward, through its reorders
    Tensor yb = empty(dy.shape());
    blocked::conv2d_forward_blocked_cpu(yb.data<float>(), x.data<float>(), w.data<float>(), b.data<float>(), p);
    blocked_err = max_rel_error(yb, y1);
  }
  return std::max({max_rel_error(y0, y1), max_rel_error(dx0, dx1), max_rel_error(dw0, dw1), max_rel_error(db0, db1),
                   blocked_err});
}

int bench_convs(const char* model, const std::vector<ConvShape>& shapes, int64_t N, int reps, double peak,
                Generator& gen) {
  std::printf("\nconv2d, %s, batch %lld, float32, median of %d (ms and GFLOP/s per pass)\n", model,
              static_cast<long long>(N), reps);
  std::printf("(blk fwd: the channel-blocked direct forward, %s kernel on %s, the kernel alone)\n",
              blocked::kernel_name(blocked::best_kernel()),
              blocked::block_of(blocked::best_kernel()) == 16 ? "nChw16c" : "nChw8c");
  std::printf("%-15s %3s %-26s %9s %7s %9s %7s %9s %7s %9s %9s %7s %5s %9s\n", "layer", "x", "C,HxW->K,RxS/stride", "fwd ms",
              "GF/s", "bwd-d ms", "GF/s", "bwd-w ms", "GF/s", "max err", "blk fwd", "GF/s", "%pk", "nChw8c ms");
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
    // The channel-blocked direct forward (kernels/cpu/conv2d_blocked.h), the kernel alone: in a network kept
    // in that layout the reorders would not be paid per layer.
    // With AVX-512 the AVX2 kernel on nChw8c is timed too (column "nChw8c ms").
    auto time_blocked = [&](blocked::Kernel kernel) {
      const int64_t block = blocked::block_of(kernel);
      std::vector<float> xb(blocked::input_size(p, block)), wb(blocked::weight_size(p, block));
      std::vector<float> yb(blocked::output_size(p, block));
      blocked::reorder_input(x.data<float>(), p, block, xb.data());
      blocked::reorder_weight(w.data<float>(), p, block, wb.data());
      return median_ms(reps, [&] { blocked::forward(yb.data(), xb.data(), wb.data(), b.data<float>(), p, block, kernel); });
    };
    const blocked::Kernel best = blocked::best_kernel();
    const double bf = time_blocked(best);
    const double bf8 = best == blocked::Kernel::avx512 ? time_blocked(blocked::Kernel::avx2) : NAN;
    const std::string shape = fmt::format("{},{}x{}->{},{}x{}/{}", s.C, s.H, s.H, s.K, s.R, s.R, s.stride);
    std::printf("%-15s %3d %-26s %9.2f %7.1f %9.2f %7.1f %9.2f %7.1f %9.1e %9.2f %7.1f %5.1f %9.2f%s\n", s.name, s.count,
                shape.c_str(), f, flop / f / 1e6, d, flop / d / 1e6, g, flop / g / 1e6, err, bf, flop / bf / 1e6,
                100 * flop / bf / 1e6 / peak, bf8, err > 1e-4 ? "  MISMATCH" : "");
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

// Medians of f and g timed in turns (f, g, f, g, ...), so that the machine's drift hits both alike.
template <class F, class G>
std::pair<double, double> interleaved_ms(int reps, F&& f, G&& g) {
  f(), g();  // warm-up
  const auto ms = [](auto&& fn) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  std::vector<double> a, b;
  for (int i = 0; i < reps; ++i) {
    a.push_back(ms(f));
    b.push_back(ms(g));
  }
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return {a[a.size() / 2], b[b.size() / 2]};
}

struct GemmShape {
  std::string name;
  Trans ta, tb;
  int64_t M, N, K;
};

// The three GEMMs of a convolution on one image (what the CPU convolution runs, by bands or batched):
// forward y = W cols ([K, CRS] x [CRS, PQ]), backward data dcols = W^T dy, backward weight dW = dy cols^T.
void add_conv_gemms(std::vector<GemmShape>& out, const char* model, const std::vector<ConvShape>& shapes) {
  for (const ConvShape& s : shapes) {
    const Conv2dParams p = params_for(s, 1, s.H);
    const int64_t PQ = p.P * p.Q, CRS = p.C * p.R * p.S;
    const std::string name = fmt::format("{} {}", model, s.name);
    out.push_back({name + " fwd", Trans::no, Trans::no, p.K, PQ, CRS});
    if (s.C != 3) out.push_back({name + " bwd-d", Trans::yes, Trans::no, CRS, PQ, p.K});
    out.push_back({name + " bwd-w", Trans::no, Trans::yes, p.K, CRS, PQ});
  }
}

// skinnet's GEMM (kernels/cpu/gemm/, rung 06) against OpenBLAS on the same operands, interleaved; the
// ratio is OpenBLAS's time over ours (above 1: ours is faster). `layers` adds the forward and backward
// GEMMs of every distinct ResNet-50 and VGG19 convolution (one image).
int bench_gemm(int reps, bool layers, double peak, Generator& gen) {
  std::vector<GemmShape> shapes = {{"square 512", Trans::no, Trans::no, 512, 512, 512},
                                   {"square 1024", Trans::no, Trans::no, 1024, 1024, 1024},
                                   {"square 2048", Trans::no, Trans::no, 2048, 2048, 2048},
                                   {"square 1024 tt", Trans::yes, Trans::yes, 1024, 1024, 1024},
                                   {"vgg fc6 b32", Trans::no, Trans::yes, 32, 4096, 25088},
                                   {"r50 l4 1x1 b8", Trans::no, Trans::no, 2048, 392, 512},
                                   {"vgg conv3 b1", Trans::no, Trans::no, 256, 3136, 2304}};
  if (layers) {
    add_conv_gemms(shapes, "r50", kResNet50);
    add_conv_gemms(shapes, "vgg", kVgg19);
  }
  std::printf("\nGEMM: skinnet (%s micro-kernel) vs OpenBLAS sgemm, row-major, interleaved, median of %d; "
              "%% of the FMA peak %.0f GFLOP/s\n", cpu_gemm::best_microkernel().name, reps, peak);
  std::printf("%-24s %2s %5s %5s %5s %8s %7s %5s %8s %7s %6s %8s\n", "shape", "op", "M", "N", "K", "ours ms",
              "GF/s", "%pk", "blas ms", "GF/s", "ratio", "max err");
  int bad = 0;
  double worst = 1e9;
  for (const GemmShape& s : shapes) {
    const bool ta = s.ta == Trans::yes, tb = s.tb == Trans::yes;
    Tensor a = randn(ta ? Shape{s.K, s.M} : Shape{s.M, s.K}, gen), b = randn(tb ? Shape{s.N, s.K} : Shape{s.K, s.N}, gen);
    Tensor c = empty({s.M, s.N}), c_blas = empty({s.M, s.N});
    const int64_t lda = ta ? s.M : s.K, ldb = tb ? s.K : s.N;
    const auto [ours, blas] = interleaved_ms(
        reps,
        [&] { cpu_gemm::gemm_threads(s.ta, s.tb, s.M, s.N, s.K, 1.f, a.data<float>(), lda, b.data<float>(), ldb, 0.f, c.data<float>(), s.N); },
        [&] { gemm_openblas_cpu<float>(s.ta, s.tb, s.M, s.N, s.K, 1.f, a.data<float>(), lda, b.data<float>(), ldb, 0.f, c_blas.data<float>(), s.N); });
    // Validate up to 64 rows against the reference loops.
    const int64_t rows = std::min<int64_t>(s.M, 64);
    Tensor ref = empty({rows, s.N});
    gemm_reference_cpu<float>(s.ta, s.tb, rows, s.N, s.K, 1.f, a.data<float>(), lda, b.data<float>(), ldb, 0.f,
                              ref.data<float>(), s.N);
    const double err = max_rel_error(c.slice(0, 0, rows).contiguous(), ref);
    bad += err > 1e-4;
    const double flop = gemm_flops(s.M, s.N, s.K);
    worst = std::min(worst, blas / ours);
    std::printf("%-24s %c%c %5lld %5lld %5lld %8.2f %7.1f %5.1f %8.2f %7.1f %6.2f %8.1e%s\n", s.name.c_str(),
                ta ? 't' : 'n', tb ? 't' : 'n', static_cast<long long>(s.M), static_cast<long long>(s.N),
                static_cast<long long>(s.K), ours, flop / ours / 1e6, 100 * flop / ours / 1e6 / peak, blas,
                flop / blas / 1e6, blas / ours, err, err > 1e-4 ? "  MISMATCH" : "");
  }
  std::printf("GEMM: worst ratio (OpenBLAS time / ours) %.2f\n", worst);
  return bad;
}

// The CPU ladder (kernels/cpu/gemm/ladder.h): every rung on one square problem, with OpenBLAS on one
// thread and on all of them for scale.
void bench_ladder(int64_t n, int reps, double peak1, double peak, Generator& gen) {
  Tensor a = randn({n, n}, gen), b = randn({n, n}, gen), c = empty({n, n});
  std::printf("\nCPU GEMM ladder (kernels/cpu/gemm/), %lldx%lldx%lld NN, median of %d; FMA peak %.0f GFLOP/s "
              "(1 thread), %.0f (%d threads)\n", static_cast<long long>(n), static_cast<long long>(n),
              static_cast<long long>(n), reps, peak1, peak, num_threads());
  std::printf("%-22s %7s %9s %8s %7s\n", "rung", "threads", "ms", "GFLOP/s", "% peak");
  auto row = [&](const char* name, bool threaded, auto&& fn) {
    const int threads = threaded ? num_threads() : 1;
    const double ms = median_ms(reps, fn), gf = gemm_flops(n, n, n) / ms / 1e6;
    std::printf("%-22s %7d %9.2f %8.1f %7.1f\n", name, threads, ms, gf, 100 * gf / (threaded ? peak : peak1));
  };
  for (const cpu_gemm::Rung& r : cpu_gemm::ladder())
    row(r.name, r.threaded, [&] { r.fn(Trans::no, Trans::no, n, n, n, 1.f, a.data<float>(), n, b.data<float>(), n, 0.f, c.data<float>(), n); });
  auto blas = [&] { gemm_openblas_cpu<float>(Trans::no, Trans::no, n, n, n, 1.f, a.data<float>(), n, b.data<float>(), n, 0.f, c.data<float>(), n); };
  const int saved = num_threads();
  omp_set_num_threads(1);
  row("OpenBLAS, 1 thread", false, blas);
  omp_set_num_threads(saved);
  row("OpenBLAS", true, blas);
}

}  // namespace

Flags bench_ops_flags() {
  Flags flags("bench-ops", "Times GEMM and conv2d (forward, backward data, backward weight) on the CPU.");
  flags.add("models", "resnet50,vgg19,efficientnet_b0",
            "networks whose convolutions to time: resnet50, vgg19, efficientnet_b0 (its depthwise ones; comma-separated)")
      .add("batch-size", "8", "images per batch")
      .add("reps", "3", "timed repetitions per pass (median reported)")
      .add("gemm", "1", "GEMMs, skinnet's against OpenBLAS: 1 (square and a few), layers (also every convolution's "
                        "three GEMMs) or 0")
      .add("ladder", "0", "time every rung of the CPU GEMM ladder on an NxNxN problem (0: skip)");
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
  const PeakReport& peak = machine_peak();
  std::printf("%s, %s micro-kernel; measured FMA peak (skinnet bench-peak) %.0f GFLOP/s on 1 thread, %.0f on %d\n",
              peak.cpu.c_str(), cpu_gemm::best_microkernel().name, peak.fma_peak(1), peak.fma_peak(num_threads()),
              num_threads());
  if (const int64_t n = flags.integer("ladder"); n > 0) bench_ladder(n, reps, peak.fma_peak(1), peak.fma_peak(num_threads()), gen);
  const std::string gemm = flags.str("gemm");
  NN_USAGE_CHECK(gemm == "0" || gemm == "1" || gemm == "layers", "--gemm must be 0, 1 or layers, not '{}'", gemm);
  if (gemm != "0") bad += bench_gemm(reps, gemm == "layers", peak.fma_peak(num_threads()), gen);
  std::string models = flags.str("models");
  for (const std::string& m : {std::string("resnet50"), std::string("vgg19")}) {
    if (models.find(m) == std::string::npos) continue;
    bad += bench_convs(m.c_str(), m == "resnet50" ? kResNet50 : kVgg19, batch, reps, peak.fma_peak(num_threads()), gen);
  }
  if (models.find("efficientnet_b0") != std::string::npos) bad += bench_depthwise(batch, reps, gen);
  NN_CHECK(bad == 0, "{} kernels disagreed with the reference (marked MISMATCH above)", bad);
  return 0;
}

}  // namespace nn
