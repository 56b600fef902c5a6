// Collectives as tensor ops: the interface data-parallel training implements (train/dist/world.h, on MPI
// or NCCL) and the one differentiable collective the layers need, all_reduce_sum.
//
// The tensor layer knows nothing of MPI: a Collective is a group of processes ("ranks") that each hold a
// tensor of the same shape and dtype and call the same collective in the same order. BatchNorm2d's
// synchronised mode (layers/batch_norm.h) sums its statistics over the group through it.
#pragma once

#include <memory>

#include "tensor/tensor.h"

namespace nn {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In place: every rank's `t` becomes the elementwise sum over the ranks. Blocking. A GPU or strided
  // tensor may be staged through the host.
  virtual void all_reduce_sum(const Tensor& t) = 0;
};

// y = sum over the ranks of x, on every rank. Differentiable: each rank's loss depends on y, so the
// gradient of the total loss (summed over the ranks) with respect to this rank's x is the sum over the
// ranks of dL_r/dy: backward is all_reduce_sum of the incoming gradient (as torch.distributed.nn's
// all_reduce). Every rank must call it, and run backward through it, in the same order.
Tensor all_reduce_sum(const Tensor& x, Collective& group);

}  // namespace nn
