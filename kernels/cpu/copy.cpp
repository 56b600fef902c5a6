// CPU copy, cast and fill kernels (see kernels/copy.h).
#include "kernels/copy.h"

#include <cstring>

#include "base/error.h"
#include "base/parallel.h"

namespace nn {

namespace {

constexpr int64_t kGrain = 65536;

template <class F>
decltype(auto) with_type(DType t, F&& f) {
  switch (t) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    case DType::i64: return f(int64_t{});
    case DType::u8: return f(uint8_t{});
  }
  NN_INTERNAL_CHECK(false);
}

template <class D, class S>
void copy_typed(D* dst, const S* src, const Loop& L) {
  parallel_for(0, L.numel, kGrain, [&](int64_t begin, int64_t end) {
    loop_for_each(L, begin, end, [&](const int64_t* off, int64_t n, const int64_t* s) {
      D* d = dst + off[0];
      const S* p = src + off[1];
      if constexpr (std::is_same_v<D, S>) {
        if (s[0] == 1 && s[1] == 1) {
          std::memcpy(d, p, static_cast<size_t>(n) * sizeof(D));
          return;
        }
      }
      if (s[0] == 1 && s[1] == 1) {
        for (int64_t i = 0; i < n; ++i) d[i] = static_cast<D>(p[i]);
      } else {
        for (int64_t i = 0; i < n; ++i) d[i * s[0]] = static_cast<D>(p[i * s[1]]);
      }
    });
  });
}

}  // namespace

void copy_cpu(void* dst, DType dst_dtype, const void* src, DType src_dtype, const Loop& L) {
  with_type(dst_dtype, [&](auto d) {
    with_type(src_dtype, [&](auto s) {
      using D = decltype(d);
      using S = decltype(s);
      copy_typed(static_cast<D*>(dst), static_cast<const S*>(src), L);
    });
  });
}

void fill_cpu(void* dst, DType dtype, double value, const Loop& L) {
  with_type(dtype, [&](auto t) {
    using T = decltype(t);
    T* d = static_cast<T*>(dst);
    const T v = static_cast<T>(value);
    parallel_for(0, L.numel, kGrain, [&](int64_t begin, int64_t end) {
      loop_for_each(L, begin, end, [&](const int64_t* off, int64_t n, const int64_t* s) {
        for (int64_t i = 0; i < n; ++i) d[off[0] + i * s[0]] = v;
      });
    });
  });
}

}  // namespace nn
