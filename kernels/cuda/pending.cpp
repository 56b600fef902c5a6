// CUDA entry points whose kernels are not written yet.
//
// Every op has a CPU and a CUDA entry point behind one dispatch (tensor/dispatch.h); the CUDA kernels
// arrive with the CUDA backend (issue 6), which replaces each definition below with a real one in
// kernels/cuda/<op>.cu. Until then, reaching one is an error that says so, never a silent CPU fallback.
// Nothing can reach them today: no op accepts a CUDA tensor before its kernel exists.
#include "kernels/conv2d.h"
#include "kernels/copy.h"
#include "kernels/dropout.h"
#include "kernels/elementwise.h"
#include "kernels/pool2d.h"
#include "tensor/error.h"

#define NN_PENDING(name) NN_FAIL("{}: the CUDA kernel is not written yet (CUDA backend, issue 6)", name)

namespace nn {

void unary_forward_cuda(UnaryOp, float*, const float*, double, const Loop&) { NN_PENDING("unary_forward_cuda"); }
void unary_backward_cuda(UnaryOp, float*, const float*, const float*, const float*, double, const Loop&) {
  NN_PENDING("unary_backward_cuda");
}
void binary_forward_cuda(BinaryOp, float*, const float*, const float*, const Loop&) {
  NN_PENDING("binary_forward_cuda");
}
void copy_cuda(void*, DType, const void*, DType, const Loop&) { NN_PENDING("copy_cuda"); }
void fill_cuda(void*, DType, double, const Loop&) { NN_PENDING("fill_cuda"); }

void dropout_forward_cuda(float*, float*, const float*, int64_t, double, uint64_t, uint64_t) {
  NN_PENDING("dropout_forward_cuda");
}

}  // namespace nn
