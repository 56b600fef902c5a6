// Parameter initialisation, as torch.nn.init: every function fills a tensor in place from a seeded
// Generator, outside autograd.
//
//   kaiming_normal   N(0, std^2), std = gain / sqrt(fan), gain = sqrt(2) for ReLU
//   kaiming_uniform  U(-b, b), b = gain * sqrt(3 / fan); PyTorch's default for Conv2d and Linear uses
//                    a = sqrt(5), so gain = sqrt(2 / (1 + 5)) and b = 1 / sqrt(fan_in)
//   trunc_normal     N(mean, std^2) restricted to [a, b] (a draw outside is drawn again): torchvision's
//                    Inception-v3 (std 0.1, or the layer's own stddev; bounds -2 and 2)
//   glorot_uniform   U(-b, b), b = sqrt(6 / (fan_in + fan_out)): Keras' default for Conv2D and Dense
// fan_in = C*R*S for a conv weight [K, C, R, S] (in_features for Linear); fan_out = K*R*S.
#pragma once

#include "tensor/ops.h"

namespace nn {

enum class FanMode { fan_in, fan_out };

// How a layer initialises its parameters: PyTorch's defaults, or zeros for parameters that are set
// right after (weights being loaded, or a model's own initialisation scheme).
enum class Init { pytorch_default, none };

int64_t fan(const Tensor& weight, FanMode mode);
void normal_(const Tensor& t, double mean, double std, Generator& gen);
void uniform_(const Tensor& t, double low, double high, Generator& gen);
void kaiming_normal_relu_(const Tensor& weight, FanMode mode, Generator& gen);
void trunc_normal_(const Tensor& t, double mean, double std, double a, double b, Generator& gen);
void glorot_uniform_(const Tensor& weight, Generator& gen);
void pytorch_default_init_(const Tensor& weight, const Tensor& bias, Generator& gen);  // Conv2d, Linear

}  // namespace nn
