// Shared test scaffolding (see support.h).
#include "tests/support.h"

namespace nn::test {

// ---- files and processes ----

// ---- convolution parameters ----

}  // namespace nn::test
