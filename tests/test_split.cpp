// Splits: the invariants of the stratified lesion-grouped split on a generated HAM10000-like dataset
// (no lesion in two splits, class proportions, seeds), official splits, split.csv and its errors.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "base/random.h"
#include "tests/check.h"
#include "tests/support.h"
#include "train/data/split.h"

namespace nn::test {

namespace {

doctest::Contains has(const std::string& s) { return doctest::Contains(doctest::String(s.c_str())); }

// HAM10000's class mix (MEL, NV, BCC, AKIEC, BKL, DF, VASC: 1113, 6705, 514, 327, 1099, 115, 142 of
// 10,015) over about 2000 images in lesions of 1-4 images (mostly 1, as in HAM10000's 7,470 lesions),
// listed in a shuffled order so a lesion's images are not adjacent.
Dataset ham_like(uint64_t seed, int64_t images = 2000) {
  const double share[7] = {1113, 6705, 514, 327, 1099, 115, 142};
  Dataset d;
  d.name = "HAM10000";
  d.root = "generated";
  d.classes = ham10000_classes();
  Generator g(seed);
  int64_t lesion = 0;
  while (static_cast<int64_t>(d.samples.size()) < images) {
    double u = g.next_double() * 10015;
    int64_t label = 0;
    while (u >= share[label] && label < 6) u -= share[label++];
    const double r = g.next_double();
    const int size = r < 0.7 ? 1 : r < 0.9 ? 2 : r < 0.97 ? 3 : 4;
    for (int k = 0; k < size; ++k) {
      const std::string id = fmt::format("ISIC_{:07}", d.samples.size());
      d.samples.push_back({.image = id + ".jpg", .label = label, .id = id, .group = fmt::format("HAM_{:07}", lesion)});
    }
    ++lesion;
  }
  for (size_t i = d.samples.size(); i > 1; --i)
    std::swap(d.samples[i - 1], d.samples[static_cast<size_t>(g.next_double() * static_cast<double>(i))]);
  return d;
}

// n classes x m single-image groups each, in class order.
Dataset simple(int classes, int per_class) {
  Dataset d;
  d.name = "test";
  d.root = "simple";
  for (int c = 0; c < classes; ++c) d.classes.push_back(fmt::format("c{}", c));
  for (int c = 0; c < classes; ++c)
    for (int k = 0; k < per_class; ++k) {
      const std::string id = fmt::format("c{}_{}", c, k);
      d.samples.push_back({.image = id + ".jpg", .label = c, .id = id, .group = id});
    }
  return d;
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("split: lesions never straddle splits; each class's split sizes are within one lesion of the target") {
    const Dataset d = ham_like(3);
    std::set<std::string> lesions;
    for (const Sample& s : d.samples) lesions.insert(s.group);
    MESSAGE("generated " << d.samples.size() << " images of " << lesions.size() << " lesions");
    CHECK(lesions.size() > 1300);
    const SplitOptions opt{.val = 0.15, .test = 0.2, .seed = 5};
    const Split s = make_split(d, opt);
    // Every sample exactly once, indices ascending.
    std::vector<int> seen(d.samples.size(), 0);
    for (const auto* part : {&s.train, &s.val, &s.test}) {
      CHECK(std::is_sorted(part->begin(), part->end()));
      for (int64_t i : *part) ++seen[static_cast<size_t>(i)];
    }
    CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
    // No lesion in two splits.
    std::map<std::string, int> split_of;
    int straddling = 0;
    const std::vector<int64_t>* parts[3] = {&s.train, &s.val, &s.test};
    for (int k = 0; k < 3; ++k)
      for (int64_t i : *parts[k]) {
        auto [it, fresh] = split_of.try_emplace(d.samples[static_cast<size_t>(i)].group, k);
        if (!fresh && it->second != k) ++straddling;
      }
    CHECK(straddling == 0);
    // Per class: |images in split - round(fraction * class images)| <= the class's largest lesion.
    std::vector<int64_t> largest(7, 0);
    std::map<std::string, int64_t> sizes;
    for (const Sample& x : d.samples) ++sizes[x.group];
    for (const Sample& x : d.samples) largest[x.label] = std::max(largest[x.label], sizes[x.group]);
    const std::vector<int64_t> total = d.class_counts(), val = d.class_counts(s.val), test = d.class_counts(s.test);
    for (size_t c = 0; c < 7; ++c) {
      CAPTURE(d.classes[c]);
      CHECK(std::abs(val[c] - std::llround(0.15 * total[c])) <= largest[c]);
      CHECK(std::abs(test[c] - std::llround(0.2 * total[c])) <= largest[c]);
    }
    const double n = static_cast<double>(d.samples.size());
    CHECK(std::fabs(s.val.size() / n - 0.15) < 0.01);
    CHECK(std::fabs(s.test.size() / n - 0.2) < 0.01);
    // Deterministic per seed; other seeds give other splits.
    const Split again = make_split(d, opt);
    CHECK(again.train == s.train);
    CHECK(again.val == s.val);
    CHECK(again.test == s.test);
    const Split other = make_split(d, {.val = 0.15, .test = 0.2, .seed = 6});
    CHECK(other.test != s.test);
    CHECK(other.val != s.val);
  }

  TEST_CASE("split: single-image groups split exactly; zero fractions keep everything in train") {
    const Dataset d = simple(2, 10);
    const Split s = make_split(d, {.val = 0.2, .test = 0.3, .seed = 1});
    CHECK(d.class_counts(s.train) == std::vector<int64_t>{5, 5});
    CHECK(d.class_counts(s.val) == std::vector<int64_t>{2, 2});
    CHECK(d.class_counts(s.test) == std::vector<int64_t>{3, 3});
    const Split all = make_split(d, {.val = 0, .test = 0, .seed = 1});
    CHECK(all.train.size() == 20);
    CHECK(all.val.empty());
    CHECK(all.test.empty());
    // A class with one lesion keeps it in train even when the targets would take it.
    const Dataset tiny = simple(2, 1);
    CHECK(make_split(tiny, {.val = 0.45, .test = 0.45, .seed = 0}).train.size() == 2);
  }

  TEST_CASE("split: official splits are used as they are; a missing validation split is carved from train by lesion") {
    Dataset d = simple(2, 10);
    for (size_t i = 0; i < 20; ++i) d.official_split.push_back(i % 5 == 0 ? "test" : i % 5 == 1 ? "val" : "train");
    const Split s = make_split(d, {.val = 0.4, .test = 0.4, .seed = 9});  // fractions unused
    CHECK(s.val == std::vector<int64_t>{1, 6, 11, 16});
    CHECK(s.test == std::vector<int64_t>{0, 5, 10, 15});
    CHECK(s.train.size() == 12);
    for (std::string& o : d.official_split)
      if (o == "val") o = "train";
    d.samples[3].group = d.samples[4].group = "pair";  // one lesion, two images: must stay together
    const Split c = make_split(d, {.val = 0.25, .test = 0.15, .seed = 9});
    CHECK(c.test == std::vector<int64_t>{0, 5, 10, 15});
    CHECK(c.val.size() + c.train.size() == 16);
    CHECK(c.val.size() == 4);  // 25% of 8 training images per class
    const bool three_val = std::binary_search(c.val.begin(), c.val.end(), 3);
    CHECK(three_val == std::binary_search(c.val.begin(), c.val.end(), 4));
  }

  TEST_CASE("split: split.csv round trip gives the same split; the table counts images per class and split") {
    const Dataset d = ham_like(4, 500);
    const Split s = make_split(d, {.seed = 2});
    const TempDir t("split");
    const std::string path = t / "split.csv";
    write_split_csv(path, d, s);
    const Split r = read_split_csv(path, d);
    CHECK(r.train == s.train);
    CHECK(r.val == s.val);
    CHECK(r.test == s.test);
    std::ifstream in(path);
    std::string header;
    std::getline(in, header);
    CHECK(header == "image_id,lesion_id,label,split");

    const Dataset small = simple(2, 10);
    const std::string table = split_table(small, make_split(small, {.val = 0.2, .test = 0.3, .seed = 1}));
    CHECK(table ==
          "class   train     val    test   total\n"
          "c0          5       2       3      10\n"
          "c1          5       2       3      10\n"
          "total      10       4       6      20\n");
  }
}

TEST_SUITE("errors") {
  TEST_CASE("split: bad fractions, an official split with no validation and --val 0, a class with no training images") {
    const Dataset d = simple(2, 4);
    for (auto [v, t] : {std::pair{-0.1, 0.1}, std::pair{0.5, 0.5}, std::pair{0.2, std::nan("")}})
      CHECK_THROWS_WITH_AS(make_split(d, {.val = v, .test = t}),
                           doctest::Contains("each must be >= 0 and together below 1"), Error);
    Dataset o = d;
    o.official_split.assign(8, "train");
    CHECK_THROWS_WITH_AS(make_split(o, {.val = 0}), doctest::Contains("no validation split and --val is 0"), Error);
    Dataset missing = d;
    missing.classes.push_back("c2");
    CHECK_THROWS_WITH_AS(make_split(missing, {}),
                         doctest::Contains("simple: class c2 has no training images (0 in the "
                                           "whole dataset)"),
                         Error);
  }

  TEST_CASE("split: split.csv with an unknown, repeated or missing image, a bad split name or another label") {
    const Dataset d = simple(2, 2);  // c0_0 c0_1 c1_0 c1_1
    const TempDir t("split");
    const std::string path = t / "bad.csv";
    auto read = [&](const std::string& text) {
      std::ofstream(path) << "image_id,lesion_id,label,split\n" << text;
      return read_split_csv(path, d);
    };
    const std::string ok = "c0_0,c0_0,c0,train\nc0_1,c0_1,c0,val\nc1_0,c1_0,c1,train\n";
    CHECK(read(ok + "c1_1,c1_1,c1,test\n").test == std::vector<int64_t>{3});
    CHECK_THROWS_WITH_AS(read(ok + "c9_9,c9_9,c1,test\n"), has(path + ":5: image 'c9_9' is not in the dataset"), Error);
    CHECK_THROWS_WITH_AS(read(ok + "c0_1,c0_1,c0,test\n"), has(path + ":5: image 'c0_1' repeated (first on line 3)"),
                         Error);
    CHECK_THROWS_WITH_AS(read(ok), has(path + ": image 'c1_1' of the dataset is not in the split file (1 missing"),
                         Error);
    CHECK_THROWS_WITH_AS(read(ok + "c1_1,c1_1,c1,training\n"),
                         has(path + ":5: split 'training' for image 'c1_1', "
                                    "expected train, val or test"),
                         Error);
    CHECK_THROWS_WITH_AS(read(ok + "c1_1,c1_1,c0,test\n"),
                         has(path + ":5: image 'c1_1' has label 'c0' but the dataset "
                                    "says 'c1'"),
                         Error);
    CHECK_THROWS_WITH_AS(read(ok + "c1_1,L7,c1,test\n"), has(path + ":5: image 'c1_1' has lesion_id 'L7'"), Error);
    std::ofstream(path) << "image_id,split\nc0_0,train\n";
    CHECK_THROWS_WITH_AS(read_split_csv(path, d), has(path + ": missing column lesion_id"), Error);
  }
}

}  // namespace nn::test
