// The differentiable ops: what models and training code call.
//
// Each op checks its arguments (an error names the op and the shapes), allocates its output on the
// inputs' device, runs the kernel for that device (kernels/<op>.h declares the CPU and CUDA entry points;
// tensor/dispatch.h picks one) and, when an input requires grad, records a backward node.
// Semantics follow PyTorch's functions of the same name; where an argument has a PyTorch default, so
// does the option here. Outputs are new contiguous tensors unless the op is documented as a view.
#pragma once

#include <optional>
#include <vector>

#include "base/random.h"
#include "tensor/autograd.h"
#include "tensor/tensor.h"

namespace nn {

// --- elementwise, with numpy broadcasting between tensor operands
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double s);
Tensor sub(const Tensor& a, double s);
Tensor rsub(const Tensor& a, double s);  // s - a
Tensor mul(const Tensor& a, double s);
Tensor div(const Tensor& a, double s);
Tensor rdiv(const Tensor& a, double s);  // s / a
Tensor pow(const Tensor& a, double exponent);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor silu(const Tensor& x);  // x * sigmoid(x), a.k.a. swish (EfficientNet)
Tensor tanh(const Tensor& x);
// relu(add(a, b)), one op: ResNet's residual connection. On the CPU, for operands of one shape, one pass
// forward (kernels/elementwise.h, add_relu_forward_cpu) and one backward node (relu's mask, given to both
// operands), the same values and gradients bit for bit; otherwise (CUDA, broadcasting) the two ops.
Tensor add_relu(const Tensor& a, const Tensor& b);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return sub(a, s); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return div(a, s); }
inline Tensor operator+(double s, const Tensor& a) { return add(a, s); }
inline Tensor operator-(double s, const Tensor& a) { return rsub(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(double s, const Tensor& a) { return rdiv(a, s); }
inline Tensor operator-(const Tensor& x) { return neg(x); }

// --- reductions. `dims` empty means all dimensions.
Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor max(const Tensor& x);  // over all elements; the gradient goes to the first maximum
struct MaxResult {
  Tensor values;
  Tensor indices;  // i64
};
MaxResult max(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
// Sums `x` down to `shape` (the reverse of broadcasting); x itself when the shapes match.
Tensor sum_to(const Tensor& x, const Shape& shape);

// --- linear algebra
// a [M, K] x b [K, N] -> [M, N]; or batched a [B, M, K] x b [B, K, N] -> [B, M, N].
Tensor matmul(const Tensor& a, const Tensor& b);
// x [N, in] with weight [out, in] and optional bias [out] -> [N, out]  (y = x W^T + b)
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

// --- convolution and pooling (NCHW)
struct Pair {
  int64_t h = 0, w = 0;
  Pair() = default;
  Pair(int64_t v) : h(v), w(v) {}  // NOLINT: Pair p = 3 means 3x3, as in PyTorch
  Pair(int64_t h_, int64_t w_) : h(h_), w(w_) {}
};

struct Conv2dOptions {
  Pair stride = 1;
  Pair padding = 0;
  Pair dilation = 1;
  int64_t groups = 1;  // divides C and K; groups = C is depthwise
};
// x [N, C, H, W], weight [K, C/groups, R, S], bias [K] or undefined -> [N, K, P, Q]
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dOptions& options = {});

struct MaxPool2dOptions {
  Pair kernel_size = 2;
  std::optional<Pair> stride = std::nullopt;  // defaults to kernel_size
  Pair padding = 0;
  Pair dilation = 1;
  bool ceil_mode = false;
};
Tensor max_pool2d(const Tensor& x, const MaxPool2dOptions& options);

struct AvgPool2dOptions {
  Pair kernel_size = 2;
  std::optional<Pair> stride = std::nullopt;  // defaults to kernel_size
  Pair padding = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;
};
Tensor avg_pool2d(const Tensor& x, const AvgPool2dOptions& options);
Tensor adaptive_avg_pool2d(const Tensor& x, Pair output_size);

// --- normalisation
struct BatchNormOptions {
  bool training = true;
  double momentum = 0.1;
  double eps = 1e-5;
};
// x [N, C, ...]. In training, normalises with the batch statistics and, when running_mean/var are
// defined, updates them in place (running_var with the unbiased batch variance, as PyTorch).
// In eval, normalises with running_mean/var. weight (gamma) and bias (beta) may be undefined.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, const BatchNormOptions& options);
// relu(batch_norm(...)), one op: on the CPU in training one kernel pass each way (kernels/batch_norm.h,
// batch_norm_relu_forward_train_cpu), the same values and gradients as the two ops; in eval and on CUDA it
// is the two ops. layers/fused.h uses it for every BatchNorm2d -> ReLU run of a training model.
Tensor batch_norm_relu(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                       const Tensor& bias, const BatchNormOptions& options = {});

// The running statistics and affine parameters of an eval-mode batch norm (gamma, beta may be undefined).
struct BatchNormEval {
  Tensor running_mean, running_var, gamma, beta;
  double eps = 1e-5;
};
// An eval-mode batch norm after a convolution with bias `conv_bias` (may be undefined), as one per-channel
// affine map of the bias-free convolution's output: scale = gamma / sqrt(var + eps), shift = beta + (bias -
// mean) * scale, in double; without `bn`, scale 1 and shift the bias. conv2d_fused_eval applies it in its
// epilogue; ONNX export folds it into the convolution's weights (layers/export.cpp).
struct ChannelAffine {
  std::vector<double> scale, shift;
};
ChannelAffine fold_batch_norm(const BatchNormEval* bn, const Tensor& conv_bias, int64_t channels);

// Inference: relu?(batch_norm_eval?(conv2d(x, weight, bias))) in one pass over the output (CPU): the batch
// norm's per-channel scale gamma/sqrt(var + eps) and shift beta + (bias - mean) * scale, or just the bias,
// and the ReLU (or, with silu instead, x * sigmoid(x)) are applied in the convolution's epilogue instead of by two more ops. Requires CPU tensors
// and nothing needing a gradient (it records no backward): FusedConv2d (layers/fused.h) decides when it
// applies. `bn` may be null (conv + bias + ReLU, as in VGG).
Tensor conv2d_fused_eval(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options,
                         const BatchNormEval* bn, bool relu, bool silu = false);

// --- shape and regularisation
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
Tensor flatten(const Tensor& x, int64_t start_dim = 1, int64_t end_dim = -1);  // start 1, as nn.Flatten
// Zeroes each element with probability p and scales the rest by 1/(1-p); identity when !training.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen);
// y = x * s broadcast over x's trailing dimensions: s's shape is a prefix of x's (s [N, C] scales each
// [H, W] plane of x [N, C, H, W]: squeeze-and-excitation's gate). Gradients for both.
Tensor scale_rows(const Tensor& x, const Tensor& s);
// Stochastic depth ("row" mode, torchvision.ops.stochastic_depth): in training, each sample of x [N, ...]
// is zeroed with probability p and the others scaled by 1/(1-p); identity when !training or p == 0. The
// mask comes from `gen` like dropout's (and, under a BatchShard, is the global batch's).
Tensor stochastic_depth(const Tensor& x, double p, bool training, Generator& gen);

// --- classification
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
struct CrossEntropyOptions {
  Tensor weight = Tensor();    // [C] per-class weights, or undefined
  double label_smoothing = 0;  // in [0, 1]
  int64_t ignore_index = -100;
};
// logits [N, C], target i64 [N] -> scalar; mean reduction exactly as torch.nn.functional.cross_entropy.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options = {});

}  // namespace nn
