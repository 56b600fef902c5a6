// The batch norm kernels compiled with AVX2 + FMA (the Makefile adds -mavx2 -mfma -ffp-contract=off for this
// file only); kernels/cpu/batch_norm.cpp calls them when CPUID reports it.
// Both macros first: lane_sum.h's templates must get this file's own namespace (batch_norm_impl.h says why).
#define NN_LANE_SUM_ISA avx2
#define NN_BATCH_NORM_ISA avx2
#include "kernels/cpu/batch_norm_impl.h"
