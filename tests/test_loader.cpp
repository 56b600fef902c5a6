// The data loader (train/data/loader.h): epoch coverage and order, determinism whatever the thread count, the
// memory and disk caches, early exits, and unreadable images.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "tests/check.h"
#include "tests/support.h"
#include "train/data/loader.h"

namespace nn {

namespace {

namespace fs = std::filesystem;
using test::TempDir;

// An image whose pixels depend on `seed`, so every sample is different.
Image test_image(int64_t h, int64_t w, int seed) {
  Image img;
  img.height = h;
  img.width = w;
  img.rgb.resize(h * w * 3);
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      for (int c = 0; c < 3; ++c) img.rgb[(y * w + x) * 3 + c] = static_cast<uint8_t>((seed * 37 + x * 5 + y * 3 + c * 60) % 256);
    }
  }
  return img;
}

// `n` PNG images of 24x30 in `dir`, labels i % 3.
Dataset make_dataset(const fs::path& dir, int n) {
  Dataset d;
  d.name = "test";
  d.root = dir.string();
  d.classes = {"a", "b", "c"};
  for (int i = 0; i < n; ++i) {
    Sample s;
    s.image = (dir / ("img" + std::to_string(i) + ".png")).string();
    s.label = i % 3;
    s.id = s.group = "img" + std::to_string(i);
    encode_image(test_image(24, 30, i), s.image);
    d.samples.push_back(s);
  }
  return d;
}

Preprocessing small_prep() {
  Preprocessing p = Preprocessing::torchvision_imagenet(20);
  p.input_size = 16;
  return p;
}

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

std::vector<Batch> epoch(DataLoader& loader, int64_t e) {
  std::vector<Batch> out;
  loader.start_epoch(e);
  Batch b;
  while (loader.next(b)) out.push_back(b);
  return out;
}

bool same_batches(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].indices != b[i].indices || a[i].images.shape() != b[i].images.shape()) return false;
    if (!std::equal(a[i].images.data<float>(), a[i].images.data<float>() + a[i].images.numel(), b[i].images.data<float>()))
      return false;
  }
  return true;
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("loader: an epoch visits every sample once in batches of the asked size; eval images are preprocess_image's") {
    TempDir tmp("loader-cover");
    const Dataset d = make_dataset(tmp.path(), 11);
    const Preprocessing prep = small_prep();
    LoaderOptions o;
    o.batch_size = 4;
    o.workers = 2;
    o.shuffle = false;
    o.augment = false;
    DataLoader loader(d, {0, 2, 3, 5, 6, 7, 8, 9, 10, 1}, prep, o);
    CHECK(loader.batches_per_epoch() == 3);
    const auto batches = epoch(loader, 0);
    REQUIRE(batches.size() == 3);
    std::vector<int64_t> seen;
    for (const Batch& b : batches) {
      const int64_t n = static_cast<int64_t>(b.indices.size());
      CHECK(b.images.shape() == Shape{n, 3, 16, 16});
      CHECK(b.labels.shape() == Shape{n});
      for (int64_t i = 0; i < n; ++i) {
        seen.push_back(b.indices[i]);
        CHECK(b.labels.data<int64_t>()[i] == d.samples[b.indices[i]].label);
        const Tensor want = preprocess_image(decode_image(d.samples[b.indices[i]].image), prep);
        CHECK(std::equal(want.data<float>(), want.data<float>() + want.numel(), b.images.data<float>() + i * 3 * 16 * 16));
      }
    }
    CHECK(seen == std::vector<int64_t>{0, 2, 3, 5, 6, 7, 8, 9, 10, 1});  // no shuffle: the given order
    CHECK(batches[2].indices.size() == 2);                               // the partial last batch
    Batch b;
    CHECK_FALSE(loader.next(b));  // stays at the end
  }

  TEST_CASE("loader: batches are identical with 1 and 3 workers; epochs reshuffle; the same epoch repeats exactly") {
    TempDir tmp("loader-determinism");
    const Dataset d = make_dataset(tmp.path(), 13);
    LoaderOptions o;
    o.batch_size = 3;
    o.seed = 5;
    o.augmentation.hflip = 0.5;
    o.augmentation.vflip = 0.5;
    o.augmentation.brightness = 0.3;
    o.workers = 1;
    DataLoader one(d, iota(13), small_prep(), o);
    o.workers = 3;
    o.prefetch = 1;
    DataLoader three(d, iota(13), small_prep(), o);
    const auto a0 = epoch(one, 0), b0 = epoch(three, 0);
    CHECK(same_batches(a0, b0));
    CHECK(same_batches(a0, epoch(three, 0)));  // repeating epoch 0 gives it again
    const auto a1 = epoch(one, 1);
    CHECK_FALSE(same_batches(a0, a1));
    std::multiset<int64_t> s0, s1;
    for (const Batch& b : a0) s0.insert(b.indices.begin(), b.indices.end());
    for (const Batch& b : a1) s1.insert(b.indices.begin(), b.indices.end());
    const std::vector<int64_t> all = iota(13);
    CHECK(s0 == std::multiset<int64_t>(all.begin(), all.end()));
    CHECK(s0 == s1);
    std::vector<int64_t> order0, order1;
    for (const Batch& b : a0) order0.insert(order0.end(), b.indices.begin(), b.indices.end());
    for (const Batch& b : a1) order1.insert(order1.end(), b.indices.begin(), b.indices.end());
    CHECK(order0 != order1);
    // Augmentation differs per epoch too: the same sample's pixels are not the same in both.
    o.shuffle = false;
    DataLoader fixed(d, iota(13), small_prep(), o);
    const auto f0 = epoch(fixed, 0), f1 = epoch(fixed, 1);
    CHECK(f0[0].indices == f1[0].indices);
    CHECK_FALSE(same_batches(f0, f1));
  }

  TEST_CASE("loader: drop_last drops the partial batch; a loader can be stopped early and restarted") {
    TempDir tmp("loader-droplast");
    const Dataset d = make_dataset(tmp.path(), 10);
    LoaderOptions o;
    o.batch_size = 4;
    o.drop_last = true;
    o.augment = false;
    DataLoader loader(d, iota(10), small_prep(), o);
    CHECK(loader.batches_per_epoch() == 2);
    const auto batches = epoch(loader, 0);
    CHECK(batches.size() == 2);
    // Abandon epochs part-way, twice, then run a full one: no hang, no lost batch.
    loader.start_epoch(1);
    Batch b;
    CHECK(loader.next(b));
    loader.start_epoch(2);
    loader.start_epoch(3);
    CHECK(epoch(loader, 3).size() == 2);
    { DataLoader abandoned(d, iota(10), small_prep(), o); abandoned.start_epoch(0); }  // destroyed mid-epoch
  }

  TEST_CASE("loader: the memory cache serves later epochs without the files; eval output is unchanged by it") {
    TempDir tmp("loader-memory");
    const Dataset d = make_dataset(tmp.path(), 6);
    LoaderOptions o;
    o.batch_size = 4;
    o.augment = false;
    o.shuffle = false;
    DataLoader plain(d, iota(6), small_prep(), o);
    o.cache = CacheMode::memory;
    o.cache_shorter = 20;  // = the preprocessing's resize, so the eval transform gives the same pixels
    DataLoader cached(d, iota(6), small_prep(), o);
    const auto want = epoch(plain, 0);
    CHECK(same_batches(epoch(cached, 0), want));
    for (const Sample& s : d.samples) fs::remove(s.image);
    CHECK(same_batches(epoch(cached, 1), want));  // decoded images came from memory
    CHECK_THROWS_AS(epoch(plain, 1), Error);      // the uncached loader needs the files
  }

  TEST_CASE("loader: the disk cache writes one entry per image, re-decodes a damaged entry, keys on the file's state") {
    TempDir tmp("loader-disk");
    const Dataset d = make_dataset(tmp.path(), 5);
    LoaderOptions o;
    o.batch_size = 2;
    o.augment = false;
    o.shuffle = false;
    o.cache = CacheMode::disk;
    o.cache_shorter = 20;
    o.cache_dir = (tmp.path() / "cache").string();
    DataLoader loader(d, iota(5), small_prep(), o);
    const auto want = epoch(loader, 0);
    auto entries = [&] {
      std::vector<fs::path> v;
      for (const auto& e : fs::directory_iterator(o.cache_dir)) v.push_back(e.path());
      std::sort(v.begin(), v.end());
      return v;
    };
    auto files = entries();
    REQUIRE(files.size() == 5);
    for (const auto& f : files) CHECK(f.extension() == ".rgb");
    // A truncated entry is not trusted: the image is decoded again and the entry rewritten.
    const auto full = fs::file_size(files[0]);
    fs::resize_file(files[0], full / 2);
    CHECK(same_batches(epoch(loader, 1), want));
    CHECK(fs::file_size(files[0]) == full);
    // An edited image gets a new entry (the key includes size and modification time).
    encode_image(test_image(26, 31, 99), d.samples[3].image);
    fs::last_write_time(d.samples[3].image, fs::last_write_time(d.samples[3].image) + std::chrono::seconds(5));
    const auto changed = epoch(loader, 2);
    CHECK(entries().size() == 6);
    CHECK_FALSE(same_batches(changed, want));
    const Tensor now = preprocess_image(decode_image(d.samples[3].image), small_prep());
    CHECK(std::equal(now.data<float>(), now.data<float>() + now.numel(), changed[1].images.data<float>() + 3 * 16 * 16));
  }
}

TEST_SUITE("errors") {
  TEST_CASE("loader: an unreadable image is an error naming the file, or with skip_bad_images a counted warning") {
    TempDir tmp("loader-bad");
    Dataset d = make_dataset(tmp.path(), 8);
    {
      std::ofstream bad(d.samples[5].image, std::ios::trunc);
      bad << "not an image";
    }
    LoaderOptions o;
    o.batch_size = 3;
    o.augment = false;
    o.shuffle = false;
    DataLoader strict(d, iota(8), small_prep(), o);
    strict.start_epoch(0);
    Batch b;
    CHECK_THROWS_WITH_AS([&] { while (strict.next(b)) {} }(), doctest::Contains("img5.png"), Error);
    o.skip_bad_images = true;
    DataLoader lenient(d, iota(8), small_prep(), o);
    for (int e = 0; e < 2; ++e) {
      std::vector<int64_t> seen;
      for (const Batch& batch : epoch(lenient, e)) seen.insert(seen.end(), batch.indices.begin(), batch.indices.end());
      CHECK(seen == std::vector<int64_t>{0, 1, 2, 3, 4, 6, 6, 7});  // 5 replaced by the next readable one
    }
    CHECK(lenient.skipped_images() == 1);  // one distinct bad image, over both epochs
  }

  TEST_CASE("loader: options out of range are refused with the reason") {
    TempDir tmp("loader-options");
    const Dataset d = make_dataset(tmp.path(), 3);
    auto make = [&](LoaderOptions o, std::vector<int64_t> idx = {0, 1, 2}) { DataLoader l(d, idx, small_prep(), o); };
    LoaderOptions o;
    o.batch_size = 0;
    CHECK_THROWS_WITH_AS(make(o), doctest::Contains("batch_size"), Error);
    o = {};
    o.workers = 0;
    CHECK_THROWS_WITH_AS(make(o), doctest::Contains("workers"), Error);
    o = {};
    CHECK_THROWS_WITH_AS(make(o, {0, 7}), doctest::Contains("outside"), Error);
    CHECK_THROWS_WITH_AS(make(o, {}), doctest::Contains("no samples"), Error);
    o.batch_size = 4;
    o.drop_last = true;
    CHECK_THROWS_WITH_AS(make(o), doctest::Contains("no full batch"), Error);
    o = {};
    o.cache = CacheMode::disk;
    CHECK_THROWS_WITH_AS(make(o), doctest::Contains("cache_dir"), Error);
    o.cache = CacheMode::memory;
    o.cache_shorter = 8;
    CHECK_THROWS_WITH_AS(make(o), doctest::Contains("enlarged"), Error);
    o = {};
    o.augmentation.hflip = 1.5;
    CHECK_THROWS_AS(make(o), Error);
  }
}

}  // namespace nn
