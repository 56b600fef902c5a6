// Gradient averaging for data-parallel training, overlapped with backward (PyTorch DDP's Reducer).
//
// The trainable parameters are cut into buckets in reverse order of registration (the order backward
// finishes them): a small first bucket (1 MiB by default) so communication starts early, then buckets of
// about 25 MiB. While backward runs, a gradient-ready hook (tensor/autograd.h) copies each parameter's
// final gradient into its bucket's flat buffer; when a bucket is full it is
// summed over the ranks with a non-blocking allreduce, and later hooks keep MPI progressing while backward
// goes on computing. Buckets start strictly in order, so every rank issues the same collectives in the same
// order. finish() starts what is left, waits, and writes the sums back into .grad.
//
// Weights: the buckets sum. Each rank runs backward of its share of the batch's loss times w_r = (weight of
// its samples) / (weight of the whole global batch); the sum over ranks is then the gradient of the global
// batch's loss as one process computes it (equal shares: w_r = 1/N, and the sum is DDP's average). The
// weight goes on the loss, not on the buckets, because synchronised BatchNorm sends gradients across ranks
// during backward too, and they must carry it.
// Frozen parameters are not given to the reducer, so they are never communicated.
//
// Transport: parameters on the CPU go through MPI (non-blocking allreduce, buckets on the host); parameters
// on a GPU through NCCL (buckets on the device, allreduces on NCCL's stream, train/dist/nccl.h) in CUDA
// builds, else through MPI staged on the host.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tensor/autograd.h"
#include "train/dist/nccl.h"
#include "train/dist/world.h"

namespace nn::dist {

struct ReducerOptions {
  int64_t first_bucket_bytes = int64_t{1} << 20;
  int64_t bucket_bytes = int64_t{25} << 20;
};

// Communication of the steps since the last reset_stats().
struct ReducerStats {
  int64_t steps = 0;
  double exposed_seconds = 0;   // waiting in finish(): communication backward did not hide
  int64_t bytes_per_step = 0;   // bytes each rank contributes per step (all buckets)
  // The last step alone: its wait in finish() and when its backward ended (steady_clock seconds, one clock
  // for every process of a machine), so a benchmark can tell waiting for a slower rank from communication.
  double last_wait_seconds = 0;
  double last_backward_end = 0;
};

class GradientReducer {
 public:
  GradientReducer(World& world, std::vector<std::pair<std::string, Tensor>> params, ReducerOptions options = {});
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Before backward: installs the hook.
  void begin();
  // After backward: every bucket summed, .grad of every parameter the sum over the ranks.
  void finish();

  // For the log and the benchmark: bucket sizes in bytes, a one-line description, communication figures.
  std::vector<int64_t> bucket_bytes() const;
  std::string describe() const;
  std::string transport() const;  // "MPI" or "NCCL 2.x.y"
  const ReducerStats& stats() const { return stats_; }
  void reset_stats() { stats_ = ReducerStats{}; stats_.bytes_per_step = total_bytes(); }
  // Times summing every bucket with nothing else running (blocking, as if there were no overlap): the
  // communication a step needs. Collective: every rank must call it.
  double time_blocking_reduce(int repeats);

 private:
  struct Bucket {
    std::vector<size_t> params;   // indices into params_
    std::vector<int64_t> offsets; // element offset of each in `buffer`
    Tensor buffer;                // flat: on the GPU with NCCL, else on the host
    size_t pending = 0;           // gradients not yet copied in this step
    World::Request request;
    bool started = false;
  };

  void ready(TensorImpl* leaf);
  void copy_in(size_t param);
  void start_ready_buckets();
  void progress();
  int64_t total_bytes() const;

  World& world_;
  std::unique_ptr<NcclGroup> nccl_;  // GPU parameters in a CUDA build
  std::vector<std::pair<std::string, Tensor>> params_;
  std::unordered_map<TensorImpl*, size_t> index_;
  std::vector<std::pair<size_t, size_t>> place_;  // param -> (bucket, its position in the bucket)
  std::vector<bool> copied_;       // this step
  std::vector<Bucket> buckets_;
  size_t next_bucket_ = 0;  // the next bucket to start, in order
  bool active_ = false;
  std::optional<GradReadyHook> hook_;
  ReducerStats stats_;
};

}  // namespace nn::dist
