// Image-folder datasets (torchvision's ImageFolder layout): DIR/CLASS/*.jpg, or the same under
// DIR/train, DIR/val (valid, validation) and DIR/test for datasets that come with official splits.
#include <algorithm>
#include <filesystem>
#include <map>

#include "base/error.h"
#include "train/data/dataset.h"

namespace fs = std::filesystem;

namespace nn {

namespace {

bool hidden(const fs::path& p) { return p.filename().string().starts_with("."); }

struct Listing {
  std::vector<std::string> folders, images, others;  // names, sorted
};

// The visible entries of a folder, sorted by name (byte order, as torchvision sorts class names).
Listing list(const fs::path& dir) {
  Listing out;
  std::error_code ec;
  NN_CHECK(fs::is_directory(dir, ec), "{}: no such folder (expected an image folder: DIR/CLASS/*.jpg)", dir.string());
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (hidden(e.path())) continue;
    const std::string name = e.path().filename().string();
    if (e.is_directory(ec))
      out.folders.push_back(name);
    else if (is_image_file_name(name))
      out.images.push_back(name);
    else
      out.others.push_back(name);
  }
  NN_CHECK(!ec, "{}: cannot list: {}", dir.string(), ec.message());
  std::sort(out.folders.begin(), out.folders.end());
  std::sort(out.images.begin(), out.images.end());
  std::sort(out.others.begin(), out.others.end());
  return out;
}

// Every image under a class folder, recursively (torchvision walks subfolders too), sorted by path.
std::vector<fs::path> class_images(const fs::path& dir, int64_t& skipped) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec) break;
    if (hidden(it->path())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    if (is_image_file_name(it->path().filename().string()))
      out.push_back(it->path());
    else
      ++skipped;
  }
  NN_CHECK(!ec, "{}: cannot list: {}", dir.string(), ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

// Adds the images of DIR/CLASS for every class; `split` is "" for a plain image folder.
void add_split(Dataset& ds, const fs::path& root, const fs::path& dir, const std::string& split,
               std::map<std::string, std::string>& ids, int64_t& skipped) {
  const Listing l = list(dir);
  NN_CHECK(l.images.empty(), "{}: holds images directly ({}{}); expected them in one folder per class: {}/CLASS/{}",
           dir.string(), l.images[0], l.images.size() > 1 ? fmt::format(" and {} more", l.images.size() - 1) : "",
           dir.string(), l.images[0]);
  for (size_t c = 0; c < ds.classes.size(); ++c) {
    const fs::path class_dir = dir / ds.classes[c];
    const std::vector<fs::path> files = class_images(class_dir, skipped);
    NN_CHECK(!files.empty(), "{}: class folder with no images (expected .jpg, .jpeg, .png or .bmp files)",
             class_dir.string());
    for (const fs::path& f : files) {
      std::string id = f.lexically_relative(root).replace_extension().generic_string();
      auto [it, fresh] = ids.try_emplace(id, f.string());
      NN_CHECK(fresh, "{}: two images have the id '{}' ({} and {}); ids are paths without the extension", root.string(),
               id, it->second, f.string());
      ds.samples.push_back({.image = f.string(), .label = static_cast<int64_t>(c), .id = id, .group = id});
      if (!split.empty()) ds.official_split.push_back(split);
    }
  }
}

}  // namespace

bool is_image_file_name(const std::string& name) {
  std::string ext = fs::path(name).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

Dataset read_image_folder(const std::string& dir) {
  const fs::path root(dir);
  const Listing top = list(root);
  Dataset ds;
  ds.name = "ImageFolder";
  ds.root = dir;
  std::map<std::string, std::string> ids;
  int64_t skipped = static_cast<int64_t>(top.others.size());
  NN_CHECK(!top.folders.empty() || !top.images.empty(),
           "{}: empty folder (expected DIR/CLASS/*.jpg or "
           "DIR/train/CLASS/*.jpg)",
           dir);
  const bool split_layout = std::find(top.folders.begin(), top.folders.end(), "train") != top.folders.end();
  if (!split_layout) {
    ds.classes = top.folders;
    NN_CHECK(!ds.classes.empty(), "{}: holds images ({}) but no class folders; expected {}/CLASS/{}", dir,
             top.images[0], dir, top.images[0]);
    add_split(ds, root, root, "", ids, skipped);
  } else {
    std::vector<std::pair<std::string, std::string>> splits = {{"train", "train"}};  // (folder, split name)
    for (const std::string& f : top.folders) {
      if (f == "train") continue;
      const std::string name = f == "val" || f == "valid" || f == "validation" ? "val" : f == "test" ? "test" : "";
      NN_CHECK(!name.empty(), "{}: folder '{}' beside train/; expected only train, val (or valid, validation) and test",
               dir, f);
      for (const auto& s : splits)
        NN_CHECK(s.second != name, "{}: both {}/ and {}/ are present; keep one validation folder", dir, s.first, f);
      splits.push_back({f, name});
    }
    std::sort(splits.begin(), splits.end(), [](const auto& a, const auto& b) {
      auto rank = [](const std::string& s) { return s == "train" ? 0 : s == "val" ? 1 : 2; };
      return rank(a.second) < rank(b.second);
    });
    ds.classes = list(root / "train").folders;
    NN_CHECK(!ds.classes.empty(), "{}: no class folders (expected train/CLASS/*.jpg)", (root / "train").string());
    for (const auto& [folder, name] : splits) {
      const std::vector<std::string> classes = list(root / folder).folders;
      for (const std::string& c : ds.classes)
        NN_CHECK(std::binary_search(classes.begin(), classes.end(), c),
                 "{}: no class folder '{}', which train/ has; "
                 "every split needs the same classes",
                 (root / folder).string(), c);
      for (const std::string& c : classes)
        NN_CHECK(std::binary_search(ds.classes.begin(), ds.classes.end(), c),
                 "{}: class folder '{}' that train/ "
                 "lacks; every split needs the same classes",
                 (root / folder).string(), c);
      add_split(ds, root, root / folder, name, ids, skipped);
    }
  }
  if (skipped > 0)
    ds.warnings.push_back(fmt::format("{}: skipped {} file{} that are not .jpg, .jpeg, .png or .bmp images", dir,
                                      skipped, skipped == 1 ? "" : "s"));
  return ds;
}

}  // namespace nn
