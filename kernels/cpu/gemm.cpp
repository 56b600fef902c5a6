// CPU GEMM entry points: skinnet's own float32 GEMM (kernels/cpu/gemm/), OpenBLAS as the vendor reference,
// plain loops as the specification (see kernels/gemm.h).
//
// OpenBLAS is the OpenMP build (libopenblas-openmp-dev): it uses the same thread pool as skinnet's own
// loops and runs single-threaded when called inside one of our parallel regions, so the two never
// oversubscribe the cores. skinnet's GEMM does the same (kernels/cpu/gemm/06_threads.cpp).
#include "kernels/gemm.h"

#include <cblas.h>

#include <atomic>
#include <climits>
#include <cstdlib>
#include <string_view>

#include "base/error.h"
#include "base/parallel.h"
#include "kernels/cpu/gemm/ladder.h"

namespace nn {

namespace {

void check_blas_dims(int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc) {
  for (int64_t v : {M, N, K, lda, ldb, ldc})
    NN_CHECK(v >= 0 && v <= INT_MAX, "gemm: dimension {} exceeds the 32-bit BLAS interface (M={}, N={}, K={})", v,
             M, N, K);
}

CBLAS_TRANSPOSE blas_trans(Trans t) { return t == Trans::yes ? CblasTrans : CblasNoTrans; }

// The default comes from NN_CPU_GEMM (own or openblas; unset: own), so that any command or test run can
// be repeated on OpenBLAS without a config.
CpuGemmSource initial_cpu_gemm_source() {
  const char* env = std::getenv("NN_CPU_GEMM");
  if (env == nullptr || std::string_view(env) == "own") return CpuGemmSource::own;
  NN_CHECK(std::string_view(env) == "openblas", "NN_CPU_GEMM='{}': expected 'own' or 'openblas'", env);
  return CpuGemmSource::openblas;
}

std::atomic<CpuGemmSource> g_cpu_gemm{initial_cpu_gemm_source()};

}  // namespace

void set_cpu_gemm_source(CpuGemmSource source) { g_cpu_gemm.store(source); }
CpuGemmSource cpu_gemm_source() { return g_cpu_gemm.load(std::memory_order_relaxed); }

template <>
void gemm_openblas_cpu<float>(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                     const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  check_blas_dims(M, N, K, lda, ldb, ldc);
  cblas_sgemm(CblasRowMajor, blas_trans(ta), blas_trans(tb), static_cast<int>(M), static_cast<int>(N),
              static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta, C,
              static_cast<int>(ldc));
}

template <>
void gemm_openblas_cpu<double>(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
                      int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  check_blas_dims(M, N, K, lda, ldb, ldc);
  cblas_dgemm(CblasRowMajor, blas_trans(ta), blas_trans(tb), static_cast<int>(M), static_cast<int>(N),
              static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta, C,
              static_cast<int>(ldc));
}

template <>
void gemm_cpu<float>(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                     const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (cpu_gemm_source() == CpuGemmSource::openblas) {
    gemm_openblas_cpu<float>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  cpu_gemm::gemm_threads(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <>
void gemm_cpu<double>(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
                      int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  gemm_openblas_cpu<double>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <class T>
void gemm_reference_cpu(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                        const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  parallel_for(0, M, 1, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) {
      for (int64_t n = 0; n < N; ++n) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) {
          const T a = ta == Trans::no ? A[m * lda + k] : A[k * lda + m];
          const T b = tb == Trans::no ? B[k * ldb + n] : B[n * ldb + k];
          acc += static_cast<double>(a) * b;
        }
        T& c = C[m * ldc + n];
        c = static_cast<T>(alpha * acc + (beta == T(0) ? 0.0 : static_cast<double>(beta) * c));
      }
    }
  });
}

template void gemm_reference_cpu<float>(Trans, Trans, int64_t, int64_t, int64_t, float, const float*, int64_t,
                                        const float*, int64_t, float, float*, int64_t);
template void gemm_reference_cpu<double>(Trans, Trans, int64_t, int64_t, int64_t, double, const double*, int64_t,
                                         const double*, int64_t, double, double*, int64_t);

}  // namespace nn
