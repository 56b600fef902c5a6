// skinnet bench-gpu: skinnet's handwritten CUDA kernels against cuBLAS/cuDNN (kernels/cuda/vendor.h) on the
// layers of ResNet-50 and VGG19, and whole training steps with either set of kernels.
//
// Per kernel: GPU time from CUDA events on skinnet's stream, after warm-up calls, median of --reps. The
// handwritten and vendor versions are timed alternately (hw, vendor, hw, vendor, ...) so that clock and
// temperature drift affect both alike; the last column is the ratio handwritten/vendor (1.0 = parity,
// 2.0 = handwritten takes twice as long). Compute-bound kernels report TFLOP/s, memory-bound ones GB/s of
// their minimum traffic (each input read once, each output written once). Correctness is not checked
// here: make test-gpu compares both sets of kernels.
// Sections: convolutions (forward, backward data, backward weight); the classifier GEMMs (forward, dx,
// dW) and each rung of the GEMM ladder (kernels/cuda/gemm/ladder.h) against cuBLAS; batch norm
// (training forward, backward); pooling (forward, backward); images/s of training steps.
// A kernel that fails shows n/a and its error is listed once at the end.
// Without a GPU, or in a build without CUDA, it says so and exits 2.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "base/random.h"
#include "bench/layer_shapes.h"
#include "kernels/batch_norm.h"
#include "kernels/conv2d.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/vendor.h"
#include "kernels/gemm.h"
#include "kernels/pool2d.h"
#include "models/network.h"
#include "tensor/ops.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"
#include "train/optim/optim.h"

#if defined(NN_BENCH_CUDA)  // CUDA=1 builds (Makefile): CUDA events and the stream
#define NN_CUDA_HOST_ONLY
#include "kernels/cuda/compat.h"
#include "kernels/cuda/gemm/ladder.h"
#endif

namespace nn {

#if defined(NN_BENCH_CUDA)

namespace {

struct Settings {
  int warmup = 3, reps = 20;
  bool quick = false;
};

std::set<std::string> g_errors;  // first message of each failing kernel, printed at the end

// GPU milliseconds of f(): events recorded on skinnet's stream around it.
class EventTimer {
 public:
  EventTimer() {
    NN_CUDA_CHECK(cudaEventCreate(&start_));
    NN_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~EventTimer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;
  template <class F>
  double ms(F&& f) {
    NN_CUDA_CHECK(cudaEventRecord(start_, cuda::stream()));
    f();
    NN_CUDA_CHECK(cudaEventRecord(stop_, cuda::stream()));
    NN_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0;
    NN_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return ms;
  }

 private:
  cudaEvent_t start_{}, stop_{};
};

// Runs f once; false (and the error noted) when it throws.
template <class F>
bool runs(const char* what, F&& f) {
  try {
    f();
    NN_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
    return true;
  } catch (const Error& e) {
    g_errors.insert(std::string(what) + ": " + e.what());
    return false;
  }
}

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Timing {
  double hw = NAN, vendor = NAN;  // median ms
};

// Handwritten and vendor timed alternately after warm-up; a side that fails is NaN.
template <class H, class V>
Timing time_pair(const Settings& s, const char* what, H&& hw, V&& vendor) {
  bool hw_ok = runs(what, hw), vendor_ok = runs(what, vendor);
  for (int i = 1; i < s.warmup; ++i) {
    if (hw_ok) hw();
    if (vendor_ok) vendor();
  }
  EventTimer timer;
  std::vector<double> a, b;
  for (int i = 0; i < s.reps; ++i) {
    if (hw_ok) a.push_back(timer.ms(hw));
    if (vendor_ok) b.push_back(timer.ms(vendor));
  }
  return {median(a), median(b)};
}

void print_header(const char* title, const char* unit) {
  std::printf("\n%s\n%-18s %-30s %9s %8s %9s %8s %8s\n", title, "layer", "pass / shape", "hw ms", unit, "cuX ms", unit,
              "hw/cuX");
}

// amount: FLOP (TFLOP/s) or bytes (GB/s), chosen by `tera`.
void print_row(const std::string& name, const std::string& shape, double amount, bool tera, Timing t) {
  const double scale = tera ? 1e9 : 1e6;  // amount / ms -> TFLOP/s or GB/s
  std::printf("%-18s %-30s %9.3f %8.2f %9.3f %8.2f %8.2f\n", name.c_str(), shape.c_str(), t.hw, amount / t.hw / scale,
              t.vendor, amount / t.vendor / scale, t.hw / t.vendor);
}

Tensor device_randn(const Shape& shape, Generator& gen) { return randn(shape, gen).to(Device::cuda()); }
Tensor device_empty(const Shape& shape, DType dtype = DType::f32) { return empty(shape, dtype, Device::cuda()); }
float* f(const Tensor& t) { return t.data<float>(); }

void bench_convs(const Settings& s, const char* model, const std::vector<ConvShape>& shapes, int64_t N,
                 Generator& gen) {
  char title[160];
  std::snprintf(title, sizeof title, "conv2d, %s, batch %lld: handwritten vs cuDNN", model, static_cast<long long>(N));
  print_header(title, "TFLOP/s");
  const size_t count = s.quick ? std::min<size_t>(3, shapes.size()) : shapes.size();
  for (size_t i = 0; i < count; ++i) {
    const ConvShape& c = shapes[i];
    const Conv2dParams p = params_for(c, N, c.H);
    const Tensor x = device_randn({p.N, p.C, p.H, p.W}, gen), w = device_randn({p.K, p.C, p.R, p.S}, gen);
    const Tensor b = device_randn({p.K}, gen), dy = device_randn({p.N, p.K, p.P, p.Q}, gen);
    const Tensor y = device_empty(dy.shape()), dx = device_empty(x.shape()), dw = device_empty(w.shape());
    const double flop = conv2d_flops(p);
    const std::string shape = std::to_string(c.C) + "," + std::to_string(c.H) + "->" + std::to_string(c.K) + "," +
                              std::to_string(c.R) + "x" + std::to_string(c.R) + "/" + std::to_string(c.stride);
    print_row(c.name, "fwd " + shape, flop, true,
              time_pair(
                  s, "conv2d forward", [&] { conv2d_forward_cuda(f(y), f(x), f(w), f(b), p); },
                  [&] { conv2d_forward_vendor(f(y), f(x), f(w), f(b), p); }));
    if (c.C != 3)  // the network input needs no gradient
      print_row(c.name, "bwd-data " + shape, flop, true,
                time_pair(
                    s, "conv2d backward data", [&] { conv2d_backward_data_cuda(f(dx), f(dy), f(w), p); },
                    [&] { conv2d_backward_data_vendor(f(dx), f(dy), f(w), p); }));
    print_row(c.name, "bwd-weight " + shape, flop, true,
              time_pair(
                  s, "conv2d backward weight", [&] { conv2d_backward_weight_cuda(f(dw), nullptr, f(dy), f(x), p); },
                  [&] { conv2d_backward_weight_vendor(f(dw), nullptr, f(dy), f(x), p); }));
  }
}

struct GemmShape {
  std::string name;
  Trans ta, tb;
  int64_t M, N, K;
};

// The classifier layers as the linear op runs them: y = x W^T, dx = g W, dW = g^T x.
std::vector<GemmShape> classifier_gemms(int64_t batch, bool quick) {
  struct Fc {
    const char* name;
    int64_t in, out;
  };
  std::vector<Fc> layers = {
      {"vgg19 fc6", 25088, 4096}, {"vgg19 fc7", 4096, 4096}, {"vgg19 fc8", 4096, 1000}, {"resnet50 fc", 2048, 1000}};
  if (quick) layers.resize(1);
  std::vector<GemmShape> shapes;
  for (const Fc& l : layers) {
    shapes.push_back({std::string(l.name) + " fwd", Trans::no, Trans::yes, batch, l.out, l.in});
    shapes.push_back({std::string(l.name) + " dx", Trans::no, Trans::no, batch, l.in, l.out});
    shapes.push_back({std::string(l.name) + " dW", Trans::yes, Trans::no, l.out, l.in, batch});
  }
  return shapes;
}

// Row-major leading dimensions of op(A) [M, K] and op(B) [K, N] as stored.
int64_t lda_of(const GemmShape& g) { return g.ta == Trans::no ? g.K : g.M; }
int64_t ldb_of(const GemmShape& g) { return g.tb == Trans::no ? g.N : g.K; }

using GemmFn = void (*)(Trans, Trans, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                       float, float*, int64_t);

// One call of a GEMM implementation on a [M, K] x [K, N] problem stored in a, b, c.
auto gemm_call(GemmFn gemm, const GemmShape& g, const Tensor& a, const Tensor& b, const Tensor& c) {
  return [=] { gemm(g.ta, g.tb, g.M, g.N, g.K, 1.f, f(a), lda_of(g), f(b), ldb_of(g), 0.f, f(c), g.N); };
}

void bench_gemms(const Settings& s, int64_t batch, Generator& gen) {
  char title[160];
  std::snprintf(title, sizeof title, "GEMM, classifier layers at batch %lld: handwritten vs cuBLAS",
                static_cast<long long>(batch));
  print_header(title, "TFLOP/s");
  std::vector<GemmShape> shapes = classifier_gemms(batch, s.quick);
  shapes.push_back({"square 4096", Trans::no, Trans::no, 4096, 4096, 4096});
  for (const GemmShape& g : shapes) {
    const Tensor a = device_randn({g.M * g.K}, gen), b = device_randn({g.K * g.N}, gen), c = device_empty({g.M * g.N});
    const std::string shape = std::to_string(g.M) + "x" + std::to_string(g.N) + "x" + std::to_string(g.K) +
                              (g.ta == Trans::yes ? " A^T" : "") + (g.tb == Trans::yes ? " B^T" : "");
    print_row(g.name, shape, gemm_flops(g.M, g.N, g.K), true,
              time_pair(s, "gemm", gemm_call(gemm_cuda, g, a, b, c), gemm_call(gemm_vendor, g, a, b, c)));
  }
  print_header("GEMM ladder (kernels/cuda/gemm/ladder.h): each rung vs cuBLAS", "TFLOP/s");
  for (const GemmShape& g : {shapes.front(), shapes.back()}) {
    const Tensor a = device_randn({g.M * g.K}, gen), b = device_randn({g.K * g.N}, gen), c = device_empty({g.M * g.N});
    for (const GemmRung& rung : gemm_ladder())
      print_row(rung.name, g.name, gemm_flops(g.M, g.N, g.K), true,
                time_pair(s, rung.name, gemm_call(rung.fn, g, a, b, c), gemm_call(gemm_vendor, g, a, b, c)));
  }
}

// ResNet-50's batch norm layers: channels and spatial size.
void bench_batch_norm(const Settings& s, int64_t N, Generator& gen) {
  char title[160];
  std::snprintf(title, sizeof title, "batch norm (training), ResNet-50 layers, batch %lld: handwritten vs cuDNN",
                static_cast<long long>(N));
  print_header(title, "GB/s");
  struct Bn {
    int64_t C, H;
  };
  std::vector<Bn> layers = {{64, 112}, {64, 56},   {256, 56}, {128, 28}, {512, 28},
                            {256, 14}, {1024, 14}, {512, 7},  {2048, 7}};
  if (s.quick) layers.resize(2);
  for (const Bn& l : layers) {
    BatchNormParams p;
    p.N = N, p.C = l.C, p.HW = l.H * l.H;
    const Shape shape = {p.N, p.C, l.H, l.H};
    const Tensor x = device_randn(shape, gen), dy = device_randn(shape, gen), y = device_empty(shape);
    const Tensor dx = device_empty(shape), gamma = device_randn({p.C}, gen), beta = device_randn({p.C}, gen);
    const Tensor mean = device_empty({p.C}), invstd = device_empty({p.C}), var = device_empty({p.C});
    const Tensor dgamma = device_empty({p.C}), dbeta = device_empty({p.C});
    const double bytes = 4.0 * x.numel();
    const std::string name = "bn " + std::to_string(l.C) + "x" + std::to_string(l.H);
    print_row(
        name, "fwd train", 2 * bytes, false,
        time_pair(
            s, "batch norm forward",
            [&] { batch_norm_forward_train_cuda(f(y), f(mean), f(invstd), f(var), f(x), f(gamma), f(beta), p); },
            [&] { batch_norm_forward_train_vendor(f(y), f(mean), f(invstd), f(var), f(x), f(gamma), f(beta), p); }));
    print_row(
        name, "bwd train", 3 * bytes, false,
        time_pair(
            s, "batch norm backward",
            [&] { batch_norm_backward_train_cuda(f(dx), f(dgamma), f(dbeta), f(dy), f(x), f(invstd), f(gamma), p); },
            [&] {
              batch_norm_backward_train_vendor(f(dx), f(dgamma), f(dbeta), f(dy), f(x), f(invstd), f(gamma), p);
            }));
  }
}

// ResNet-50's stem max pool and VGG19's five 2x2 max pools.
void bench_pooling(const Settings& s, int64_t N, Generator& gen) {
  char title[160];
  std::snprintf(title, sizeof title, "max pooling, batch %lld: handwritten vs cuDNN", static_cast<long long>(N));
  print_header(title, "GB/s");
  struct Pool {
    const char* name;
    int64_t C, H, k, stride, pad;
  };
  std::vector<Pool> layers = {{"resnet50 stem", 64, 112, 3, 2, 1}, {"vgg19 pool1", 64, 224, 2, 2, 0},
                              {"vgg19 pool2", 128, 112, 2, 2, 0},  {"vgg19 pool3", 256, 56, 2, 2, 0},
                              {"vgg19 pool4", 512, 28, 2, 2, 0},   {"vgg19 pool5", 512, 14, 2, 2, 0}};
  if (s.quick) layers.resize(2);
  for (const Pool& l : layers) {
    Pool2dParams p;
    p.N = N, p.C = l.C, p.H = p.W = l.H, p.R = p.S = l.k;
    p.stride_h = p.stride_w = l.stride, p.pad_h = p.pad_w = l.pad;
    p.P = p.Q = pool_output_size(l.H, l.k, l.stride, l.pad, 1, false);
    const Tensor x = device_randn({p.N, p.C, p.H, p.W}, gen), dx = device_empty(x.shape());
    const Tensor y = device_empty({p.N, p.C, p.P, p.Q}), dy = device_randn(y.shape(), gen);
    const Tensor argmax = device_empty(y.shape(), DType::i64), y_vendor = device_empty(y.shape());
    const double bytes = 4.0 * (x.numel() + y.numel());
    print_row(l.name, "fwd " + std::to_string(l.k) + "x" + std::to_string(l.k) + "/" + std::to_string(l.stride), bytes,
              false,
              time_pair(
                  s, "max pool forward", [&] { max_pool2d_forward_cuda(f(y), argmax.data<int64_t>(), f(x), p); },
                  [&] { max_pool2d_forward_vendor(f(y_vendor), f(x), p); }));
    print_row(l.name, "bwd", bytes, false,
              time_pair(
                  s, "max pool backward", [&] { max_pool2d_backward_cuda(f(dx), f(dy), argmax.data<int64_t>(), p); },
                  [&] { max_pool2d_backward_vendor(f(dx), f(dy), f(x), f(y_vendor), p); }));
  }
}

// Images/s of full training steps (forward, cross-entropy, backward, SGD with momentum) with each kernel
// source; NaN when a kernel of the step fails.
double images_per_second(const std::string& arch, cuda::KernelSource source, int64_t N, int steps, Generator& gen) {
  double seconds = NAN;
  runs((arch + " training step").c_str(), [&] {
    cuda::set_kernel_source(source);
    ModelOptions options;
    options.seed = 1;
    const auto model = make_model(arch, options);
    model->to(Device::cuda());
    model->train();
    OptimizerOptions sgd;
    const auto optimizer = make_optimizer(sgd, {ParamGroup{"all", model->named_parameters(), 0.01, 0}});
    const Tensor x = device_randn({N, 3, 224, 224}, gen);
    const Tensor target = randint(0, options.num_classes, {N}, gen).to(Device::cuda());
    const auto step = [&] {
      const Tensor loss = cross_entropy((*model)(x), target);
      loss.backward();
      optimizer->step();
      optimizer->zero_grad();
    };
    step();  // warm-up: cuDNN algorithm search, allocator cache
    step();
    EventTimer timer;
    seconds = timer.ms([&] {
      for (int i = 0; i < steps; ++i) step();
    }) / 1000.0;
  });
  cuda::set_kernel_source(cuda::KernelSource::handwritten);
  return N * steps / seconds;
}

}  // namespace

int bench_gpu_main(int argc, char** argv) {
  Flags flags = bench_gpu_flags();
  if (!flags.parse(argc, argv)) return 0;
  if (cuda_device_count() == 0) {
    std::fprintf(stderr, "skinnet bench-gpu: no CUDA device is visible; it times kernels on a GPU only\n");
    return kExitError;
  }
  NN_CHECK(cuda::vendor_available(), "this build has no cuBLAS/cuDNN to compare with");
  Settings s;
  s.quick = flags.on("quick");
  s.reps = s.quick ? 5 : static_cast<int>(flags.integer("reps"));
  const int64_t N = flags.integer("batch-size");
  const int steps = s.quick ? 2 : static_cast<int>(flags.integer("steps"));
  NN_USAGE_CHECK(N > 0 && s.reps > 0 && steps > 0, "--batch-size, --reps and --steps must be positive");
  cudaDeviceProp prop{};
  NN_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("skinnet bench-gpu on %s: float32, median of %d after %d warm-up calls; cuX = cuBLAS/cuDNN\n", prop.name,
              s.reps, s.warmup);
  Generator gen(1234);
  const std::string models = flags.str("models");
  const bool resnet = models.find("resnet50") != std::string::npos, vgg = models.find("vgg19") != std::string::npos;
  if (resnet) bench_convs(s, "resnet50", kResNet50, N, gen);
  if (vgg) bench_convs(s, "vgg19", kVgg19, N, gen);
  bench_gemms(s, N, gen);
  bench_batch_norm(s, N, gen);
  bench_pooling(s, N, gen);
  std::printf("\ntraining steps (forward, loss, backward, SGD), batch %lld, %d steps\n%-10s %14s %14s %8s\n",
              static_cast<long long>(N), steps, "network", "hw images/s", "cuX images/s", "cuX/hw");
  for (const std::string arch : {"resnet50", "vgg19"}) {
    if (arch == "resnet50" ? !resnet : !vgg) continue;
    const double hw = images_per_second(arch, cuda::KernelSource::handwritten, N, steps, gen);
    const double vendor = images_per_second(arch, cuda::KernelSource::vendor, N, steps, gen);
    std::printf("%-10s %14.1f %14.1f %8.2f\n", arch.c_str(), hw, vendor, vendor / hw);
  }
  if (!g_errors.empty()) {
    std::printf("\nn/a above: these kernels failed\n");
    for (const std::string& e : g_errors) std::printf("  %s\n", e.c_str());
  }
  return 0;
}

#else  // no CUDA in this build

int bench_gpu_main(int argc, char** argv) {
  Flags flags = bench_gpu_flags();
  if (!flags.parse(argc, argv)) return kExitOk;
  std::fprintf(stderr, "skinnet bench-gpu: this build has no CUDA (build with CUDA=1 on a machine with a GPU)\n");
  return kExitError;
}

#endif

// The flag table, in every build (--help, completion and docs/cli.md work without CUDA too).
Flags bench_gpu_flags() {
  Flags flags("bench-gpu", "Times skinnet's handwritten CUDA kernels against cuBLAS/cuDNN, and training steps.");
  flags.add("models", "resnet50,vgg19", "networks whose layers to time: resnet50, vgg19 (comma-separated)")
      .add("batch-size", "32", "images per batch (e.g. 32 or 64)")
      .add("reps", "20", "timed repetitions per kernel (median reported)")
      .add("steps", "5", "timed training steps per network and kernel source")
      .add_switch("quick", "a few shapes of each section, 5 repetitions, 2 steps (for make profile)");
  return flags;
}

}  // namespace nn
