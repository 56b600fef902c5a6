// batch_norm: known answers (training with the running-statistics update, eval, [N, C] without affine),
// gradcheck (training and eval, frozen weight) and PyTorch parity, including the updated running stats.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/batch_norm.h"
#include "kernels/cpu/isa.h"
#include "layers/batch_norm.h"
#include "tests/check.h"

namespace nn::test {

namespace {

bool wants_grad(const nlohmann::json& p, const std::string& name) {
  for (const auto& g : p["grad"])
    if (g == name) return true;
  return false;
}

}  // namespace

TEST_SUITE("known") {
  // Precise statistics (the trainer's checkpoint.precise_bn_batches): reset, then with the momentum unset
  // the running statistics are the plain average of the batches' (1,2,3: mean 2, unbiased var 1; 4,6,8:
  // mean 6, var 4 -> 4 and 2.5); with the momentum back at 0.1 the exponential update resumes from there.
  TEST_CASE("batch_norm: reset_running_stats, then the cumulative average of the next batches, then momentum again") {
    BatchNorm2d bn(1);
    bn.running_mean.fill_(7);
    bn.running_var.fill_(9);
    bn.reset_running_stats();
    check_values("reset mean", bn.running_mean, {0});
    check_values("reset var", bn.running_var, {1});
    CHECK(bn.num_batches_tracked.item<int64_t>() == 0);
    REQUIRE(bn.momentum() == 0.1);
    bn.set_momentum(std::nullopt);
    const Tensor a = from_vector<float>({1, 2, 3}, {1, 1, 1, 3}), b = from_vector<float>({4, 6, 8}, {1, 1, 1, 3});
    bn(a);
    bn(b);
    check_values("averaged mean", bn.running_mean, {4});
    check_values("averaged var", bn.running_var, {2.5});
    CHECK(bn.num_batches_tracked.item<int64_t>() == 2);
    bn.set_momentum(0.1);
    bn(a);
    check_values("momentum mean", bn.running_mean, {0.9 * 4 + 0.1 * 2});
    check_values("momentum var", bn.running_var, {0.9 * 2.5 + 0.1 * 1});
  }

  // x [N=2, C=2, H=1, W=3] = 1..12, so channel 0 holds 1,2,3 (n=0) and 7,8,9 (n=1), channel 1 holds
  // 4,5,6 and 10,11,12. M = 6 values per channel; means 5 and 8; deviations d = -4,-3,-2, 2,3,4 in both;
  // sum d^2 = 58: biased var 58/6 = 29/3, unbiased 58/5 = 11.6. istd = 1/sqrt(29/3 + eps).
  // gamma = [2, 0.5], beta = [1, -1]:  y = d * istd * gamma + beta.
  // dy: channel 0 is 1 at (n0, w0), -1 at (n1, w2), else 0; channel 1 is all ones.
  //   ch 0: sum dy = 0, sum dy*d = -4 - 4 = -8:  dbeta 0, dgamma = -8 istd,
  //         dx = gamma istd (dy - sum dy/M - d istd^2 sum(dy d)/M) = 2 istd (dy + (4/3) istd^2 d)
  //   ch 1: sum dy = 6, sum dy*d = 0:  dbeta 6, dgamma 0, dx = 0.5 istd (1 - 6/6) = 0.
  // Running stats from mean [0, 1], var [1, 2], momentum 0.1: mean 0.9*[0, 1] + 0.1*[5, 8] = [0.5, 1.7];
  // var 0.9*[1, 2] + 0.1*11.6 (unbiased) = [2.06, 2.96].
  // Then again with a frozen weight: the same dx and dbeta, no weight gradient.
  // Eval on the same x with running mean [1, 2], var [4, 0.25]: y = (x - rm) istd_c gamma + beta with
  // istd = 1/sqrt(rv + eps); dy = 1: dx = gamma istd, dgamma = sum(x - rm) istd = [(30 - 6) istd0,
  // (48 - 12) istd1], dbeta = [6, 6]; the running stats stay.
  TEST_CASE("batch_norm: training with running stats, frozen weight, eval on 2x2x1x3; [N, C] without affine") {
    std::vector<float> xs(12);
    for (int i = 0; i < 12; ++i) xs[i] = static_cast<float>(i + 1);
    const double s = 1 / std::sqrt(29.0 / 3 + 1e-5), k = 4.0 / 3 * s * s;
    const Tensor dy = from_vector<float>({1, 0, 0, 1, 1, 1, 0, 0, -1, 1, 1, 1}, {2, 2, 1, 3});
    const std::vector<double> want_y = {1 - 8 * s, 1 - 6 * s, 1 - 4 * s,  -1 - 2 * s, -1 - 1.5 * s, -1 - s,
                                        1 + 4 * s, 1 + 6 * s, 1 + 8 * s,  -1 + s,     -1 + 1.5 * s, -1 + 2 * s};
    const std::vector<double> want_dx = {2 * s * (1 - 4 * k), 2 * s * -3 * k, 2 * s * -2 * k, 0, 0, 0,
                                         2 * s * 2 * k,       2 * s * 3 * k,  2 * s * (-1 + 4 * k), 0, 0, 0};
    for (const bool frozen : {false, true}) {
      CAPTURE(frozen);
      Tensor x = leaf(from_vector(xs, {2, 2, 1, 3})), b = leaf(from_vector<float>({1, -1}, {2}));
      Tensor w = from_vector<float>({2, 0.5f}, {2});
      if (!frozen) w = leaf(w);
      Tensor rm = from_vector<float>({0, 1}, {2}), rv = from_vector<float>({1, 2}, {2});
      Tensor y = batch_norm(x, rm, rv, w, b, {.training = true});
      check_values("y", y, want_y);
      check_values("running_mean", rm, {0.5, 1.7});
      check_values("running_var", rv, {2.06, 2.96});
      y.backward(dy);
      check_values("dx", x.grad(), want_dx);
      check_values("dbeta", b.grad(), {0, 6});
      if (frozen) CHECK(!w.grad().defined());
      else check_values("dgamma", w.grad(), {-8 * s, 0});
    }

    const double s0 = 1 / std::sqrt(4 + 1e-5), s1 = 1 / std::sqrt(0.25 + 1e-5);
    Tensor x = leaf(from_vector(xs, {2, 2, 1, 3})), w = leaf(from_vector<float>({2, 0.5f}, {2}));
    Tensor b = leaf(from_vector<float>({1, -1}, {2}));
    Tensor rm = from_vector<float>({1, 2}, {2}), rv = from_vector<float>({4, 0.25f}, {2});
    Tensor y = batch_norm(x, rm, rv, w, b, {.training = false});
    std::vector<double> want(12);
    for (int i = 0; i < 12; ++i) {
      const bool c1 = (i / 3) % 2 == 1;
      want[i] = c1 ? (xs[i] - 2) * s1 * 0.5 - 1 : (xs[i] - 1) * s0 * 2 + 1;
    }
    check_values("y (eval)", y, want);
    y.backward(ones_like(y));
    check_values("dx (eval)", x.grad(), {2 * s0, 2 * s0, 2 * s0, 0.5 * s1, 0.5 * s1, 0.5 * s1,
                                         2 * s0, 2 * s0, 2 * s0, 0.5 * s1, 0.5 * s1, 0.5 * s1});
    check_values("dgamma (eval)", w.grad(), {24 * s0, 36 * s1}, 1e-5);  // float sums near 72
    check_values("dbeta (eval)", b.grad(), {6, 6});
    check_values("running stats (eval)", cat({rm, rv}, 0), {1, 2, 4, 0.25});

    // [N=3, C=2] = [[1, 2], [3, 6], [5, 4]], no weight, bias or running stats. Channel 0: 1, 3, 5, mean 3,
    // d = -2, 0, 2; channel 1: 2, 6, 4, mean 4, d = -2, 2, 0; both var 8/3, istd t = 1/sqrt(8/3 + eps).
    // y = d t. dy = [[1, 1], [0, 0], [0, 0]]: per channel sum dy = 1, sum dy d = -2, M = 3:
    //   dx = t (dy - 1/3 - d t^2 (-2)/3) = t (dy - 1/3 + (2/3) t^2 d).
    Tensor xn = leaf(from_vector<float>({1, 2, 3, 6, 5, 4}, {3, 2}));
    Tensor yn = batch_norm(xn, {}, {}, {}, {}, {.training = true});
    const double t = 1 / std::sqrt(8.0 / 3 + 1e-5), kt = 2.0 / 3 * t * t;
    check_values("y ([N, C])", yn, {-2 * t, -2 * t, 0, 2 * t, 2 * t, 0});
    yn.backward(from_vector<float>({1, 1, 0, 0, 0, 0}, {3, 2}));
    check_values("dx ([N, C])", xn.grad(), {t * (2.0 / 3 - 2 * kt), t * (2.0 / 3 - 2 * kt), -t / 3,
                                            t * (-1.0 / 3 + 2 * kt), t * (-1.0 / 3 + 2 * kt), -t / 3});
  }
}

TEST_SUITE("gradcheck") {
  // Training evaluates f many times: each call gets fresh running stats, so their in-place update can
  // neither disturb the check nor drift (the output does not depend on them in training anyway).
  TEST_CASE("batch_norm: training and eval, affine, frozen weight, [N, C]") {
    gradcheck("batch_norm train 4-D",
              [](const std::vector<Tensor>& in) {
                Tensor rm = zeros({3}, DType::f64), rv = ones({3}, DType::f64);
                return batch_norm(in[0], rm, rv, in[1], in[2], {.training = true});
              },
              {test_input({3, 3, 2, 4}, 1), test_input({3}, 2, 0.5, 2), test_input({3}, 3)});
    gradcheck("batch_norm train [N, C] no affine, no running stats",
              [](const std::vector<Tensor>& in) { return batch_norm(in[0], {}, {}, {}, {}, {.training = true}); },
              {test_input({5, 4}, 4)});
    const Tensor frozen_w = test_input({2}, 5, 0.5, 2);
    gradcheck("batch_norm train frozen weight",
              [&](const std::vector<Tensor>& in) {
                return batch_norm(in[0], {}, {}, frozen_w, in[1], {.training = true, .eps = 1e-3});
              },
              {test_input({2, 2, 3, 5}, 6), test_input({2}, 7)});
    // batch_norm_relu (one kernel each way on the CPU): the gradient of the fused op itself. A gamma of
    // mixed signs and a beta put many outputs below zero; no value sits within the step of zero.
    gradcheck("batch_norm_relu train",
              [](const std::vector<Tensor>& in) {
                Tensor rm = zeros({3}, DType::f64), rv = ones({3}, DType::f64);
                return batch_norm_relu(in[0], rm, rv, in[1], in[2], {.training = true});
              },
              {test_input({3, 3, 2, 4}, 13), from_vector<double>({1.5, -0.7, 0.9}, {3}), from_vector<double>({0.1, 0.2, -0.3}, {3})});
    const Tensor rm = test_input({3}, 8), rv = test_input({3}, 9, 0.5, 2);
    gradcheck("batch_norm eval",
              [&](const std::vector<Tensor>& in) {
                return batch_norm(in[0], rm, rv, in[1], in[2], {.training = false});
              },
              {test_input({2, 3, 3, 2}, 10), test_input({3}, 11), test_input({3}, 12)});
  }
}

TEST_SUITE("known") {
  // The fused kernels against the two ops they replace: the same expressions in the same order, so
  // outputs, every gradient and the running statistics are bitwise equal, in float and double, with a
  // channel whose outputs are NaN (a NaN gamma: ReLU keeps NaN and passes dy there, as relu()) and a
  // channel far from zero mean.
  TEST_CASE_TEMPLATE("batch_norm_relu: bitwise the values and gradients of relu(batch_norm(...))", T, float, double) {
    const DType dt = std::is_same_v<T, float> ? DType::f32 : DType::f64;
    Generator gen(21);
    Tensor x0 = randn({4, 5, 7, 9}, gen, dt);
    {
      NoGradGuard no_grad;
      x0.select(1, 2).add_(50.0);  // |mean| >> std in channel 2
    }
    const Tensor dy = randn(x0.shape(), gen, dt);
    const std::vector<T> g = {1.2, -0.8, 0.5, std::numeric_limits<T>::quiet_NaN(), 2.0};
    struct Run {
      Tensor y, dx, dgamma, dbeta, rm, rv;
    };
    auto run = [&](bool fused) {
      Tensor x = leaf(x0.clone()), gamma = leaf(from_vector<T>(g, {5})), beta = leaf(randn({5}, gen, dt));
      Tensor rm = zeros({5}, dt), rv = ones({5}, dt);
      const BatchNormOptions o{.training = true, .momentum = 0.1};
      Tensor y = fused ? batch_norm_relu(x, rm, rv, gamma, beta, o) : relu(batch_norm(x, rm, rv, gamma, beta, o));
      y.backward(dy);
      return Run{y, x.grad(), gamma.grad(), beta.grad(), rm, rv};
    };
    Generator saved = gen;
    const Run fused = run(true);
    gen = saved;  // the same beta
    const Run plain = run(false);
    auto same = [](const std::string& what, const Tensor& a, const Tensor& b) {
      INFO(what);
      const std::vector<T> va = a.to_vector<T>(), vb = b.to_vector<T>();
      REQUIRE(va.size() == vb.size());
      int64_t differ = 0, nans = 0;
      for (size_t i = 0; i < va.size(); ++i) {
        nans += std::isnan(va[i]);
        differ += std::isnan(va[i]) ? !std::isnan(vb[i]) : va[i] != vb[i];
      }
      CHECK(differ == 0);
      return nans;
    };
    CHECK(same("y", fused.y, plain.y) == 4 * 7 * 9);  // channel 3
    const std::vector<T> yv = fused.y.template to_vector<T>();
    const auto zeros = std::count(yv.begin(), yv.end(), T(0)), positive = std::count_if(yv.begin(), yv.end(), [](T v) { return v > 0; });
    CHECK(zeros > 200);  // both sides of the ReLU are exercised
    CHECK(positive > 200);
    same("dx", fused.dx, plain.dx);
    same("dgamma", fused.dgamma, plain.dgamma);
    same("dbeta", fused.dbeta, plain.dbeta);
    same("running_mean", fused.rm, plain.rm);
    same("running_var", fused.rv, plain.rv);
  }
}

TEST_SUITE("kernels") {
  // The CPU batch norm's compiled copies (kernels/cpu/batch_norm_impl.h: baseline, AVX2, AVX-512) give the
  // same bits: every entry point, float and double, odd plane sizes (vector tails), planes shorter than a
  // vector, values far from zero (x - mean's cancellation), with and without the affine parameters and ReLU.
  TEST_CASE_TEMPLATE("batch_norm: every ISA copy of the CPU kernels gives the baseline's bits", T, float, double) {
    struct Restore {
      ~Restore() { unforce_batch_norm_isa(); }
    } restore;
    std::vector<CpuIsa> isas;
    for (const CpuIsa isa : {CpuIsa::avx2, CpuIsa::avx512})
      if (cpu_has(isa)) isas.push_back(isa);
    if (isas.empty()) MESSAGE("only the baseline copy runs on this CPU: nothing to compare");
    const DType dt = dtype_of<T>;
    uint64_t seed = 700;
    for (const BatchNormParams p : {BatchNormParams{3, 5, 37}, BatchNormParams{2, 3, 1}, BatchNormParams{4, 2, 203}}) {
      const int64_t n = p.N * p.C * p.HW;
      Tensor x = test_input({n}, seed++, 90, 110, dt), dy = test_input({n}, seed++, -1, 1, dt);
      Tensor gamma = test_input({p.C}, seed++, 0.5, 1.5, dt), beta = test_input({p.C}, seed++, -1, 1, dt);
      Tensor rmean = test_input({p.C}, seed++, 95, 105, dt), rvar = test_input({p.C}, seed++, 1, 4, dt);
      // Every output of every entry point, in one list of tensors, for the ISA forced now.
      auto run = [&](bool affine) {
        const T* g = affine ? gamma.data<T>() : nullptr;
        const T* b = affine ? beta.data<T>() : nullptr;
        std::vector<Tensor> out;
        auto make = [&](int64_t size) { return out.emplace_back(full({size}, 7, dt)).template data<T>(); };
        T* y = make(n);
        T* mean = make(p.C);
        T* invstd = make(p.C);
        T* var = make(p.C);
        batch_norm_forward_train_cpu<T>(y, mean, invstd, var, x.data<T>(), g, b, p);
        T* yr = make(n);
        batch_norm_relu_forward_train_cpu<T>(yr, make(p.C), make(p.C), make(p.C), x.data<T>(), g, b, p);
        batch_norm_forward_eval_cpu<T>(make(n), x.data<T>(), rmean.data<T>(), rvar.data<T>(), g, b, p);
        batch_norm_backward_train_cpu<T>(make(n), make(p.C), make(p.C), dy.data<T>(), x.data<T>(), invstd, g, p);
        batch_norm_relu_backward_train_cpu<T>(make(n), make(p.C), make(p.C), dy.data<T>(), yr, x.data<T>(), invstd,
                                              g, p);
        batch_norm_backward_eval_cpu<T>(make(n), make(p.C), make(p.C), dy.data<T>(), x.data<T>(), rmean.data<T>(),
                                        rvar.data<T>(), g, p);
        return out;
      };
      for (const bool affine : {true, false}) {
        force_batch_norm_isa(CpuIsa::portable);
        const std::vector<Tensor> want = run(affine);
        for (const CpuIsa isa : isas) {
          force_batch_norm_isa(isa);
          const std::vector<Tensor> got = run(affine);
          for (size_t i = 0; i < want.size(); ++i)
            CHECK_MESSAGE(got[i].to_vector<T>() == want[i].to_vector<T>(),
                          fmt::format("{} copy, N{} C{} HW{}, affine {}: output {} differs from the baseline's",
                                      isa_name(isa), p.N, p.C, p.HW, affine, i));
        }
      }
    }
  }
}

TEST_SUITE("torch") {
  TEST_CASE("batch_norm: forward, gradients and running stats match PyTorch") {
    for (const TorchCase& c : torch_cases("batch_norm")) {
      CAPTURE(c.name);
      const nlohmann::json& p = c.params;
      const bool affine = p["affine"], running = p["running"];
      auto input = [&](const std::string& name) {
        return wants_grad(p, name) ? leaf(c[name]) : c[name];
      };
      Tensor x = input("x"), w = affine ? input("w") : Tensor(), b = affine ? input("b") : Tensor();
      Tensor rm = running ? c["running_mean"].clone() : Tensor(), rv = running ? c["running_var"].clone() : Tensor();
      Tensor y = batch_norm(x, rm, rv, w, b, {.training = p["training"], .momentum = p["momentum"], .eps = p["eps"]});
      check_close(c.name + " y", y, c["y"]);
      if (running) {
        check_close(c.name + " running_mean", rm, c["running_mean_out"]);
        check_close(c.name + " running_var", rv, c["running_var_out"]);
      }
      y.backward(c["dy"]);
      const std::vector<std::pair<std::string, Tensor>> inputs = {{"x", x}, {"w", w}, {"b", b}};
      for (const auto& [name, t] : inputs) {
        if (!t.defined()) continue;
        if (wants_grad(p, name)) check_close(c.name + " d" + name, t.grad(), c["d" + name]);
        else CHECK_MESSAGE(!t.grad().defined(), c.name << ": " << name << " does not require grad but got one");
      }
    }
  }
}

}  // namespace nn::test
