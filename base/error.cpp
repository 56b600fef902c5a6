// The error functions behind NN_CHECK, NN_FAIL (base/error.h) and NN_REQUIRE (base/check.h).
#include "base/check.h"
#include "base/error.h"

namespace nn {

void fail(std::string message) { throw Error(std::move(message)); }

void fail_requirement(const char* what, const char* condition, const char* file, int line) {
  NN_FAIL("{} (`{}` failed at {}:{})", what, condition, file, line);
}

void fail_too_many_dims(size_t n) {
  NN_FAIL("a shape with {} dimensions; skinnet supports at most {}", n, kMaxDims);
}

}  // namespace nn
