// Synthetic HAM10000: a folder in HAM10000's layout (HAM10000_metadata.csv and 600x450 JPEGs) with
// procedurally drawn lesion-like images, so `make train` runs anywhere without downloading data.
// It is NOT real dermoscopy and says so in its metadata (`dataset` column "synthetic") and in the CLI.
//
// Each image: a skin-toned background with texture and hair-like strokes, one lesion whose class sets
// learnable cues (colour, border irregularity, texture, size, vessels), plus noise so the task is not
// trivial. Class proportions follow HAM10000 (nv 67%, mel 11%, bkl 11%, bcc 5%, akiec 3%, vasc 1.4%,
// df 1.1%); each lesion gets 1-3 images (different rotation, zoom, lighting), so lesion grouping matters.
#pragma once

#include <cstdint>
#include <string>

namespace nn {

struct SynthOptions {
  int64_t images = 2000;
  uint64_t seed = 0;
  int64_t width = 600, height = 450;
  int quality = 90;  // JPEG
};

// Writes OUT/HAM10000_metadata.csv and OUT/HAM10000_images/<image_id>.jpg; returns the lesion count.
int64_t write_synthetic_ham10000(const std::string& out_dir, const SynthOptions& options);

}  // namespace nn
