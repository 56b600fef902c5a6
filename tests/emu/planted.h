// Kernels with planted bugs (and their correct twins) for the emulator's own tests (tests/emu/).
// Each returns the launch's cudaError_t as an int; error_text() turns it into the emulator's message.
// Pointers are device pointers (tensors on cuda:0 of the emulator build).
#pragma once

#include <cstdint>

namespace nn::planted {

// out[i] = x[i] + x[i - 1] within each block of 128 (the first thread of a block uses its own value),
// through shared memory. with_barrier = false plants the missing __syncthreads: forward order hides it
// (thread t-1 has always written before thread t reads), reverse and random orders expose it.
int neighbour_sum(float* out, const float* x, int n, bool with_barrier);
// One partial sum per block of 256 threads: warp shuffles, then shared memory across warps.
int block_sums(float* sums, const float* x, int n);
// Writes out[i] = i for i in [0, n + extra) (extra > 0 writes past the end) or for i in [-1, n) when
// below is set.
int write_range(float* out, int n, int extra, bool below);
// Threads 0-15 of each block wait at one __syncthreads, the others at another.
int divergent_barrier(float* out);
// Lanes 0-15 of warp 0 shuffle with a full mask while lanes 16-31 wait at __syncthreads: deadlock.
int shuffle_barrier_deadlock(float* out);
// out[i] = dynamic shared memory slot i, never written: the emulator's 0xFF fill reads as NaN.
int read_unwritten_dynamic_shared(float* out, int n);
// counts[v] += 1 for each value v of x (values < bins), with atomicAdd from many blocks.
int histogram(unsigned long long* counts, const int64_t* x, int n, int bins);
// For each warp: out[3 * w] = __ballot_sync of (lane % 3 == 0), out[3w+1] = __any_sync(lane == 5),
// out[3w+2] = __all_sync(lane < 32) — over a block of `threads` threads (a ragged last warp when not a
// multiple of 32).
int votes(unsigned long long* out, int threads);
// A block of `threads` threads: returns cudaErrorInvalidConfiguration above 1024.
int launch_block_of(int threads);
// The worker threads that ran blocks: thread_ids[b] = a hash of the OS thread that ran block b.
int block_threads(uint64_t* thread_ids, int blocks);

const char* error_text(int err);

}  // namespace nn::planted
