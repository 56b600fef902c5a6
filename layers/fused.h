// Inference fusion: a convolution, the eval-mode batch norm after it and the ReLU after that run as one
// convolution whose epilogue applies the batch norm's per-channel scale and shift and the ReLU
// (conv2d_fused_eval, tensor/ops.h): one pass over the output instead of three, and two fewer activations.
//
// The modules stay as they are (names, state dict, summaries, the profiler's rows); only how they run
// changes, and only when the result is the same computation: nothing needs a gradient (no_grad, or every
// parameter frozen and the input without history), the batch norm is in eval mode, the tensors are on the
// CPU and no summary is being recorded. Otherwise each module runs as usual. Sequential fuses every
// Conv2d [BatchNorm2d] [ReLU] run of its children (VGG's features, ResNet's downsample); ResNet's blocks
// call conv_bn_relu themselves. The profiler charges a fused call to the convolution's row.
#pragma once

#include "layers/module.h"

namespace nn {

class Conv2d;
class BatchNorm2d;
class ReLU;

// conv, then bn and relu when not null.
Tensor conv_bn_relu(Conv2d& conv, BatchNorm2d* bn, ReLU* relu, const Tensor& x);

// On by default; off runs every module separately (tests compare the two).
void set_inference_fusion(bool on);
bool inference_fusion();

}  // namespace nn
