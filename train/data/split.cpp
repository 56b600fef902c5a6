// Splits (see split.h): official splits as given (validation carved from train when missing), else a
// stratified, lesion-grouped, seeded split; split.csv reading and writing; the per-class table.
#include "train/data/split.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "base/error.h"
#include "base/random.h"
#include "train/data/csv.h"

namespace nn {

namespace {

// Stratified grouped assignment of `indices`: 0 train, 1 val, 2 test per index (same order).
//
// Each group (lesion) takes its majority label (ties: the lower class index) and goes whole to one split.
// Per class, its groups are sorted by name, shuffled, and walked in order: a group goes to test while
// test is short of round(test * class images) and adding it overshoots by less than the shortfall
// (so it lands nearer the target than without it), else to val by the same rule, else to train. The last group of each
// class in the shuffled order always goes to train, so a class with any images keeps at least one group for training.
std::vector<int> assign_groups(const Dataset& ds, const std::vector<int64_t>& indices, double val, double test,
                               uint64_t seed) {
  std::map<std::string, std::vector<size_t>> groups;  // group -> positions in `indices`
  for (size_t p = 0; p < indices.size(); ++p) groups[ds.samples[static_cast<size_t>(indices[p])].group].push_back(p);
  const size_t C = ds.classes.size();
  std::vector<std::vector<const std::vector<size_t>*>> by_class(C);
  for (const auto& [name, members] : groups) {
    std::vector<int64_t> votes(C, 0);
    for (size_t p : members) ++votes[static_cast<size_t>(ds.samples[static_cast<size_t>(indices[p])].label)];
    by_class[static_cast<size_t>(std::max_element(votes.begin(), votes.end()) - votes.begin())].push_back(&members);
  }
  std::vector<int> where(indices.size(), 0);
  Generator g(seed);
  for (size_t c = 0; c < C; ++c) {
    auto& gs = by_class[c];
    shuffle(gs, g);
    int64_t images = 0;
    for (const auto* m : gs) images += static_cast<int64_t>(m->size());
    const double target[3] = {0, std::round(val * static_cast<double>(images)),
                              std::round(test * static_cast<double>(images))};
    double filled[3] = {0, 0, 0};
    for (size_t k = 0; k < gs.size(); ++k) {
      const double size = static_cast<double>(gs[k]->size());
      int split = 0;
      for (int s : {2, 1}) {
        const double shortfall = target[s] - filled[s];
        if (k + 1 < gs.size() && shortfall > 0 && size - shortfall < shortfall) {
          split = s;
          break;
        }
      }
      filled[split] += size;
      for (size_t p : *gs[k]) where[p] = split;
    }
  }
  return where;
}

void check_no_empty_training_class(const Dataset& ds, const std::vector<int64_t>& train) {
  const std::vector<int64_t> counts = ds.class_counts(train), total = ds.class_counts();
  for (size_t c = 0; c < counts.size(); ++c)
    NN_CHECK(counts[c] > 0,
             "{}: class {} has no training images ({} in the whole dataset); a classifier cannot learn "
             "it: add images of it, or drop the class",
             ds.root, ds.classes[c], total[c]);
}

const char* kSplitNames[3] = {"train", "val", "test"};

}  // namespace

Split make_split(const Dataset& dataset, const SplitOptions& options) {
  const double val = options.val, test = options.test;
  NN_CHECK(std::isfinite(val) && std::isfinite(test) && val >= 0 && test >= 0 && val + test < 1,
           "split fractions val {} and test {}: each must be >= 0 and together below 1", val, test);
  NN_CHECK(!dataset.samples.empty(), "{}: the dataset has no samples to split", dataset.root);
  Split split;
  std::vector<int64_t>* parts[3] = {&split.train, &split.val, &split.test};
  if (!dataset.official_split.empty()) {
    NN_CHECK(dataset.official_split.size() == dataset.samples.size(), "{}: {} official split names for {} samples",
             dataset.root, dataset.official_split.size(), dataset.samples.size());
    for (size_t i = 0; i < dataset.samples.size(); ++i) {
      const std::string& s = dataset.official_split[i];
      const auto k = std::find(std::begin(kSplitNames), std::end(kSplitNames), s) - std::begin(kSplitNames);
      NN_CHECK(k < 3, "{}: sample '{}' has official split '{}', expected train, val or test", dataset.root,
               dataset.samples[i].id, s);
      parts[k]->push_back(static_cast<int64_t>(i));
    }
    NN_CHECK(!split.train.empty(), "{}: the official split has no training images", dataset.root);
    if (split.val.empty()) {
      // No validation folder: carve one from train, grouped and stratified, `val` of the training images.
      NN_CHECK(val > 0,
               "{}: the dataset has no validation split and --val is 0; add a val/ folder or give a "
               "fraction to carve from train",
               dataset.root);
      const std::vector<int64_t> train = split.train;
      const std::vector<int> where = assign_groups(dataset, train, val, 0, options.seed);
      split.train.clear();
      for (size_t p = 0; p < train.size(); ++p) (where[p] == 1 ? split.val : split.train).push_back(train[p]);
    }
  } else {
    std::vector<int64_t> all(dataset.samples.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    const std::vector<int> where = assign_groups(dataset, all, val, test, options.seed);
    for (size_t i = 0; i < all.size(); ++i) parts[where[i]]->push_back(all[i]);
  }
  for (auto* p : parts) std::sort(p->begin(), p->end());
  check_no_empty_training_class(dataset, split.train);
  return split;
}

void write_split_csv(const std::string& path, const Dataset& dataset, const Split& split) {
  std::vector<int> where(dataset.samples.size(), -1);
  const std::vector<int64_t>* parts[3] = {&split.train, &split.val, &split.test};
  for (int s = 0; s < 3; ++s)
    for (int64_t i : *parts[s]) {
      NN_CHECK(i >= 0 && i < static_cast<int64_t>(where.size()), "{}: split index {} out of range ({} samples)", path,
               i, where.size());
      NN_CHECK(where[static_cast<size_t>(i)] < 0, "{}: sample '{}' is in two splits", path,
               dataset.samples[static_cast<size_t>(i)].id);
      where[static_cast<size_t>(i)] = s;
    }
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < where.size(); ++i) {
    const Sample& s = dataset.samples[i];
    NN_CHECK(where[i] >= 0, "{}: sample '{}' is in no split", path, s.id);
    rows.push_back({s.id, s.group, dataset.classes[static_cast<size_t>(s.label)], kSplitNames[where[i]]});
  }
  std::ofstream out(path, std::ios::binary);
  NN_CHECK(out.good(), "{}: cannot open for writing", path);
  out << format_csv({"image_id", "lesion_id", "label", "split"}, rows);
  out.close();
  NN_CHECK(out.good(), "{}: write failed", path);
}

Split read_split_csv(const std::string& path, const Dataset& dataset) {
  const CsvTable t = read_csv(path);
  for (const char* c : {"image_id", "lesion_id", "label", "split"})
    NN_CHECK(t.has_column(c),
             "{}: missing column {}; a split file has image_id, lesion_id, label, split; the file "
             "has {}",
             path, c, fmt::join(t.header, ", "));
  const size_t ic = t.column("image_id"), lc = t.column("lesion_id"), bc = t.column("label"), sc = t.column("split");
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < dataset.samples.size(); ++i) index[dataset.samples[i].id] = i;
  std::vector<size_t> seen(dataset.samples.size(), SIZE_MAX);  // the row naming each sample
  Split split;
  std::vector<int64_t>* parts[3] = {&split.train, &split.val, &split.test};
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    auto it = index.find(row[ic]);
    NN_CHECK(it != index.end(), "{}: image '{}' is not in the dataset {} (a split file from another dataset?)",
             t.where(r), row[ic], dataset.root);
    const Sample& s = dataset.samples[it->second];
    NN_CHECK(seen[it->second] == SIZE_MAX, "{}: image '{}' repeated (first on line {})", t.where(r), row[ic],
             t.lines[seen[it->second]]);
    seen[it->second] = r;
    const std::string& label = dataset.classes[static_cast<size_t>(s.label)];
    NN_CHECK(row[bc] == label, "{}: image '{}' has label '{}' but the dataset says '{}'", t.where(r), row[ic], row[bc],
             label);
    NN_CHECK(row[lc] == s.group, "{}: image '{}' has lesion_id '{}' but the dataset says '{}'", t.where(r), row[ic],
             row[lc], s.group);
    const auto k = std::find(std::begin(kSplitNames), std::end(kSplitNames), row[sc]) - std::begin(kSplitNames);
    NN_CHECK(k < 3, "{}: split '{}' for image '{}', expected train, val or test", t.where(r), row[sc], row[ic]);
    parts[k]->push_back(static_cast<int64_t>(it->second));
  }
  int64_t missing = 0;
  size_t first_missing = 0;
  for (size_t i = 0; i < seen.size(); ++i)
    if (seen[i] == SIZE_MAX && missing++ == 0) first_missing = i;
  NN_CHECK(missing == 0,
           "{}: image '{}' of the dataset is not in the split file ({} missing in all); make a new "
           "split or use the dataset the file was written for",
           path, dataset.samples[first_missing].id, missing);
  for (auto* p : parts) std::sort(p->begin(), p->end());
  return split;
}

std::string split_table(const Dataset& dataset, const Split& split) {
  const std::vector<int64_t> counts[3] = {dataset.class_counts(split.train), dataset.class_counts(split.val),
                                          dataset.class_counts(split.test)};
  size_t width = 5;
  for (const std::string& c : dataset.classes) width = std::max(width, c.size());
  std::string out = fmt::format("{:<{}} {:>7} {:>7} {:>7} {:>7}\n", "class", width, "train", "val", "test", "total");
  int64_t sums[4] = {0, 0, 0, 0};
  for (size_t c = 0; c < dataset.classes.size(); ++c) {
    const int64_t total = counts[0][c] + counts[1][c] + counts[2][c];
    out += fmt::format("{:<{}} {:>7} {:>7} {:>7} {:>7}\n", dataset.classes[c], width, counts[0][c], counts[1][c],
                       counts[2][c], total);
    for (int s = 0; s < 3; ++s) sums[s] += counts[s][c];
    sums[3] += total;
  }
  out += fmt::format("{:<{}} {:>7} {:>7} {:>7} {:>7}\n", "total", width, sums[0], sums[1], sums[2], sums[3]);
  return out;
}

}  // namespace nn
