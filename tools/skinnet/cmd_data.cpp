// skinnet data: opens a dataset, makes (or reads) the lesion-grouped split, prints the per-class table and
// the training split's class weights, optionally saves split.csv and decodes every image to find bad ones.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "base/error.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"
#include "train/data/dataset.h"
#include "train/data/image.h"
#include "train/data/sampling.h"
#include "train/data/split.h"

namespace nn {

namespace {

// Decodes every image (in parallel: 10,000 JPEGs take about a minute on one core); prints each failure.
int64_t check_images(const Dataset& d) {
  std::vector<std::string> problems(d.samples.size());
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < static_cast<int64_t>(d.samples.size()); ++i) {
    try {
      decode_image(d.samples[static_cast<size_t>(i)].image);
    } catch (const Error& e) {
      problems[static_cast<size_t>(i)] = e.what();
    }
  }
  int64_t bad = 0;
  for (size_t i = 0; i < problems.size(); ++i)
    if (!problems[i].empty()) {
      std::printf("bad image (id %s): %s\n", d.samples[i].id.c_str(), problems[i].c_str());
      ++bad;
    }
  std::printf("check-images: %zu images checked, %lld bad\n", d.samples.size(), static_cast<long long>(bad));
  return bad;
}

}  // namespace

Flags data_flags() {
  Flags flags("data",
              "Reads a dataset, splits it by lesion (stratified, seeded) and prints images per class and "
              "split, and the training split's class weights.");
  flags.add("data", "", "dataset folder or ground-truth CSV (see docs/data.md)")
      .add("format", "auto", "auto, ham10000, isic2018, isic2016, isic2017 or imagefolder")
      .add("val", "0.15", "validation fraction of the images (by lesion)")
      .add("test", "0.15", "test fraction of the images (by lesion)")
      .add("seed", "0", "seed of the split")
      .add("split-file", "", "read the split from this split.csv instead of making one")
      .add("out", "", "folder to write split.csv into")
      .add_switch("check-images", "decode every image and report each one that fails (exit 1 if any)")
      .add_switch("skip-bad-images", "with --check-images: bad images are a counted warning (exit 0), as the loader's "
                                     "skip_bad_images treats them in training");
  return flags;
}

int data_main(int argc, char** argv) {
  Flags flags = data_flags();
  if (!flags.parse(argc, argv)) return 0;
  NN_USAGE_CHECK(flags.positional().empty(), "unexpected argument '{}'", flags.positional()[0]);
  NN_USAGE_CHECK(!flags.str("data").empty(), "--data is required (a dataset folder or ground-truth CSV)");
  NN_USAGE_CHECK(flags.integer("seed") >= 0, "--seed must be >= 0");
  const Dataset d = open_dataset(flags.str("data"), flags.str("format"));
  std::set<std::string> groups;
  for (const Sample& s : d.samples) groups.insert(s.group);
  std::printf("dataset  %s\nroot     %s\nimages   %zu\ngroups   %zu\nclasses  %zu: %s\n", d.name.c_str(),
              d.root.c_str(), d.samples.size(), groups.size(), d.classes.size(),
              fmt::format("{}", fmt::join(d.classes, ", ")).c_str());
  for (const std::string& w : d.warnings) std::printf("warning: %s\n", w.c_str());

  Split split;
  const SplitOptions options{
      .val = flags.real("val"), .test = flags.real("test"), .seed = static_cast<uint64_t>(flags.integer("seed"))};
  if (!flags.str("split-file").empty()) {
    split = read_split_csv(flags.str("split-file"), d);
    std::printf("split    read from %s\n", flags.str("split-file").c_str());
  } else {
    split = make_split(d, options);
    const bool has_val = std::find(d.official_split.begin(), d.official_split.end(), "val") != d.official_split.end();
    if (!d.official_split.empty())
      std::printf("split    the dataset's folders%s\n",
                  has_val ? "" : fmt::format("; val carved from train by lesion ({:g})", options.val).c_str());
    else
      std::printf("split    by lesion, stratified: val %g, test %g, seed %llu\n", options.val, options.test,
                  static_cast<unsigned long long>(options.seed));
  }
  std::printf("\n%s\n", split_table(d, split).c_str());
  const std::vector<double> w = class_weights(d, split.train);
  std::printf("class weights (training split, n / (C * n_c)):\n");
  for (size_t c = 0; c < w.size(); ++c) std::printf("  %-10s %.4f\n", d.classes[c].c_str(), w[c]);

  if (!flags.str("out").empty()) {
    std::filesystem::create_directories(flags.str("out"));
    const std::string path = (std::filesystem::path(flags.str("out")) / "split.csv").string();
    write_split_csv(path, d, split);
    std::printf("\nwrote %s\n", path.c_str());
  }
  if (flags.on("check-images")) {
    std::printf("\n");
    const int64_t bad = check_images(d);
    if (bad > 0 && flags.on("skip-bad-images")) {
      std::fprintf(stderr, "warning: %lld unreadable images will be skipped (--skip-bad-images)\n", static_cast<long long>(bad));
    } else if (bad > 0) {
      return 1;
    }
  }
  return 0;
}

}  // namespace nn
