// Classification metrics for evaluation: accuracy, balanced accuracy, per-class precision / recall /
// specificity / F1, their macro and weighted averages, the confusion matrix, one-vs-rest ROC curves with
// ROC AUC and average precision, and, for melanoma tasks, sensitivity at fixed specificity, IoU and Dice.
//
// The definitions are scikit-learn 1.2's (zero_division=0; ties in scores grouped at one threshold), and the
// tests compare every figure with it. docs/metrics.md gives each formula and every edge case.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace nn {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A one-vs-rest ROC curve: (0, 0), then one point per distinct score from the highest down, ending at (1, 1).
// Empty when the class has no positives or no negatives (the curve is undefined).
struct RocCurve {
  std::vector<double> fpr, tpr;
};

struct ClassMetrics {
  std::string name;
  double precision = 0, recall = 0, specificity = 0, f1 = 0;  // 0 where the denominator is 0
  int64_t support = 0;                                         // samples whose label is this class
  double roc_auc = kNaN, average_precision = kNaN;             // NaN without positives or without negatives
  RocCurve roc;                                                // the full curve (metrics_json thins it)
};

// The positive class's figures (melanoma vs the rest), present when compute_metrics gets positive_class >= 0.
struct BinaryMetrics {
  int64_t positive_class = -1;
  double sensitivity_at_specificity_80 = kNaN;  // max TPR over ROC points with FPR <= 0.2
  double sensitivity_at_specificity_90 = kNaN;  // max TPR over ROC points with FPR <= 0.1
  double iou = 0, dice = 0;                     // TP/(TP+FP+FN), 2TP/(2TP+FP+FN) of argmax predictions
};

struct Metrics {
  std::vector<std::string> classes;
  int64_t n = 0;
  double accuracy = 0;
  double balanced_accuracy = 0;  // mean recall over the classes that have samples
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;  // unweighted means over every class
  double macro_roc_auc = kNaN;                                 // mean over the classes whose AUC is defined
  double weighted_precision = 0, weighted_recall = 0, weighted_f1 = 0;  // weighted by support
  std::vector<ClassMetrics> per_class;
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class]
  std::optional<BinaryMetrics> binary;
};

// labels[i] in [0, classes.size()); probs[i] holds one finite score per class (probabilities, though only
// their order matters for ROC and AP). Predictions are the argmax of each row, the lowest index on ties.
// positive_class: -1 for none, else the class index whose binary figures are wanted. Throws nn::Error on
// empty input, mismatched lengths, a row of the wrong width, a label outside the classes, a non-finite score.
Metrics compute_metrics(const std::vector<int64_t>& labels, const std::vector<std::vector<double>>& probs,
                        const std::vector<std::string>& classes, int64_t positive_class = -1);

// The schema in docs/metrics.md; NaN becomes null; ROC curves are thinned to at most 200 points.
nlohmann::json metrics_json(const Metrics& m);
// A fixed-width table for the terminal: per-class rows, averages, the confusion matrix, the binary figures.
std::string metrics_table(const Metrics& m);

// At most max_points (>= 2) points of `curve`, keeping the first and last: collinear interior points go
// first, then the rest are sampled evenly along the curve's length (docs/metrics.md).
RocCurve thin_roc_curve(const RocCurve& curve, size_t max_points = 200);
// The trapezoid area under a curve, in its order of points (NaN for an empty curve).
double trapezoid_auc(const RocCurve& curve);

}  // namespace nn
