// Class imbalance: HAM10000 is 67% nevi and 1.1% dermatofibroma. Three remedies, all computed from the
// training split only:
//   class_weights    per-class loss weights n / (C * n_c) ("balanced"), for cross_entropy's weight
//   oversample       repeat each class's images up to the largest class's count (what the ISBI 2016
//                    VGG19 notebook did), as one fixed list per epoch, shuffled with the epoch's seed
//   weighted epoch   draw n indices with replacement, each with probability proportional to its weight
//                    (per-sample weights, e.g. 1/n_c of its class), seeded per epoch
#pragma once

#include <cstdint>
#include <vector>

#include "train/data/dataset.h"

namespace nn {

std::vector<double> class_weights(const Dataset& dataset, const std::vector<int64_t>& indices);
std::vector<int64_t> oversample(const Dataset& dataset, const std::vector<int64_t>& indices, uint64_t seed);
std::vector<double> inverse_frequency_weights(const Dataset& dataset, const std::vector<int64_t>& indices);
std::vector<int64_t> weighted_epoch(const std::vector<int64_t>& indices, const std::vector<double>& weights,
                                    int64_t count, uint64_t seed);

}  // namespace nn
