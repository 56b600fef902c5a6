// Datasets: labelled image files, as read from HAM10000, ISIC and image-folder layouts.
//
// Every reader returns a Dataset: the class names in a fixed order and one Sample per image, with the
// lesion it shows (`group`) so that splits can keep all images of a lesion together. Readers check that
// every referenced image exists and that ids and labels are valid; each problem is an error naming the
// file and the CSV line. Images are decoded later, by the loader.
#pragma once

#include <string>
#include <vector>

namespace nn {

struct Sample {
  std::string image;  // path of the image file
  int64_t label = 0;  // index into Dataset::classes
  std::string id;     // image id, unique in the dataset (HAM10000 image_id, ISIC image, file stem)
  std::string group;  // lesion id: samples sharing it never straddle splits; equals id when unknown
};

struct Dataset {
  std::string name;                  // "HAM10000", "ISIC2018", "ISIC2016", "ISIC2017", "ImageFolder"
  std::string root;                  // where it was read from, for messages
  std::vector<std::string> classes;  // fixed, documented order (docs/data.md)
  std::vector<Sample> samples;
  // Official splits (ImageFolder with train/val/test folders): one of "train", "val", "test" per sample;
  // empty when the dataset has none and skinnet must split it.
  std::vector<std::string> official_split;
  // What the user should know but is not an error, printed by `skinnet data` and the training log: a class
  // with no images at all, a missing lesion-groupings file (groups are then the image ids), files skipped.
  std::vector<std::string> warnings;

  std::vector<int64_t> class_counts() const;                              // over all samples
  std::vector<int64_t> class_counts(const std::vector<int64_t>& indices) const;  // over a subset
};

// The seven HAM10000 / ISIC 2018 classes, in ISIC 2018's column order (so predictions.csv is in the
// submission format): MEL, NV, BCC, AKIEC, BKL, DF, VASC.
const std::vector<std::string>& ham10000_classes();
// The name a person reads for a class code: "Melanoma (MEL)", "Melanocytic nevi (NV)", ... for the HAM10000 /
// ISIC 2018-2019 codes (any case), "Benign" / "Malignant" / "Melanoma" / "Other (not melanoma)" for the
// ISIC 2016-2017 labels; any other name as it is (an ImageFolder's folder names).
std::string class_display_name(const std::string& code);

// HAM10000: metadata CSV (lesion_id, image_id, dx, dx_type, age, sex, localization[, dataset]) and the
// folders holding <image_id>.jpg (HAM10000_images_part_1 and _2, or any given). dx: mel, nv, bcc, akiec,
// bkl, df, vasc.
Dataset read_ham10000(const std::string& metadata_csv, const std::vector<std::string>& image_dirs);

// ISIC 2018 Task 3: ground truth CSV (image, MEL, NV, BCC, AKIEC, BKL, DF, VASC; one-hot) and the image
// folder; the optional lesion-groupings CSV (image, lesion_id) supplies the groups.
Dataset read_isic2018(const std::string& ground_truth_csv, const std::string& image_dir,
                      const std::string& lesion_groupings_csv = "");

// ISIC 2016 Part 3 (image id, benign|malignant, no header) -> classes {benign, malignant}.
Dataset read_isic2016(const std::string& ground_truth_csv, const std::string& image_dir);

// ISIC 2017 Part 3 (image_id, melanoma, seborrheic_keratosis) -> melanoma vs the rest: {other, melanoma}.
Dataset read_isic2017(const std::string& ground_truth_csv, const std::string& image_dir);

// DIR/CLASS/*.{jpg,jpeg,png,bmp}; or DIR/{train,val|valid|validation,test}/CLASS/... (official splits).
// Classes are the sorted folder names; every split must have the same classes.
Dataset read_image_folder(const std::string& dir);

// Whether a file name ends in .jpg, .jpeg, .png or .bmp (any case): the files an image folder holds.
bool is_image_file_name(const std::string& name);

// Picks the reader for a path: a folder with HAM10000_metadata.csv, an ISIC ground-truth CSV, or an image
// folder. `hint` ("ham10000", "isic2018", "isic2016", "isic2017", "imagefolder", or "" / "auto" to detect).
//   - a CSV file: its columns tell the format; images are looked for in the CSV's folder and its
//     subfolders named HAM10000_images* (HAM10000) or *_Input / *_Data (ISIC).
//   - a folder: HAM10000_metadata.csv in it; else a *GroundTruth*.csv in it or one level down whose
//     columns are an ISIC format (one whose name has "Training" wins over others), with a
//     *LesionGroupings*.csv beside it for ISIC 2018; else an image folder.
Dataset open_dataset(const std::string& path, const std::string& hint = "");

}  // namespace nn
