// Pooling modules (see pool2d.h). FLOPs count one compare or add per window element.
#include "layers/pool2d.h"

namespace nn {

std::string MaxPool2d::describe() const {
  const Pair s = options_.stride.value_or(options_.kernel_size);
  return fmt::format("MaxPool2d({}x{}, stride={}, padding={}{})", options_.kernel_size.h, options_.kernel_size.w, s.h,
                     options_.padding.h, options_.ceil_mode ? ", ceil_mode=True" : "");
}

double MaxPool2d::flops(const Shape&, const Shape& out) const {
  return static_cast<double>(out.numel() * options_.kernel_size.h * options_.kernel_size.w);
}

std::string AvgPool2d::describe() const {
  const Pair s = options_.stride.value_or(options_.kernel_size);
  return fmt::format("AvgPool2d({}x{}, stride={}, padding={})", options_.kernel_size.h, options_.kernel_size.w, s.h,
                     options_.padding.h);
}

double AvgPool2d::flops(const Shape&, const Shape& out) const {
  return static_cast<double>(out.numel() * options_.kernel_size.h * options_.kernel_size.w);
}

std::string AdaptiveAvgPool2d::describe() const {
  return fmt::format("AdaptiveAvgPool2d({}x{})", output_size_.h, output_size_.w);
}

double AdaptiveAvgPool2d::flops(const Shape& in, const Shape& out) const {
  // each input element is added once per output window containing it; about once when shrinking
  return static_cast<double>(std::max(in.numel(), out.numel()));
}

}  // namespace nn
