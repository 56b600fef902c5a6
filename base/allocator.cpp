// The caching CPU allocator (see allocator.h for why it exists).
#include "base/allocator.h"

#include <sys/sysinfo.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "base/math.h"

namespace nn {

struct CpuAllocator::State {
  std::mutex mutex;
  std::map<size_t, std::vector<void*>> free_blocks;  // block size -> cached blocks
  std::unordered_map<void*, size_t> block_size;      // cacheable blocks handed out -> their real size
  AllocatorStats stats;
  int64_t limit_bytes = 0;  // allocated + cached above this releases the cache before a new OS block
  int64_t high_water = 0;   // the most bytes ever allocated at once (live tensors, not the cache)
};

namespace {

constexpr int64_t kSlackBytes = int64_t{64} << 20;  // cache allowed beyond the live peak (at least)

void* os_allocate(size_t nbytes) {
  void* p = nullptr;
  if (posix_memalign(&p, CpuAllocator::kAlignment, nbytes) != 0) return nullptr;
  return p;
}

bool caching_enabled() {
#if defined(NN_SANITIZE)
  return false;
#else
  const char* env = std::getenv("NN_CPU_CACHE");
  return !(env && std::string(env) == "0");
#endif
}

int64_t cache_limit_bytes() {
  if (const char* env = std::getenv("NN_CPU_CACHE_LIMIT_MB")) return std::atoll(env) << 20;
  struct sysinfo info {};
  if (sysinfo(&info) == 0) return static_cast<int64_t>(info.totalram) * info.mem_unit / 2;
  return int64_t{8} << 30;
}

// Caller holds the mutex. Frees cached blocks, largest first, until `target` bytes are released.
void release_cached(CpuAllocator::State& s, int64_t target) {
  int64_t released = 0;
  while (released < target && !s.free_blocks.empty()) {
    auto it = std::prev(s.free_blocks.end());
    for (void* p : it->second) std::free(p);
    released += static_cast<int64_t>(it->first * it->second.size());
    s.stats.cached_bytes -= static_cast<int64_t>(it->first * it->second.size());
    s.free_blocks.erase(it);
  }
}

}  // namespace

CpuAllocator::CpuAllocator() : state_(new State), caching_(caching_enabled()) {
  state_->limit_bytes = cache_limit_bytes();
}

CpuAllocator& CpuAllocator::instance() {
  static CpuAllocator* allocator = new CpuAllocator;  // never destroyed: tensors may outlive statics
  return *allocator;
}

size_t CpuAllocator::round_size(size_t nbytes) {
  if (nbytes == 0) nbytes = 1;
  if (nbytes < kCacheMinBytes) return ceil_div(nbytes, kAlignment) * kAlignment;
  size_t power = size_t{1} << (63 - __builtin_clzll(nbytes));  // largest power of two <= nbytes
  size_t step = power / 4;
  return ceil_div(nbytes, step) * step;
}

void* CpuAllocator::allocate(size_t nbytes) {
  const size_t size = round_size(nbytes);
  State& s = *state_;
  std::lock_guard lock(s.mutex);
  if (caching_ && size >= kCacheMinBytes) {
    // The smallest cached block that fits and wastes at most half of itself: an exact size class in a
    // training loop; in inference, whose activations shrink layer by layer, a larger block already in
    // memory beats releasing it and faulting in a new one.
    auto it = s.free_blocks.lower_bound(size);
    if (it != s.free_blocks.end() && it->first <= 2 * size) {
      const size_t block = it->first;
      void* p = it->second.back();
      it->second.pop_back();
      if (it->second.empty()) s.free_blocks.erase(it);
      s.block_size[p] = block;
      s.stats.cached_bytes -= static_cast<int64_t>(block);
      s.stats.cache_hits++;
      s.stats.allocated_bytes += static_cast<int64_t>(block);
      s.stats.peak_allocated_bytes = std::max(s.stats.peak_allocated_bytes, s.stats.allocated_bytes);
      return p;
    }
    // The cache may hold what the program has needed at its peak, and a little more: blocks of sizes
    // that are no longer asked for (inference walks through many activation sizes once) are returned
    // before new ones are taken, so the process never holds much more than its live peak. A training
    // loop asks for the same sizes every step and stays within that bound: no OS allocation after step 1.
    const int64_t want = s.stats.allocated_bytes + static_cast<int64_t>(size);
    s.high_water = std::max(s.high_water, want);
    const int64_t limit = std::min(s.limit_bytes, s.high_water + std::max(kSlackBytes, s.high_water / 16));
    const int64_t over = want + s.stats.cached_bytes - limit;
    if (over > 0) release_cached(s, over);
  }
  void* p = os_allocate(size);
  if (!p && s.stats.cached_bytes > 0) {
    release_cached(s, s.stats.cached_bytes);
    p = os_allocate(size);
  }
  NN_CHECK(p, "out of memory: cannot allocate {} bytes ({:.1f} MiB) for a tensor; {:.1f} MiB are in use",
           size, size / 1048576.0, s.stats.allocated_bytes / 1048576.0);
  (size >= kCacheMinBytes ? s.stats.os_allocations : s.stats.small_allocations)++;
  if (caching_ && size >= kCacheMinBytes) s.block_size[p] = size;
  s.stats.allocated_bytes += static_cast<int64_t>(size);
  s.stats.peak_allocated_bytes = std::max(s.stats.peak_allocated_bytes, s.stats.allocated_bytes);
  return p;
}

void CpuAllocator::deallocate(void* ptr, size_t nbytes) {
  if (!ptr) return;
  size_t size = round_size(nbytes);
  State& s = *state_;
  std::lock_guard lock(s.mutex);
  if (caching_ && size >= kCacheMinBytes) {
    auto it = s.block_size.find(ptr);
    NN_INTERNAL_CHECK(it != s.block_size.end());
    size = it->second;  // may be larger than the request (a reused block)
    s.block_size.erase(it);
    s.stats.allocated_bytes -= static_cast<int64_t>(size);
    s.free_blocks[size].push_back(ptr);
    s.stats.cached_bytes += static_cast<int64_t>(size);
    return;
  }
  s.stats.allocated_bytes -= static_cast<int64_t>(size);
  std::free(ptr);
}

AllocatorStats CpuAllocator::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

void CpuAllocator::reset_peak() {
  std::lock_guard lock(state_->mutex);
  state_->stats.peak_allocated_bytes = state_->stats.allocated_bytes;
}

}  // namespace nn
