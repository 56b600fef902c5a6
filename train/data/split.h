// Train/validation/test splits: stratified by class and grouped by lesion, seeded, saved as split.csv.
//
// HAM10000 holds 10,015 images of 7,470 lesions: several photographs of one lesion. Splitting by image
// puts near-duplicates on both sides and inflates test scores; skinnet splits by lesion (`Sample::group`),
// so no group appears in two splits, while keeping each class's proportions in every split.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/data/dataset.h"

namespace nn {

struct Split {
  std::vector<int64_t> train, val, test;  // indices into Dataset::samples, ascending
};

struct SplitOptions {
  double val = 0.15;   // fraction of images
  double test = 0.15;
  uint64_t seed = 0;
};

// Official splits when the dataset has them, else a stratified, grouped, seeded split.
Split make_split(const Dataset& dataset, const SplitOptions& options);

// split.csv: header "image_id,lesion_id,label,split"; one row per sample.
void write_split_csv(const std::string& path, const Dataset& dataset, const Split& split);
// Reuses a saved split; every sample of the dataset must appear exactly once, with a known split name.
Split read_split_csv(const std::string& path, const Dataset& dataset);

// A table of images per class per split, for the run log.
std::string split_table(const Dataset& dataset, const Split& split);

}  // namespace nn
