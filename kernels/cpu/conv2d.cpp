// Fast CPU conv2d: im2col + GEMM over groups of images (see kernels/conv2d.h for the math).
//
// Images are processed in groups of nb so that one GEMM covers nb*P*Q columns: late ResNet layers have
// P*Q = 49, far too narrow for an efficient GEMM on its own, while 32 images give 1568 columns. The group
// is as large as fits buffers of kColumnBudget elements. Images with at least kWideEnough output pixels
// go one per GEMM, which then reads dy and writes y in place (no gather, no scatter), in bands of output
// rows whose columns fit kBandBudget (at least kMinBandColumns); a 1x1/stride-1/unpadded convolution uses
// x itself as the column matrix. With two or more threads and as many images, the groups (or single images) are spread over the
// threads, each running single-threaded GEMMs on its own buffers (image_workers, for_each_group). The input
// gradient of a wide stride-1 convolution is a forward convolution of dy with the flipped filters
// (backward_data_by_forward). A forward may end with an epilogue (bias, or scale/shift/ReLU) in its output pass.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/allocator.h"
#include "base/math.h"
#include "base/parallel.h"
#include "kernels/conv2d.h"
#include "kernels/cpu/conv2d_blocked.h"
#include "kernels/cpu/conv2d_depthwise.h"
#include "kernels/cpu/conv2d_wgrad.h"
#include "kernels/cpu/lane_sum.h"
#include "kernels/cpu/vec_math.h"
#include "kernels/gemm.h"

namespace nn {

thread_local Conv2dCpuTrace t_trace;

Conv2dCpuTrace& conv2d_cpu_trace() { return t_trace; }

namespace {

using TraceSlot = const char* Conv2dCpuTrace::*;

void note(TraceSlot slot, const char* what) { t_trace.*slot = what; }

constexpr int64_t kColumnBudget = int64_t{8} << 20;  // elements of the column buffer (32 MiB as float)

// An image with this many output pixels makes a GEMM wide enough on its own.
constexpr int64_t kWideEnough = 784;  // 28x28: measured on ResNet-50 shapes (docs/performance.md)

// Images per GEMM: one when an image is wide enough (the GEMM then reads and writes the tensors in place:
// no gather of dy, no scatter of y, and a pointwise conv needs no columns at all); otherwise as many as
// keep each worker's column buffer (and [K, nb*P*Q] product) within budget, and no more than gives every
// worker (image_workers) a group.
int64_t group_size(const Conv2dParams& p, const Conv2dCpuTuning& tuning, int workers) {
  if (tuning.images_per_gemm > 0) return std::min(tuning.images_per_gemm, std::max<int64_t>(p.N, 1));  // tests
  if (p.P * p.Q >= kWideEnough) return 1;
  const int64_t per_image = std::max<int64_t>(1, std::max(p.C * p.R * p.S, p.K) * p.P * p.Q);
  const int64_t per_worker = ceil_div<int64_t>(std::max<int64_t>(p.N, 1), workers);  // every worker gets a group
  return std::clamp<int64_t>(kColumnBudget / workers / per_image, 1, per_worker);
}

bool is_pointwise(const Conv2dParams& p) {
  return p.R == 1 && p.S == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0;
}

// col[(c*R + r)*S + s][i*B*Q + (p - p0)*Q + q] = x[n0 + i, c, p*stride_h - pad_h + r*dil_h,
// q*stride_w - pad_w + s*dil_w] (0 outside): images [n0, n0 + nb), output rows p0 <= p < p1 (B = p1 - p0;
// all rows unless p1 > 0).
template <class T>
void im2col(T* col, const T* x, int64_t n0, int64_t nb, const Conv2dParams& p, int64_t p0 = 0, int64_t p1 = -1) {
  if (p1 < 0) p1 = p.P;
  const int64_t BQ = (p1 - p0) * p.Q, cols = nb * BQ, rows = p.C * p.R * p.S;
  parallel_for(0, rows, 1, [&](int64_t row0, int64_t row1) {
    for (int64_t row = row0; row < row1; ++row) {
      const int64_t c = row / (p.R * p.S), r = row / p.S % p.R, s = row % p.S;
      for (int64_t i = 0; i < nb; ++i) {
        const T* plane = x + ((n0 + i) * p.C + c) * p.H * p.W;
        T* out = col + row * cols + i * BQ;
        for (int64_t op = p0; op < p1; ++op) {
          const int64_t h = op * p.stride_h - p.pad_h + r * p.dil_h;
          T* out_row = out + (op - p0) * p.Q;
          if (h < 0 || h >= p.H) {
            std::fill(out_row, out_row + p.Q, T(0));
            continue;
          }
          const T* in_row = plane + h * p.W;
          const int64_t w0 = s * p.dil_w - p.pad_w;
          // Outputs q0 <= oq < q1 read inside the row; the rest are padding. No test per element.
          const auto [q0, q1] = conv2d_valid_range(w0, p.stride_w, p.W, p.Q);
          std::fill(out_row, out_row + q0, T(0));
          if (p.stride_w == 1) {
            std::memcpy(out_row + q0, in_row + q0 + w0, static_cast<size_t>(q1 - q0) * sizeof(T));
          } else {
            for (int64_t oq = q0; oq < q1; ++oq) out_row[oq] = in_row[oq * p.stride_w + w0];
          }
          std::fill(out_row + q1, out_row + p.Q, T(0));
        }
      }
    }
  });
}

// dx[n0 + i] += the unfolded columns (layout as im2col's, rows [p0, p1)) folded back; parallel over
// channels (each owns its planes).
template <class T>
void col2im_add(T* dx, const T* col, int64_t n0, int64_t nb, const Conv2dParams& p, int64_t p0 = 0, int64_t p1 = -1) {
  if (p1 < 0) p1 = p.P;
  const int64_t BQ = (p1 - p0) * p.Q, cols = nb * BQ;
  parallel_for(0, p.C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      for (int64_t r = 0; r < p.R; ++r) {
        for (int64_t s = 0; s < p.S; ++s) {
          const T* row = col + ((c * p.R + r) * p.S + s) * cols;
          for (int64_t i = 0; i < nb; ++i) {
            T* plane = dx + ((n0 + i) * p.C + c) * p.H * p.W;
            for (int64_t op = p0; op < p1; ++op) {
              const int64_t h = op * p.stride_h - p.pad_h + r * p.dil_h;
              if (h < 0 || h >= p.H) continue;
              const T* in = row + i * BQ + (op - p0) * p.Q;
              T* out_row = plane + h * p.W;
              const int64_t w0 = s * p.dil_w - p.pad_w;
              const auto [q0, q1] = conv2d_valid_range(w0, p.stride_w, p.W, p.Q);
              for (int64_t oq = q0; oq < q1; ++oq) out_row[oq * p.stride_w + w0] += in[oq];
            }
          }
        }
      }
    }
  });
}

// dst[k][i*PQ + j] = src[n0 + i][k][j]: gather a group's dy into one [K, nb*PQ] matrix.
template <class T>
void gather_group(T* dst, const T* src, int64_t n0, int64_t nb, int64_t K, int64_t PQ) {
  parallel_for(0, K, 1, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k)
      for (int64_t i = 0; i < nb; ++i)
        std::memcpy(dst + k * nb * PQ + i * PQ, src + ((n0 + i) * K + k) * PQ, static_cast<size_t>(PQ) * sizeof(T));
  });
}

// Elements of the column buffer of one row band (one image per GEMM): 1 MiB as float, about twice a Zen 3
// core's L2, so that the GEMM packs the columns im2col has just written while they are still in cache; but
// never fewer rows than make kMinBandColumns columns, or the GEMM gets too narrow. Bands used to hold 16 MiB
// (whole 56x56 images). Forward and weight gradient at batch 8 on Zen 3, whole images -> bands of R rows, ms
// (interleaved, median of 5; bench runs vary by ~10%): 64 -> 64 3x3 at 56x56, R = 8: 22.2 -> 19.0 and 18.4 ->
// 17.9; 128 -> 128 at 56x56, R = 8: 70.5 -> 58.6 and 67.6 -> 58.6; 64 -> 64 at 112x112, R = 4: 82.9 -> 62.2
// and 73.9 -> 65.5; 256 -> 256 at 56x56, R = 8: 224 -> 201 (forward); but 512 -> 512 at 28x28 was slower
// with 2-8 rows (N = 56-224 columns) than whole (204-230 ms against 242-287).
constexpr int64_t kBandBudget = int64_t{256} << 10;
constexpr int64_t kMinBandColumns = 448;

// How many threads take whole images or groups of images: all of them when there are as many images,
// each running single-threaded GEMMs (OpenBLAS does inside our parallel regions). Two GEMMs side by side
// beat one GEMM split over both cores on these mid-sized products: no synchronisation inside the GEMM,
// each core in its own caches (ResNet-50's convolutions, batch 8: 1.14x forward + backward).
int image_workers(const Conv2dParams& p, const Conv2dCpuTuning& tuning) {
  using Spread = Conv2dCpuTuning::ImageSpread;
  const int threads = num_threads();
  if (threads < 2 || omp_in_parallel() || tuning.image_spread == Spread::in_order || p.N < 2) return 1;
  return tuning.image_spread == Spread::spread || p.N >= threads ? static_cast<int>(std::min<int64_t>(threads, p.N))
                                                                 : 1;
}

// What the three passes share: the image grouping and each worker's scratch matrices (caching allocator).
template <class T>
struct CpuConvPlan {
  const Conv2dParams& p;
  const int64_t PQ, CRS;
  const int workers;   // threads taking whole groups (1: groups in order, each GEMM on every thread)
  const int64_t nb_max;  // images per GEMM
  const bool direct;   // one image per GEMM and a 1x1/stride-1/unpadded conv: x is its own column matrix
  const int64_t band;  // output rows per GEMM when nb_max == 1 (all P otherwise)
  const int64_t col_size, mat_size;  // elements per worker
  CpuBuffer col;       // per worker: [CRS, nb_max*PQ] unfolded input, or [CRS, band*Q] with one image per GEMM
  CpuBuffer mat;       // per worker: [K, nb_max*PQ] gathered dy, or the forward product before its scatter

  CpuConvPlan(const Conv2dParams& params, const Conv2dCpuTuning& tuning)
      : p(params),
        PQ(p.P * p.Q),
        CRS(p.C * p.R * p.S),
        workers(image_workers(p, tuning)),
        nb_max(group_size(p, tuning, workers)),
        direct(is_pointwise(p) && nb_max == 1),
        band(nb_max > 1 || direct ? p.P
             : std::clamp<int64_t>(tuning.rows_per_gemm > 0 ? tuning.rows_per_gemm
                                                            : std::max(kBandBudget / std::max<int64_t>(1, CRS * p.Q),
                                                                       ceil_div<int64_t>(kMinBandColumns, std::max<int64_t>(1, p.Q))),
                                   1, std::max<int64_t>(p.P, 1))),
        col_size(direct ? 0 : CRS * nb_max * band * p.Q),
        mat_size(nb_max > 1 ? p.K * nb_max * PQ : 0),
        col(static_cast<size_t>(col_size * workers) * sizeof(T)),
        mat(static_cast<size_t>(mat_size * workers) * sizeof(T)) {}

  T* worker_col(int worker) const { return col.as<T>() + worker * col_size; }
  T* worker_mat(int worker) const { return mat.as<T>() + worker * mat_size; }

  // The column matrix [CRS, (p1 - p0)*Q] of output rows [p0, p1) of image n (one image per GEMM).
  const T* band_columns(const T* x, int64_t n, int64_t p0, int64_t p1, int worker) const {
    if (direct) return x + n * p.C * p.H * p.W;  // bands are never split then: band == P
    im2col(worker_col(worker), x, n, 1, p, p0, p1);
    return worker_col(worker);
  }
  // The column matrix [CRS, nb*PQ] of images [n0, n0 + nb) (several images per GEMM).
  const T* columns(const T* x, int64_t n0, int64_t nb, int worker) const {
    im2col(worker_col(worker), x, n0, nb, p);
    return worker_col(worker);
  }
  // dy of images [n0, n0 + nb) as one [K, nb*PQ] matrix (several images per GEMM).
  const T* dy_group(const T* dy, int64_t n0, int64_t nb, int worker) const {
    gather_group(worker_mat(worker), dy, n0, nb, p.K, PQ);
    return worker_mat(worker);
  }

  // Calls f(n0, nb, worker) for every group of images [n0, n0 + nb), spread over the workers (group g goes
  // to worker g % workers) or in order. Inside, parallel_for runs serially and OpenBLAS single-threaded.
  // An exception inside the parallel region is carried out of it and rethrown.
  template <class F>
  void for_each_group(F&& f) const {
    auto run = [&](int worker) {
      for (int64_t n0 = worker * nb_max; n0 < p.N; n0 += workers * nb_max) f(n0, std::min(nb_max, p.N - n0), worker);
    };
    if (workers == 1) return run(0);
    std::exception_ptr error;
#pragma omp parallel num_threads(workers)
    {
      try {
        run(omp_get_thread_num());
      } catch (...) {
#pragma omp critical(nn_conv_error)
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
  }
};

// dw = the sum over workers of what each accumulates: worker 0 into dw itself, the others into partial
// [K, CRS] matrices added at the end. accumulate(worker, acc, beta) must be called with beta 0 first.
template <class T>
class WeightGradSum {
 public:
  WeightGradSum(T* dw, int64_t size, int workers)
      : dw_(dw), size_(size), partial_(static_cast<size_t>(size * (workers - 1)) * sizeof(T)),
        started_(static_cast<size_t>(workers), 0) {}
  // Where `worker` accumulates, and the beta (0 the first time, then 1) for its GEMM.
  std::pair<T*, T> target(int worker) {
    T* acc = worker == 0 ? dw_ : partial_.as<T>() + (worker - 1) * size_;
    const T beta = started_[worker] ? T(1) : T(0);
    started_[worker] = 1;  // each worker writes only its own element: no race
    return {acc, beta};
  }
  void finish() {
    bool any = started_[0];
    for (size_t worker = 1; worker < started_.size(); ++worker) {
      if (!started_[worker]) continue;
      const T* src = partial_.as<T>() + (worker - 1) * size_;
      if (!any) {
        std::copy(src, src + size_, dw_);
      } else {
        parallel_for(0, size_, 32768, [&](int64_t i0, int64_t i1) {
          for (int64_t i = i0; i < i1; ++i) dw_[i] += src[i];
        });
      }
      any = true;
    }
    if (!any) std::fill(dw_, dw_ + size_, T(0));  // no image, or no output pixel
  }

 private:
  T* dw_;
  int64_t size_;
  CpuBuffer partial_;
  std::vector<char> started_;
};

}  // namespace

namespace {

// The per-output pass after the GEMM: a bias, or an epilogue's scale, shift and ReLU, over `count`
// channels of `len` outputs each, dst[k][q] = f(src[k][q]) (dst may be src), channels k0.. of the layer.
template <class T>
void finish_outputs(T* dst, int64_t dst_ld, const T* src, int64_t src_ld, int64_t k0, int64_t count, int64_t len,
                    const T* bias, const ConvEpilogue<T>* ep) {
  for (int64_t j = 0; j < count; ++j) {
    const int64_t k = k0 + j;
    T* d = dst + j * dst_ld;
    const T* v = src + j * src_ld;
    if (ep) {
      const T a = ep->scale[k], b = ep->shift[k];
      if (ep->relu) {
        for (int64_t q = 0; q < len; ++q) {
          const T t = v[q] * a + b;
          d[q] = t < T(0) ? T(0) : t;
        }
      } else if (ep->silu) {
        for (int64_t q = 0; q < len; ++q) {
          const T t = v[q] * a + b;
          d[q] = t / (T(1) + exp_vec(-t));
        }
      } else {
        for (int64_t q = 0; q < len; ++q) d[q] = v[q] * a + b;
      }
    } else {
      const T b = bias[k];  // callers pass a bias or an epilogue
      for (int64_t q = 0; q < len; ++q) d[q] = v[q] + b;
    }
  }
}

template <class T>
void forward(T* y, const T* x, const T* w, const T* bias, const ConvEpilogue<T>* ep, const Conv2dParams& p,
             const Conv2dCpuTuning& tuning, bool flipped_backward = false) {
  // What it runs, in the trace's words: as a forward, or (flipped_backward) as backward_data_by_forward.
  auto say = [&](const char* as_forward, const char* as_backward) {
    if (flipped_backward) note(&Conv2dCpuTrace::backward_data, as_backward);
    else note(&Conv2dCpuTrace::forward, as_forward);
  };
  if constexpr (std::is_same_v<T, float>) {
    using Algorithm = Conv2dCpuTuning::Algorithm;
    if (tuning.algorithm == Algorithm::blocked_direct ||
        (tuning.algorithm == Algorithm::automatic && blocked::blocked_forward_is_faster(p))) {
      if (blocked::block_of(blocked::best_kernel()) == 16) say("blocked nChw16c", "flipped fwd: blocked nChw16c");
      else say("blocked nChw8c", "flipped fwd: blocked nChw8c");
      return blocked::conv2d_forward_blocked_cpu(y, x, w, bias, p, ep);
    }
  }
  const CpuConvPlan<T> plan(p, tuning);
  const int64_t PQ = plan.PQ, CRS = plan.CRS;
  if (plan.direct) say("GEMM on x (1x1)", "flipped fwd: GEMM on x (1x1)");  // (1x1s are never flipped)
  else if (plan.nb_max == 1) say("im2col+GEMM", "flipped fwd: im2col+GEMM");
  else say("im2col+GEMM batched", "flipped fwd: im2col+GEMM batched");
  if (plan.nb_max == 1) {
    // One image per GEMM, in bands of output rows: y[n][:, p0*Q : p1*Q] = w x columns (ldc = PQ); then the
    // bias or epilogue on image n while it is still in cache.
    plan.for_each_group([&](int64_t n, int64_t, int worker) {
      T* yn = y + n * p.K * PQ;
      for (int64_t p0 = 0; p0 < p.P; p0 += plan.band) {
        const int64_t p1 = std::min(p.P, p0 + plan.band), BQ = (p1 - p0) * p.Q;
        gemm_cpu<T>(Trans::no, Trans::no, p.K, BQ, CRS, T(1), w, CRS, plan.band_columns(x, n, p0, p1, worker), BQ,
                    T(0), yn + p0 * p.Q, PQ);
      }
      if (bias || ep) {
        if (plan.workers > 1) {
          finish_outputs(yn, PQ, yn, PQ, 0, p.K, PQ, bias, ep);
        } else {
          parallel_for(0, p.K, 8, [&](int64_t k0, int64_t k1) {
            finish_outputs(yn + k0 * PQ, PQ, yn + k0 * PQ, PQ, k0, k1 - k0, PQ, bias, ep);
          });
        }
      }
    });
    return;
  }
  plan.for_each_group([&](int64_t n0, int64_t nb, int worker) {
    const T* cols = plan.columns(x, n0, nb, worker);
    T* dst = plan.worker_mat(worker);
    gemm_cpu<T>(Trans::no, Trans::no, p.K, nb * PQ, CRS, T(1), w, CRS, cols, nb * PQ, T(0), dst, nb * PQ);
    // Scatter [K, nb*PQ] into y[n0 + i][k], with the bias or epilogue, in one pass.
    parallel_for(0, nb * p.K, 1, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) {
        const int64_t i = j / p.K, k = j % p.K;
        const T* src = dst + k * nb * PQ + i * PQ;
        T* yp = y + ((n0 + i) * p.K + k) * PQ;
        if (ep || bias) {
          finish_outputs(yp, PQ, src, PQ, k, 1, PQ, bias, ep);
        } else {
          std::memcpy(yp, src, static_cast<size_t>(PQ) * sizeof(T));
        }
      }
    });
  });
}

// The input gradient of a stride-1 convolution is itself a convolution: of dy, with the filters flipped in
// space and transposed (K <-> C), padded by dil*(R-1) - pad. Computing it that way unfolds dy and writes dx
// once, where the column path computes a [CRS, N*PQ] matrix (a GEMM of inner size only K) and scatters it
// back with col2im's additions: 1.4-1.9x faster on ResNet-50's 3x3 layers at 28x28 and 56x56.
bool backward_data_as_forward(const Conv2dParams& p, const Conv2dCpuTuning& tuning) {
  using Way = Conv2dCpuTuning::BackwardData;
  // Below kWideEnough pixels the column path's grouped GEMM is as fast and flipping the filters costs more.
  const bool applies = p.stride_h == 1 && p.stride_w == 1 && !is_pointwise(p) && p.pad_h <= p.dil_h * (p.R - 1) &&
                       p.pad_w <= p.dil_w * (p.S - 1);
  return applies && (tuning.backward_data == Way::automatic ? p.P * p.Q >= kWideEnough
                                                            : tuning.backward_data == Way::flipped_forward);
}

template <class T>
void backward_data_by_forward(T* dx, const T* dy, const T* w, const Conv2dParams& p, const Conv2dCpuTuning& tuning) {
  CpuBuffer flipped(static_cast<size_t>(p.K * p.C * p.R * p.S) * sizeof(T));
  T* wt = flipped.as<T>();  // wt[c][k][r][s] = w[k][c][R-1-r][S-1-s]
  parallel_for(0, p.C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t k = 0; k < p.K; ++k)
        for (int64_t r = 0; r < p.R; ++r)
          for (int64_t s = 0; s < p.S; ++s)
            wt[((c * p.K + k) * p.R + r) * p.S + s] = w[((k * p.C + c) * p.R + (p.R - 1 - r)) * p.S + (p.S - 1 - s)];
  });
  Conv2dParams q = p;
  q.C = p.K, q.H = p.P, q.W = p.Q;
  q.K = p.C, q.P = p.H, q.Q = p.W;
  q.pad_h = p.dil_h * (p.R - 1) - p.pad_h, q.pad_w = p.dil_w * (p.S - 1) - p.pad_w;
  forward<T>(dx, dy, wt, nullptr, nullptr, q, tuning, /*flipped_backward=*/true);
}

template <class T>
void backward_data(T* dx, const T* dy, const T* w, const Conv2dParams& p, const Conv2dCpuTuning& tuning) {
  if (backward_data_as_forward(p, tuning)) return backward_data_by_forward(dx, dy, w, p, tuning);
  const CpuConvPlan<T> plan(p, tuning);
  const int64_t PQ = plan.PQ, CRS = plan.CRS;
  note(&Conv2dCpuTrace::backward_data,
       plan.direct ? "GEMM on dy (1x1)" : plan.nb_max == 1 ? "GEMM+col2im" : "GEMM+col2im batched");
  if (!plan.direct) std::fill(dx, dx + p.N * p.C * p.H * p.W, T(0));
  if (plan.nb_max == 1) {
    // dcol [CRS, BQ] = w^T [CRS, K] x dy[n][:, band] (ld PQ), folded back band by band; a pointwise conv
    // writes dx[n] directly (its band is the whole image).
    plan.for_each_group([&](int64_t n, int64_t, int worker) {
      for (int64_t p0 = 0; p0 < p.P; p0 += plan.band) {
        const int64_t p1 = std::min(p.P, p0 + plan.band), BQ = (p1 - p0) * p.Q;
        T* dcol = plan.direct ? dx + n * p.C * p.H * p.W : plan.worker_col(worker);
        gemm_cpu<T>(Trans::yes, Trans::no, CRS, BQ, p.K, T(1), w, CRS, dy + n * p.K * PQ + p0 * p.Q, PQ, T(0), dcol, BQ);
        if (!plan.direct) col2im_add(dx, dcol, n, 1, p, p0, p1);  // image n's planes only
      }
    });
    return;
  }
  plan.for_each_group([&](int64_t n0, int64_t nb, int worker) {
    const T* g = plan.dy_group(dy, n0, nb, worker);
    // dcol [CRS, nb*PQ] = w^T [CRS, K] x dy_group [K, nb*PQ], folded into the group's own images
    T* dcol = plan.worker_col(worker);
    gemm_cpu<T>(Trans::yes, Trans::no, CRS, nb * PQ, p.K, T(1), w, CRS, g, nb * PQ, T(0), dcol, nb * PQ);
    col2im_add(dx, dcol, n0, nb, p);
  });
}

// Whether a float32 weight gradient runs the direct kernel (kernels/cpu/conv2d_wgrad.h): where it applies and a
// vector kernel runs here, when asked for, or (automatic) where it measured faster than im2col + GEMM.
bool weight_grad_direct(const Conv2dParams& p, const Conv2dCpuTuning& tuning) {
  using Way = Conv2dCpuTuning::WeightGrad;
  if (!wgrad::applies(p) || !wgrad::available()) return false;
  return tuning.weight_grad == Way::direct || (tuning.weight_grad == Way::automatic && wgrad::is_faster(p));
}

template <class T>
void backward_weight(T* dw, T* dbias, const T* dy, const T* x, const Conv2dParams& p, const Conv2dCpuTuning& tuning) {
  const int64_t PQ = p.P * p.Q;
  bool direct = false;
  if constexpr (std::is_same_v<T, float>) {
    direct = dw && weight_grad_direct(p, tuning);
    if (direct) {
      note(&Conv2dCpuTrace::backward_weight, "direct, pixels in lanes");
      wgrad::backward_weight(dw, dy, x, p, wgrad::best_kernel());
    }
  }
  if (dw && !direct) {
    const CpuConvPlan<T> plan(p, tuning);
    const int64_t CRS = plan.CRS;
    note(&Conv2dCpuTrace::backward_weight,
         plan.direct ? "GEMM on x (1x1)" : plan.nb_max == 1 ? "im2col+GEMM" : "im2col+GEMM batched");
    WeightGradSum<T> sum(dw, p.K * CRS, plan.workers);
    if (plan.nb_max == 1) {
      // dw (+)= dy[n][:, band] [K, BQ] (ld PQ) x columns^T [BQ, CRS], over images and bands
      plan.for_each_group([&](int64_t n, int64_t, int worker) {
        for (int64_t p0 = 0; p0 < p.P; p0 += plan.band) {
          const int64_t p1 = std::min(p.P, p0 + plan.band), BQ = (p1 - p0) * p.Q;
          const T* cols = plan.band_columns(x, n, p0, p1, worker);
          const auto [acc, beta] = sum.target(worker);
          gemm_cpu<T>(Trans::no, Trans::yes, p.K, CRS, BQ, T(1), dy + n * p.K * PQ + p0 * p.Q, PQ, cols,
                      plan.direct ? PQ : BQ, beta, acc, CRS);
        }
      });
    } else {
      // dw [K, CRS] (+)= dy_group [K, nb*PQ] x col^T [nb*PQ, CRS]
      plan.for_each_group([&](int64_t n0, int64_t nb, int worker) {
        const T* cols = plan.columns(x, n0, nb, worker);
        const T* g = plan.dy_group(dy, n0, nb, worker);
        const auto [acc, beta] = sum.target(worker);
        gemm_cpu<T>(Trans::no, Trans::yes, p.K, CRS, nb * PQ, T(1), g, nb * PQ, cols, nb * PQ, beta, acc, CRS);
      });
    }
    sum.finish();
  }
  if (dbias) {
    parallel_for(0, p.K, 1, [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k) {
        LaneSum sum;  // the N planes of channel k as one sequence
        for (int64_t n = 0; n < p.N; ++n) sum.add(dy + (n * p.K + k) * PQ, PQ);
        dbias[k] = static_cast<T>(sum.total());
      }
    });
  }
}

// A grouped convolution (1 < G < C) is G independent convolutions on channel slices. The slices of one
// group are not contiguous (an image holds all C channels), so each group's x, y, dy, dx slices are
// gathered into contiguous buffers and the dense path runs on those: a copy of each tensor per pass,
// small beside the GEMMs. (Depthwise, G = C, has its own kernels: kernels/cpu/conv2d_depthwise.cpp.)
struct Grouped {
  Conv2dParams sub;  // one group: C/G input and K/G output channels, G = 1
  int64_t Cg, Kg;
  explicit Grouped(const Conv2dParams& p) : sub(p), Cg(p.C / p.G), Kg(p.K / p.G) {
    sub.C = Cg, sub.K = Kg, sub.G = 1;
  }
  // dst [N, count, plane] = src[:, c0 .. c0+count) of src [N, total, plane], or the reverse (scatter).
  template <class T>
  static void gather(T* dst, const T* src, int64_t N, int64_t total, int64_t c0, int64_t count, int64_t plane) {
    parallel_for(0, N, 1, [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n)
        std::memcpy(dst + n * count * plane, src + (n * total + c0) * plane, static_cast<size_t>(count * plane) * sizeof(T));
    });
  }
  template <class T>
  static void scatter(T* dst, const T* src, int64_t N, int64_t total, int64_t c0, int64_t count, int64_t plane) {
    parallel_for(0, N, 1, [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n)
        std::memcpy(dst + (n * total + c0) * plane, src + n * count * plane, static_cast<size_t>(count * plane) * sizeof(T));
    });
  }
  int64_t weights() const { return Kg * Cg * sub.R * sub.S; }  // per group
};

template <class T>
void grouped_forward(T* y, const T* x, const T* w, const T* bias, const ConvEpilogue<T>* ep, const Conv2dParams& p,
                     const Conv2dCpuTuning& tuning) {
  const Grouped g(p);
  const int64_t HW = p.H * p.W, PQ = p.P * p.Q;
  CpuBuffer xbuf(static_cast<size_t>(p.N * g.Cg * HW) * sizeof(T)), ybuf(static_cast<size_t>(p.N * g.Kg * PQ) * sizeof(T));
  for (int64_t i = 0; i < p.G; ++i) {
    Grouped::gather(xbuf.as<T>(), x, p.N, p.C, i * g.Cg, g.Cg, HW);
    ConvEpilogue<T> sub_ep;
    if (ep)
      sub_ep = {ep->scale ? ep->scale + i * g.Kg : nullptr, ep->shift ? ep->shift + i * g.Kg : nullptr, ep->relu,
                ep->silu};
    forward<T>(ybuf.as<T>(), xbuf.as<T>(), w + i * g.weights(), bias ? bias + i * g.Kg : nullptr, ep ? &sub_ep : nullptr,
               g.sub, tuning);
    Grouped::scatter(y, ybuf.as<T>(), p.N, p.K, i * g.Kg, g.Kg, PQ);
  }
}

}  // namespace

template <class T>
void conv2d_forward_cpu(T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p,
                        const Conv2dCpuTuning& tuning) {
  if (conv2d_is_depthwise(p)) {
    note(&Conv2dCpuTrace::forward, "depthwise direct");
    return conv2d_depthwise_forward_cpu<T>(y, x, w, bias, nullptr, p);
  }
  if (p.G > 1) return grouped_forward<T>(y, x, w, bias, nullptr, p, tuning);
  forward<T>(y, x, w, bias, nullptr, p, tuning);
}

template <class T>
void conv2d_forward_cpu(T* y, const T* x, const T* w, const ConvEpilogue<T>& epilogue, const Conv2dParams& p,
                        const Conv2dCpuTuning& tuning) {
  if (conv2d_is_depthwise(p)) {
    note(&Conv2dCpuTrace::forward, "depthwise direct");
    return conv2d_depthwise_forward_cpu<T>(y, x, w, nullptr, &epilogue, p);
  }
  if (p.G > 1) return grouped_forward<T>(y, x, w, nullptr, &epilogue, p, tuning);
  forward<T>(y, x, w, nullptr, &epilogue, p, tuning);
}

template <class T>
void conv2d_backward_data_cpu(T* dx, const T* dy, const T* w, const Conv2dParams& p, const Conv2dCpuTuning& tuning) {
  if (conv2d_is_depthwise(p)) {
    note(&Conv2dCpuTrace::backward_data, "depthwise direct");
    return conv2d_depthwise_backward_data_cpu<T>(dx, dy, w, p);
  }
  if (p.G == 1) return backward_data<T>(dx, dy, w, p, tuning);
  const Grouped g(p);
  const int64_t HW = p.H * p.W, PQ = p.P * p.Q;
  CpuBuffer dybuf(static_cast<size_t>(p.N * g.Kg * PQ) * sizeof(T)), dxbuf(static_cast<size_t>(p.N * g.Cg * HW) * sizeof(T));
  for (int64_t i = 0; i < p.G; ++i) {
    Grouped::gather(dybuf.as<T>(), dy, p.N, p.K, i * g.Kg, g.Kg, PQ);
    backward_data<T>(dxbuf.as<T>(), dybuf.as<T>(), w + i * g.weights(), g.sub, tuning);
    Grouped::scatter(dx, dxbuf.as<T>(), p.N, p.C, i * g.Cg, g.Cg, HW);
  }
}

template <class T>
void conv2d_backward_weight_cpu(T* dw, T* dbias, const T* dy, const T* x, const Conv2dParams& p,
                                const Conv2dCpuTuning& tuning) {
  if (conv2d_is_depthwise(p)) {
    note(&Conv2dCpuTrace::backward_weight, "depthwise direct");
    return conv2d_depthwise_backward_weight_cpu<T>(dw, dbias, dy, x, p);
  }
  if (p.G == 1) return backward_weight<T>(dw, dbias, dy, x, p, tuning);
  const Grouped g(p);
  const int64_t HW = p.H * p.W, PQ = p.P * p.Q;
  CpuBuffer dybuf(static_cast<size_t>(p.N * g.Kg * PQ) * sizeof(T)), xbuf(static_cast<size_t>(p.N * g.Cg * HW) * sizeof(T));
  for (int64_t i = 0; i < p.G; ++i) {
    Grouped::gather(dybuf.as<T>(), dy, p.N, p.K, i * g.Kg, g.Kg, PQ);
    if (dw) Grouped::gather(xbuf.as<T>(), x, p.N, p.C, i * g.Cg, g.Cg, HW);
    backward_weight<T>(dw ? dw + i * g.weights() : nullptr, dbias ? dbias + i * g.Kg : nullptr, dybuf.as<T>(),
                       xbuf.as<T>(), g.sub, tuning);
  }
}

#define NN_INSTANTIATE(T)                                                                                       \
  template void conv2d_forward_cpu<T>(T*, const T*, const T*, const T*, const Conv2dParams&,                      \
                                      const Conv2dCpuTuning&);                                                    \
  template void conv2d_forward_cpu<T>(T*, const T*, const T*, const ConvEpilogue<T>&, const Conv2dParams&,        \
                                      const Conv2dCpuTuning&);                                                    \
  template void conv2d_backward_data_cpu<T>(T*, const T*, const T*, const Conv2dParams&, const Conv2dCpuTuning&); \
  template void conv2d_backward_weight_cpu<T>(T*, T*, const T*, const T*, const Conv2dParams&,                    \
                                              const Conv2dCpuTuning&);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)
#undef NN_INSTANTIATE

}  // namespace nn
