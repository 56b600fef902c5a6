// CUDA NLL loss with class weights, label smoothing and ignore_index (kernels/cross_entropy.h), on
// log-probabilities logp [N, C] and targets [N].
//
// Forward is one block: a batch has tens to hundreds of rows, far too little work to spread over the GPU,
// and one block can sum them deterministically (a fixed reduction tree, no float atomics). It also checks
// the targets, since the op does not look at a CUDA tensor's values on the host: the block records the first
// row whose label is neither a class nor ignore_index, and the host reads that record back once.
// Backward is elementwise: one thread per element of dlogp.
#include "kernels/cross_entropy.h"
#include "kernels/cuda/block_reduce.h"

namespace nn {

namespace {

constexpr unsigned kThreads = 256;  // 8 warps

struct Min {
  __device__ int64_t operator()(int64_t a, int64_t b) const { return a < b ? a : b; }
};

// One block of kThreads. Warp w takes rows i = w, w+8, ...: lane 0 adds (1-eps) w[t_i] (-logp[i, t_i]) to
// its total and w[t_i] to its weight sum, and with smoothing the 32 lanes add eps/C sum_c w[c] (-logp[i, c])
// over c = lane, lane+32, ... (consecutive floats of the row) and fold it with shuffles. Rows with a bad
// label are skipped; `bad` gets {first bad row, its label}, or {-1, 0}. Block reductions then give
// denom = sum w[t_i] and loss = total / denom, summed in double as on the CPU (in another order).
// Reads each row once with smoothing (else one element per row); shared memory: 32 doubles or int64s.
__global__ void nll_loss_forward_block(float* loss, float* denom, int64_t* bad, const float* logp,
                                       const int64_t* target, const float* weight, NllParams p) {
  __shared__ double sums[32];
  __shared__ int64_t rows[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  const double eps = p.label_smoothing;
  double total = 0.0, wsum = 0.0;
  int64_t first_bad = p.N;  // none
  for (int64_t i = warp; i < p.N; i += warps) {
    const int64_t t = target[i];
    if (t == p.ignore_index) continue;
    if (t < 0 || t >= p.C) {
      first_bad = first_bad < i ? first_bad : i;
      continue;
    }
    const float* row = logp + i * p.C;
    if (lane == 0) {
      const double wt = weight ? weight[t] : 1.0;
      wsum += wt;
      total += (1.0 - eps) * wt * -static_cast<double>(row[t]);
    }
    if (eps > 0) {
      double smooth = 0.0;
      for (int64_t c = lane; c < p.C; c += 32) smooth += (weight ? weight[c] : 1.0) * -static_cast<double>(row[c]);
      smooth = cuda::warp_reduce(smooth, cuda::Plus{});
      if (lane == 0) total += eps / static_cast<double>(p.C) * smooth;
    }
  }
  total = cuda::block_allreduce(total, cuda::Plus{}, 0.0, sums);
  wsum = cuda::block_allreduce(wsum, cuda::Plus{}, 0.0, sums);
  first_bad = cuda::block_allreduce(first_bad, Min{}, p.N, rows);
  if (threadIdx.x == 0) {
    *denom = static_cast<float>(wsum);
    *loss = static_cast<float>(total / wsum);  // 0 / 0 = NaN when every row is ignored, as in PyTorch
    bad[0] = first_bad < p.N ? first_bad : -1;
    bad[1] = first_bad < p.N ? target[first_bad] : 0;
  }
}

// One thread per element (i, c) of dlogp (grid-stride): the CPU's two float terms, the smoothing share for
// every c plus the target's share at c == t_i; 0 on ignored rows. Coalesced writes; targets, weights, dloss
// and denom are small and cached.
__global__ void nll_loss_backward_elements(float* dlogp, const float* dloss, const float* denom,
                                           const int64_t* target, const float* weight, NllParams p) {
  const double scale = -static_cast<double>(*dloss) / static_cast<double>(*denom), eps = p.label_smoothing;
  const int64_t total = p.N * p.C, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t i = e / p.C, c = e - i * p.C, t = target[i];
    if (t == p.ignore_index) {
      dlogp[e] = 0.f;
      continue;
    }
    float v = static_cast<float>(scale * eps / static_cast<double>(p.C) * (weight ? weight[c] : 1.0));
    if (c == t) v += static_cast<float>(scale * (1.0 - eps) * (weight ? weight[t] : 1.0));
    dlogp[e] = v;
  }
}

}  // namespace

void nll_loss_forward_cuda(float* loss, float* denom, const float* logp, const int64_t* target, const float* weight,
                           const NllParams& p) {
  const cuda::Scratch<int64_t> bad(2);  // {first bad row or -1, its label}
  NN_CUDA_LAUNCH(nll_loss_forward_block, dim3(1), dim3(kThreads), 0, loss, denom, bad.get(), logp, target, weight,
                 p);
  // Reading the record back waits for the stream to drain up to this kernel: one synchronisation per
  // forward (a few microseconds plus any queued work), paid once per step. Training reads the loss on the
  // host every step anyway, so the GPU idles no longer overall; the error then names the row and label.
  int64_t record[2];
  NN_CUDA_CHECK(cudaMemcpyAsync(record, bad.get(), sizeof record, cudaMemcpyDeviceToHost, cuda::stream()));
  NN_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
  if (record[0] >= 0) nll_loss_bad_target(record[0], record[1], p);
}

void nll_loss_backward_cuda(float* dlogp, const float* dloss, const float* denom, const int64_t* target,
                            const float* weight, const NllParams& p) {
  const int64_t total = p.N * p.C;
  if (total == 0) return;
  NN_CUDA_LAUNCH(nll_loss_backward_elements, dim3(cuda::blocks_for(total, kThreads)), dim3(kThreads), 0, dlogp,
                 dloss, denom, target, weight, p);
}

}  // namespace nn
