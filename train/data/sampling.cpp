// Class-imbalance remedies (see sampling.h): balanced class weights, oversampling, weighted epochs.
//
// A class with no images among `indices` gets weight 0 in class_weights and nothing in oversample: it
// cannot be reweighted or repeated, and make_split already refuses a training split that lacks a class.
#include "train/data/sampling.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "base/random.h"

namespace nn {

std::vector<double> class_weights(const Dataset& dataset, const std::vector<int64_t>& indices) {
  NN_CHECK(!indices.empty(), "class_weights: no samples (the training split is empty)");
  const std::vector<int64_t> counts = dataset.class_counts(indices);
  const double n = static_cast<double>(indices.size()), C = static_cast<double>(counts.size());
  std::vector<double> w(counts.size(), 0.0);
  for (size_t c = 0; c < counts.size(); ++c)
    if (counts[c] > 0) w[c] = n / (C * static_cast<double>(counts[c]));
  return w;
}

std::vector<int64_t> oversample(const Dataset& dataset, const std::vector<int64_t>& indices, uint64_t seed) {
  std::vector<std::vector<int64_t>> per_class(dataset.classes.size());
  const std::vector<int64_t> counts = dataset.class_counts(indices);  // also checks the indices
  for (int64_t i : indices) per_class[static_cast<size_t>(dataset.samples[static_cast<size_t>(i)].label)].push_back(i);
  const int64_t most = counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
  Generator g(seed);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(most) * per_class.size());
  for (std::vector<int64_t>& members : per_class) {
    if (members.empty()) continue;
    const size_t n = members.size(), full = static_cast<size_t>(most) / n, rest = static_cast<size_t>(most) % n;
    for (size_t k = 0; k < full; ++k) out.insert(out.end(), members.begin(), members.end());
    // The remainder: `rest` distinct members, the first ones of a seeded shuffle.
    shuffle(members, g);
    out.insert(out.end(), members.begin(), members.begin() + static_cast<std::ptrdiff_t>(rest));
  }
  shuffle(out, g);
  return out;
}

std::vector<double> inverse_frequency_weights(const Dataset& dataset, const std::vector<int64_t>& indices) {
  const std::vector<int64_t> counts = dataset.class_counts(indices);
  std::vector<double> w;
  w.reserve(indices.size());
  for (int64_t i : indices)
    w.push_back(1.0 / static_cast<double>(counts[static_cast<size_t>(dataset.samples[static_cast<size_t>(i)].label)]));
  return w;
}

std::vector<int64_t> weighted_epoch(const std::vector<int64_t>& indices, const std::vector<double>& weights,
                                    int64_t count, uint64_t seed) {
  NN_CHECK(indices.size() == weights.size(), "weighted_epoch: {} indices but {} weights", indices.size(),
           weights.size());
  NN_CHECK(count >= 0, "weighted_epoch: count {} is negative", count);
  std::vector<double> cumulative(weights.size());
  double total = 0;
  size_t last_positive = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    NN_CHECK(std::isfinite(weights[i]) && weights[i] >= 0,
             "weighted_epoch: weight {} of sample {} is {}; weights "
             "must be finite and >= 0",
             i, indices[i], weights[i]);
    total += weights[i];
    cumulative[i] = total;
    if (weights[i] > 0) last_positive = i;
  }
  NN_CHECK(total > 0, "weighted_epoch: all {} weights are 0 (nothing to draw)", weights.size());
  Generator g(seed);
  std::vector<int64_t> out(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) {
    // The first i with cumulative[i] > u: probability weights[i] / total; a zero weight is never drawn.
    const double u = g.next_double() * total;
    const size_t i =
        static_cast<size_t>(std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin());
    out[static_cast<size_t>(k)] = indices[std::min(i, last_positive)];
  }
  return out;
}

}  // namespace nn
