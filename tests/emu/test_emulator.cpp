// The CUDA emulator's own tests: it must run correct kernels correctly in every thread order, and it must
// expose the bugs it exists to find — a missing __syncthreads, writes outside an allocation, divergent
// barriers, deadlocks, reads of memory nobody wrote, bad launch shapes.
#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <string>

#include "kernels/cuda/emulation.h"
#include "tests/check.h"
#include "tests/cuda_check.h"
#include "tests/emu/planted.h"

namespace nn::test {
namespace {

constexpr int kSuccess = 0;

float* f32(const Tensor& t) { return t.data<float>(); }

Tensor neighbour_sums_cpu(const Tensor& x) {
  Tensor out = empty(x.shape());
  const float* xs = x.data<float>();
  float* o = out.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) o[i] = xs[i] + xs[i % 128 ? i - 1 : i];
  return out;
}

bool equal(const Tensor& a, const Tensor& b) {
  const float* p = a.data<float>();
  const float* q = b.data<float>();
  for (int64_t i = 0; i < a.numel(); ++i)
    if (!(p[i] == q[i])) return false;
  return true;
}

}  // namespace

TEST_SUITE("emulator") {
  TEST_CASE("emulator: the barrier kernel is right in every order; the planted missing __syncthreads is caught") {
    const int n = 1000;  // 8 blocks, the last one partial
    const Tensor x = test_input({n}, 11, 1, 2, DType::f32);
    const Tensor want = neighbour_sums_cpu(x);
    const Tensor xd = to_cuda(x);
    for (const emu::Schedule& s : schedules()) {
      emu::set_schedule(s);
      INFO("order ", schedule_name(s));
      Tensor good = empty({n}, DType::f32, Device::cuda());
      REQUIRE(planted::neighbour_sum(f32(good), f32(xd), n, true) == kSuccess);
      CHECK(equal(to_cpu(good), want));

      Tensor bad = empty({n}, DType::f32, Device::cuda());
      REQUIRE(planted::neighbour_sum(f32(bad), f32(xd), n, false) == kSuccess);
      // Forward order runs thread t-1 to completion before thread t starts, hiding the race; the other
      // orders resume later threads first, which then read a neighbour's slot before it is written.
      if (s.order == emu::Order::forward) {
        CHECK(equal(to_cpu(bad), want));
      } else {
        CHECK_FALSE(equal(to_cpu(bad), want));
      }
    }
    emu::set_schedule({});
  }

  TEST_CASE("emulator: warp shuffles and a shared-memory block reduction") {
    const int n = 256 * 5 + 77;
    const Tensor x = test_input({n}, 3, -1, 1, DType::f32);
    const int blocks = (n + 255) / 256;
    for_each_schedule([&] {
      Tensor sums = empty({blocks}, DType::f32, Device::cuda());
      REQUIRE(planted::block_sums(f32(sums), f32(to_cuda(x)), n) == kSuccess);
      const Tensor got = to_cpu(sums);
      for (int b = 0; b < blocks; ++b) {
        double want = 0;
        for (int i = b * 256; i < std::min(n, b * 256 + 256); ++i) want += x.data<float>()[i];
        CHECK(got.data<float>()[b] == doctest::Approx(want).epsilon(1e-5));
      }
    });
  }

  TEST_CASE("emulator: a write one element past the end of an allocation fails the launch") {
    Tensor out = empty({100}, DType::f32, Device::cuda());
    const int err = planted::write_range(f32(out), 100, 1, false);
    CHECK(err != kSuccess);
    const std::string text = planted::error_text(err);
    CHECK(text.find("past the end of a 400-byte device allocation") != std::string::npos);
    INFO(text);
    // The guard band is repaired after the report; a correct launch on the same tensor succeeds.
    CHECK(planted::write_range(f32(out), 100, 0, false) == kSuccess);
    CHECK(to_cpu(out).data<float>()[99] == 99.0f);
  }

  TEST_CASE("emulator: a write before the start of an allocation fails the launch") {
    Tensor out = empty({64}, DType::f32, Device::cuda());
    const int err = planted::write_range(f32(out), 64, 0, true);
    CHECK(err != kSuccess);
    CHECK(std::string(planted::error_text(err)).find("before the start") != std::string::npos);
  }

  TEST_CASE("emulator: divergent barriers and deadlocks fail the launch with a reason") {
    Tensor out = empty({32}, DType::f32, Device::cuda());
    int err = planted::divergent_barrier(f32(out));
    CHECK(err != kSuccess);
    CHECK(std::string(planted::error_text(err)).find("divergent __syncthreads") != std::string::npos);
    err = planted::shuffle_barrier_deadlock(f32(out));
    CHECK(err != kSuccess);
    CHECK(std::string(planted::error_text(err)).find("deadlock") != std::string::npos);
    // Afterwards the emulator runs kernels normally.
    CHECK(planted::write_range(f32(out), 32, 0, false) == kSuccess);
  }

  TEST_CASE("emulator: unwritten device memory and dynamic shared memory read as NaN") {
    Tensor fresh = empty({16}, DType::f32, Device::cuda());
    CHECK(std::isnan(to_cpu(fresh).data<float>()[7]));
    Tensor out = empty({40}, DType::f32, Device::cuda());
    REQUIRE(planted::read_unwritten_dynamic_shared(f32(out), 40) == kSuccess);
    const Tensor got = to_cpu(out);
    for (int i = 0; i < 40; ++i) CHECK(std::isnan(got.data<float>()[i]));
  }

  TEST_CASE("emulator: atomics from many blocks, votes over full and ragged warps") {
    const int n = 5000, bins = 7;
    Tensor x = empty({n}, DType::i64);
    for (int i = 0; i < n; ++i) x.data<int64_t>()[i] = (i * 31 + 5) % bins;
    Tensor counts = zeros({bins}, DType::i64).to(Device::cuda());
    REQUIRE(planted::histogram(reinterpret_cast<unsigned long long*>(counts.data<int64_t>()), to_cuda(x).data<int64_t>(), n,
                               bins) == kSuccess);
    const Tensor got = to_cpu(counts);
    int64_t total = 0;
    for (int b = 0; b < bins; ++b) {
      int64_t want = 0;
      for (int i = 0; i < n; ++i) want += x.data<int64_t>()[i] == b;
      CHECK(got.data<int64_t>()[b] == want);
      total += got.data<int64_t>()[b];
    }
    CHECK(total == n);

    for (int threads : {64, 45}) {
      const int warps = (threads + 31) / 32;
      Tensor out = empty({3 * warps}, DType::i64, Device::cuda());
      REQUIRE(planted::votes(reinterpret_cast<unsigned long long*>(out.data<int64_t>()), threads) == kSuccess);
      const Tensor v = to_cpu(out);
      for (int w = 0; w < warps; ++w) {
        const int lanes = std::min(32, threads - 32 * w);
        unsigned ballot = 0;
        for (int l = 0; l < lanes; ++l)
          if (l % 3 == 0) ballot |= 1u << l;
        CHECK(static_cast<unsigned>(v.data<int64_t>()[3 * w]) == ballot);
        CHECK(v.data<int64_t>()[3 * w + 1] == (lanes > 5 ? 1 : 0));
        CHECK(v.data<int64_t>()[3 * w + 2] == 1);
      }
    }
  }

  TEST_CASE("emulator: launch shapes CUDA refuses are refused") {
    CHECK(planted::launch_block_of(1024) == kSuccess);
    const int err = planted::launch_block_of(1025);
    CHECK(err != kSuccess);
    CHECK(std::string(planted::error_text(err)).find("invalid launch configuration") != std::string::npos);
  }

  TEST_CASE("emulator: blocks run on more than one worker thread") {
    const int blocks = 64;
    Tensor ids = empty({blocks}, DType::i64, Device::cuda());
    REQUIRE(planted::block_threads(reinterpret_cast<uint64_t*>(ids.data<int64_t>()), blocks) == kSuccess);
    const Tensor got = to_cpu(ids);
    std::set<int64_t> distinct(got.data<int64_t>(), got.data<int64_t>() + blocks);
#if defined(NN_EMU_SHARED_STATIC)
    CHECK(distinct.size() == 1);  // static shared memory: one block at a time
#else
    // NN_EMU_WORKERS defaults to the core count (2 on the CI machines). Every worker gets ~0.1 ms blocks;
    // asking only for two distinct threads keeps the check safe on a loaded machine.
    CHECK(distinct.size() >= static_cast<size_t>(std::min(emu::workers(), 2)));
    CHECK(distinct.size() <= static_cast<size_t>(emu::workers()));
#endif
  }
}

}  // namespace nn::test
