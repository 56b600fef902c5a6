// GEMM: C = alpha * op(A) * op(B) + beta * C, row-major, the workhorse of linear layers and convolution.
//
// op(A) is [M, K] (A itself when ta == Trans::no, else A is stored [K, M]); op(B) is [K, N]; C is [M, N].
// Leading dimensions are row strides in elements. With beta == 0, C is not read (it may hold garbage).
// gemm_reference_cpu is the specification (plain loops, double accumulation). gemm_cpu<float> is
// skinnet's own packed GEMM (kernels/cpu/gemm/: the CPU ladder, AVX2 / AVX-512 micro-kernels chosen by
// CPUID) unless the run selected OpenBLAS (set_cpu_gemm_source); gemm_cpu<double> is OpenBLAS's dgemm
// (float64 is the gradient-check and oracle path, not a speed path). gemm_openblas_cpu is the vendor
// reference, as cuBLAS is on the GPU. All are tested against the reference. Cost: 2*M*N*K FLOP.
#pragma once

#include <cstdint>

namespace nn {

enum class Trans : bool { no, yes };

template <class T>
void gemm_cpu(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
              const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// OpenBLAS (cblas_sgemm / cblas_dgemm).
template <class T>
void gemm_openblas_cpu(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                       const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// Which float32 GEMM gemm_cpu<float> runs, for the whole process: skinnet's own by default, or as
// NN_CPU_GEMM (own, openblas) says in the environment; the config's `kernels = "vendor"` selects OpenBLAS
// on the CPU as it selects cuBLAS/cuDNN on CUDA.
enum class CpuGemmSource { own, openblas };
void set_cpu_gemm_source(CpuGemmSource source);
CpuGemmSource cpu_gemm_source();

template <class T>
void gemm_reference_cpu(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                        const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

void gemm_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// cuBLAS (kernels/cuda/vendor.h): the same signature and semantics as gemm_cuda.
void gemm_vendor(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// The kernel table tensor/dispatch.h runs (kernels/README.md): one kernel per backend.
struct GemmKernels {
  template <class T> static constexpr auto cpu = gemm_cpu<T>;
  static constexpr auto cuda = gemm_cuda;
  static constexpr auto vendor = gemm_vendor;
};

// Makes sure OpenBLAS runs the best kernels this CPU supports, restarting the program (execv of
// /proc/self/exe with the same argv) with OPENBLAS_CORETYPE set when OpenBLAS picked slower ones
// (kernels/cpu/blas_core.cpp says when that happens). Call first thing in main(); `program` names it in
// the one-line notice. NN_KEEP_OPENBLAS_CORETYPE=1 turns it off.
void select_openblas_kernels(char** argv, const char* program);

inline double gemm_flops(int64_t M, int64_t N, int64_t K) { return 2.0 * M * N * K; }

}  // namespace nn
