// skinnet bench-loader: images per second from HAM10000-sized JPEGs (600x450) to augmented, normalised
// 224x224 batches, as the training loop receives them.
//
// It writes a synthetic HAM10000 folder (train/data/synth/synth.h) once, then times one epoch of the DataLoader per
// configuration: no cache (every image decoded from JPEG), the memory cache and the disk cache (both
// filled by an untimed first epoch). With --torch it also times the same pipeline in torchvision
// (bench/torch_loader.py: PIL decoding, RandomResizedCrop, flip, ToTensor, Normalize, a DataLoader with the
// same number of workers) interleaved with skinnet's runs, and prints the ratio, because this machine's
// speed varies from minute to minute. Figures are medians over --reps rounds. Nothing here asserts a speed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "base/random.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"
#include "train/data/dataset.h"
#include "train/data/loader.h"
#include "train/data/synth/synth.h"
#include "train/data/transforms.h"

namespace nn {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Images per second of one full epoch.
double time_epoch(DataLoader& loader, int64_t epoch, int64_t images) {
  Batch batch;
  const auto t0 = Clock::now();
  loader.start_epoch(epoch);
  while (loader.next(batch)) {
  }
  return static_cast<double>(images) / seconds_since(t0);
}

// Milliseconds per image of one stage on one thread, over the first `n` images.
template <typename F>
double stage_ms(int64_t n, F&& f) {
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < n; ++i) f(i);
  return 1000.0 * seconds_since(t0) / static_cast<double>(n);
}

}  // namespace

Flags bench_loader_flags() {
  Flags flags("bench-loader", "images/s from 600x450 JPEGs to augmented 224x224 batches, with and without the cache");
  flags.add("images", "512", "images in the synthetic dataset")
      .add("dir", "build/bench-loader", "where the synthetic dataset and the disk cache go (reused when present)")
      .add("workers", "2", "loader threads")
      .add("batch-size", "32", "batch size")
      .add("reps", "3", "timed rounds (median reported)")
      .add("augment", "default", "default: RandomResizedCrop(224) + horizontal flip; heavy: also rotation, "
                                 "shift/shear/zoom and colour jitter")
      .add_switch("torch", "also time torchvision's DataLoader on the same files, interleaved (needs /usr/bin/python3)");
  return flags;
}

int bench_loader_main(int argc, char** argv) {
  Flags flags = bench_loader_flags();
  if (!flags.parse(argc, argv)) return 0;
  const int64_t images = flags.integer("images");
  const std::string dir = flags.str("dir");
  NN_USAGE_CHECK(images >= 7, "--images must be at least 7, got {}", images);

  const std::string data = (fs::path(dir) / "data").string();
  if (!fs::exists(fs::path(data) / "HAM10000_metadata.csv") ||
      open_dataset(data, "ham10000").samples.size() != static_cast<size_t>(images)) {
    std::printf("writing %lld synthetic 600x450 JPEGs to %s ...\n", static_cast<long long>(images), data.c_str());
    fs::remove_all(data);
    SynthOptions synth;
    synth.images = images;
    write_synthetic_ham10000(data, synth);
  }
  const Dataset dataset = open_dataset(data, "ham10000");
  std::vector<int64_t> all(dataset.samples.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);

  const Preprocessing prep = Preprocessing::torchvision_imagenet();
  LoaderOptions options;
  options.batch_size = flags.integer("batch-size");
  options.workers = static_cast<int>(flags.integer("workers"));
  if (flags.str("augment") == "heavy") {
    options.augmentation.vflip = 0.5;
    options.augmentation.rotate_degrees = 30;
    options.augmentation.shift = 0.1;
    options.augmentation.shear_degrees = 10;
    options.augmentation.zoom = 0.1;
    options.augmentation.brightness = options.augmentation.contrast = options.augmentation.saturation = 0.2;
    options.augmentation.hue = 0.05;
  } else {
    NN_USAGE_CHECK(flags.str("augment") == "default", "--augment is default or heavy, got '{}'", flags.str("augment"));
  }

  // Stage costs on one thread: where the time goes.
  const int64_t probe = std::min<int64_t>(images, 64);
  std::vector<Image> decoded(probe);
  const double decode_ms = stage_ms(probe, [&](int64_t i) { decoded[i] = decode_image(dataset.samples[i].image); });
  std::vector<Image> small(probe);
  const double shrink_ms = stage_ms(probe, [&](int64_t i) { small[i] = resize_shorter_side(decoded[i], 256); });
  const double augment_ms = stage_ms(probe, [&](int64_t i) {
    Generator gen(sample_seed(1, 0, i));
    (void)augment(decoded[i], prep, options.augmentation, gen);
  });
  const double augment_cached_ms = stage_ms(probe, [&](int64_t i) {
    Generator gen(sample_seed(1, 0, i));
    (void)augment(small[i], prep, options.augmentation, gen);
  });
  const Image one = eval_geometry(decoded[0], prep);
  const double normalize_ms = stage_ms(probe, [&](int64_t) { (void)normalize_image(one, prep); });
  std::printf("\none thread, ms per image: decode %.2f | shrink to 256 %.2f | augment from 600x450 %.2f | "
              "augment from the cached %lldx%lld %.2f | normalise %.2f\n",
              decode_ms, shrink_ms, augment_ms, static_cast<long long>(small[0].width),
              static_cast<long long>(small[0].height), augment_cached_ms, normalize_ms);

  LoaderOptions uncached = options;
  LoaderOptions memory = options;
  memory.cache = CacheMode::memory;
  LoaderOptions disk = options;
  disk.cache = CacheMode::disk;
  disk.cache_dir = (fs::path(dir) / "cache").string();
  fs::remove_all(disk.cache_dir);
  DataLoader uncached_loader(dataset, all, prep, uncached);
  DataLoader memory_loader(dataset, all, prep, memory);
  DataLoader disk_loader(dataset, all, prep, disk);
  const auto fill0 = Clock::now();
  time_epoch(memory_loader, 0, images);
  const double fill_memory_s = seconds_since(fill0);
  const auto fill1 = Clock::now();
  time_epoch(disk_loader, 0, images);
  const double fill_disk_s = seconds_since(fill1);

  const bool torch = flags.on("torch");
  const std::string torch_cmd =
      fmt::format("/usr/bin/python3 bench/torch_loader.py --data {} --workers {} --batch {} --augment {}", data,
                  options.workers, options.batch_size, flags.str("augment"));
  std::vector<double> none_ips, memory_ips, disk_ips, torch_ips;
  for (int64_t rep = 0; rep < flags.integer("reps"); ++rep) {
    none_ips.push_back(time_epoch(uncached_loader, rep + 1, images));
    if (torch) {
      FILE* pipe = popen(torch_cmd.c_str(), "r");
      NN_CHECK(pipe != nullptr, "cannot run {}", torch_cmd);
      double ips = 0;
      const int got = std::fscanf(pipe, "images/s %lf", &ips);
      const int status = pclose(pipe);
      NN_CHECK(got == 1 && status == 0, "{} failed (exit status {})", torch_cmd, status);
      torch_ips.push_back(ips);
    }
    memory_ips.push_back(time_epoch(memory_loader, rep + 1, images));
    disk_ips.push_back(time_epoch(disk_loader, rep + 1, images));
  }

  std::printf("\n%lld images 600x450 -> [%lld, 3, 224, 224] batches, %d worker threads, augment %s, median of %lld\n",
              static_cast<long long>(images), static_cast<long long>(options.batch_size), options.workers,
              flags.str("augment").c_str(), static_cast<long long>(flags.integer("reps")));
  std::printf("%-34s %10s\n", "pipeline", "images/s");
  std::printf("%-34s %10.0f\n", "skinnet, no cache (JPEG decode)", median(none_ips));
  if (torch) {
    std::printf("%-34s %10.0f   (skinnet / torchvision = %.2fx)\n", "torchvision DataLoader + PIL", median(torch_ips),
                median(none_ips) / median(torch_ips));
  }
  std::printf("%-34s %10.0f   (first epoch, filling it: %.1f s)\n", "skinnet, memory cache", median(memory_ips),
              fill_memory_s);
  std::printf("%-34s %10.0f   (first epoch, filling it: %.1f s)\n", "skinnet, disk cache", median(disk_ips), fill_disk_s);
  std::printf("targets (issue 4): >= 400 images/s uncached, >= 2000 cached, on 2 cores\n");
  return 0;
}

}  // namespace nn
