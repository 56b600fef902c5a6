// The one error type skinnet throws, and the checks that throw it.
//
// Every message names the op or file, the shapes involved and, where there is one, a hint:
//   "conv2d: input has 3 channels but weight [8, 4, 3, 3] expects 4 (input [2, 3, 5, 7])"
// Only main() catches. NN_CHECK is always on (never `assert`): it guards user input and preconditions.
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>
#include <string>

#include "base/shape.h"

namespace nn {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(std::string message);

}  // namespace nn

// Throws nn::Error with an fmt-formatted message when `cond` is false.
#define NN_CHECK(cond, ...)                                   \
  do {                                                        \
    if (!(cond)) [[unlikely]] ::nn::fail(::fmt::format(__VA_ARGS__)); \
  } while (0)

#define NN_FAIL(...) ::nn::fail(::fmt::format(__VA_ARGS__))

// Shapes print as "[2, 3, 5]" in messages.
template <>
struct fmt::formatter<nn::Dims> : fmt::formatter<std::string> {
  auto format(const nn::Dims& d, format_context& ctx) const {
    return fmt::formatter<std::string>::format(d.str(), ctx);
  }
};

// An invariant of skinnet itself (not of the caller's input); names the source line.
#define NN_INTERNAL_CHECK(cond)                                                            \
  do {                                                                                     \
    if (!(cond)) [[unlikely]]                                                              \
      ::nn::fail(::fmt::format("internal error: `{}` failed at {}:{}; please report it", \
                               #cond, __FILE__, __LINE__));                                \
  } while (0)
