// Class-imbalance remedies: balanced weights (known answer), oversampling (exact counts, seeded), and
// weighted epochs (empirical frequencies within a few standard deviations, zero weights never drawn).
#include <algorithm>
#include <cmath>
#include <map>

#include "tests/check.h"
#include "train/data/sampling.h"

namespace nn::test {

namespace {

// Labels 0: 6 images, 1: 3, 2: 1, 3: none (listed in mixed order).
Dataset unbalanced() {
  Dataset d;
  d.name = "test";
  d.root = "unbalanced";
  d.classes = {"nv", "mel", "df", "vasc"};
  const int64_t labels[] = {0, 1, 0, 0, 2, 1, 0, 0, 1, 0};
  for (int64_t i = 0; i < 10; ++i) {
    const std::string id = fmt::format("s{}", i);
    d.samples.push_back({.image = id + ".jpg", .label = labels[i], .id = id, .group = id});
  }
  return d;
}

std::vector<int64_t> all(const Dataset& d) {
  std::vector<int64_t> v(d.samples.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(i);
  return v;
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("sampling: balanced class weights are n / (C * n_c); an absent class gets 0") {
    const Dataset d = unbalanced();
    // n = 10, C = 4: 10/24, 10/12, 10/4, 0
    const std::vector<double> w = class_weights(d, all(d));
    REQUIRE(w.size() == 4);
    CHECK(w[0] == doctest::Approx(10.0 / 24));
    CHECK(w[1] == doctest::Approx(10.0 / 12));
    CHECK(w[2] == doctest::Approx(2.5));
    CHECK(w[3] == 0.0);
    // Over a subset: {0, 1, 4}: one of each of classes 0, 1, 2 -> 3 / (4 * 1) each.
    CHECK(class_weights(d, {0, 1, 4}) == std::vector<double>{0.75, 0.75, 0.75, 0.0});
    const std::vector<double> f = inverse_frequency_weights(d, {0, 1, 4, 2});
    CHECK(f == std::vector<double>{0.5, 1.0, 1.0, 0.5});
  }

  TEST_CASE("sampling: oversample repeats each class to the largest count, seeded and shuffled") {
    const Dataset d = unbalanced();
    const std::vector<int64_t> idx = all(d);
    const std::vector<int64_t> o = oversample(d, idx, 3);
    REQUIRE(o.size() == 18);  // 3 present classes x 6
    CHECK(d.class_counts(o) == std::vector<int64_t>{6, 6, 6, 0});
    std::map<int64_t, int> times;
    for (int64_t i : o) ++times[i];
    for (int64_t i : {0, 2, 3, 6, 7, 9}) CHECK(times[i] == 1);  // the largest class: once each
    for (int64_t i : {1, 5, 8}) CHECK(times[i] == 2);           // 6 = 2 full copies of 3
    CHECK(times[4] == 6);                                       // one image, six times
    CHECK(oversample(d, idx, 3) == o);
    CHECK(oversample(d, idx, 4) != o);
    CHECK_FALSE(std::is_sorted(o.begin(), o.end()));
    // A remainder: class sizes 5 and 2 -> 2 full copies + 1 seeded extra, distinct draws.
    const std::vector<int64_t> sub = {0, 2, 3, 6, 7, 1, 5};
    for (uint64_t seed = 0; seed < 20; ++seed) {
      std::map<int64_t, int> t;
      for (int64_t i : oversample(d, sub, seed)) ++t[i];
      CHECK(t[1] + t[5] == 5);
      CHECK(std::min(t[1], t[5]) == 2);
    }
  }

  TEST_CASE("sampling: weighted_epoch draws with probability proportional to the weight") {
    const std::vector<int64_t> idx = {10, 11, 12, 13, 14};
    const std::vector<double> w = {1, 0, 2, 3, 4};
    const int64_t n = 100000;
    const std::vector<int64_t> e = weighted_epoch(idx, w, n, 7);
    REQUIRE(e.size() == static_cast<size_t>(n));
    std::map<int64_t, int64_t> count;
    for (int64_t i : e) ++count[i];
    CHECK(count[11] == 0);
    for (size_t k = 0; k < idx.size(); ++k) {
      const double p = w[k] / 10.0, sigma = std::sqrt(n * p * (1 - p));
      CAPTURE(idx[k]);
      CHECK(std::fabs(static_cast<double>(count[idx[k]]) - n * p) <= 4 * sigma + 1e-9);
    }
    CHECK(weighted_epoch(idx, w, 1000, 7) == std::vector<int64_t>(e.begin(), e.begin() + 1000));
    CHECK(weighted_epoch(idx, w, 1000, 8) != std::vector<int64_t>(e.begin(), e.begin() + 1000));
    CHECK(weighted_epoch(idx, w, 0, 7).empty());
  }
}

TEST_SUITE("errors") {
  TEST_CASE("sampling: negative, non-finite or all-zero weights, mismatched sizes and empty splits are refused") {
    CHECK_THROWS_WITH_AS(weighted_epoch({1, 2}, {1, -1}, 5, 0), doctest::Contains("weight 1 of sample 2 is -1"), Error);
    CHECK_THROWS_WITH_AS(weighted_epoch({1, 2}, {1, std::nan("")}, 5, 0), doctest::Contains("must be finite"), Error);
    CHECK_THROWS_WITH_AS(weighted_epoch({1, 2}, {0, 0}, 5, 0), doctest::Contains("all 2 weights are 0"), Error);
    CHECK_THROWS_WITH_AS(weighted_epoch({1, 2}, {1}, 5, 0), doctest::Contains("2 indices but 1 weights"), Error);
    const Dataset d = unbalanced();
    CHECK_THROWS_WITH_AS(class_weights(d, {}), doctest::Contains("no samples"), Error);
    CHECK_THROWS_WITH_AS(oversample(d, {0, 10}, 0), doctest::Contains("sample index 10 out of range"), Error);
  }
}

}  // namespace nn::test
