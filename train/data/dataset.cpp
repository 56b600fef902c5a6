// Dataset readers for the CSV-described datasets (HAM10000, ISIC 2016/2017/2018) and open_dataset's
// format detection; image folders are in dataset_folder.cpp.
#include "train/data/dataset.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include "base/error.h"
#include "train/data/csv.h"

namespace fs = std::filesystem;

namespace nn {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The image files of some folders by stem. The first folder holding a stem wins; within a folder .jpg is
// preferred over .jpeg over .png. Listing each folder once is much faster than probing 10,000 ids x 3
// extensions x folders.
class ImageIndex {
 public:
  explicit ImageIndex(const std::vector<std::string>& dirs) : dirs_(dirs) {
    NN_CHECK(!dirs.empty(), "no image folder given (expected at least one folder holding the images)");
    static const std::vector<std::string> kExts = {".jpg", ".jpeg", ".png"};
    for (size_t d = 0; d < dirs.size(); ++d) {
      std::error_code ec;
      NN_CHECK(fs::is_directory(dirs[d], ec), "image folder {} does not exist or is not a folder", dirs[d]);
      for (const fs::directory_entry& e : fs::directory_iterator(dirs[d], ec)) {
        const std::string name = e.path().filename().string();
        const std::string ext = lower(e.path().extension().string());
        const auto rank = std::find(kExts.begin(), kExts.end(), ext) - kExts.begin();
        if (rank == static_cast<long>(kExts.size()) || !e.is_regular_file(ec)) continue;
        const int64_t key = static_cast<int64_t>(d) * 8 + rank;
        auto [it, fresh] = files_.try_emplace(e.path().stem().string(), key, e.path().string());
        if (!fresh && key < it->second.first) it->second = {key, e.path().string()};
      }
      NN_CHECK(!ec, "cannot list image folder {}: {}", dirs[d], ec.message());
    }
  }
  std::string find(const std::string& id) const {
    auto it = files_.find(id);
    return it == files_.end() ? "" : it->second.second;
  }
  std::string describe(const std::string& id) const {
    return fmt::format("looked for {}.jpg, .jpeg and .png in {}", id, fmt::join(dirs_, ", "));
  }

 private:
  std::vector<std::string> dirs_;
  std::map<std::string, std::pair<int64_t, std::string>> files_;
};

void require_columns(const CsvTable& t, const std::vector<std::string>& needed, const std::string& what) {
  std::vector<std::string> missing;
  for (const std::string& c : needed)
    if (!t.has_column(c)) missing.push_back(c);
  NN_CHECK(missing.empty(), "{}: missing column{} {}: a {} needs {}; the file has {}", t.path,
           missing.size() == 1 ? "" : "s", fmt::join(missing, ", "), what, fmt::join(needed, ", "),
           fmt::join(t.header, ", "));
}

// "0", "1", "0.0", "1.0" (ISIC one-hot and binary columns) -> 0 or 1; -1 for anything else.
int binary_value(const std::string& v) {
  if (v == "0" || v == "0.0") return 0;
  if (v == "1" || v == "1.0") return 1;
  return -1;
}

// Adds samples row by row, checking ids are unique and images exist. Missing images are collected so the
// error can say how many there are (a missing part_2 folder means 5,000 of them), naming the first.
class Builder {
 public:
  Builder(const CsvTable& table, const std::vector<std::string>& image_dirs) : table_(table), images_(image_dirs) {}

  void add(size_t row, const std::string& id, int64_t label, const std::string& group) {
    NN_CHECK(!id.empty(), "{}: empty image id", table_.where(row));
    auto [it, fresh] = first_row_.try_emplace(id, row);
    NN_CHECK(fresh, "{}: image id '{}' repeated (first on line {})", table_.where(row), id, table_.lines[it->second]);
    const std::string path = images_.find(id);
    if (path.empty()) {
      missing_.push_back(row);
      return;
    }
    dataset.samples.push_back({.image = path, .label = label, .id = id, .group = group.empty() ? id : group});
  }

  Dataset finish() {
    if (!missing_.empty()) {
      const std::string& id = table_.rows[missing_[0]][id_column];
      NN_FAIL("{}: image '{}' not found ({}){}", table_.where(missing_[0]), id, images_.describe(id),
              missing_.size() > 1
                  ? fmt::format("; {} images of {} rows are missing in all", missing_.size(), table_.rows.size())
                  : "");
    }
    const std::vector<int64_t> counts = dataset.class_counts();
    for (size_t c = 0; c < counts.size(); ++c)
      if (counts[c] == 0)
        dataset.warnings.push_back(fmt::format("class {} has no images in {}", dataset.classes[c], table_.path));
    return std::move(dataset);
  }

  Dataset dataset;
  size_t id_column = 0;

 private:
  const CsvTable& table_;
  ImageIndex images_;
  std::map<std::string, size_t> first_row_;
  std::vector<size_t> missing_;
};

Dataset read_isic2018_in(const std::string& gt_csv, const std::vector<std::string>& dirs,
                         const std::string& groupings) {
  const CsvTable t = read_csv(gt_csv);
  std::vector<std::string> needed = {"image"};
  for (const std::string& c : ham10000_classes()) needed.push_back(c);
  require_columns(t, needed, "ISIC 2018 Task 3 ground truth");
  std::map<std::string, std::string> lesion;  // image -> lesion_id
  if (!groupings.empty()) {
    const CsvTable g = read_csv(groupings);
    require_columns(g, {"image", "lesion_id"}, "ISIC 2018 lesion groupings file");
    const size_t gi = g.column("image"), gl = g.column("lesion_id");
    for (size_t r = 0; r < g.rows.size(); ++r) {
      NN_CHECK(!g.rows[r][gl].empty(), "{}: empty lesion_id for image '{}'", g.where(r), g.rows[r][gi]);
      auto [it, fresh] = lesion.try_emplace(g.rows[r][gi], g.rows[r][gl]);
      NN_CHECK(fresh, "{}: image '{}' repeated", g.where(r), g.rows[r][gi]);
    }
  }
  Builder b(t, dirs);
  b.dataset.name = "ISIC2018";
  b.dataset.root = gt_csv;
  b.dataset.classes = ham10000_classes();
  b.id_column = t.column("image");
  std::vector<size_t> cols;
  for (const std::string& c : ham10000_classes()) cols.push_back(t.column(c));
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const std::string& id = t.rows[r][b.id_column];
    int64_t label = -1;
    for (size_t c = 0; c < cols.size(); ++c) {
      const int v = binary_value(t.rows[r][cols[c]]);
      NN_CHECK(v >= 0, "{}: {} is '{}', expected 0, 1, 0.0 or 1.0", t.where(r), ham10000_classes()[c],
               t.rows[r][cols[c]]);
      NN_CHECK(!(v == 1 && label >= 0), "{}: image '{}' is both {} and {} (expected exactly one 1 per row)", t.where(r),
               id, ham10000_classes()[label], ham10000_classes()[c]);
      if (v == 1) label = static_cast<int64_t>(c);
    }
    NN_CHECK(label >= 0, "{}: image '{}' has no class (all of {} are 0; expected exactly one 1)", t.where(r), id,
             fmt::join(ham10000_classes(), ", "));
    std::string group = id;
    if (!groupings.empty()) {
      auto it = lesion.find(id);
      NN_CHECK(it != lesion.end(), "{}: image '{}' has no row in the lesion groupings file {}", t.where(r), id,
               groupings);
      group = it->second;
    }
    b.add(r, id, label, group);
  }
  if (groupings.empty())
    b.dataset.warnings.push_back(fmt::format(
        "no lesion groupings file for {}: each image is its own group, so images of one lesion may straddle "
        "splits (get ISIC2018_Task3_Training_LesionGroupings.csv)",
        gt_csv));
  return b.finish();
}

// ISIC 2016 Part 3: "id,benign|malignant" rows, no header (the test set's file uses 0.0/1.0).
Dataset read_isic2016_in(const std::string& gt_csv, const std::vector<std::string>& dirs) {
  const CsvTable t = read_csv(gt_csv, CsvHeader::none);
  NN_CHECK(t.header.size() == 2, "{}: {} columns, expected 2 (image id, benign|malignant) with no header", t.where(0),
           t.header.size());
  Builder b(t, dirs);
  b.dataset.name = "ISIC2016";
  b.dataset.root = gt_csv;
  b.dataset.classes = {"benign", "malignant"};
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const std::string v = lower(t.rows[r][1]);
    const int bin = binary_value(v);
    const int64_t label = v == "benign" ? 0 : v == "malignant" ? 1 : bin;
    NN_CHECK(label >= 0, "{}: label '{}' for image '{}', expected benign, malignant, 0 or 1", t.where(r), t.rows[r][1],
             t.rows[r][0]);
    b.add(r, t.rows[r][0], label, "");
  }
  return b.finish();
}

Dataset read_isic2017_in(const std::string& gt_csv, const std::vector<std::string>& dirs) {
  const CsvTable t = read_csv(gt_csv);
  require_columns(t, {"image_id", "melanoma", "seborrheic_keratosis"}, "ISIC 2017 Part 3 ground truth");
  Builder b(t, dirs);
  b.dataset.name = "ISIC2017";
  b.dataset.root = gt_csv;
  b.dataset.classes = {"other", "melanoma"};
  b.id_column = t.column("image_id");
  const size_t mc = t.column("melanoma"), sc = t.column("seborrheic_keratosis");
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const int mel = binary_value(t.rows[r][mc]), sk = binary_value(t.rows[r][sc]);
    NN_CHECK(mel >= 0, "{}: melanoma is '{}', expected 0, 1, 0.0 or 1.0", t.where(r), t.rows[r][mc]);
    NN_CHECK(sk >= 0, "{}: seborrheic_keratosis is '{}', expected 0, 1, 0.0 or 1.0", t.where(r), t.rows[r][sc]);
    NN_CHECK(!(mel && sk), "{}: image '{}' is both melanoma and seborrheic_keratosis", t.where(r),
             t.rows[r][b.id_column]);
    b.add(r, t.rows[r][b.id_column], mel, "");
  }
  return b.finish();
}

// Subfolders of `dir` (sorted) whose names pass `keep`.
std::vector<std::string> subfolders(const std::string& dir, bool (*keep)(const std::string&)) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec))
    if (e.is_directory(ec) && keep(e.path().filename().string())) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The folders a CSV's images may be in: its own and the download's usual image subfolders.
std::vector<std::string> image_dirs_for(const std::string& dir, const std::string& format) {
  std::vector<std::string> dirs = {dir};
  const auto more =
      format == "ham10000"
          ? subfolders(dir, [](const std::string& n) { return n.starts_with("HAM10000_images"); })
          : subfolders(dir, [](const std::string& n) { return n.ends_with("_Input") || n.ends_with("_Data"); });
  dirs.insert(dirs.end(), more.begin(), more.end());
  return dirs;
}

// The format a CSV's columns say, or "" when they fit none.
std::string detect_csv_format(const std::string& path) {
  const CsvTable t = read_csv(path, CsvHeader::none);
  const auto& h = t.header.size() && t.rows.size() ? t.rows[0] : std::vector<std::string>{};
  auto has = [&](const std::string& c) { return std::find(h.begin(), h.end(), c) != h.end(); };
  if (has("lesion_id") && has("image_id") && has("dx")) return "ham10000";
  if (has("image") && std::all_of(ham10000_classes().begin(), ham10000_classes().end(), has)) return "isic2018";
  if (has("image_id") && has("melanoma")) return "isic2017";
  if (h.size() == 2) {
    const std::string v = lower(h[1]);
    if (v == "benign" || v == "malignant" || binary_value(v) >= 0) return "isic2016";
  }
  return "";
}

std::string find_groupings(const std::string& gt_csv) {
  const fs::path dir = fs::path(gt_csv).parent_path();
  std::vector<std::string> found;
  std::error_code ec;
  for (const fs::path& d : {dir, dir.parent_path()})
    for (const fs::directory_entry& e : fs::directory_iterator(d.empty() ? "." : d, ec))
      if (e.is_regular_file(ec) && contains(e.path().filename().string(), "LesionGroupings") &&
          lower(e.path().extension().string()) == ".csv")
        found.push_back(e.path().string());
  std::sort(found.begin(), found.end());
  return found.empty() ? "" : found[0];
}

Dataset read_csv_dataset(const std::string& csv, const std::string& format, const std::string& root) {
  const std::vector<std::string> dirs = image_dirs_for(root, format);
  if (format == "ham10000") return read_ham10000(csv, dirs);
  if (format == "isic2018") return read_isic2018_in(csv, dirs, find_groupings(csv));
  if (format == "isic2016") return read_isic2016_in(csv, dirs);
  if (format == "isic2017") return read_isic2017_in(csv, dirs);
  NN_FAIL("{}: not a {} file", csv, format);
}

}  // namespace

std::string class_display_name(const std::string& code) {
  static const std::map<std::string, std::string> names = {
      {"MEL", "Melanoma"},  {"NV", "Melanocytic nevi"},  {"BCC", "Basal cell carcinoma"},
      {"AKIEC", "Actinic keratoses and intraepithelial carcinoma"},  {"AK", "Actinic keratosis"},
      {"BKL", "Benign keratosis-like lesions"},  {"DF", "Dermatofibroma"},  {"VASC", "Vascular lesions"},
      {"SCC", "Squamous cell carcinoma"},  {"UNK", "Unknown"}};
  std::string upper = code;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  if (auto it = names.find(upper); it != names.end()) return fmt::format("{} ({})", it->second, upper);
  if (code == "benign") return "Benign";
  if (code == "malignant") return "Malignant";
  if (code == "melanoma") return "Melanoma";
  if (code == "other") return "Other (not melanoma)";
  return code;
}

const std::vector<std::string>& ham10000_classes() {
  static const std::vector<std::string> classes = {"MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"};
  return classes;
}

std::vector<int64_t> Dataset::class_counts() const {
  std::vector<int64_t> counts(classes.size(), 0);
  for (const Sample& s : samples) {
    NN_CHECK(s.label >= 0 && s.label < static_cast<int64_t>(classes.size()),
             "{}: sample '{}' has label {}, "
             "expected 0..{}",
             root, s.id, s.label, classes.size() - 1);
    ++counts[static_cast<size_t>(s.label)];
  }
  return counts;
}

std::vector<int64_t> Dataset::class_counts(const std::vector<int64_t>& indices) const {
  std::vector<int64_t> counts(classes.size(), 0);
  for (int64_t i : indices) {
    NN_CHECK(i >= 0 && i < static_cast<int64_t>(samples.size()),
             "{}: sample index {} out of range (the dataset has "
             "{} samples)",
             root, i, samples.size());
    const int64_t label = samples[static_cast<size_t>(i)].label;
    NN_CHECK(label >= 0 && label < static_cast<int64_t>(classes.size()),
             "{}: sample '{}' has label {}, expected "
             "0..{}",
             root, samples[static_cast<size_t>(i)].id, label, classes.size() - 1);
    ++counts[static_cast<size_t>(label)];
  }
  return counts;
}

Dataset read_ham10000(const std::string& metadata_csv, const std::vector<std::string>& image_dirs) {
  const CsvTable t = read_csv(metadata_csv);
  require_columns(t, {"lesion_id", "image_id", "dx"}, "HAM10000 metadata file");
  static const std::map<std::string, int64_t> kDx = {{"mel", 0}, {"nv", 1}, {"bcc", 2}, {"akiec", 3},
                                                     {"bkl", 4}, {"df", 5}, {"vasc", 6}};
  Builder b(t, image_dirs);
  b.dataset.name = "HAM10000";
  b.dataset.root = metadata_csv;
  b.dataset.classes = ham10000_classes();
  b.id_column = t.column("image_id");
  const size_t lc = t.column("lesion_id"), dc = t.column("dx");
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const std::vector<std::string>& row = t.rows[r];
    auto dx = kDx.find(lower(row[dc]));
    NN_CHECK(dx != kDx.end(), "{}: unknown dx '{}' for image '{}'; expected one of mel, nv, bcc, akiec, bkl, df, vasc",
             t.where(r), row[dc], row[b.id_column]);
    NN_CHECK(!row[lc].empty(), "{}: empty lesion_id for image '{}'", t.where(r), row[b.id_column]);
    b.add(r, row[b.id_column], dx->second, row[lc]);
  }
  return b.finish();
}

Dataset read_isic2018(const std::string& ground_truth_csv, const std::string& image_dir,
                      const std::string& lesion_groupings_csv) {
  return read_isic2018_in(ground_truth_csv, {image_dir}, lesion_groupings_csv);
}

Dataset read_isic2016(const std::string& ground_truth_csv, const std::string& image_dir) {
  return read_isic2016_in(ground_truth_csv, {image_dir});
}

Dataset read_isic2017(const std::string& ground_truth_csv, const std::string& image_dir) {
  return read_isic2017_in(ground_truth_csv, {image_dir});
}

Dataset open_dataset(const std::string& path, const std::string& hint_in) {
  const std::string hint = lower(hint_in) == "auto" ? "" : lower(hint_in);
  static const std::set<std::string> kFormats = {"", "ham10000", "isic2018", "isic2016", "isic2017", "imagefolder"};
  NN_CHECK(kFormats.count(hint),
           "unknown dataset format '{}'; expected auto, ham10000, isic2018, isic2016, "
           "isic2017 or imagefolder",
           hint_in);
  std::error_code ec;
  NN_CHECK(fs::exists(path, ec), "{}: no such file or folder (expected a dataset folder or a ground-truth CSV)", path);
  if (!fs::is_directory(path, ec)) {
    NN_CHECK(hint != "imagefolder", "{}: is a file; an image folder dataset is a folder", path);
    const std::string format = hint.empty() ? detect_csv_format(path) : hint;
    NN_CHECK(!format.empty(),
             "{}: the columns fit no known format (HAM10000: lesion_id, image_id, dx; ISIC 2018: "
             "image, MEL, ..., VASC; ISIC 2017: image_id, melanoma, seborrheic_keratosis; ISIC 2016: no header, "
             "id and benign|malignant); pass --format to say which",
             path);
    const std::string dir = fs::path(path).parent_path().string();
    return read_csv_dataset(path, format, dir.empty() ? "." : dir);
  }
  const std::string ham = (fs::path(path) / "HAM10000_metadata.csv").string();
  if ((hint.empty() || hint == "ham10000") && fs::exists(ham, ec)) return read_csv_dataset(ham, "ham10000", path);
  NN_CHECK(hint != "ham10000",
           "{}: no HAM10000_metadata.csv in this folder (expected the metadata file beside "
           "HAM10000_images_part_1 and _part_2)",
           path);
  if (hint == "imagefolder") return read_image_folder(path);
  // ISIC ground truth: *GroundTruth*.csv here or one level down (the 2018 download nests it in a folder).
  std::vector<std::string> candidates;
  std::vector<fs::path> dirs = {path};
  for (const std::string& d : subfolders(path, [](const std::string&) { return true; })) dirs.push_back(d);
  for (const fs::path& d : dirs)
    for (const fs::directory_entry& e : fs::directory_iterator(d, ec)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file(ec) && contains(lower(name), "groundtruth") &&
          lower(e.path().extension().string()) == ".csv")
        candidates.push_back(e.path().string());
    }
  std::sort(candidates.begin(), candidates.end());
  std::vector<std::pair<std::string, std::string>> fits;  // (csv, format)
  for (const std::string& c : candidates) {
    const std::string format = detect_csv_format(c);
    if (!format.empty() && format != "ham10000" && (hint.empty() || hint == format)) fits.push_back({c, format});
  }
  if (fits.empty()) {
    NN_CHECK(hint.empty(), "{}: no *GroundTruth*.csv with {} columns here or in a subfolder (found: {})", path, hint,
             candidates.empty() ? "none" : fmt::format("{}", fmt::join(candidates, ", ")));
    return read_image_folder(path);
  }
  if (fits.size() > 1) {
    std::vector<std::pair<std::string, std::string>> training;
    for (const auto& f : fits)
      if (contains(fs::path(f.first).filename().string(), "Training")) training.push_back(f);
    if (!training.empty()) fits = training;
  }
  std::vector<std::string> names;
  for (const auto& f : fits) names.push_back(f.first);
  NN_CHECK(fits.size() == 1, "{}: several ground-truth files fit ({}); pass the one to use as --data", path,
           fmt::join(names, ", "));
  return read_csv_dataset(fits[0].first, fits[0].second, path);
}

}  // namespace nn
