// The depthwise kernels compiled with AVX2 + FMA (the Makefile adds -mavx2 -mfma for this file only);
// kernels/cpu/conv2d_depthwise.cpp calls them when CPUID reports both.
#define NN_DEPTHWISE_ISA avx2
#include "kernels/cpu/conv2d_depthwise_impl.h"
