// The NCCL transport for gradients that live on GPUs (docs/distributed.md): one communicator over the
// world's ranks (rank r on its node's GPU local_rank), bootstrapped over MPI — rank 0 makes the unique id
// and broadcasts it — and allreduces on a CUDA stream of their own. Each allreduce waits (an event) for the
// work the compute stream (nn::cuda::stream()) has queued so far, so a bucket leaves as soon as its
// gradients are written, while backward goes on; wait() makes the compute stream wait for them all.
//
// libnccl.so.2 is opened with dlopen on first use, as cuBLAS is (kernels/cuda/vendor/cublas_cudnn.cpp):
// linked, it would add its size to every process. Builds without CUDA get nccl_none.cpp, which says so.
// Status: compiled and linked in CUDA=1 builds; no GPU has run it yet (make test-gpu runs the 2-GPU check).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/dtype.h"
#include "train/dist/world.h"

namespace nn::dist {

class NcclGroup {
 public:
  static bool built();  // this binary has the NCCL path (CUDA=1)
  explicit NcclGroup(World& world);
  ~NcclGroup();
  NcclGroup(const NcclGroup&) = delete;
  NcclGroup& operator=(const NcclGroup&) = delete;

  std::string version() const;  // "NCCL 2.x.y"
  // In-place sum over the ranks of `count` elements of `dtype` at device address `data`.
  void start_all_reduce_sum(void* data, int64_t count, DType dtype);
  // The compute stream waits for every allreduce started so far.
  void wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nn::dist
