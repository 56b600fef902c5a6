// skinnet synth: writes a synthetic HAM10000-format dataset (procedurally drawn lesions, train/data/synth/synth.h) so
// that training can be tried without downloading anything, and says loudly that it is synthetic.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>

#include "base/error.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"
#include "train/data/synth/synth.h"

namespace nn {

Flags synth_flags() {
  Flags flags("synth",
              "Writes a SYNTHETIC HAM10000-format dataset: HAM10000_metadata.csv and HAM10000_images/*.jpg with\n"
              "procedurally drawn lesion-like images in HAM10000's class proportions. Not real dermoscopy.");
  flags.add("out", "", "output folder (new, empty, or an earlier `skinnet synth` output, which is replaced)")
      .add("images", "2000", "number of images (at least 7)")
      .add("seed", "0", "random seed; the same seed writes byte-identical files")
      .add("width", "600", "image width in pixels")
      .add("height", "450", "image height in pixels")
      .add("quality", "90", "JPEG quality 1-100")
      .add_switch("reuse", "keep OUT when it already holds this command's images from this version of the generator");
  return flags;
}

int synth_main(int argc, char** argv) {
  Flags flags = synth_flags();
  if (!flags.parse(argc, argv)) return 0;
  NN_USAGE_CHECK(flags.positional().empty(), "unexpected argument '{}'", flags.positional()[0]);
  const std::string out = flags.str("out");
  NN_USAGE_CHECK(!out.empty(), "--out FOLDER is required (e.g. --out data/synthetic-ham10000)");
  const int64_t seed = flags.integer("seed"), quality = flags.integer("quality");
  NN_USAGE_CHECK(seed >= 0, "--seed {} is negative", seed);
  NN_USAGE_CHECK(quality >= 1 && quality <= 100, "--quality {} is outside 1..100", quality);
  SynthOptions o;
  o.images = flags.integer("images");
  o.seed = static_cast<uint64_t>(seed);
  o.width = flags.integer("width");
  o.height = flags.integer("height");
  o.quality = static_cast<int>(quality);
  o.progress = [](int64_t done, int64_t total) {
    std::fprintf(stderr, "synth: %lld/%lld images\n", static_cast<long long>(done), static_cast<long long>(total));
  };
  check_synth_options(o);
  if (flags.on("reuse") && synthetic_output_is_current(out, o)) {
    std::printf("skinnet synth: %s already holds these SYNTHETIC images (generator %d); kept\n", out.c_str(),
                kSynthGenerator);
    return 0;
  }
  const auto plan = plan_synthetic_ham10000(o);

  std::printf("skinnet synth: writing %lld SYNTHETIC images (%lldx%lld, seed %llu) to %s\n",
              static_cast<long long>(o.images), static_cast<long long>(o.width), static_cast<long long>(o.height),
              static_cast<unsigned long long>(o.seed), out.c_str());
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  const int64_t lesions = write_synthetic_ham10000(out, o);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::map<int64_t, int64_t> images_of, lesions_of;
  for (const SynthImage& r : plan) {
    ++images_of[r.cls];
    if (r.view == 0) ++lesions_of[r.cls];
  }
  const auto& ham = ham10000_class_images();
  int64_t ham_total = 0;
  for (int64_t n : ham) ham_total += n;
  std::printf("\n%-6s %7s %8s %8s %10s\n", "dx", "images", "lesions", "share", "HAM10000");
  for (int64_t c = 0; c < static_cast<int64_t>(synthetic_classes().size()); ++c)
    std::printf("%-6s %7lld %8lld %7.1f%% %9.1f%%\n", synthetic_classes()[c].c_str(),
                static_cast<long long>(images_of[c]), static_cast<long long>(lesions_of[c]),
                100.0 * images_of[c] / o.images, 100.0 * ham[c] / ham_total);
  uintmax_t bytes = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(out))
    if (e.is_regular_file()) bytes += e.file_size();
  std::printf("%-6s %7lld %8lld\n\n", "total", static_cast<long long>(o.images), static_cast<long long>(lesions));
  std::printf("wrote %s/HAM10000_metadata.csv and %s/HAM10000_images/ (%.1f MB) in %.1f s\n", out.c_str(), out.c_str(),
              static_cast<double>(bytes) / 1e6, seconds);
  std::printf("these images are SYNTHETIC: procedurally drawn lesion-like pictures, not dermoscopy; results on them "
              "say nothing about real skin lesions (see %s/README.txt)\n", out.c_str());
  return 0;
}

}  // namespace nn
