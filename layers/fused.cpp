// Inference fusion of convolution, batch norm and ReLU (see fused.h).
#include "layers/fused.h"

#include <atomic>
#include <chrono>

#include "layers/activation.h"
#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/profile.h"
#include "layers/summary.h"
#include "tensor/autograd.h"

namespace nn {

namespace {
std::atomic<bool> g_fusion{true};
}  // namespace

void set_inference_fusion(bool on) { g_fusion = on; }
bool inference_fusion() { return g_fusion; }

Tensor conv_bn_relu(Conv2d& conv, BatchNorm2d* bn, ReLU* relu, const Tensor& x) {
  const Tensor none;
  const bool fusable = g_fusion && x.device().is_cpu() && !summary_active() && (!bn || !bn->training()) &&
                       !needs_grad({&x, &conv.weight, &conv.bias, bn ? &bn->weight : &none, bn ? &bn->bias : &none});
  if (!fusable) {
    Tensor h = conv(x);
    if (bn) h = (*bn)(h);
    if (relu) h = (*relu)(h);
    return h;
  }
  const BatchNormEval stats{bn ? bn->running_mean : none, bn ? bn->running_var : none, bn ? bn->weight : none,
                            bn ? bn->bias : none, bn ? bn->eps() : 1e-5};
  LayerProfiler* const profiler = LayerProfiler::active();
  const int previous = profiler ? profiler->enter(&conv) : -1;
  const auto t0 = std::chrono::steady_clock::now();
  Tensor y = conv2d_fused_eval(x, conv.weight, conv.bias, conv.options(), bn ? &stats : nullptr, relu != nullptr);
  if (profiler)
    profiler->leave(&conv, previous, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  return y;
}

}  // namespace nn
