// The run report: one self-contained HTML page (runs/<name>/report.html) that summarises a training run.
//
// Everything the page needs is inside the file: inline CSS, SVG charts drawn here (no chart library), the
// thumbnails of the worst mistakes as base64 JPEG data: URIs, and a few lines of inline script that only add
// conveniences (toggling chart series); the page reads fully without script and without a network.
// docs/report.md describes the sections; tests/test_report.cpp renders it with headless Chromium.
//
// Inputs follow the metrics writer's JSON schemas as they are:
//   test_metrics: {"classes", "n", "accuracy", "balanced_accuracy", "loss"?, "macro": {precision, recall, f1,
//     roc_auc}, "weighted": {...}, "per_class": [{class, precision, recall, specificity, f1, support, roc_auc,
//     average_precision}], "confusion": [[..]] (rows true, columns predicted), "roc": [{class, fpr, tpr}],
//     "binary"?: {positive_class, sensitivity_at_specificity_80, sensitivity_at_specificity_90, iou, dice},
//     "reference"?: {majority_class, majority_accuracy, chance_balanced_accuracy}}  (shown under the cards)
//   history: an array of metrics.jsonl lines {"epoch", "stage", "lr", "train_loss", "train_accuracy",
//     "val_loss", "val_accuracy", "val_balanced_accuracy", "seconds", "images_per_second"}
// Any part may be missing or null (an eval-only run has no history): the page says so and stays valid.
// Absent, null and non-finite numbers show as "—". A part of the wrong type or shape (a confusion row of the
// wrong length, a string where a number belongs) is named in a "problems with the input" box at the top of
// the page rather than thrown: the report is written at the end of a long run and must not lose it.
#pragma once

#include <nlohmann/json.hpp>

#include "train/data/image.h"
#include <string>
#include <vector>

namespace nn {

// A misclassified test image. `probability` is the model's probability for the (wrong) predicted class; the
// report shows the most confident mistakes first.
struct ReportMistake {
  std::string image;  // path of the image file; an unreadable file gets a placeholder tile
  std::string true_class, predicted_class;
  double probability = 0;
  // Grad-CAM overlays (train/report/overlay.h) of the predicted and the true class, shown beside the image
  // when not empty: where the network found evidence for its answer, and for the right one.
  Image cam_predicted, cam_true;
};

struct ReportInput {
  std::string title;
  std::string run_dir;
  std::string config_text;  // the resolved configuration, shown verbatim
  nlohmann::json history;   // array of per-epoch objects; null or [] for an eval-only run
  nlohmann::json test_metrics;
  std::vector<ReportMistake> mistakes;  // any order; the 16 most confident are shown
  std::vector<std::string> notes;       // shown in a banner under the title (e.g. "trained on SYNTHETIC data")
};

inline constexpr size_t kReportMaxMistakes = 16;
inline constexpr int64_t kReportThumbnailSide = 128;  // pixels on the shorter side

// The page as a string (what write_report writes).
std::string render_report(const ReportInput& input);

// Writes render_report(input) to `path` atomically: a temporary file next to it, then a rename, so a reader
// never sees half a page. Creates the parent folder. Errors name the path.
void write_report(const std::string& path, const ReportInput& input);

}  // namespace nn
