// The packed GEMM driver, packing and cache blocking (kernels/cpu/gemm/packed.h).
#include "kernels/cpu/gemm/packed.h"

#include <omp.h>
#ifdef __SSE2__
#include <xmmintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "base/error.h"
#include "kernels/cpu/sanitize.h"
#include "base/math.h"
#include "kernels/cpu/gemm/ladder.h"

namespace nn::cpu_gemm {

namespace {

std::atomic<int> g_forced_isa{-1};  // -1: the widest the CPU has

int64_t round_up(int64_t a, int64_t step) { return ceil_div(a, step) * step; }
int64_t round_down(int64_t a, int64_t step) { return a / step * step; }

// A grow-only 64-byte-aligned buffer per thread: a call packs into memory the previous one left warm in
// the cache and mapped, instead of paying page faults for a fresh multi-megabyte allocation every time.
struct FreeAligned {
  void operator()(float* p) const { std::free(p); }
};
float* thread_buffer(int which, int64_t floats) {
  thread_local std::unique_ptr<float[], FreeAligned> buffers[2];
  thread_local int64_t sizes[2] = {0, 0};
  if (sizes[which] < floats) {
    const int64_t bytes = round_up(floats * 4, 64);
    buffers[which].reset(static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>(bytes))));
    NN_CHECK(buffers[which] != nullptr, "gemm: cannot allocate a {} byte packing buffer", bytes);
    sizes[which] = floats;
  }
  return buffers[which].get();
}

}  // namespace

namespace {

// dst[k * w + i] = src[i * ld + k] for i < count, k < kc: `count` rows of a matrix, contiguous along k, laid
// out k by k in a panel w floats wide. Packing A (not transposed) and B (transposed) are both this; by 4 x 4
// blocks transposed in SSE registers (every x86-64 has SSE2), then the leftovers one by one.
void pack_rows_transposed(const float* src, int64_t ld, int64_t count, int64_t kc, int w, float* dst) {
  int64_t i = 0;
#ifdef __SSE2__
  for (; i + 4 <= count; i += 4) {
    const float* r = src + i * ld;
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
      __m128 r0 = _mm_loadu_ps(r + k), r1 = _mm_loadu_ps(r + ld + k), r2 = _mm_loadu_ps(r + 2 * ld + k),
             r3 = _mm_loadu_ps(r + 3 * ld + k);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);  // now r0 holds element k of the 4 rows, r1 element k + 1, ...
      _mm_storeu_ps(dst + k * w + i, r0);
      _mm_storeu_ps(dst + (k + 1) * w + i, r1);
      _mm_storeu_ps(dst + (k + 2) * w + i, r2);
      _mm_storeu_ps(dst + (k + 3) * w + i, r3);
    }
    for (; k < kc; ++k)
      for (int64_t ii = 0; ii < 4; ++ii) dst[k * w + i + ii] = r[ii * ld + k];
  }
#endif
  for (; i < count; ++i)
    for (int64_t k = 0; k < kc; ++k) dst[k * w + i] = src[i * ld + k];
  for (; i < w; ++i)  // zero padding of an edge panel
    for (int64_t k = 0; k < kc; ++k) dst[k * w + i] = 0.0f;
}

// dst[k * MR + i] = src[k * ld + i] for i < MR, k < kc: a transposed A's full panel, MR contiguous floats per
// k. A copy of a size known at compile time is a couple of vector moves; the loop over i with the panel's
// row count at run time was scalar, 18% of a `tn` GEMM of VGG's conv4 backward data (M = 4608).
template <int MR>
void copy_columns(const float* src, int64_t ld, int64_t kc, float* dst) {
  for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * MR, src + k * ld, MR * sizeof(float));
}

}  // namespace

void pack_a(const float* A, int64_t rs, int64_t cs, int64_t mc, int64_t kc, int mr, float* dst) {
  for (int64_t p0 = 0; p0 < mc; p0 += mr, dst += kc * mr) {
    const int64_t rows = std::min<int64_t>(mr, mc - p0);
    const float* src = A + p0 * rs;
    if (cs == 1) {  // op(A) = A: rows are contiguous along k
      pack_rows_transposed(src, rs, rows, kc, mr, dst);
      continue;
    }
    if (rs == 1 && rows == mr) {  // op(A) = A^T, a full panel: per k, mr contiguous floats, copied as a block
      switch (mr) {
        case 4: copy_columns<4>(src, cs, kc, dst); continue;
        case 6: copy_columns<6>(src, cs, kc, dst); continue;
        case 8: copy_columns<8>(src, cs, kc, dst); continue;
        default: break;
      }
    }
    for (int64_t k = 0; k < kc; ++k) {  // op(A) = A^T: the mr values of one k are contiguous
      float* d = dst + k * mr;
      for (int64_t i = 0; i < rows; ++i) d[i] = src[i * rs + k * cs];
      for (int64_t i = rows; i < mr; ++i) d[i] = 0.0f;
    }
  }
}

namespace {

// pack_b for op(B) = B, row by row: each row of the block is read once, sequentially, and its NR-float
// pieces go to the panels (which sit in L1/L2). Reading panel by panel instead would touch one 64-byte
// piece of every row per panel: a new page for every load on wide matrices.
template <int NR>
void pack_b_rows(const float* B, int64_t rs, int64_t kc, int64_t nc, int nr_runtime, float* dst) {
  const int nr = NR > 0 ? NR : nr_runtime;
  const int64_t full = nc / nr, rest = nc - full * nr;
  for (int64_t k = 0; k < kc; ++k) {
    const float* row = B + k * rs;
    float* d = dst + k * nr;
    for (int64_t p = 0; p < full; ++p)
      for (int j = 0; j < nr; ++j) d[p * kc * nr + j] = row[p * nr + j];
    if (rest > 0) {
      float* e = d + full * kc * nr;
      for (int64_t j = 0; j < rest; ++j) e[j] = row[full * nr + j];
      for (int64_t j = rest; j < nr; ++j) e[j] = 0.0f;
    }
  }
}

}  // namespace

void pack_b(const float* B, int64_t rs, int64_t cs, int64_t kc, int64_t nc, int nr, float* dst) {
  if (cs == 1) {
    switch (nr) {  // a compile-time width lets the compiler unroll and vectorise the copies
      case 16: return pack_b_rows<16>(B, rs, kc, nc, nr, dst);
      case 24: return pack_b_rows<24>(B, rs, kc, nc, nr, dst);
      case 48: return pack_b_rows<48>(B, rs, kc, nc, nr, dst);
      default: return pack_b_rows<0>(B, rs, kc, nc, nr, dst);
    }
  }
  for (int64_t p0 = 0; p0 < nc; p0 += nr, dst += kc * nr)  // op(B) = B^T: a panel's columns are B's rows
    pack_rows_transposed(B + p0 * cs, cs, std::min<int64_t>(nr, nc - p0), kc, nr, dst);
}

Blocking blocking_for(const MicroKernel& k) {
  const CpuCaches& caches = cpu_caches();
  // KC: the B micro-panel (KC x NR floats) takes half of L1, the rest is for A's micro-panel and C's tile.
  // Never under 128: below that the tile's loads and stores of C are no longer small beside the KC FMAs.
  const int64_t kc = std::max<int64_t>(128, round_down(caches.l1d / 2 / (4 * k.nr), 8));
  // MC: the packed A block (MC x KC) takes half of L2; a multiple of MR.
  const int64_t mc = std::max<int64_t>(k.mr, round_down(caches.l2 / 2 / (4 * kc), k.mr));
  // NC: the packed B block (KC x NC) a quarter of L3, capped at 4096 columns (16 MiB of L3 is plenty and
  // the buffer is allocated per thread); a multiple of NR.
  const int64_t nc = std::clamp<int64_t>(round_down(caches.l3 / 4 / (4 * kc), k.nr), k.nr,
                                         round_down(4096, k.nr));
  return {mc, kc, nc};
}

namespace {

// The macro-kernel: C[0:mc, jr0*nr : jr1*nr] += the packed A block (mc x kc) times B micro-panels
// [jr0, jr1) of the packed B block, panel by panel (each stays in L1 while A's panels stream from L2
// past it), in MR x NR tiles. Edge tiles go through `scratch`.
void macro_kernel(const MicroKernel& uk, int64_t kc, int64_t mc, int64_t nc, int64_t jr0, int64_t jr1,
                  const float* apack, const float* bpack, float alpha, float beta, float* C, int64_t ldc,
                  float* scratch) {
  const int mr = uk.mr, nr = uk.nr;
  const int64_t m_panels = ceil_div<int64_t>(mc, mr);
  for (int64_t jr = jr0; jr < jr1; ++jr) {
    const int64_t cols = std::min<int64_t>(nr, nc - jr * nr);
    const float* b = bpack + jr * kc * nr;
    // An edge panel: the narrowest variant that covers `cols`, if the kernel has one.
    MicroKernelFn fn = uk.fn;
    int64_t width = nr;
    if (cols < nr && uk.vw > 0) {
      const int64_t v = ceil_div<int64_t>(cols, uk.vw);
      if (uk.narrow[v] != nullptr) fn = uk.narrow[v], width = v * uk.vw;
    }
    for (int64_t ir = 0; ir < m_panels; ++ir) {
      const int64_t rows = std::min<int64_t>(mr, mc - ir * mr);
      const float* a = apack + ir * kc * mr;
      float* c = C + ir * mr * ldc + jr * nr;
      if (rows == mr && cols == width) {
        fn(kc, a, b, alpha, beta, c, ldc);
        continue;
      }
      fn(kc, a, b, alpha, 0.0f, scratch, nr);
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          float& cij = c[i * ldc + j];
          cij = scratch[i * nr + j] + (beta == 0.0f ? 0.0f : beta * cij);
        }
    }
  }
}

}  // namespace

void gemm_packed(const MicroKernel& uk, const Blocking& bl, int threads, Trans ta, Trans tb, int64_t M, int64_t N,
                 int64_t K, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                 float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) {  // BLAS semantics: C = beta * C, A and B unread
    scale_c(C, ldc, M, N, beta);
    return;
  }
  const int mr = uk.mr, nr = uk.nr;
  NN_CHECK(mr * nr <= 16 * 64, "gemm: micro-kernel tile {}x{} exceeds the driver's scratch tile", mr, nr);
  const int64_t a_rs = ta == Trans::no ? lda : 1, a_cs = ta == Trans::no ? 1 : lda;
  const int64_t b_rs = tb == Trans::no ? ldb : 1, b_cs = tb == Trans::no ? 1 : ldb;
  // Blocks of equal size: K = 576 with KC = 256 runs as 3 x 192, not 256 + 256 + 64 (a short block pays the
  // loads and stores of C's tiles over few FMAs), and M = 300 with MC = 252 as 2 x 150.
  auto balanced = [](int64_t n, int64_t block, int64_t multiple) {
    return round_up(ceil_div<int64_t>(n, ceil_div<int64_t>(n, block)), multiple);
  };
  const int64_t NC = balanced(N, bl.nc, nr), KC = balanced(K, bl.kc, 1), MC = balanced(M, bl.mc, mr);
  constexpr int64_t kc_min = 64;  // a K split leaves each thread at least this much of K
  if (omp_in_parallel()) threads = 1;
  // A region costs a few microseconds: not worth it under ~1 MFLOP per thread.
  threads = static_cast<int>(std::clamp<int64_t>(static_cast<int64_t>(2.0 * M * N * K / 1e6), 1, threads));
  const int64_t m_blocks = ceil_div<int64_t>(M, MC);

  if (m_blocks == 1) {
    // All of M in one block (most convolutions: M is the output channels): a packed block of B would be
    // used once, by this block alone, so packing it L3-sized only moves it through memory twice. Instead
    // each thread walks its share in L2-sized blocks of B, which are packed and consumed while still in L2;
    // A (M x KC) is packed once per KC step. Shares: B's micro-panels split evenly between the threads; or,
    // when there are too few panels to split evenly and K is long (a weight gradient: N = C*R*S may be 64,
    // K = the pixels of a batch, thousands), K, each thread summing its part of the product into its own
    // copy of C, added up in thread order at the end (the result does not depend on timing).
    const int64_t nc_l2 = std::max<int64_t>(nr, round_down(cpu_caches().l2 / 2 / (4 * KC), nr));
    const int64_t n_panels = ceil_div<int64_t>(N, nr);
    const bool split_k = threads > 1 && n_panels < 4 * threads && K >= 2 * threads * kc_min;
    std::unique_ptr<float[]> partial(split_k ? new float[static_cast<size_t>((threads - 1) * M * N)] : nullptr);
    // C[:, n0:n1] (D, row stride ldd) = alpha * op(A)[:, k0:k1] op(B)[k0:k1, n0:n1] + beta0 * D, on this thread.
    auto serial = [&](int64_t n0, int64_t n1, int64_t k0, int64_t k1, float* D, int64_t ldd, float beta0) {
      alignas(64) float scratch[16 * 64];
      float* const apack = thread_buffer(1, MC * KC);
      float* const bpack = thread_buffer(0, KC * std::min(nc_l2, round_up(std::max<int64_t>(n1 - n0, 1), nr)));
      const int64_t kb = balanced(k1 - k0, KC, 1);
      for (int64_t pc = k0; pc < k1 && n0 < n1; pc += kb) {
        const int64_t kc = std::min(kb, k1 - pc);
        const float beta_k = pc == k0 ? beta0 : 1.0f;
        pack_a(A + pc * a_cs, a_rs, a_cs, M, kc, mr, apack);
        for (int64_t jc = n0; jc < n1; jc += nc_l2) {
          const int64_t nc = std::min(nc_l2, n1 - jc);
          pack_b(B + pc * b_rs + jc * b_cs, b_rs, b_cs, kc, nc, nr, bpack);
          macro_kernel(uk, kc, M, nc, 0, ceil_div<int64_t>(nc, nr), apack, bpack, alpha, beta_k, D + jc, ldd,
                       scratch);
        }
      }
    };
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      if (!split_k) {
        const int64_t p0 = n_panels * t / nt, p1 = n_panels * (t + 1) / nt;
        serial(std::min(N, p0 * nr), std::min(N, p1 * nr), 0, K, C, ldc, beta);
      } else {
        const int64_t k0 = K * t / nt, k1 = K * (t + 1) / nt;
        if (t == 0) serial(0, N, k0, k1, C, ldc, beta);
        else serial(0, N, k0, k1, partial.get() + (t - 1) * M * N, N, 0.0f);
#pragma omp barrier
#pragma omp for schedule(static)
        for (int64_t i = 0; i < M; ++i)
          for (int64_t u = 1; u < nt; ++u) {
            const float* src = partial.get() + (u - 1) * M * N + i * N;
            float* dst = C + i * ldc;
            for (int64_t j = 0; j < N; ++j) dst[j] += src[j];
          }
      }
    }
    return;
  }

  float* const bpack = thread_buffer(0, KC * NC);  // shared by the region's threads; the caller owns it
  // Every thread of the region runs this. `omp for` splits a loop among them, with a barrier at its end;
  // schedule(dynamic) hands out the next piece to whichever thread is free, so a thread the OS preempts
  // (the machine is shared) delays only the piece it holds, not a fixed half of the work.
  auto body = [&] {
    alignas(64) float scratch[16 * 64];  // an edge tile (mr * nr <= 1024, checked below)
    float* const apack = thread_buffer(1, MC * KC);  // this thread's packed block of A
    for (int64_t jc = 0; jc < N; jc += NC) {
      const int64_t nc = std::min(NC, N - jc), n_panels = ceil_div<int64_t>(nc, nr);
      // The grid of macro tiles: MC rows x a chunk of B's micro-panels; at least ~4 per thread, so that
      // dynamic scheduling can even out the load, but no chunk under 4 panels.
      const int64_t n_chunks =
          std::clamp<int64_t>(ceil_div<int64_t>(4 * threads, m_blocks), 1, std::max<int64_t>(1, n_panels / 4));
      const int64_t chunk = ceil_div<int64_t>(n_panels, n_chunks);
      for (int64_t pc = 0; pc < K; pc += KC) {
        const int64_t kc = std::min(KC, K - pc);
        const float beta_k = pc == 0 ? beta : 1.0f;
#pragma omp for schedule(dynamic, 8)
        for (int64_t p = 0; p < n_panels; ++p)
          pack_b(B + pc * b_rs + (jc + p * nr) * b_cs, b_rs, b_cs, kc, std::min<int64_t>(nr, nc - p * nr), nr,
                 bpack + p * kc * nr);
        int64_t packed_ic = -1;
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < m_blocks * n_chunks; ++t) {
          const int64_t ic = t / n_chunks * MC, mc = std::min(MC, M - ic);
          if (ic != packed_ic) {  // consecutive tiles of one thread usually share the block of A
            pack_a(A + ic * a_rs + pc * a_cs, a_rs, a_cs, mc, kc, mr, apack);
            packed_ic = ic;
          }
          const int64_t jr0 = t % n_chunks * chunk;
          macro_kernel(uk, kc, mc, nc, jr0, std::min(n_panels, jr0 + chunk), apack, bpack, alpha, beta_k,
                       C + ic * ldc + jc, ldc, scratch);
        }
      }
    }
  };
  // Always a region, of one thread when threads == 1: an `omp for` binds to the innermost region, and
  // inside a caller's parallel loop that must be ours, not the caller's team.
#pragma omp parallel num_threads(threads) if (threads > 1)
  body();
}

const MicroKernel& best_microkernel() {
  const int forced = g_forced_isa.load(std::memory_order_relaxed);
  const CpuIsa isa = forced >= 0 ? static_cast<CpuIsa>(forced) : best_cpu_isa();
  switch (isa) {
    case CpuIsa::avx512: return avx512_microkernel();
    case CpuIsa::avx2: return avx2_microkernel();
    case CpuIsa::portable: break;
  }
  return portable_microkernel();
}

void force_isa(CpuIsa isa) {
  NN_CHECK(cpu_has(isa), "gemm: this CPU cannot run the {} micro-kernel", isa_name(isa));
  g_forced_isa.store(static_cast<int>(isa));
}

void unforce_isa() { g_forced_isa.store(-1); }

#if defined(NN_SANITIZE)
void check_microkernel_footprint(const float* a, int64_t a_floats, const float* b, int64_t b_floats,
                                 const float* c, int64_t ldc, int rows, int cols) {
  check_footprint(a, a_floats * int64_t{sizeof(float)});
  check_footprint(b, b_floats * int64_t{sizeof(float)});
  for (int i = 0; i < rows; ++i) check_footprint(c + i * ldc, cols * int64_t{sizeof(float)});
}
#endif

}  // namespace nn::cpu_gemm
