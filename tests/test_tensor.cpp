// Tensor basics: factories, dtypes, views sharing storage, strides, printing, random numbers and the
// caching allocator.
#include <cmath>

#include "base/allocator.h"
#include "tests/check.h"

namespace nn::test {

TEST_SUITE("tensor") {
  TEST_CASE("tensor: factories, shape, strides and element access") {
    Tensor t = arange(24).reshape({2, 3, 4});
    CHECK(t.shape() == Shape{2, 3, 4});
    CHECK(t.strides() == Strides{12, 4, 1});
    CHECK(t.numel() == 24);
    CHECK(t.size(-1) == 4);
    CHECK(t.is_contiguous());
    CHECK(t.dtype() == DType::f32);
    CHECK(t.device() == Device::cpu());
    CHECK(reinterpret_cast<uintptr_t>(t.raw_data()) % CpuAllocator::kAlignment == 0);
    check_values("zeros", zeros({2, 2}), {0, 0, 0, 0});
    check_values("full", full({3}, 2.5, DType::f64), {2.5, 2.5, 2.5});
    CHECK(scalar_tensor(3).item<float>() == 3.0f);
    CHECK(scalar_tensor(3).ndim() == 0);
    CHECK_THROWS_AS(from_vector<float>({1, 2, 3}, {2, 2}), Error);
  }

  TEST_CASE("tensor: dtypes convert with truncation toward zero, as C++ and PyTorch") {
    Tensor f = from_vector<float>({-1.7f, -0.5f, 0.5f, 2.9f, 255.0f}, {5});
    check_values("to i64", f.to(DType::i64), {-1, 0, 0, 2, 255});
    check_values("to f64", f.to(DType::f64), {-1.7f, -0.5f, 0.5f, 2.9f, 255.0f});
    Tensor u = from_vector<uint8_t>({0, 7, 255}, {3});
    check_values("u8 to f32", u.to(DType::f32), {0, 7, 255});
    CHECK(u.to(DType::f32).dtype() == DType::f32);
    CHECK(u.to(DType::u8).same(u));  // a no-op conversion returns the tensor itself
  }

  TEST_CASE("tensor: views share storage and see writes") {
    Tensor t = arange(12).reshape({3, 4});
    Tensor tr = t.transpose(0, 1);
    CHECK(tr.shape() == Shape{4, 3});
    CHECK(tr.strides() == Strides{1, 4});
    CHECK_FALSE(tr.is_contiguous());
    CHECK(tr.storage() == t.storage());
    Tensor row = t.select(0, 1);  // [4, 5, 6, 7]
    Tensor cols = t.slice(1, 1, 4, 2);  // columns 1 and 3
    check_values("select", row, {4, 5, 6, 7});
    check_values("slice step 2", cols, {1, 3, 5, 7, 9, 11});
    CHECK(cols.offset() == 1);
    {
      row.fill_(-1);  // writes through the view into t
    }
    check_values("t after fill through a view", t, {0, 1, 2, 3, -1, -1, -1, -1, 8, 9, 10, 11});
    check_values("transpose sees it", tr.contiguous(), {0, -1, 8, 1, -1, 9, 2, -1, 10, 3, -1, 11});
    Tensor e = from_vector<float>({1, 2, 3}, {3, 1}).expand({3, 4});
    CHECK(e.strides() == Strides{1, 0});
    check_values("expand", e, {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
    CHECK(t.slice(0, -2, 100).shape() == Shape{2, 4});  // python-style bounds
    CHECK(t.unsqueeze(1).shape() == Shape{3, 1, 4});
    CHECK(t.unsqueeze(-1).shape() == Shape{3, 4, 1});
    CHECK(t.unsqueeze(1).squeeze(1).shape() == Shape{3, 4});
  }

  TEST_CASE("tensor: reshape views when strides allow and copies when not") {
    Tensor t = arange(24).reshape({2, 3, 4});
    Tensor v = t.reshape({6, -1});
    CHECK(v.shape() == Shape{6, 4});
    CHECK(v.storage() == t.storage());
    Tensor p = t.permute({2, 0, 1});  // [4, 2, 3], not contiguous
    CHECK_THROWS_AS(p.view({8, 3}), Error);
    Tensor r = p.reshape({8, 3});
    CHECK(r.storage() != t.storage());
    check_values("reshape of permuted", r.slice(0, 0, 2), {0, 4, 8, 12, 16, 20});
    // merging dimensions that are contiguous within a permuted tensor is still a view
    Tensor q = arange(24).reshape({2, 3, 4}).permute({1, 0, 2});  // [3, 2, 4], strides [4, 12, 1]
    CHECK(q.view({3, 2, 2, 2}).storage() == q.storage());
  }

  TEST_CASE("tensor: in-place ops bump the storage version and copy_ broadcasts") {
    Tensor t = zeros({2, 3});
    const uint64_t v0 = t.storage()->version();
    t.copy_(from_vector<float>({1, 2, 3}, {3}));
    check_values("copy_ broadcast", t, {1, 2, 3, 1, 2, 3});
    t.add_(ones({2, 3}), 0.5).mul_(2);
    check_values("add_ then mul_", t, {3, 5, 7, 3, 5, 7});
    CHECK(t.storage()->version() == v0 + 3);
    CHECK_THROWS_AS(t.copy_(ones({4})), Error);
    CHECK_THROWS_AS(t.slice(1, 0, 2).copy_(t.slice(1, 1, 3)), Error);  // overlapping source and destination
  }

  TEST_CASE("tensor: printing looks like PyTorch and elides large tensors") {
    CHECK(to_string(from_vector<float>({1, -2.5f, 3, 4}, {2, 2})) ==
          "tensor([[ 1.0000, -2.5000],\n"
          "        [ 3.0000,  4.0000]], dtype=f32, shape=[2, 2])");
    CHECK(to_string(from_vector<int64_t>({3, 10}, {2})) == "tensor([ 3, 10], dtype=i64, shape=[2])");
    CHECK(to_string(scalar_tensor(0.5, DType::f64)) == "tensor(0.5000, dtype=f64, shape=[])");
    CHECK(to_string(from_vector<float>({1e-6f, 2}, {2})) == "tensor([1.0000e-06, 2.0000e+00], dtype=f32, shape=[2])");
    const std::string big = to_string(arange(2000).reshape({2, 1000}));
    CHECK(big.find("...") != std::string::npos);
    CHECK(big.size() < 300);
    Tensor g = zeros({1});
    g.requires_grad_();
    CHECK(to_string(g) == "tensor([0.0000], dtype=f32, shape=[1], requires_grad)");
  }

  TEST_CASE("tensor: seeded random numbers are reproducible and well distributed") {
    Generator a(42), b(42), c(43);
    Tensor x = randn({100000}, a), y = randn({100000}, b), z = randn({100000}, c);
    CHECK(x.to_vector<float>() == y.to_vector<float>());
    CHECK(x.to_vector<float>() != z.to_vector<float>());
    const double m = mean(x).item<double>(), var = mean(mul(x, x)).item<double>() - m * m;
    CHECK(std::fabs(m) < 4 / std::sqrt(1e5));        // 4 standard errors of the mean
    CHECK(std::fabs(var - 1) < 4 * std::sqrt(2 / 1e5));  // 4 standard errors of the variance
    Tensor u = rand({100000}, a);
    CHECK(max(u).item<float>() < 1.0f);
    CHECK(-max(neg(u)).item<float>() >= 0.0f);
    CHECK(std::fabs(mean(u).item<double>() - 0.5) < 4 * std::sqrt(1.0 / 12 / 1e5));
    Tensor r = randint(3, 7, {1000}, a);
    const auto rv = r.to_vector<int64_t>();
    CHECK(*std::min_element(rv.begin(), rv.end()) == 3);
    CHECK(*std::max_element(rv.begin(), rv.end()) == 6);
    // the generator advances: two draws differ
    CHECK(randn({8}, a).to_vector<float>() != randn({8}, a).to_vector<float>());
  }

  TEST_CASE("tensor: the caching allocator reuses freed blocks instead of asking the OS again") {
    CpuAllocator& alloc = CpuAllocator::instance();
    if (!alloc.caching()) {
      // Sanitizer builds (and NN_CPU_CACHE=0) turn caching off so AddressSanitizer sees every free.
      CHECK(alloc.stats().cache_hits == 0);
      return;
    }
    CHECK(CpuAllocator::round_size(1) == 64);
    CHECK(CpuAllocator::round_size(100000) == 114688);  // 65536 + 3 * 16384: one of four classes per power of two
    { Tensor warm = empty({1 << 20}); }  // 4 MiB, cached when freed
    const AllocatorStats before = alloc.stats();
    for (int i = 0; i < 5; ++i) {
      Tensor t = empty({1 << 20});
      t.fill_(i);
    }
    const AllocatorStats after = alloc.stats();
    CHECK(after.os_allocations == before.os_allocations);
    CHECK(after.cache_hits >= before.cache_hits + 5);
    CHECK(after.allocated_bytes == before.allocated_bytes);
  }
}

}  // namespace nn::test
