// What many test files need, written once: a temporary folder, a command runner, the build folder, and
// builders for convolution parameters. (The comparison helpers are in tests/check.h.)
#pragma once

#include <string>

#include "kernels/conv2d.h"

namespace nn::test {

// ---- files and processes ----

// ---- convolution parameters ----

}  // namespace nn::test
