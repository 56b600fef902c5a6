// The world of a data-parallel run: which process this is among how many, and the collectives they run
// together, on MPI (OpenMPI from Debian; docs/distributed.md).
//
//   mpirun -np 2 build/skinnet train --config ...     two ranks on this machine
//   build/skinnet train --config ...                  one rank; MPI is never initialised
//
// World::get() is the process's world. init() starts MPI only when a launcher (mpirun, srun with PMIx)
// started the process: a plain `skinnet train` stays a single process with no MPI at all. Every
// collective below must be called by every rank, in the same order, with matching shapes and dtypes.
// Tensors given to all_reduce_sum and broadcast may be on a GPU or strided: they are staged through a
// contiguous host copy (the GPU gradient path is NCCL's, train/dist/nccl.h). In-place writes to a tensor's
// data go through a const handle, as Tensor's own (fill_, copy_).
//
// Failure: a rank that cannot go on calls fail(), which prints its message with its rank and ends every
// rank of the job (MPI_Abort) — never a hang with the others waiting in a collective.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tensor/collective.h"

namespace nn::dist {

class World final : public Collective {
 public:
  static World& get();
  // True when a launcher started this process as one rank of a job (OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_SIZE).
  static bool launched();
  // Starts MPI when launched(), else does nothing; idempotent. Threads: only the thread that called init()
  // makes MPI calls (MPI_THREAD_FUNNELED; the trainer's main thread).
  void init();
  // MPI_Finalize when init() started MPI.
  void finalize();

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const { return local_rank_; }  // among the ranks on this node
  int local_size() const { return local_size_; }
  int nodes() const { return nodes_; }
  bool distributed() const { return size_ > 1; }
  std::string transport() const;  // "none (one process)" or "MPI (Open MPI 4.1.4)"

  void barrier();
  void all_reduce_sum(const Tensor& t) override;
  void all_reduce_sum(std::vector<double>& values);
  void broadcast(const Tensor& t, int root = 0);  // t has the same shape and dtype on every rank
  void broadcast(std::string& text, int root = 0);
  void broadcast(std::vector<int64_t>& values, int root = 0);
  // Root's named CPU tensors (names, shapes, dtypes and values) on every rank, replacing what they held.
  void broadcast(std::map<std::string, Tensor>& tensors, int root = 0);
  // Every rank's `mine`, concatenated in rank order, on every rank (lengths may differ between ranks).
  std::vector<double> all_gather(const std::vector<double>& mine);
  std::vector<int64_t> all_gather(const std::vector<int64_t>& mine);

  // Non-blocking in-place sum of `count` elements of `dtype` at `data` (gradient buckets, reducer.h).
  struct Request {
    void* handle = nullptr;  // an MPI_Request, owned
    bool done = true;
  };
  Request start_all_reduce_sum(void* data, int64_t count, DType dtype);
  bool test(Request& request);  // progresses MPI; true once complete
  void wait(Request& request);

  // Prints "skinnet rank R of N: MESSAGE" on stderr and ends the whole job with exit code `code`.
  [[noreturn]] void fail(const std::string& message, int code = 1);

 private:
  World() = default;
  bool mpi_ = false;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1, nodes_ = 1;
};

}  // namespace nn::dist
