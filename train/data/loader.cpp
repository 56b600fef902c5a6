// The data loader (see loader.h): per-epoch worker threads, a reorder buffer, and the decoded-image cache.
//
// Threads and ordering. start_epoch() fixes the epoch's order and launches `workers` threads. A worker
// claims the next unclaimed batch number (only while fewer than `prefetch` batches are ahead of the
// consumer), builds the whole batch, and files it in `ready` under its number; next() hands out batch
// `delivered` as soon as it is there. Which thread built a batch never matters: sample i of epoch e is
// always transformed with Generator(sample_seed(seed, e, i)).
//
// Cache. An entry is the image decoded and shrunk so its shorter side is cache_shorter (never enlarged).
// The memory cache keeps entries in a vector indexed by dataset sample; the disk cache writes each to
// cache_dir/<key>.rgb (a 16-byte header, then raw RGB), where the key hashes the file's path, size, mtime
// and cache_shorter, so an edited image gets a new entry. Entries are written to a temporary name and
// renamed, so a crash never leaves a half-written entry under a real name; a damaged entry (wrong size or
// header) is decoded again and rewritten.
#include "train/data/loader.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <set>

#include "base/error.h"
#include "base/math.h"
#include "tensor/shard.h"

namespace nn {

namespace fs = std::filesystem;

namespace {

constexpr char kCacheMagic[8] = {'S', 'K', 'N', 'C', 'A', 'C', 'H', '1'};

uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// The image as the cache keeps it: shorter side shrunk to `shorter`, never enlarged.
Image shrink_for_cache(Image image, int64_t shorter) {
  if (std::min(image.height, image.width) <= shorter) return image;
  return resize_shorter_side(image, shorter);
}

void check_indices(const Dataset& dataset, const std::vector<int64_t>& indices) {
  NN_CHECK(!indices.empty(), "loader: {} has no samples in this split", dataset.root);
  for (int64_t i : indices) {
    NN_CHECK(i >= 0 && i < static_cast<int64_t>(dataset.samples.size()),
             "loader: sample index {} is outside the dataset's {} samples", i, dataset.samples.size());
  }
}

}  // namespace

struct DataLoader::State {
  const Dataset& dataset;
  std::vector<int64_t> indices;
  Preprocessing prep;
  LoaderOptions options;

  // The epoch in flight.
  int64_t epoch = -1;
  std::vector<int64_t> order;  // dataset indices in visiting order
  int64_t num_batches = 0;

  std::mutex mutex;
  std::condition_variable wake_workers, wake_consumer;
  int64_t claimed = 0;    // batches handed to workers so far
  int64_t delivered = 0;  // batches handed to the consumer so far
  std::map<int64_t, Batch> ready;
  std::exception_ptr error;
  bool stopping = false;
  std::vector<std::thread> threads;

  // Cache (memory) and bad-image bookkeeping; guarded by `mutex`.
  std::vector<std::shared_ptr<const Image>> memory_cache;
  std::set<int64_t> bad_images;

  State(const Dataset& d, std::vector<int64_t> idx, const Preprocessing& p, LoaderOptions o)
      : dataset(d), indices(std::move(idx)), prep(p), options(std::move(o)) {}

  int64_t batch_count() const {
    const int64_t n = static_cast<int64_t>(indices.size()), b = options.batch_size;
    const int64_t last = options.drop_last ? 0 : n % b;
    NN_CHECK(last == 0 || last >= options.shards,
             "loader: the epoch's last batch has {} samples, fewer than the {} ranks sharing it; every rank needs "
             "at least one (a batch size that divides {}, or drop the last batch)", last, options.shards, n);
    return options.drop_last ? n / b : ceil_div(n, b);
  }

  void stop() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake_workers.notify_all();
    wake_consumer.notify_all();
    for (std::thread& t : threads) t.join();
    threads.clear();
  }

  std::string disk_entry(int64_t sample) const {
    const std::string& path = dataset.samples[sample].image;
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    const auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
    const uint64_t key = fnv1a(fmt::format("{}|{}|{}|{}", fs::absolute(path).string(), size, mtime, options.cache_shorter));
    return (fs::path(options.cache_dir) / fmt::format("{:016x}.rgb", key)).string();
  }

  static bool read_disk_entry(const std::string& file, Image& out) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return false;
    char magic[8];
    uint32_t hw[2];
    if (!in.read(magic, 8) || std::memcmp(magic, kCacheMagic, 8) != 0) return false;
    if (!in.read(reinterpret_cast<char*>(hw), sizeof hw)) return false;
    if (hw[0] == 0 || hw[1] == 0 || static_cast<int64_t>(hw[0]) * hw[1] > kMaxImagePixels) return false;
    out.height = hw[0];
    out.width = hw[1];
    out.rgb.resize(static_cast<size_t>(out.height * out.width * 3));
    if (!in.read(reinterpret_cast<char*>(out.rgb.data()), static_cast<std::streamsize>(out.rgb.size()))) return false;
    return in.peek() == std::char_traits<char>::eof();  // longer than the header says: damaged
  }

  static void write_disk_entry(const std::string& file, const Image& image) {
    const std::string tmp = fmt::format("{}.tmp{}", file, std::hash<std::thread::id>{}(std::this_thread::get_id()));
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      NN_CHECK(out.good(), "{}: cannot write a cache entry (does the cache folder exist and is it writable?)", tmp);
      const uint32_t hw[2] = {static_cast<uint32_t>(image.height), static_cast<uint32_t>(image.width)};
      out.write(kCacheMagic, 8);
      out.write(reinterpret_cast<const char*>(hw), sizeof hw);
      out.write(reinterpret_cast<const char*>(image.rgb.data()), static_cast<std::streamsize>(image.rgb.size()));
      NN_CHECK(out.good(), "{}: writing a cache entry failed (disk full?)", tmp);
    }
    std::error_code ec;
    fs::rename(tmp, file, ec);
    NN_CHECK(!ec, "{}: cannot move the cache entry into place: {}", file, ec.message());
  }

  // The source image of a sample: decoded, or from the cache (filling it on a miss). Throws nn::Error
  // naming the file when the image cannot be read.
  std::shared_ptr<const Image> source(int64_t sample) {
    const std::string& path = dataset.samples[sample].image;
    switch (options.cache) {
      case CacheMode::none:
        return std::make_shared<const Image>(decode_image(path));
      case CacheMode::memory: {
        {
          std::lock_guard lock(mutex);
          if (memory_cache[sample]) return memory_cache[sample];
        }
        auto image = std::make_shared<const Image>(shrink_for_cache(decode_image(path), options.cache_shorter));
        std::lock_guard lock(mutex);
        memory_cache[sample] = image;
        return image;
      }
      case CacheMode::disk: {
        const std::string file = disk_entry(sample);
        auto image = std::make_shared<Image>();
        if (read_disk_entry(file, *image)) return image;
        *image = shrink_for_cache(decode_image(path), options.cache_shorter);
        write_disk_entry(file, *image);
        return image;
      }
    }
    NN_FAIL("unknown cache mode");
  }

  // The source image for epoch position `pos`; with skip_bad_images an unreadable image is replaced by the
  // next readable one in the epoch's order (deterministic: readability is a property of the files).
  std::pair<int64_t, std::shared_ptr<const Image>> source_at(int64_t pos) {
    const int64_t n = static_cast<int64_t>(order.size());
    for (int64_t k = 0; k < n; ++k) {
      const int64_t sample = order[(pos + k) % n];
      if (options.skip_bad_images) {
        std::lock_guard lock(mutex);
        if (bad_images.count(sample)) continue;
      }
      try {
        return {sample, source(sample)};
      } catch (const Error& e) {
        if (!options.skip_bad_images) throw;
        std::lock_guard lock(mutex);
        if (bad_images.insert(sample).second) std::fprintf(stderr, "skinnet: skipping an unreadable image: %s\n", e.what());
      }
    }
    NN_FAIL("{}: none of the {} images of this epoch could be read (see the warnings above)", dataset.root, n);
  }

  Batch build(int64_t b) {
    const int64_t whole = std::min<int64_t>(options.batch_size, static_cast<int64_t>(order.size()) - b * options.batch_size);
    const auto [lo, hi] = share_rows(whole, options.shard, options.shards);
    const int64_t first = b * options.batch_size + lo;
    const int64_t count = hi - lo;
    const int64_t s = prep.input_size;
    Batch batch;
    batch.images = empty({count, 3, s, s});
    batch.labels = empty({count}, DType::i64);
    batch.indices.resize(count);
    batch.global_size = whole;
    batch.global_first = lo;
    float* images = batch.images.data<float>();
    int64_t* labels = batch.labels.data<int64_t>();
    for (int64_t i = 0; i < count; ++i) {
      const int64_t pos = first + i;
      auto [sample, image] = source_at(pos);
      Tensor x;
      if (options.augment) {
        Generator gen(sample_seed(options.seed, epoch, pos));
        x = train_transform(*image, prep, options.augmentation, gen);
      } else {
        x = preprocess_image(*image, prep);
      }
      NN_CHECK(x.numel() == 3 * s * s, "{}: the transform gave {} values, expected 3x{}x{}",
               dataset.samples[sample].image, x.numel(), s, s);
      std::memcpy(images + i * 3 * s * s, x.data<float>(), sizeof(float) * 3 * s * s);
      labels[i] = dataset.samples[sample].label;
      batch.indices[i] = sample;
    }
    return batch;
  }

  void work() {
    for (;;) {
      int64_t b;
      {
        std::unique_lock lock(mutex);
        wake_workers.wait(lock, [&] {
          return stopping || error || claimed >= num_batches || claimed < delivered + options.prefetch;
        });
        if (stopping || error || claimed >= num_batches) return;
        b = claimed++;
      }
      try {
        Batch batch = build(b);
        std::lock_guard lock(mutex);
        ready.emplace(b, std::move(batch));
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!error) error = std::current_exception();
      }
      wake_consumer.notify_all();
    }
  }
};

DataLoader::DataLoader(const Dataset& dataset, std::vector<int64_t> indices, const Preprocessing& prep,
                       LoaderOptions options) {
  NN_CHECK(options.batch_size >= 1, "loader: batch_size must be at least 1, got {}", options.batch_size);
  NN_CHECK(options.workers >= 1 && options.workers <= 256, "loader: workers must be 1..256, got {}", options.workers);
  NN_CHECK(options.prefetch >= 1, "loader: prefetch must be at least 1 batch, got {}", options.prefetch);
  check_indices(dataset, indices);
  NN_CHECK(options.shards >= 1 && options.shard >= 0 && options.shard < options.shards,
           "loader: shard {} of {} does not exist", options.shard, options.shards);
  NN_CHECK(prep.input_size >= 1, "loader: input size must be positive, got {}", prep.input_size);
  if (options.cache != CacheMode::none) {
    NN_CHECK(options.cache_shorter >= prep.input_size,
             "loader: cache_shorter {} is smaller than the network input {}: cached images would be enlarged",
             options.cache_shorter, prep.input_size);
  }
  if (options.cache == CacheMode::disk) {
    NN_CHECK(!options.cache_dir.empty(), "loader: the disk cache needs a cache folder (cache_dir)");
    std::error_code ec;
    fs::create_directories(options.cache_dir, ec);
    NN_CHECK(!ec && fs::is_directory(options.cache_dir), "{}: cannot create the cache folder: {}", options.cache_dir,
             ec ? ec.message() : "not a folder");
  }
  if (options.augment) check_augment_config(options.augmentation);
  state_ = std::make_unique<State>(dataset, std::move(indices), prep, std::move(options));
  if (state_->options.cache == CacheMode::memory) state_->memory_cache.resize(dataset.samples.size());
  state_->num_batches = state_->batch_count();
  NN_CHECK(state_->num_batches > 0, "loader: {} samples make no full batch of {} with drop_last",
           state_->indices.size(), state_->options.batch_size);
}

DataLoader::~DataLoader() {
  if (state_) state_->stop();
}

void DataLoader::start_epoch(int64_t epoch) {
  NN_CHECK(epoch >= 0, "loader: epoch must be non-negative, got {}", epoch);
  State& s = *state_;
  s.stop();
  s.epoch = epoch;
  s.order = s.indices;
  if (s.options.shuffle) {
    Generator gen(sample_seed(s.options.seed, epoch, -1));  // the epoch's own stream: -1 is no sample's position
    shuffle(s.order, gen);
  }
  s.claimed = 0;
  s.delivered = 0;
  s.ready.clear();
  s.error = nullptr;
  s.stopping = false;
  for (int w = 0; w < s.options.workers; ++w) s.threads.emplace_back([&s] { s.work(); });
}

bool DataLoader::next(Batch& batch) {
  State& s = *state_;
  NN_CHECK(s.epoch >= 0, "loader: call start_epoch() before next()");
  std::unique_lock lock(s.mutex);
  if (s.delivered >= s.num_batches) return false;
  s.wake_consumer.wait(lock, [&] { return s.error || s.ready.count(s.delivered) || s.stopping; });
  if (s.error) {
    std::exception_ptr e = s.error;
    lock.unlock();
    s.stop();
    s.delivered = s.num_batches;  // the epoch is over
    std::rethrow_exception(e);
  }
  NN_CHECK(!s.stopping, "loader: the epoch was stopped");
  auto it = s.ready.find(s.delivered);
  batch = std::move(it->second);
  s.ready.erase(it);
  ++s.delivered;
  lock.unlock();
  s.wake_workers.notify_all();
  return true;
}

void DataLoader::set_indices(std::vector<int64_t> indices) {
  State& s = *state_;
  check_indices(s.dataset, indices);
  s.stop();
  s.indices = std::move(indices);
  s.num_batches = s.batch_count();
  NN_CHECK(s.num_batches > 0, "loader: {} samples make no full batch of {} with drop_last", s.indices.size(),
           s.options.batch_size);
  s.epoch = -1;  // start_epoch() is needed again
}

int64_t DataLoader::batches_per_epoch() const { return state_->num_batches; }

int64_t DataLoader::skipped_images() const {
  std::lock_guard lock(state_->mutex);
  return static_cast<int64_t>(state_->bad_images.size());
}

}  // namespace nn
