// The convolution layers of ResNet-50 and VGG19 at 224x224, and EfficientNet-B0's depthwise ones, shared
// by bench-ops (CPU) and bench-gpu.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/conv2d.h"

namespace nn {

struct ConvShape {
  const char* name;
  int count;  // occurrences in the network
  int64_t C, H, K, R, stride, pad;
  int64_t G = 1;  // groups (C for depthwise)
};

// ResNet-50 (torchvision v1.5, stride on the 3x3) and VGG19 convolutions at 224x224 input.
inline const std::vector<ConvShape> kResNet50 = {
    {"conv1", 1, 3, 224, 64, 7, 2, 3},
    {"l1.conv1 first", 1, 64, 56, 64, 1, 1, 0},   {"l1.conv1", 2, 256, 56, 64, 1, 1, 0},
    {"l1.conv2", 3, 64, 56, 64, 3, 1, 1},         {"l1.conv3/down", 4, 64, 56, 256, 1, 1, 0},
    {"l2.conv1 first", 1, 256, 56, 128, 1, 1, 0}, {"l2.conv2 s2", 1, 128, 56, 128, 3, 2, 1},
    {"l2.down s2", 1, 256, 56, 512, 1, 2, 0},     {"l2.conv1", 3, 512, 28, 128, 1, 1, 0},
    {"l2.conv2", 3, 128, 28, 128, 3, 1, 1},       {"l2.conv3", 4, 128, 28, 512, 1, 1, 0},
    {"l3.conv1 first", 1, 512, 28, 256, 1, 1, 0}, {"l3.conv2 s2", 1, 256, 28, 256, 3, 2, 1},
    {"l3.down s2", 1, 512, 28, 1024, 1, 2, 0},    {"l3.conv1", 5, 1024, 14, 256, 1, 1, 0},
    {"l3.conv2", 5, 256, 14, 256, 3, 1, 1},       {"l3.conv3", 6, 256, 14, 1024, 1, 1, 0},
    {"l4.conv1 first", 1, 1024, 14, 512, 1, 1, 0}, {"l4.conv2 s2", 1, 512, 14, 512, 3, 2, 1},
    {"l4.down s2", 1, 1024, 14, 2048, 1, 2, 0},   {"l4.conv1", 2, 2048, 7, 512, 1, 1, 0},
    {"l4.conv2", 2, 512, 7, 512, 3, 1, 1},        {"l4.conv3", 3, 512, 7, 2048, 1, 1, 0},
};
inline const std::vector<ConvShape> kVgg19 = {
    {"conv1_1", 1, 3, 224, 64, 3, 1, 1},    {"conv1_2", 1, 64, 224, 64, 3, 1, 1},
    {"conv2_1", 1, 64, 112, 128, 3, 1, 1},  {"conv2_2", 1, 128, 112, 128, 3, 1, 1},
    {"conv3_1", 1, 128, 56, 256, 3, 1, 1},  {"conv3_2-4", 3, 256, 56, 256, 3, 1, 1},
    {"conv4_1", 1, 256, 28, 512, 3, 1, 1},  {"conv4_2-4", 3, 512, 28, 512, 3, 1, 1},
    {"conv5_1-4", 4, 512, 14, 512, 3, 1, 1},
};

// EfficientNet-B0's depthwise convolutions at 224x224 (torchvision: stage, channels, size, kernel, stride).
inline const std::vector<ConvShape> kEfficientNetB0Depthwise = {
    {"s1 dw3", 1, 32, 112, 32, 3, 1, 1, 32},        {"s2 dw3 s2", 1, 96, 112, 96, 3, 2, 1, 96},
    {"s2 dw3", 1, 144, 56, 144, 3, 1, 1, 144},      {"s3 dw5 s2", 1, 144, 56, 144, 5, 2, 2, 144},
    {"s3 dw5", 1, 240, 28, 240, 5, 1, 2, 240},      {"s4 dw3 s2", 1, 240, 28, 240, 3, 2, 1, 240},
    {"s4 dw3", 2, 480, 14, 480, 3, 1, 1, 480},      {"s5 dw5 first", 1, 480, 14, 480, 5, 1, 2, 480},
    {"s5 dw5", 2, 672, 14, 672, 5, 1, 2, 672},      {"s6 dw5 s2", 1, 672, 14, 672, 5, 2, 2, 672},
    {"s6 dw5", 3, 1152, 7, 1152, 5, 1, 2, 1152},    {"s7 dw3", 1, 1152, 7, 1152, 3, 1, 1, 1152},
};

inline Conv2dParams params_for(const ConvShape& s, int64_t N, int64_t H) {
  Conv2dParams p;
  p.N = N, p.C = s.C, p.H = H, p.W = H, p.K = s.K, p.R = s.R, p.S = s.R;
  p.stride_h = p.stride_w = s.stride;
  p.pad_h = p.pad_w = s.pad;
  p.G = s.G;
  return conv2d_with_output_size(p);
}

}  // namespace nn
