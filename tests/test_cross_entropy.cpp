// cross_entropy (mean reduction, class weights, label smoothing, ignore_index): known answer, gradcheck,
// PyTorch parity, and argument errors.
#include <cmath>

#include "tests/check.h"

namespace nn::test {

namespace {

// logits [3, 4]. Row 0 = ln[1, 2, 3, 4] gives p = [.1, .2, .3, .4]; row 1 is row 0 reversed,
// p = [.4, .3, .2, .1]; row 2 is arbitrary and its target is the ignored label -100.
Tensor known_logits() {
  const float l2 = std::log(2.0f), l3 = std::log(3.0f), l4 = std::log(4.0f);
  return from_vector<float>({0, l2, l3, l4, l4, l3, l2, 0, 5, -1, 2, 0}, {3, 4});
}
const std::vector<int64_t> kKnownTarget = {3, 1, -100};

CrossEntropyOptions ce_options(const TorchCase& c) {
  CrossEntropyOptions o;
  if (c.params["weight"]) o.weight = c["weight"];
  o.label_smoothing = c.params["label_smoothing"];
  o.ignore_index = c.params["ignore_index"];
  return o;
}

}  // namespace

TEST_SUITE("known") {
  TEST_CASE("cross_entropy: 3 rows of 4 classes, one ignored; plain, then weights and label smoothing") {
    const Tensor target = from_vector(kKnownTarget, {3});
    SUBCASE("plain mean over the two counted rows") {
      // loss = (-ln p[0, 3] - ln p[1, 1]) / 2 = (ln 2.5 + ln(10/3)) / 2.
      // dlogits = (p - onehot(t)) / 2 on counted rows, 0 on the ignored row.
      Tensor x = leaf(known_logits());
      Tensor loss = cross_entropy(x, target);
      CHECK(loss.shape() == Shape{});
      check_values("loss", loss, {(std::log(2.5) + std::log(10.0 / 3)) / 2});
      loss.backward();
      check_values("dlogits", x.grad(), {.05, .1, .15, -.3, .2, -.35, .1, .05, 0, 0, 0, 0});
    }
    SUBCASE("weights [1, 2, 3, 4], label_smoothing 0.2") {
      // eps = .2, C = 4, denom = w[3] + w[1] = 6. Per counted row i, with -ln p[i, c]:
      //   row 0: (1-eps) w[3] (-ln .4) = 3.2 ln 2.5; smooth eps/C sum_c w[c] (-ln p[0, c]) with -ln p = ln[10, 5, 10/3, 2.5]
      //   row 1: (1-eps) w[1] (-ln .3) = 1.6 ln(10/3); smooth with -ln p = ln[2.5, 10/3, 5, 10]
      // The two smooth sums weigh each of ln 10, ln 5, ln 10/3, ln 2.5 by 5 in total: 0.05 * 5 = 0.25 each, so
      //   loss = (3.45 ln 2.5 + 1.85 ln(10/3) + 0.25 ln 10 + 0.25 ln 5) / 6.
      // Gradient: dlogp[i, c] = -q[i, c] / 6 with q = (1-eps) w[t] onehot(t) + eps/C w, and through log_softmax
      // dlogits = (p sum_c q - q) / 6:
      //   row 0: q = [.05, .1, .15, 3.4], sum 3.7, p * 3.7 = [.37, .74, 1.11, 1.48] -> [.32, .64, .96, -1.92] / 6
      //   row 1: q = [.05, 1.7, .15, .2], sum 2.1, p * 2.1 = [.84, .63, .42, .21] -> [.79, -1.07, .27, .01] / 6
      Tensor x = leaf(known_logits());
      CrossEntropyOptions o;
      o.weight = from_vector<float>({1, 2, 3, 4}, {4});
      o.label_smoothing = 0.2;
      Tensor loss = cross_entropy(x, target, o);
      const double want = (3.45 * std::log(2.5) + 1.85 * std::log(10.0 / 3) + 0.25 * std::log(10.0) + 0.25 * std::log(5.0)) / 6;
      check_values("loss", loss, {want});
      loss.backward();
      check_values("dlogits", x.grad(),
                   {.32 / 6, .64 / 6, .96 / 6, -1.92 / 6, .79 / 6, -1.07 / 6, .27 / 6, .01 / 6, 0, 0, 0, 0});
    }
    SUBCASE("ignore_index 3 (a valid class): rows with target 3 are ignored") {
      // Targets [3, 1, 3]: only row 1 counts (denom 1), loss = -ln .3 = ln(10/3),
      // dlogits row 1 = p - onehot(1) = [.4, -.7, .2, .1]; rows 0 and 2 get 0.
      Tensor x = leaf(known_logits());
      CrossEntropyOptions o;
      o.ignore_index = 3;
      Tensor loss = cross_entropy(x, from_vector<int64_t>({3, 1, 3}, {3}), o);
      check_values("loss", loss, {std::log(10.0 / 3)});
      loss.backward();
      check_values("dlogits", x.grad(), {0, 0, 0, 0, .4, -.7, .2, .1, 0, 0, 0, 0});
    }
    SUBCASE("every row ignored: 0/0 is NaN, as in PyTorch") {
      Tensor loss = cross_entropy(known_logits(), from_vector<int64_t>({-100, -100, -100}, {3}));
      CHECK(std::isnan(loss.item<float>()));
    }
  }
}

TEST_SUITE("gradcheck") {
  TEST_CASE("cross_entropy: weights, label smoothing and an ignored row, w.r.t. the logits") {
    const Tensor target = from_vector<int64_t>({2, 0, -100, 4, 1}, {5});
    CrossEntropyOptions o;
    o.weight = from_vector<double>({0.5, 2, 1, 1.5, 0.25}, {5});
    o.label_smoothing = 0.15;
    gradcheck("cross_entropy weighted smoothed",
              [&](const std::vector<Tensor>& in) { return cross_entropy(in[0], in[1], o); },
              {test_input({5, 5}, 41, -2, 2), target});
    gradcheck("cross_entropy plain", [&](const std::vector<Tensor>& in) { return cross_entropy(in[0], in[1]); },
              {test_input({5, 5}, 42, -2, 2), target});
  }
}

TEST_SUITE("torch") {
  TEST_CASE("cross_entropy: forward and gradients match PyTorch") {
    int seen = 0;
    for (const TorchCase& c : torch_cases("cross_entropy")) {
      CAPTURE(c.name);
      ++seen;
      Tensor x = leaf(c["x"]);
      Tensor y = cross_entropy(x, c["target"], ce_options(c));
      check_close(c.name + " y", y, c["y"]);
      y.backward(c["dy"]);
      check_close(c.name + " dx", x.grad(), c["dx"]);
    }
    CHECK(seen >= 14);
  }
}

TEST_SUITE("errors") {
  TEST_CASE("cross_entropy: bad targets and weights name the op and the shapes") {
    const Tensor x = zeros({3, 4});
    CHECK_THROWS_WITH_AS(cross_entropy(x, from_vector<int64_t>({0, 4, 1}, {3})),
                         doctest::Contains("cross_entropy: target[1] = 4 is not a class index in [0, 4)"), nn::Error);
    CHECK_THROWS_WITH_AS(cross_entropy(x, from_vector<int64_t>({0, -1, 1}, {3})),
                         doctest::Contains("cross_entropy: target[1] = -1"), nn::Error);
    CHECK_THROWS_WITH_AS(cross_entropy(x, from_vector<float>({0, 1, 2}, {3})),
                         doctest::Contains("cross_entropy: target must be i64 [3]"), nn::Error);
    CHECK_THROWS_WITH_AS(cross_entropy(x, from_vector<int64_t>({0, 1}, {2})),
                         doctest::Contains("cross_entropy: target must be i64 [3]"), nn::Error);
    CHECK_THROWS_WITH_AS(cross_entropy(x, from_vector<int64_t>({0, 1, 2}, {3, 1})),
                         doctest::Contains("[3, 1]"), nn::Error);
    CHECK_THROWS_WITH_AS(cross_entropy(zeros({3, 4, 2}), from_vector<int64_t>({0, 1, 2}, {3})),
                         doctest::Contains("cross_entropy: logits must be [N, C], got"), nn::Error);
    CrossEntropyOptions o;
    o.weight = ones({3});
    CHECK_THROWS_WITH_AS(cross_entropy(x, from_vector<int64_t>({0, 1, 2}, {3}), o),
                         doctest::Contains("cross_entropy: weight"), nn::Error);
    o.weight = Tensor();
    o.label_smoothing = 1.5;
    CHECK_THROWS_WITH_AS(cross_entropy(x, from_vector<int64_t>({0, 1, 2}, {3}), o),
                         doctest::Contains("cross_entropy: label_smoothing"), nn::Error);
  }
}

}  // namespace nn::test
