// The data loader: worker threads decode and transform images ahead of the training loop into a bounded
// queue, and batches come out as contiguous tensors in a deterministic order.
//
// Order and randomness: epoch e visits `order(e)` (the given indices, shuffled with the run seed and e
// when shuffle is on); sample i of the epoch is transformed with Generator(sample_seed(seed, e, i)), so
// the batches of an epoch are identical whatever the number of workers. Workers produce whole batches;
// batch b is handed out only after batches 0..b-1 (a reorder buffer), and at most `prefetch` batches are
// ahead of the consumer.
//
// Cache: decoding a 600x450 JPEG costs more than augmenting it. With cache = memory or disk, the first
// epoch stores every image decoded and resized so its shorter side is `cache_shorter` (never enlarged),
// and later epochs start from that; disk caches go to cache_dir as raw RGB files (for datasets larger
// than RAM). Unreadable images are errors naming the file, or with skip_bad_images a counted warning
// (the sample is replaced by the next readable one of the epoch).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "train/data/dataset.h"
#include "train/data/transforms.h"

namespace nn {

enum class CacheMode { none, memory, disk };

struct LoaderOptions {
  int64_t batch_size = 32;
  int workers = 2;
  int64_t prefetch = 4;  // batches ready ahead of the consumer
  bool shuffle = true;
  bool drop_last = false;
  uint64_t seed = 0;
  bool augment = true;  // false: the deterministic eval transform
  AugmentConfig augmentation;
  CacheMode cache = CacheMode::none;
  int64_t cache_shorter = 256;
  std::string cache_dir;
  bool skip_bad_images = false;
  // Data-parallel training (docs/distributed.md): each batch of the epoch's single-process order is cut
  // into `shards` contiguous parts, of sizes floor or ceil of count/shards, and this loader builds part
  // `shard` only. Positions, and so augmentation, are those of the whole batch: N loaders together yield
  // exactly the images one loader yields.
  int shard = 0, shards = 1;
};

struct Batch {
  Tensor images;                // f32 [N, 3, S, S]
  Tensor labels;                // i64 [N]
  std::vector<int64_t> indices; // dataset indices of the N samples
  int64_t global_size = 0;      // samples in the whole batch, over all shards (N without sharding)
  int64_t global_first = 0;     // this shard's first row in the whole batch (0 without sharding)
};

// The loader keeps a reference to `dataset`: the dataset must outlive it.
class DataLoader {
 public:
  DataLoader(const Dataset& dataset, std::vector<int64_t> indices, const Preprocessing& prep, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  void start_epoch(int64_t epoch);  // stops any epoch in flight
  // Replaces the samples visited from the next start_epoch() on (weighted sampling draws a new list each
  // epoch); the cache is kept. Stops any epoch in flight.
  void set_indices(std::vector<int64_t> indices);
  bool next(Batch& batch);          // false at the end of the epoch; rethrows a worker's error
  int64_t batches_per_epoch() const;
  int64_t skipped_images() const;   // with skip_bad_images: unreadable images met so far

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace nn
