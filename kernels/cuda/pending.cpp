// CUDA entry points whose kernels are not written yet.
//
// Every op has a CPU and a CUDA entry point behind one dispatch (tensor/dispatch.h); the CUDA kernels
// arrive with the CUDA backend (issue 6), which replaces each definition below with a real one in
// kernels/cuda/<op>.cu. Until then, reaching one is an error that says so, never a silent CPU fallback.
// Nothing can reach them today: no op accepts a CUDA tensor before its kernel exists.
#include "kernels/conv2d.h"
#include "kernels/cross_entropy.h"
#include "kernels/gemm.h"
#include "kernels/pool2d.h"
#include "kernels/reduce.h"
#include "kernels/softmax.h"
#include "tensor/error.h"

#define NN_PENDING(name) NN_FAIL("{}: the CUDA kernel is not written yet (CUDA backend, issue 6)", name)

namespace nn {

void sum_cuda(float*, const float*, const ReduceGeometry&, double) { NN_PENDING("sum_cuda"); }
void max_dim_cuda(float*, int64_t*, const float*, int64_t, int64_t, int64_t) { NN_PENDING("max_dim_cuda"); }
void max_dim_backward_cuda(float*, const float*, const int64_t*, int64_t, int64_t, int64_t) {
  NN_PENDING("max_dim_backward_cuda");
}

void gemm_cuda(Trans, Trans, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float,
               float*, int64_t) {
  NN_PENDING("gemm_cuda");
}

void softmax_forward_cuda(SoftmaxKind, float*, const float*, int64_t, int64_t, int64_t) {
  NN_PENDING("softmax_forward_cuda");
}
void softmax_backward_cuda(SoftmaxKind, float*, const float*, const float*, int64_t, int64_t, int64_t) {
  NN_PENDING("softmax_backward_cuda");
}

void nll_loss_forward_cuda(float*, float*, const float*, const int64_t*, const float*, const NllParams&) {
  NN_PENDING("nll_loss_forward_cuda");
}
void nll_loss_backward_cuda(float*, const float*, const float*, const int64_t*, const float*, const NllParams&) {
  NN_PENDING("nll_loss_backward_cuda");
}

}  // namespace nn
