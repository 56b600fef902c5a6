// Synthetic HAM10000: a folder in HAM10000's layout (HAM10000_metadata.csv and 600x450 JPEGs) with
// procedurally drawn lesion-like images, so `make train` runs anywhere without downloading data.
// It is NOT real dermoscopy and says so in its metadata (`dataset` column "synthetic") and in the CLI.
//
// Each image: a skin-toned background with texture and hair-like strokes, one lesion whose class sets
// learnable cues (colour, border irregularity, texture, size, vessels), plus noise so the task is not
// trivial. Class proportions follow HAM10000 (nv 67%, mel 11%, bkl 11%, bcc 5%, akiec 3%, vasc 1.4%,
// df 1.1%); each lesion gets 1-3 images (different rotation, zoom, lighting), so lesion grouping matters.
//
// Determinism: everything follows from SynthOptions::seed. The plan (classes, lesions, metadata, seeds)
// is drawn sequentially from one Generator; each image is then drawn from its own lesion seed and view
// index only, so the files do not depend on the number of OpenMP threads. docs/synthetic-data.md lists
// the cues drawn per class.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "train/data/image.h"

namespace nn {

struct SynthOptions {
  int64_t images = 2000;
  uint64_t seed = 0;
  int64_t width = 600, height = 450;
  int quality = 90;  // JPEG
  // Called now and then while images are written (done, total), from one thread at a time; may be empty.
  std::function<void(int64_t done, int64_t total)> progress;
};

// Limits checked by check_synth_options (errors name the option and the accepted range).
inline constexpr int64_t kSynthMinImages = 7;  // one per class at least
inline constexpr int64_t kSynthMaxImages = 1000000;
inline constexpr int64_t kSynthMinSide = 32, kSynthMaxSide = 4096;
void check_synth_options(const SynthOptions& options);

// The dx codes in the order of the class index `cls` used here: ISIC 2018's column order, the same as
// ham10000_classes() (mel, nv, bcc, akiec, bkl, df, vasc).
const std::vector<std::string>& synthetic_classes();
// HAM10000's image count per class in that order (mel 1113, nv 6705, ... of 10015).
const std::vector<int64_t>& ham10000_class_images();
// Images per class for a run of `images`: HAM10000's proportions by largest remainder, except that every
// class gets at least min(kSynthMinPerClass, images / 7) images (the floor is taken from the largest
// classes' shares).
inline constexpr int64_t kSynthMinPerClass = 5;

// The version of the class models, written to README.txt as "Generator: N": it changes whenever the same
// command would draw different images, so that `make train` replaces a folder an older skinnet wrote.
// 2: lesions lean towards a confusable class less often (30%, was 40%) and less far (10-45%, was 15-60%).
inline constexpr int kSynthGenerator = 2;
std::vector<int64_t> synthetic_class_counts(int64_t images);

// One row of the metadata: which lesion, which class, which view of the lesion, and the seeds it is drawn
// from. Images of one lesion share lesion_id, cls, lesion_seed and the clinical fields.
struct SynthImage {
  std::string image_id;   // SYN_0000001 ...
  std::string lesion_id;  // SYNL_0000001 ...
  int64_t cls = 0;        // index into synthetic_classes()
  uint64_t lesion_seed = 0;
  int64_t view = 0;  // 0, 1, 2: the image's index within its lesion
  std::string dx_type, sex, localization;
  int64_t age = 0;
};
// The rows of a run, in image_id order (ids are shuffled relative to lesions and classes, as in HAM10000).
// Checks the options.
std::vector<SynthImage> plan_synthetic_ham10000(const SynthOptions& options);

// Draws one image in memory: lesion `lesion_seed` of class `cls` seen in view `view` (rotation, zoom,
// position, lighting, colour balance, small deformation and hairs differ between views; the lesion's
// shape, colours and the patient's skin do not).
Image synthetic_lesion_image(int64_t cls, uint64_t lesion_seed, int64_t view, int64_t width, int64_t height);

// Writes OUT/README.txt (first: it marks the folder as synthetic output), OUT/HAM10000_images/<image_id>.jpg
// and last OUT/HAM10000_metadata.csv (through a temporary file and a rename, so an interrupted run never
// leaves a CSV naming missing images); returns the lesion count. OUT must be absent, empty, or a previous
// synthetic output (then its images and CSV are replaced); anything else is refused, naming the folder.
int64_t write_synthetic_ham10000(const std::string& out_dir, const SynthOptions& options);
// Whether `dir` (or the folder of a file `dir`) holds skinnet synth output: its README.txt carries the marker.
// Training uses it to label every report and log as made on synthetic data.
bool is_synthetic_dataset(const std::string& dir);

// Whether `out_dir` holds what write_synthetic_ham10000(out_dir, options) would write now: its README.txt
// names the same command (out, images, seed, size, quality) and this kSynthGenerator, and the CSV (written
// last) is there. `skinnet synth --reuse` keeps such a folder instead of drawing it again.
bool synthetic_output_is_current(const std::string& out_dir, const SynthOptions& options);

}  // namespace nn
