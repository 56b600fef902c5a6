// Synthetic HAM10000 (see synth.h): the options, the class counts, the plan of lesions and metadata, and
// writing the folder (README, JPEGs, CSV). The drawing itself is in synth_draw.cpp.
#include "train/data/synth/synth.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "base/error.h"
#include "base/random.h"

namespace nn {

namespace fs = std::filesystem;

namespace {

// The first line of README.txt: how a folder is recognised as earlier synthetic output that may be replaced.
constexpr const char* kReadmeMarker = "skinnet synthetic HAM10000-format dataset";

struct Weighted {
  const char* name;
  double weight;
};

const char* pick(Generator& g, const std::vector<Weighted>& table) {
  double total = 0;
  for (const Weighted& w : table) total += w.weight;
  double u = g.next_double() * total;
  for (const Weighted& w : table) {
    if (u < w.weight) return w.name;
    u -= w.weight;
  }
  return table.back().name;
}

// Clinical fields, roughly as HAM10000's (dx_type by class; older patients for mel, bcc, akiec, bkl).
void draw_metadata(Generator& g, int64_t cls, SynthImage& row) {
  static const std::vector<std::vector<Weighted>> dx_types = {
      {{"histo", 0.9}, {"consensus", 0.05}, {"confocal", 0.05}},                        // mel
      {{"follow_up", 0.5}, {"histo", 0.4}, {"consensus", 0.08}, {"confocal", 0.02}},  // nv
      {{"histo", 1.0}},                                                                  // bcc
      {{"histo", 1.0}},                                                                  // akiec
      {{"histo", 0.5}, {"consensus", 0.3}, {"confocal", 0.2}},                          // bkl
      {{"consensus", 0.5}, {"histo", 0.5}},                                              // df
      {{"consensus", 0.6}, {"histo", 0.4}},                                              // vasc
  };
  static const std::vector<Weighted> sexes = {{"male", 0.54}, {"female", 0.45}, {"unknown", 0.01}};
  static const std::vector<Weighted> sites = {
      {"back", 0.22},   {"lower extremity", 0.21}, {"trunk", 0.14}, {"upper extremity", 0.11}, {"abdomen", 0.10},
      {"face", 0.07},   {"chest", 0.04},           {"foot", 0.03},  {"unknown", 0.02},         {"neck", 0.02},
      {"scalp", 0.01},  {"hand", 0.01},            {"ear", 0.005},  {"genital", 0.005},        {"acral", 0.001}};
  row.dx_type = pick(g, dx_types[cls]);
  row.sex = pick(g, sexes);
  row.localization = pick(g, sites);
  const double mean = (cls == 1 || cls == 5 || cls == 6) ? 42 : 62;  // nv, df, vasc: younger
  const double u1 = std::max(g.next_double(), 1e-12), u2 = g.next_double();
  const double age = mean + 14 * std::sqrt(-2 * std::log(u1)) * std::cos(2 * 3.141592653589793 * u2);
  row.age = std::clamp<int64_t>(std::llround(age / 5) * 5, 5, 85);
}

uint64_t draw_u64(Generator& g) {
  const auto w = philox4x32(g.reserve(1), g.seed());
  return (static_cast<uint64_t>(w[0]) << 32) | w[1];
}

}  // namespace

const std::vector<std::string>& synthetic_classes() {
  static const std::vector<std::string> classes = {"mel", "nv", "bcc", "akiec", "bkl", "df", "vasc"};
  return classes;
}

const std::vector<int64_t>& ham10000_class_images() {
  static const std::vector<int64_t> counts = {1113, 6705, 514, 327, 1099, 115, 142};
  return counts;
}

void check_synth_options(const SynthOptions& o) {
  NN_CHECK(o.images >= kSynthMinImages && o.images <= kSynthMaxImages,
           "synthetic data: --images {} is outside {}..{} (at least one image per class)", o.images, kSynthMinImages,
           kSynthMaxImages);
  NN_CHECK(o.width >= kSynthMinSide && o.width <= kSynthMaxSide, "synthetic data: --width {} is outside {}..{} pixels",
           o.width, kSynthMinSide, kSynthMaxSide);
  NN_CHECK(o.height >= kSynthMinSide && o.height <= kSynthMaxSide,
           "synthetic data: --height {} is outside {}..{} pixels", o.height, kSynthMinSide, kSynthMaxSide);
  NN_CHECK(o.quality >= 1 && o.quality <= 100, "synthetic data: --quality {} is outside 1..100 (JPEG quality)",
           o.quality);
}

std::vector<int64_t> synthetic_class_counts(int64_t images) {
  NN_CHECK(images >= kSynthMinImages, "synthetic data: {} images is fewer than one per class", images);
  const std::vector<int64_t>& ham = ham10000_class_images();
  const int64_t n = static_cast<int64_t>(ham.size()), min_count = std::min(kSynthMinPerClass, images / n);
  // Classes whose share falls under the floor get the floor; the rest share what is left by largest
  // remainder. Repeat until no share falls under the floor (pinning a class lowers the others' shares).
  std::vector<bool> pinned(ham.size(), false);
  std::vector<int64_t> counts(ham.size(), 0);
  for (;;) {
    int64_t left = images, weight = 0;
    for (int64_t c = 0; c < n; ++c) {
      if (pinned[c]) left -= min_count;
      else weight += ham[c];
    }
    bool changed = false;
    std::vector<std::pair<double, int64_t>> remainders;
    int64_t given = 0;
    for (int64_t c = 0; c < n; ++c) {
      if (pinned[c]) {
        counts[c] = min_count;
        continue;
      }
      const double share = static_cast<double>(left) * static_cast<double>(ham[c]) / static_cast<double>(weight);
      if (share < static_cast<double>(min_count)) pinned[c] = changed = true;
      counts[c] = static_cast<int64_t>(share);
      given += counts[c];
      remainders.push_back({share - static_cast<double>(counts[c]), c});
    }
    if (changed) continue;
    std::stable_sort(remainders.begin(), remainders.end(), [](auto& a, auto& b) { return a.first > b.first; });
    for (int64_t i = 0; i < left - given; ++i) ++counts[remainders[static_cast<size_t>(i)].second];
    return counts;
  }
}

std::vector<SynthImage> plan_synthetic_ham10000(const SynthOptions& options) {
  check_synth_options(options);
  Generator g(options.seed);
  const std::vector<int64_t> counts = synthetic_class_counts(options.images);
  std::vector<SynthImage> rows;
  std::vector<int64_t> lesion_of;  // per row: the lesion's creation index
  int64_t lesions = 0;
  for (int64_t cls = 0; cls < static_cast<int64_t>(counts.size()); ++cls) {
    for (int64_t left = counts[cls]; left > 0;) {
      // 1, 2 or 3 images per lesion; HAM10000 has 10015 images of 7470 lesions (1.34 per lesion).
      const double u = g.next_double();
      const int64_t k = std::min<int64_t>(left, u < 0.75 ? 1 : u < 0.93 ? 2 : 3);
      SynthImage row;
      row.cls = cls;
      row.lesion_seed = draw_u64(g);
      draw_metadata(g, cls, row);
      for (int64_t v = 0; v < k; ++v) {
        row.view = v;
        rows.push_back(row);
        lesion_of.push_back(lesions);
      }
      ++lesions;
      left -= k;
    }
  }
  // Shuffle (Fisher-Yates) so ids say nothing about class or lesion, then number lesions by first appearance.
  std::vector<size_t> order(rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (size_t i = order.size() - 1; i > 0; --i)
    std::swap(order[i], order[static_cast<size_t>(g.next_double() * static_cast<double>(i + 1))]);
  std::vector<SynthImage> shuffled;
  shuffled.reserve(rows.size());
  std::vector<int64_t> lesion_number(static_cast<size_t>(lesions), 0);
  int64_t next_lesion = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    SynthImage row = rows[order[i]];
    int64_t& number = lesion_number[static_cast<size_t>(lesion_of[order[i]])];
    if (number == 0) number = ++next_lesion;
    row.image_id = fmt::format("SYN_{:07d}", i + 1);
    row.lesion_id = fmt::format("SYNL_{:07d}", number);
    shuffled.push_back(std::move(row));
  }
  return shuffled;
}

namespace {

// OUT must be absent, empty, or what an earlier run wrote (README.txt with the marker, the CSV and its
// temporary, HAM10000_images holding .jpg files); in the last case the old CSV and images are removed.
void prepare_folder(const fs::path& out) {
  std::error_code ec;
  if (!fs::exists(out, ec)) {
    fs::create_directories(out, ec);
    NN_CHECK(!ec, "{}: cannot create the folder: {}", out.string(), ec.message());
    return;
  }
  NN_CHECK(fs::is_directory(out), "{}: exists and is not a folder; choose a new folder for the synthetic data",
           out.string());
  if (fs::is_empty(out)) return;
  auto refuse = [&](const std::string& why) {
    NN_FAIL("{}: refusing to write synthetic data into a non-empty folder that is not earlier `skinnet synth` output "
            "({}); choose a new or empty folder",
            out.string(), why);
  };
  std::ifstream readme(out / "README.txt");
  std::string first;
  if (!readme || !std::getline(readme, first) || first != kReadmeMarker) refuse("no README.txt from skinnet synth");
  for (const auto& entry : fs::directory_iterator(out)) {
    const std::string name = entry.path().filename().string();
    if (name == "README.txt" || name == "HAM10000_metadata.csv" || name == "HAM10000_metadata.csv.tmp") continue;
    if (name != "HAM10000_images" || !entry.is_directory()) refuse(fmt::format("it holds '{}'", name));
    for (const auto& image : fs::directory_iterator(entry.path()))
      if (!image.is_regular_file() || image.path().extension() != ".jpg")
        refuse(fmt::format("HAM10000_images holds '{}'", image.path().filename().string()));
  }
  fs::remove(out / "HAM10000_metadata.csv");
  fs::remove(out / "HAM10000_metadata.csv.tmp");
  if (fs::exists(out / "HAM10000_images"))
    for (const auto& image : fs::directory_iterator(out / "HAM10000_images")) fs::remove(image.path());
}

std::string made_by_line(const fs::path& out, const SynthOptions& o) {
  return fmt::format("Made by: skinnet synth --out {} --images {} --seed {} --width {} --height {} --quality {}",
                     out.string(), o.images, o.seed, o.width, o.height, o.quality);
}

std::string generator_line() { return fmt::format("Generator: {}", kSynthGenerator); }

void write_readme(const fs::path& out, const SynthOptions& o, size_t images, int64_t lesions) {
  std::ofstream f(out / "README.txt");
  NN_CHECK(f.good(), "{}: cannot write README.txt", out.string());
  f << kReadmeMarker << "\n\n"
    << "THESE IMAGES ARE SYNTHETIC. They are procedurally drawn lesion-like pictures, not photographs of skin, and\n"
    << "not dermoscopy. They exist so that skinnet's training pipeline can run without downloading data. Accuracy,\n"
    << "sensitivity or any other result measured on them says NOTHING about performance on real dermoscopy images.\n\n"
    << made_by_line(out, o) << "\n"
    << generator_line() << "\n"
    << fmt::format("Contents: {} images of {} lesions (1-3 images per lesion), {}x{} JPEG, in HAM10000's layout:\n",
                   images, lesions, o.width, o.height)
    << "  HAM10000_metadata.csv  lesion_id,image_id,dx,dx_type,age,sex,localization,dataset (dataset = synthetic)\n"
    << "  HAM10000_images/       <image_id>.jpg\n"
    << "Class proportions follow HAM10000. dx_type and age depend on the class roughly as in HAM10000 (so the\n"
    << "metadata alone carries some signal, as HAM10000's does); sex and localization are random.\n"
    << "The same command with the same seed writes byte-identical files. See docs/synthetic-data.md.\n";
  NN_CHECK(f.good(), "{}: cannot write README.txt", out.string());
}

}  // namespace

int64_t write_synthetic_ham10000(const std::string& out_dir, const SynthOptions& options) {
  NN_CHECK(!out_dir.empty(), "synthetic data: no output folder given");
  const std::vector<SynthImage> rows = plan_synthetic_ham10000(options);
  int64_t lesions = 0;
  for (const SynthImage& r : rows) lesions = std::max<int64_t>(lesions, std::stoll(r.lesion_id.substr(5)));
  const fs::path out(out_dir), image_dir = out / "HAM10000_images";
  prepare_folder(out);
  write_readme(out, options, rows.size(), lesions);
  std::error_code ec;
  fs::create_directories(image_dir, ec);
  NN_CHECK(!ec, "{}: cannot create the folder: {}", image_dir.string(), ec.message());

  // Each image depends only on its row, so threads change nothing in the files. Errors cannot leave an
  // OpenMP loop: the first is kept and thrown after it.
  const int64_t total = static_cast<int64_t>(rows.size());
  std::atomic<int64_t> done{0};
  std::mutex mutex;
  std::string error;
  const int64_t step = std::max<int64_t>(1, total / 20);
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t i = 0; i < total; ++i) {
    {
      std::lock_guard lock(mutex);
      if (!error.empty()) continue;
    }
    try {
      const SynthImage& r = rows[static_cast<size_t>(i)];
      const Image img = synthetic_lesion_image(r.cls, r.lesion_seed, r.view, options.width, options.height);
      encode_image(img, (image_dir / (r.image_id + ".jpg")).string(), options.quality);
      const int64_t n = ++done;
      if (options.progress && (n % step == 0 || n == total)) {
        std::lock_guard lock(mutex);
        options.progress(n, total);
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex);
      if (error.empty()) error = e.what();
    }
  }
  NN_CHECK(error.empty(), "{}", error);

  // The CSV last, complete in a temporary file first, so no CSV ever names a missing image.
  const fs::path csv = out / "HAM10000_metadata.csv", tmp = out / "HAM10000_metadata.csv.tmp";
  {
    std::ofstream f(tmp);
    NN_CHECK(f.good(), "{}: cannot write", tmp.string());
    f << "lesion_id,image_id,dx,dx_type,age,sex,localization,dataset\n";
    for (const SynthImage& r : rows)
      f << fmt::format("{},{},{},{},{},{},{},synthetic\n", r.lesion_id, r.image_id, synthetic_classes()[r.cls],
                       r.dx_type, r.age, r.sex, r.localization);
    f.close();
    NN_CHECK(f.good(), "{}: cannot write (full disk?)", tmp.string());
  }
  fs::rename(tmp, csv, ec);
  NN_CHECK(!ec, "{}: cannot rename to {}: {}", tmp.string(), csv.string(), ec.message());
  return lesions;
}

bool is_synthetic_dataset(const std::string& dir) {
  std::filesystem::path p(dir);
  if (!std::filesystem::is_directory(p)) p = p.parent_path();
  std::ifstream readme(p / "README.txt");
  std::string first;
  return readme && std::getline(readme, first) && first == kReadmeMarker;
}

bool synthetic_output_is_current(const std::string& out_dir, const SynthOptions& options) {
  const fs::path out(out_dir);
  std::ifstream readme(out / "README.txt");
  std::string line;
  if (!readme || !std::getline(readme, line) || line != kReadmeMarker) return false;
  const std::string want_made_by = made_by_line(out, options), want_generator = generator_line();
  bool made_by = false, generator = false;
  while (std::getline(readme, line)) {
    made_by |= line == want_made_by;
    generator |= line == want_generator;
  }
  return made_by && generator && fs::is_regular_file(out / "HAM10000_metadata.csv");
}

}  // namespace nn
