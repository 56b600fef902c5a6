// The CUDA emulator's runtime: fibers, the block scheduler, the worker pool and device memory.
//
// One launch runs every block of the grid; a block runs every one of its CUDA threads as a fiber on one OS
// thread. A fiber runs until it reaches a barrier (__syncthreads, or a warp-synchronous op for its warp) or
// returns; the scheduler then resumes another runnable fiber, in the order the schedule asks for. When
// every live thread of the block waits at the same __syncthreads, they all become runnable again. A warp
// op releases its lanes when every lane named in the mask that exists and has not returned has arrived.
//
// This file is compiled without ThreadSanitizer in the TSan flavour: the scheduler's own memory traffic is
// not CUDA-thread traffic. It talks to TSan only through the fiber API and explicit release/acquire on the
// barrier objects, so that only barriers order the CUDA threads (docs/emulator.md).
#include "kernels/cuda/emu/emulator.h"

#include <boost/context/detail/fcontext.hpp>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/math.h"
#include "kernels/cuda/emulation.h"

#if defined(__SANITIZE_ADDRESS__)
#define NN_EMU_ASAN 1
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(NN_EMU_TSAN)
#include <sanitizer/tsan_interface.h>
#define NN_TSAN_RELEASE(p) __tsan_release(static_cast<void*>(p))
#define NN_TSAN_ACQUIRE(p) __tsan_acquire(static_cast<void*>(p))
#else
#define NN_TSAN_RELEASE(p) ((void)0)
#define NN_TSAN_ACQUIRE(p) ((void)0)
#endif

namespace ctx = boost::context::detail;

namespace nn::emu {

namespace {

// ---------------------------------------------------------------------------------------------------
// Settings

struct Settings {
  std::mutex mutex;
  Schedule schedule;
  int workers = 1;
  size_t stack_bytes = 64 * 1024;
};

Settings& settings() {
  static Settings* s = [] {
    auto* k = new Settings;
    const unsigned hw = std::thread::hardware_concurrency();
    k->workers = hw ? static_cast<int>(hw) : 1;
#if defined(NN_EMU_ASAN)
    k->stack_bytes = 256 * 1024;  // instrumented frames are larger
#endif
    if (const char* e = std::getenv("NN_EMU_WORKERS")) k->workers = std::max(1, std::atoi(e));
    if (const char* e = std::getenv("NN_EMU_STACK_KB")) k->stack_bytes = size_t(std::max(16, std::atoi(e))) * 1024;
    if (const char* e = std::getenv("NN_EMU_ORDER")) {
      const std::string s(e);
      if (s == "forward") {
        k->schedule.order = Order::forward;
      } else if (s == "reverse") {
        k->schedule.order = Order::reverse;
      } else if (s.rfind("random", 0) == 0) {
        k->schedule.order = Order::random;
        k->schedule.seed = s.size() > 7 ? std::strtoull(s.c_str() + 7, nullptr, 10) : 1;
      } else {
        std::fprintf(stderr, "NN_EMU_ORDER=%s: expected forward, reverse or random:SEED\n", e);
        std::exit(2);
      }
    }
    return k;
  }();
  return *s;
}

std::atomic<uint64_t> g_launches{0};

// The message behind the last failed launch of this host thread, for cudaGetErrorString.
thread_local std::string t_error_message;

// ---------------------------------------------------------------------------------------------------
// Fiber stacks: mmap'ed, with a PROT_NONE page below, so a kernel that overflows its stack faults.

struct Stack {
  char* base = nullptr;  // usable [base, base + size)
  size_t size = 0;
};

Stack map_stack(size_t size) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size = ceil_div(size, page) * page;
  void* p = mmap(nullptr, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) fatal("cannot map a fiber stack");
  mprotect(p, page, PROT_NONE);
  return {static_cast<char*>(p) + page, size};
}

void unmap_stack(Stack& s) {
  if (!s.base) return;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  munmap(s.base - page, s.size + page);
  s.base = nullptr;
}

// Stacks outlive the worker threads of one launch: mapping 1024 of them per launch would cost more than
// many kernels.
class StackPool {
 public:
  static StackPool& get() {
    static StackPool* p = new StackPool;
    return *p;
  }
  Stack take(size_t size) {
    {
      std::lock_guard lock(mutex_);
      while (!free_.empty()) {
        Stack s = free_.back();
        free_.pop_back();
        if (s.size >= size) return s;
        unmap_stack(s);
      }
    }
    return map_stack(size);
  }
  void give(Stack s) {
    std::lock_guard lock(mutex_);
    free_.push_back(s);
  }

 private:
  std::mutex mutex_;
  std::vector<Stack> free_;
};

// ---------------------------------------------------------------------------------------------------
// One block in flight on one OS thread.

class BlockRunner {
 public:
  enum class State : uint8_t { ready, at_barrier, at_warp_op, done };

  struct Thread {
    ctx::fcontext_t context = nullptr;
    Stack stack;
    uint3 index{};
    unsigned linear = 0;
    State state = State::ready;
    unsigned warp_mask = 0;
    const char* barrier_file = "";
    unsigned barrier_line = 0;
    void* asan_fake_stack = nullptr;
#if defined(NN_EMU_TSAN)
    void* tsan_fiber = nullptr;
#endif
  };
  struct Warp {
    unsigned exists = 0, exited = 0, arrived = 0, generation = 0;
    uint64_t slots[32] = {};
    char sync[2] = {};  // TSan sync addresses, one per generation parity
  };

  ~BlockRunner() {
    for (Thread& t : threads_) {
      if (t.stack.base) StackPool::get().give(t.stack);
#if defined(NN_EMU_TSAN)
      if (t.tsan_fiber) __tsan_destroy_fiber(t.tsan_fiber);
#endif
    }
  }

  // Runs one block to completion. Returns an empty string, or what went wrong (a divergent barrier, a
  // deadlock, a misused warp op); the block's remaining threads are then abandoned.
  std::string run(uint3 block_index, dim3 block, dim3 grid, size_t dynamic_smem, Entry entry, void* arg,
                  const Schedule& schedule, uint64_t linear_block) {
    const size_t stack_bytes = settings().stack_bytes;
    n_ = block.x * block.y * block.z;
    if (threads_.size() < n_) threads_.resize(n_);
    entry_ = entry;
    arg_ = arg;
    error_.clear();
    blockIdx = block_index;
    blockDim = block;
    gridDim = grid;
    live_ = n_;
    arrived_ = 0;
    order_ = schedule.order;
    rng_.seed(schedule.seed * 0x9E3779B97F4A7C15ull + linear_block);  // reproducible per block
    warps_.assign(ceil_div(n_, 32u), Warp{});
    for (unsigned w = 0; w < warps_.size(); ++w) {
      const unsigned lanes = std::min(32u, n_ - w * 32);
      warps_[w].exists = lanes == 32 ? 0xFFFFFFFFu : (1u << lanes) - 1;
    }
    dynamic_.assign(dynamic_smem, static_cast<unsigned char>(0xFF));
    ready_.clear();
    for (unsigned i = 0; i < n_; ++i) {
      Thread& t = threads_[i];
      if (!t.stack.base || t.stack.size < stack_bytes) {
        if (t.stack.base) StackPool::get().give(t.stack);
        t.stack = StackPool::get().take(stack_bytes);
      }
      t.linear = i;
      t.index = {i % block.x, (i / block.x) % block.y, i / (block.x * block.y)};
      t.state = State::ready;
      t.asan_fake_stack = nullptr;
      t.context = ctx::make_fcontext(t.stack.base + t.stack.size, t.stack.size, &BlockRunner::fiber_entry);
#if defined(NN_EMU_TSAN)
      if (!t.tsan_fiber) t.tsan_fiber = __tsan_create_fiber(0);
#endif
      ready_.push_back(i);
    }
#if defined(NN_EMU_TSAN)
    scheduler_fiber_ = __tsan_get_current_fiber();
#endif
    NN_TSAN_RELEASE(&block_start_);  // the launch's setup happens before every thread of the block
    current_runner() = this;
    while (!ready_.empty() && error_.empty()) resume(pick());
    current_runner() = nullptr;
    NN_TSAN_ACQUIRE(&block_end_);  // every thread of the block happens before what follows the block
    if (error_.empty() && live_ != 0) error_ = deadlock_message();
    return error_;
  }

  // ---- called by the intrinsics, on a fiber of this block
  void syncthreads(const char* file, unsigned line) {
    Thread& t = *current_;
    t.state = State::at_barrier;
    t.barrier_file = file;
    t.barrier_line = line;
    // TSan: one sync object per barrier generation parity, so a fast thread already at the next barrier
    // cannot pass its history to a slow thread still leaving this one.
    [[maybe_unused]] const unsigned generation = barrier_generation_;
    NN_TSAN_RELEASE(&barrier_sync_[generation & 1]);
    if (++arrived_ == live_) release_barrier();
    yield();
    NN_TSAN_ACQUIRE(&barrier_sync_[generation & 1]);
  }

  void syncwarp(unsigned mask) {
    Thread& t = *current_;
    Warp& w = warps_[t.linear / 32];
    const unsigned bit = 1u << (t.linear % 32);
    if (!(mask & bit)) {
      fail(format("lane %u of warp %u called a warp-synchronous op with mask 0x%08x, which does not name it",
                  t.linear % 32, t.linear / 32, mask));
      return;
    }
    t.state = State::at_warp_op;
    t.warp_mask = mask;
    w.arrived |= bit;
    [[maybe_unused]] const unsigned generation = w.generation;
    NN_TSAN_RELEASE(&w.sync[generation & 1]);
    try_release_warp(t.linear / 32);
    yield();
    NN_TSAN_ACQUIRE(&w.sync[generation & 1]);
  }

  uint64_t* warp_slots() { return warps_[current_->linear / 32].slots; }
  unsigned warp_live_mask() {
    const Warp& w = warps_[current_->linear / 32];
    return w.exists & ~w.exited;
  }
  unsigned linear_thread() const { return current_->linear; }
  void* dynamic_shared() { return dynamic_.empty() ? nullptr : dynamic_.data(); }

  // A misuse found inside a kernel: remember it and leave the fiber for good.
  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    current_->state = State::done;
    yield();
  }

  static BlockRunner*& current_runner() {
    static thread_local BlockRunner* runner = nullptr;
    return runner;
  }

 private:
  template <class... A>
  static std::string format(const char* fmt, A... args) {
    char buf[512];
    std::snprintf(buf, sizeof buf, fmt, args...);
    return buf;
  }

  unsigned pick() {
    size_t k = 0;
    switch (order_) {
      case Order::forward: k = 0; break;
      case Order::reverse: k = ready_.size() - 1; break;
      case Order::random: k = static_cast<size_t>(rng_() % ready_.size()); break;
    }
    const unsigned index = ready_[k];
    if (order_ == Order::forward) {
      ready_.erase(ready_.begin());  // FIFO; blocks are at most 1024 threads
    } else {
      ready_[k] = ready_.back();
      ready_.pop_back();
    }
    return index;
  }

  void release_barrier() {
    arrived_ = 0;
    ++barrier_generation_;
    const Thread* first = nullptr;
    for (unsigned i = 0; i < n_; ++i) {
      const Thread& t = threads_[i];
      if (t.state != State::at_barrier) continue;
      if (!first) {
        first = &t;
      } else if (t.barrier_line != first->barrier_line || std::strcmp(t.barrier_file, first->barrier_file) != 0) {
        error_ = format("divergent __syncthreads: thread %u waits at %s:%u, thread %u at %s:%u", first->linear,
                        first->barrier_file, first->barrier_line, t.linear, t.barrier_file, t.barrier_line);
        return;
      }
    }
    for (unsigned i = 0; i < n_; ++i)
      if (threads_[i].state == State::at_barrier) {
        threads_[i].state = State::ready;
        ready_.push_back(i);
      }
  }

  void try_release_warp(unsigned wi) {
    Warp& w = warps_[wi];
    if (!w.arrived) return;
    const unsigned first = static_cast<unsigned>(__builtin_ctz(w.arrived));
    const unsigned mask = threads_[wi * 32 + first].warp_mask;
    const unsigned needed = mask & w.exists & ~w.exited;
    if ((w.arrived & needed) != needed) return;
    for (unsigned m = needed; m; m &= m - 1) {
      Thread& t = threads_[wi * 32 + static_cast<unsigned>(__builtin_ctz(m))];
      if (t.warp_mask != mask) {
        error_ = format("lanes of warp %u use different masks (0x%08x and 0x%08x) in one warp-synchronous op", wi,
                        mask, t.warp_mask);
        return;
      }
      t.state = State::ready;
      ready_.push_back(t.linear);
    }
    w.arrived &= ~needed;
    ++w.generation;
  }

  void on_exit() {
    Thread& t = *current_;
    t.state = State::done;
    --live_;
    warps_[t.linear / 32].exited |= 1u << (t.linear % 32);
    if (live_ && arrived_ == live_) release_barrier();  // a returned thread no longer holds up a barrier
    try_release_warp(t.linear / 32);
  }

  std::string deadlock_message() const {
    unsigned at_barrier = 0, at_warp = 0;
    for (unsigned i = 0; i < n_; ++i) {
      at_barrier += threads_[i].state == State::at_barrier;
      at_warp += threads_[i].state == State::at_warp_op;
    }
    return format("deadlock in block (%u,%u,%u): %u threads wait at __syncthreads, %u at warp-synchronous ops, "
                  "%u have returned (a barrier inside a branch not all threads take, or a warp op whose mask "
                  "names lanes that never reach it)",
                  blockIdx.x, blockIdx.y, blockIdx.z, at_barrier, at_warp, n_ - live_);
  }

  // ---- context switches
  void resume(unsigned index) {
    Thread& t = threads_[index];
    current_ = &t;
    threadIdx = t.index;
#if defined(NN_EMU_TSAN)
    __tsan_switch_to_fiber(t.tsan_fiber, __tsan_switch_to_fiber_no_sync);
#endif
#if defined(NN_EMU_ASAN)
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, t.stack.base, t.stack.size);
#endif
    const ctx::transfer_t back = ctx::jump_fcontext(t.context, this);
    t.context = back.fctx;
#if defined(NN_EMU_ASAN)
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  }

  void yield() {
    [[maybe_unused]] Thread& t = *current_;
#if defined(NN_EMU_TSAN)
    __tsan_switch_to_fiber(scheduler_fiber_, __tsan_switch_to_fiber_no_sync);
#endif
#if defined(NN_EMU_ASAN)
    __sanitizer_start_switch_fiber(&t.asan_fake_stack, scheduler_stack_bottom_, scheduler_stack_size_);
#endif
    const ctx::transfer_t back = ctx::jump_fcontext(scheduler_, nullptr);
    scheduler_ = back.fctx;
#if defined(NN_EMU_ASAN)
    __sanitizer_finish_switch_fiber(t.asan_fake_stack, nullptr, nullptr);
#endif
  }

  static void fiber_entry(ctx::transfer_t from) {
    auto* self = static_cast<BlockRunner*>(from.data);
    self->scheduler_ = from.fctx;
    self->fiber_main();
  }

  [[noreturn]] void fiber_main() {
#if defined(NN_EMU_ASAN)
    __sanitizer_finish_switch_fiber(nullptr, &scheduler_stack_bottom_, &scheduler_stack_size_);
#endif
    NN_TSAN_ACQUIRE(&block_start_);
    entry_(arg_);
    NN_TSAN_RELEASE(&block_end_);
    NN_TSAN_RELEASE(&barrier_sync_[barrier_generation_ & 1]);  // visible to the others after their barrier
    on_exit();
#if defined(NN_EMU_TSAN)
    __tsan_switch_to_fiber(scheduler_fiber_, __tsan_switch_to_fiber_no_sync);
#endif
#if defined(NN_EMU_ASAN)
    __sanitizer_start_switch_fiber(nullptr, scheduler_stack_bottom_, scheduler_stack_size_);  // this fiber ends
#endif
    ctx::jump_fcontext(scheduler_, nullptr);
    __builtin_unreachable();
  }

  std::vector<Thread> threads_;
  std::vector<Warp> warps_;
  std::vector<unsigned> ready_;
  std::vector<unsigned char> dynamic_;
  Thread* current_ = nullptr;
  unsigned n_ = 0, live_ = 0, arrived_ = 0, barrier_generation_ = 0;
  Order order_ = Order::forward;
  std::mt19937_64 rng_;
  Entry entry_ = nullptr;
  void* arg_ = nullptr;
  std::string error_;
  ctx::fcontext_t scheduler_ = nullptr;
  const void* scheduler_stack_bottom_ = nullptr;
  size_t scheduler_stack_size_ = 0;
  char barrier_sync_[2] = {}, block_start_ = 0, block_end_ = 0;  // TSan sync addresses
#if defined(NN_EMU_TSAN)
  void* scheduler_fiber_ = nullptr;
#endif
};

BlockRunner& runner_in_kernel() {
  BlockRunner* r = BlockRunner::current_runner();
  if (!r) fatal("a device intrinsic was called outside a kernel launch");
  return *r;
}

// ---------------------------------------------------------------------------------------------------
// Device memory: [guard | payload | guard], payload 0xFF-filled, guards checked after every launch.

constexpr size_t kGuardBytes = 256;  // keeps the payload 256-byte aligned, as cudaMalloc's
constexpr unsigned char kGuardByte = 0xA7;

struct Allocations {
  std::mutex mutex;
  std::map<char*, size_t> live;  // payload -> size
};

Allocations& allocations() {
  static Allocations* a = new Allocations;
  return *a;
}

// Describes the first damaged guard band and repairs it, so one bad write is reported once.
std::string check_guards() {
  Allocations& a = allocations();
  std::lock_guard lock(a.mutex);
  for (auto& [payload, size] : a.live) {
    char* after = payload + size;
    for (size_t i = 0; i < kGuardBytes; ++i) {
      if (static_cast<unsigned char>(payload[-static_cast<ptrdiff_t>(kGuardBytes) + static_cast<ptrdiff_t>(i)]) !=
          kGuardByte) {
        std::memset(payload - kGuardBytes, kGuardByte, kGuardBytes);
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "the kernel wrote %zu bytes before the start of a %zu-byte device allocation (an index "
                      "below 0)",
                      kGuardBytes - i, size);
        return buf;
      }
    }
    for (size_t i = kGuardBytes; i-- > 0;) {
      if (static_cast<unsigned char>(after[i]) != kGuardByte) {
        std::memset(after, kGuardByte, kGuardBytes);
        char buf[256];
        std::snprintf(buf, sizeof buf,
                      "the kernel wrote past the end of a %zu-byte device allocation (up to byte %zu after it)",
                      size, i + 1);
        return buf;
      }
    }
  }
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// The interface of emulator.h

[[noreturn]] void fatal(const char* what) {
  if (BlockRunner* r = BlockRunner::current_runner()) {
    r->fail(what);  // inside a kernel: the launch fails with this message
    __builtin_unreachable();
  }
  std::fprintf(stderr, "CUDA emulator: %s\n", what);
  std::abort();
}

void syncthreads(const char* file, unsigned line) { runner_in_kernel().syncthreads(file, line); }
void syncwarp(unsigned mask) { runner_in_kernel().syncwarp(mask); }
uint64_t* warp_slots() { return runner_in_kernel().warp_slots(); }
unsigned warp_live_mask() { return runner_in_kernel().warp_live_mask(); }
unsigned linear_thread() { return runner_in_kernel().linear_thread(); }
void* dynamic_shared_raw() { return runner_in_kernel().dynamic_shared(); }

cudaError_t run_grid(const char* kernel, dim3 grid, dim3 block, size_t dynamic_smem, bool serial, Entry entry,
                     void* arg) {
  g_launches.fetch_add(1, std::memory_order_relaxed);
  t_error_message.clear();
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.y > 65535 || grid.z > 65535) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "invalid launch configuration: grid (%u,%u,%u), block (%u,%u,%u)", grid.x,
                  grid.y, grid.z, block.x, block.y, block.z);
    t_error_message = buf;
    return cudaErrorInvalidConfiguration;
  }
  if (dynamic_smem > 48 * 1024) {  // CUDA needs cudaFuncSetAttribute for more; skinnet does not use it
    t_error_message = "more than 48 KiB of dynamic shared memory requested";
    return cudaErrorInvalidValue;
  }
  Schedule schedule;
  {
    std::lock_guard lock(settings().mutex);
    schedule = settings().schedule;
  }
  const uint64_t nblocks = uint64_t{grid.x} * grid.y * grid.z;
  std::atomic<uint64_t> next{0};
  std::mutex error_mutex;
  std::string error;
  auto work = [&] {
    BlockRunner runner;
    for (uint64_t b; (b = next.fetch_add(1)) < nblocks;) {
      const uint3 index{static_cast<unsigned>(b % grid.x), static_cast<unsigned>((b / grid.x) % grid.y),
                        static_cast<unsigned>(b / (uint64_t{grid.x} * grid.y))};
      std::string e = runner.run(index, block, grid, dynamic_smem, entry, arg, schedule, b);
      if (!e.empty()) {
        next.store(nblocks);  // stop handing out blocks
        std::lock_guard lock(error_mutex);
        if (error.empty()) error = std::move(e);
      }
    }
  };
  // Blocks run on worker threads started for this launch, never on the caller: a new thread's
  // thread_local __shared__ variables start at zero, so nothing a previous launch left in shared memory
  // can stand in for a value this launch forgot to write (a missing barrier stays visible when a test
  // repeats a kernel on the same data).
  const uint64_t nworkers = serial ? 1 : std::min<uint64_t>(static_cast<uint64_t>(settings().workers), nblocks);
  StackPool::get();  // created before the workers start, so their creation orders it (matters under TSan)
  std::vector<std::thread> workers;
  workers.reserve(nworkers);
  for (uint64_t w = 0; w < nworkers; ++w) workers.emplace_back(work);
  for (std::thread& t : workers) t.join();
  (void)kernel;
  if (!error.empty()) {
    t_error_message = error;
    return cudaErrorLaunchFailure;
  }
  if (std::string guard = check_guards(); !guard.empty()) {
    t_error_message = guard;
    return cudaErrorIllegalAddress;
  }
  return cudaSuccess;
}

cudaError_t device_malloc(void** p, size_t n) {
  const size_t total = n + 2 * kGuardBytes;
  void* raw = nullptr;
  if (posix_memalign(&raw, kGuardBytes, total) != 0) {
    t_error_message = "out of host memory for emulated device memory";
    return cudaErrorMemoryAllocation;
  }
  char* payload = static_cast<char*>(raw) + kGuardBytes;
  std::memset(raw, kGuardByte, kGuardBytes);
  std::memset(payload, 0xFF, n);  // cudaMalloc does not clear memory: NaN exposes reads of unwritten data
  std::memset(payload + n, kGuardByte, kGuardBytes);
  {
    Allocations& a = allocations();
    std::lock_guard lock(a.mutex);
    a.live.emplace(payload, n);
  }
  *p = payload;
  return cudaSuccess;
}

cudaError_t device_free(void* p) {
  if (!p) return cudaSuccess;
  Allocations& a = allocations();
  std::lock_guard lock(a.mutex);
  auto it = a.live.find(static_cast<char*>(p));
  if (it == a.live.end()) {
    t_error_message = "cudaFree of a pointer that cudaMalloc did not return (or that was already freed)";
    return cudaErrorInvalidDevicePointer;
  }
  a.live.erase(it);
  std::free(static_cast<char*>(p) - kGuardBytes);
  return cudaSuccess;
}

const char* last_error_message(cudaError_t e) {
  if (e == cudaSuccess) return "no error";
  if (!t_error_message.empty()) return t_error_message.c_str();
  return cudaGetErrorName(e);
}

// ---------------------------------------------------------------------------------------------------
// kernels/cuda/emulation.h

void set_schedule(Schedule s) {
  std::lock_guard lock(settings().mutex);
  settings().schedule = s;
}

Schedule schedule() {
  std::lock_guard lock(settings().mutex);
  return settings().schedule;
}

uint64_t launches() { return g_launches.load(std::memory_order_relaxed); }

int workers() { return settings().workers; }

}  // namespace nn::emu
