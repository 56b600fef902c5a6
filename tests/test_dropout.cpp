// dropout: its random mask cannot match PyTorch's (a different generator), so the known tier checks the
// mask's statistics and the exact deterministic parts (identity cases, scaling, gradient, reproducibility);
// gradcheck re-creates the generator inside f so every evaluation draws the same mask; the torch tier
// compares only the cases with no randomness (p=0 and eval mode) with F.dropout.
#include <cmath>
#include <limits>

#include "tensor/shard.h"
#include "tests/check.h"

namespace nn::test {

TEST_SUITE("known") {
  TEST_CASE("dropout: p=0 and eval mode are the identity and draw nothing") {
    for (const auto& [p, training] : {std::pair{0.0, true}, std::pair{0.5, false}, std::pair{1.0, false}}) {
      CAPTURE(p);
      CAPTURE(training);
      Generator gen(3);
      Tensor x = leaf(test_input({3, 5}, 90, -1, 1, DType::f32));
      Tensor y = dropout(x, p, training, gen);
      check_values("y", y, x.to_vector<double>(), 0);
      CHECK(gen.offset() == 0);
      const Tensor dy = test_input({3, 5}, 91, -1, 1, DType::f32);
      y.backward(dy);
      check_values("dx", x.grad(), dy.to_vector<double>(), 0);
    }
  }

  TEST_CASE("dropout: p=1 gives zeros with a zero gradient") {
    Generator gen(3);
    Tensor x = leaf(test_input({4, 3}, 92, 0.5, 1.5, DType::f32));
    Tensor y = dropout(x, 1.0, true, gen);
    CHECK(y.shape() == Shape{4, 3});
    check_values("y", y, std::vector<double>(12, 0.0), 0);
    y.backward(test_input({4, 3}, 93, -1, 1, DType::f32));
    check_values("dx", x.grad(), std::vector<double>(12, 0.0), 0);
  }

  // 100k elements, p = 0.3. The dropped count is Binomial(n, p): mean 30000, sd sqrt(n p (1 - p)) = 144.9.
  // Kept elements are x * 1/(1-p) (the scale rounded once to T, as PyTorch's mask.div_(1-p) then x * mask),
  // within one rounding of x / (1 - p); dx = dy * mask / (1 - p) with mask = (y != 0) (x is kept off 0).
  TEST_CASE_TEMPLATE("dropout: p=0.3 on 100k elements: dropped fraction, kept values, gradient", T, float, double) {
    const double p = 0.3;
    const int64_t n = 100000;
    const DType dt = dtype_of<T>;
    Generator gen(2024);
    Tensor x = leaf(test_input({250, 400}, 94, 0.5, 1.5, dt));
    Tensor y = dropout(x, p, true, gen);
    CHECK(y.shape() == Shape{250, 400});
    const Tensor dy = test_input({250, 400}, 95, -1, 1, dt);
    y.backward(dy);
    const std::vector<T> xs = x.to_vector<T>(), ys = y.to_vector<T>(), dys = dy.to_vector<T>(), dxs = x.grad().to_vector<T>();
    const T scale = static_cast<T>(1.0 / (1.0 - p));
    int64_t dropped = 0, bad_kept = 0, bad_grad = 0;
    for (int64_t i = 0; i < n; ++i) {
      const bool kept = ys[i] != T(0);
      dropped += !kept;
      const double exact = static_cast<double>(xs[i]) / (1.0 - p);
      if (kept && (ys[i] != xs[i] * scale || std::fabs(ys[i] - exact) > std::numeric_limits<T>::epsilon() * exact)) ++bad_kept;
      if (dxs[i] != (kept ? dys[i] * scale : T(0))) ++bad_grad;
    }
    const double sd = std::sqrt(n * p * (1 - p));
    CHECK_MESSAGE(std::fabs(static_cast<double>(dropped) - n * p) <= 4 * sd,
                  "dropped " << dropped << " of " << n << ", expected " << n * p << " +- " << 4 * sd);
    CHECK_MESSAGE(bad_kept == 0, bad_kept << " kept elements differ from x / (1 - p)");
    CHECK_MESSAGE(bad_grad == 0, bad_grad << " gradient elements differ from dy * mask / (1 - p)");
  }

  TEST_CASE("dropout: the same seed reproduces the mask; another seed and the next draw differ") {
    const Tensor x = test_input({64, 33}, 96, 0.5, 1.5, DType::f32);
    Generator a(7), b(7), c(8);
    const std::vector<float> ya = dropout(x, 0.5, true, a).to_vector<float>();
    const std::vector<float> yb = dropout(x, 0.5, true, b).to_vector<float>();
    const std::vector<float> yc = dropout(x, 0.5, true, c).to_vector<float>();
    const std::vector<float> ya2 = dropout(x, 0.5, true, a).to_vector<float>();
    CHECK(a.offset() > 0);
    CHECK(ya == yb);
    int64_t differ_seed = 0, differ_draw = 0;
    for (size_t i = 0; i < ya.size(); ++i) {
      differ_seed += (ya[i] == 0) != (yc[i] == 0);
      differ_draw += (ya[i] == 0) != (ya2[i] == 0);
    }
    // Independent masks with p = 0.5 disagree on about half of the 2112 elements.
    CHECK(differ_seed > 500);
    CHECK(differ_draw > 500);
    // A transposed (non-contiguous) input keeps its shape.
    Generator d(7);
    CHECK(dropout(x.transpose(0, 1), 0.5, true, d).shape() == Shape{33, 64});
  }
}

TEST_SUITE("gradcheck") {
  TEST_CASE("dropout: p=0.4 with the generator re-created inside f (the same mask every evaluation)") {
    gradcheck("dropout",
              [](const std::vector<Tensor>& in) {
                Generator gen(11);
                return mul(dropout(in[0], 0.4, true, gen), in[0]);
              },
              {test_input({4, 5, 3}, 97)});
  }
}

TEST_SUITE("torch") {
  // Only p=0 and eval mode (references in tests/torch_cases_shape.py): with p > 0 in training the mask comes
  // from PyTorch's generator, which skinnet's Philox stream does not reproduce.
  TEST_CASE("dropout: p=0 and eval mode match PyTorch") {
    int seen = 0;
    for (const TorchCase& c : torch_cases("shape")) {
      if (c.params["op"] != "dropout") continue;
      CAPTURE(c.name);
      ++seen;
      Generator gen(1);
      Tensor x = leaf(c["x"]);
      Tensor y = dropout(x, c.params["p"], c.params["training"], gen);
      check_close(c.name + " y", y, c["y"]);
      y.backward(c["dy"]);
      check_close(c.name + " dx", x.grad(), c["dx"]);
    }
    CHECK(seen == 4);
  }
}

TEST_SUITE("errors") {
  TEST_CASE("dropout: batch shards (data-parallel ranks) draw the whole batch's masks for their rows") {
    // 7 rows cut 2 + 2 + 3 (rank shares); 5 values a row, so shares start mid-counter (the global-mask path),
    // and 8 values a row (the aligned path). The generator ends where the whole batch leaves it.
    for (const int64_t per_row : {5, 8}) {
      CAPTURE(per_row);
      const Tensor x = test_input({7, per_row}, 93, 0.5, 1.5, DType::f32);
      Generator whole_gen(11);
      const std::vector<float> whole = dropout(x, 0.4, true, whole_gen).to_vector<float>();
      for (const auto& [lo, hi] : {std::pair<int64_t, int64_t>{0, 2}, {2, 4}, {4, 7}}) {
        Generator gen(11);
        Tensor part = leaf(x.slice(0, lo, hi).contiguous());
        Tensor y;
        {
          const BatchShard shard(lo, 7);
          y = dropout(part, 0.4, true, gen);
        }
        CHECK(gen.offset() == whole_gen.offset());
        const std::vector<float> got = y.to_vector<float>();
        for (int64_t i = 0; i < (hi - lo) * per_row; ++i) CHECK(got[i] == whole[lo * per_row + i]);
        y.backward(ones_like(y));  // the gradient is the mask: 0 or 1/(1-p) where the whole batch's is
        const std::vector<float> g = part.grad().to_vector<float>();
        for (int64_t i = 0; i < (hi - lo) * per_row; ++i)
          CHECK(g[i] == doctest::Approx(whole[lo * per_row + i] == 0 ? 0.0 : 1 / 0.6));
      }
    }
    const BatchShard shard(5, 7);
    Generator gen(1);
    CHECK_THROWS_WITH(dropout(test_input({3, 2}, 94, 0, 1, DType::f32), 0.5, true, gen),
                      doctest::Contains("do not fit the global batch of 7"));
  }

  TEST_CASE("dropout: p outside [0, 1] and an integer input name the op") {
    Generator gen(1);
    const Tensor x = zeros({2, 3});
    CHECK_THROWS_WITH_AS(dropout(x, 1.5, true, gen), doctest::Contains("dropout: probability p=1.5"), nn::Error);
    CHECK_THROWS_WITH_AS(dropout(x, -0.1, false, gen), doctest::Contains("dropout: probability"), nn::Error);
    CHECK_THROWS_WITH_AS(dropout(zeros({2, 3}, DType::i64), 0.5, true, gen), doctest::Contains("dropout:"), nn::Error);
  }
}

}  // namespace nn::test
