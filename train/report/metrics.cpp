// Classification metrics (see metrics.h): the counts from argmax predictions, the ranking figures from one
// pass over each class's scores sorted once, and the JSON and text renderings.
//
// Each figure is computed as scikit-learn 1.2 computes it, down to the order of the floating-point
// operations where that is cheap (F1 from P and R, AP summed from the low-recall end), so the tests can
// hold every figure to 1e-12.
#include "train/report/metrics.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "base/error.h"

namespace nn {

namespace {

double divide_or_zero(double num, double den) { return den == 0 ? 0.0 : num / den; }

void check_input(const std::vector<int64_t>& labels, const std::vector<std::vector<double>>& probs,
                 const std::vector<std::string>& classes, int64_t positive_class) {
  const auto c = static_cast<int64_t>(classes.size());
  NN_CHECK(c >= 2, "compute_metrics: need at least 2 classes, got {} ({})", c, fmt::join(classes, ", "));
  NN_CHECK(!labels.empty() || !probs.empty(), "compute_metrics: no samples (labels and probabilities are empty)");
  NN_CHECK(labels.size() == probs.size(),
           "compute_metrics: {} labels but {} probability rows; expected one row per label", labels.size(),
           probs.size());
  NN_CHECK(positive_class >= -1 && positive_class < c,
           "compute_metrics: positive_class {} is not a class index in [0, {}) nor -1 (none)", positive_class, c);
  for (size_t i = 0; i < labels.size(); ++i) {
    NN_CHECK(labels[i] >= 0 && labels[i] < c, "compute_metrics: sample {} has label {}, outside the {} classes [0, {})",
             i, labels[i], c, c);
    NN_CHECK(static_cast<int64_t>(probs[i].size()) == c,
             "compute_metrics: sample {} has {} probabilities but there are {} classes ({})", i, probs[i].size(), c,
             fmt::join(classes, ", "));
    for (int64_t k = 0; k < c; ++k)
      NN_CHECK(std::isfinite(probs[i][k]),
               "compute_metrics: sample {} has probability {} for class {} ('{}'); expected a finite number", i,
               probs[i][k], k, classes[k]);
  }
}

int64_t argmax(const std::vector<double>& row) {
  int64_t best = 0;
  for (size_t k = 1; k < row.size(); ++k)
    if (row[k] > row[best]) best = static_cast<int64_t>(k);  // strict: the lowest index wins ties
  return best;
}

// The one-vs-rest ranking of one class: cumulative false and true positives at each distinct score,
// from the highest score down (sklearn's _binary_clf_curve), without the leading (0, 0).
struct Ranking {
  std::vector<int64_t> fps, tps;
  int64_t negatives = 0, positives = 0;
};

Ranking rank(const std::vector<bool>& positive, const std::vector<double>& score) {
  std::vector<size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
  Ranking r;
  int64_t tp = 0, fp = 0;
  for (size_t j = 0; j < order.size(); ++j) {
    (positive[order[j]] ? tp : fp) += 1;
    // Tied scores form one threshold: only the last sample of a run of equal scores emits a point.
    if (j + 1 == order.size() || score[order[j + 1]] != score[order[j]]) {
      r.fps.push_back(fp);
      r.tps.push_back(tp);
    }
  }
  r.negatives = fp;
  r.positives = tp;
  return r;
}

RocCurve roc_from(const Ranking& r) {
  RocCurve c;
  c.fpr.push_back(0);
  c.tpr.push_back(0);
  for (size_t i = 0; i < r.fps.size(); ++i) {
    c.fpr.push_back(static_cast<double>(r.fps[i]) / static_cast<double>(r.negatives));
    c.tpr.push_back(static_cast<double>(r.tps[i]) / static_cast<double>(r.positives));
  }
  return c;
}

// sklearn's step integral: sum over thresholds of (R_i - R_{i-1}) P_i, R_{-1} = 0, summed from the lowest
// threshold (recall 1) up as sklearn does after reversing its precision-recall arrays.
double average_precision(const Ranking& r) {
  double sum = 0;
  for (size_t i = r.fps.size(); i-- > 0;) {
    const double recall = static_cast<double>(r.tps[i]) / static_cast<double>(r.positives);
    const double prev = i == 0 ? 0.0 : static_cast<double>(r.tps[i - 1]) / static_cast<double>(r.positives);
    const double precision = static_cast<double>(r.tps[i]) / static_cast<double>(r.tps[i] + r.fps[i]);
    sum += (recall - prev) * precision;
  }
  return sum;
}

// Highest TPR among ROC points with FPR <= (100 - specificity_percent) / 100, compared in integers so that
// "specificity >= 80%" is exact: fps * 100 <= (100 - pct) * negatives. (0, 0) always qualifies.
double sensitivity_at_specificity(const Ranking& r, int64_t specificity_percent) {
  int64_t best = 0;
  for (size_t i = 0; i < r.fps.size(); ++i)
    if (r.fps[i] * 100 <= (100 - specificity_percent) * r.negatives) best = std::max(best, r.tps[i]);
  return static_cast<double>(best) / static_cast<double>(r.positives);
}

BinaryMetrics binary_metrics(const Metrics& m, const Ranking& r, int64_t k) {
  BinaryMetrics b;
  b.positive_class = k;
  if (r.positives > 0 && r.negatives > 0) {
    b.sensitivity_at_specificity_80 = sensitivity_at_specificity(r, 80);
    b.sensitivity_at_specificity_90 = sensitivity_at_specificity(r, 90);
  }
  const int64_t tp = m.confusion[k][k];
  int64_t predicted = 0;
  for (const auto& row : m.confusion) predicted += row[k];
  const int64_t fp = predicted - tp, fn = m.per_class[k].support - tp;
  b.iou = divide_or_zero(static_cast<double>(tp), static_cast<double>(tp + fp + fn));
  b.dice = divide_or_zero(2.0 * static_cast<double>(tp), static_cast<double>(2 * tp + fp + fn));
  return b;
}

void fill_counts(Metrics& m, const std::vector<int64_t>& labels, const std::vector<int64_t>& pred) {
  const size_t c = m.classes.size();
  m.confusion.assign(c, std::vector<int64_t>(c, 0));
  for (size_t i = 0; i < labels.size(); ++i) m.confusion[labels[i]][pred[i]] += 1;
  int64_t correct = 0;
  double recall_sum = 0;
  int64_t present = 0;
  for (size_t k = 0; k < c; ++k) {
    ClassMetrics& cm = m.per_class[k];
    const int64_t tp = m.confusion[k][k];
    int64_t predicted = 0, actual = 0;
    for (size_t j = 0; j < c; ++j) {
      predicted += m.confusion[j][k];
      actual += m.confusion[k][j];
    }
    const int64_t fp = predicted - tp, fn = actual - tp, tn = m.n - tp - fp - fn;
    correct += tp;
    cm.support = actual;
    cm.precision = divide_or_zero(static_cast<double>(tp), static_cast<double>(predicted));
    cm.recall = divide_or_zero(static_cast<double>(tp), static_cast<double>(actual));
    cm.specificity = divide_or_zero(static_cast<double>(tn), static_cast<double>(tn + fp));
    const double den = cm.precision + cm.recall;  // sklearn: 2PR / (P + R), 0 when P + R = 0
    cm.f1 = den == 0 ? 0.0 : 2 * cm.precision * cm.recall / den;
    if (actual > 0) {
      recall_sum += cm.recall;
      ++present;
    }
  }
  m.accuracy = static_cast<double>(correct) / static_cast<double>(m.n);
  m.balanced_accuracy = recall_sum / static_cast<double>(present);  // present >= 1 since n >= 1
  double p = 0, r = 0, f = 0, wp = 0, wr = 0, wf = 0;
  for (const ClassMetrics& cm : m.per_class) {
    p += cm.precision;
    r += cm.recall;
    f += cm.f1;
    wp += cm.precision * static_cast<double>(cm.support);
    wr += cm.recall * static_cast<double>(cm.support);
    wf += cm.f1 * static_cast<double>(cm.support);
  }
  const double cd = static_cast<double>(c), nd = static_cast<double>(m.n);
  m.macro_precision = p / cd;
  m.macro_recall = r / cd;
  m.macro_f1 = f / cd;
  m.weighted_precision = wp / nd;
  m.weighted_recall = wr / nd;
  m.weighted_f1 = wf / nd;
}

}  // namespace

double trapezoid_auc(const RocCurve& curve) {
  if (curve.fpr.empty()) return kNaN;
  double area = 0;
  for (size_t i = 1; i < curve.fpr.size(); ++i)
    area += (curve.fpr[i] - curve.fpr[i - 1]) * (curve.tpr[i] + curve.tpr[i - 1]) / 2.0;
  return area;
}

Metrics compute_metrics(const std::vector<int64_t>& labels, const std::vector<std::vector<double>>& probs,
                        const std::vector<std::string>& classes, int64_t positive_class) {
  check_input(labels, probs, classes, positive_class);
  Metrics m;
  m.classes = classes;
  m.n = static_cast<int64_t>(labels.size());
  m.per_class.resize(classes.size());
  std::vector<int64_t> pred(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) pred[i] = argmax(probs[i]);
  for (size_t k = 0; k < classes.size(); ++k) m.per_class[k].name = classes[k];
  fill_counts(m, labels, pred);

  double auc_sum = 0;
  int64_t auc_count = 0;
  std::vector<bool> positive(labels.size());
  std::vector<double> score(labels.size());
  for (size_t k = 0; k < classes.size(); ++k) {
    for (size_t i = 0; i < labels.size(); ++i) {
      positive[i] = labels[i] == static_cast<int64_t>(k);
      score[i] = probs[i][k];
    }
    const Ranking r = rank(positive, score);
    const bool defined = r.positives > 0 && r.negatives > 0;
    ClassMetrics& cm = m.per_class[k];
    if (defined) {
      cm.roc = roc_from(r);
      cm.roc_auc = trapezoid_auc(cm.roc);
      cm.average_precision = average_precision(r);
      auc_sum += cm.roc_auc;
      ++auc_count;
    }
    if (static_cast<int64_t>(k) == positive_class) m.binary = binary_metrics(m, r, positive_class);
  }
  if (auc_count > 0) m.macro_roc_auc = auc_sum / static_cast<double>(auc_count);
  return m;
}

RocCurve thin_roc_curve(const RocCurve& curve, size_t max_points) {
  NN_CHECK(max_points >= 2, "thin_roc_curve: max_points is {}; expected at least 2 (the first and last points)",
           max_points);
  NN_CHECK(curve.fpr.size() == curve.tpr.size(), "thin_roc_curve: {} FPR values but {} TPR values", curve.fpr.size(),
           curve.tpr.size());
  const size_t n = curve.fpr.size();
  if (n <= max_points) return curve;
  // 1. Interior points on a straight line between their neighbours change neither the picture nor the area.
  std::vector<size_t> keep{0};
  for (size_t i = 1; i + 1 < n; ++i) {
    const size_t a = keep.back();
    const double cross = (curve.fpr[i] - curve.fpr[a]) * (curve.tpr[i + 1] - curve.tpr[i]) -
                         (curve.tpr[i] - curve.tpr[a]) * (curve.fpr[i + 1] - curve.fpr[i]);
    if (cross != 0) keep.push_back(i);
  }
  keep.push_back(n - 1);
  // 2. Still too many: keep the first point at or past each of max_points - 1 equal steps of arc length, so
  //    dense stretches of the curve lose points and sparse corners stay.
  if (keep.size() > max_points) {
    std::vector<double> arc(keep.size(), 0.0);
    for (size_t j = 1; j < keep.size(); ++j)
      arc[j] = arc[j - 1] + std::hypot(curve.fpr[keep[j]] - curve.fpr[keep[j - 1]],
                                       curve.tpr[keep[j]] - curve.tpr[keep[j - 1]]);
    const double step = arc.back() / static_cast<double>(max_points - 1);
    std::vector<size_t> sampled{keep[0]};
    size_t j = 1;
    for (size_t s = 1; s + 1 < max_points; ++s) {
      while (j + 1 < keep.size() && arc[j] < static_cast<double>(s) * step) ++j;
      if (j + 1 < keep.size() && keep[j] != sampled.back()) sampled.push_back(keep[j]);
    }
    sampled.push_back(keep.back());
    keep = std::move(sampled);
  }
  RocCurve out;
  for (size_t i : keep) {
    out.fpr.push_back(curve.fpr[i]);
    out.tpr.push_back(curve.tpr[i]);
  }
  return out;
}

namespace {

nlohmann::json number(double x) { return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x); }

}  // namespace

nlohmann::json metrics_json(const Metrics& m) {
  nlohmann::json j;
  j["classes"] = m.classes;
  j["n"] = m.n;
  j["accuracy"] = m.accuracy;
  j["balanced_accuracy"] = m.balanced_accuracy;
  j["macro"] = {{"precision", m.macro_precision}, {"recall", m.macro_recall}, {"f1", m.macro_f1},
                {"roc_auc", number(m.macro_roc_auc)}};
  j["weighted"] = {{"precision", m.weighted_precision}, {"recall", m.weighted_recall}, {"f1", m.weighted_f1}};
  j["per_class"] = nlohmann::json::array();
  j["roc"] = nlohmann::json::array();
  for (const ClassMetrics& c : m.per_class) {
    j["per_class"].push_back({{"class", c.name},
                              {"precision", c.precision},
                              {"recall", c.recall},
                              {"specificity", c.specificity},
                              {"f1", c.f1},
                              {"support", c.support},
                              {"roc_auc", number(c.roc_auc)},
                              {"average_precision", number(c.average_precision)}});
    const RocCurve thin = thin_roc_curve(c.roc);
    j["roc"].push_back({{"class", c.name}, {"fpr", thin.fpr}, {"tpr", thin.tpr}});
  }
  j["confusion"] = m.confusion;
  if (m.binary) {
    const BinaryMetrics& b = *m.binary;
    j["binary"] = {{"positive_class", m.classes[b.positive_class]},
                   {"sensitivity_at_specificity_80", number(b.sensitivity_at_specificity_80)},
                   {"sensitivity_at_specificity_90", number(b.sensitivity_at_specificity_90)},
                   {"iou", b.iou},
                   {"dice", b.dice}};
  }
  return j;
}

namespace {

std::string cell(double x) { return std::isnan(x) ? std::string("-") : fmt::format("{:.4f}", x); }

}  // namespace

std::string metrics_table(const Metrics& m) {
  size_t width = 8;  // "weighted"
  for (const std::string& c : m.classes) width = std::max(width, c.size());
  const auto row = [&](const std::string& name, double p, double r, double s, double f, const std::string& support,
                       double auc, double ap) {
    return fmt::format("{:<{}} {:>9} {:>9} {:>11} {:>9} {:>8} {:>9} {:>9}\n", name, width, cell(p), cell(r), cell(s),
                       cell(f), support, cell(auc), cell(ap));
  };
  std::string out = fmt::format("{:<{}} {:>9} {:>9} {:>11} {:>9} {:>8} {:>9} {:>9}\n", "class", width, "precision",
                                "recall", "specificity", "f1", "support", "roc_auc", "avg_prec");
  for (const ClassMetrics& c : m.per_class)
    out += row(c.name, c.precision, c.recall, c.specificity, c.f1, std::to_string(c.support), c.roc_auc,
               c.average_precision);
  out += row("macro", m.macro_precision, m.macro_recall, kNaN, m.macro_f1, std::to_string(m.n), m.macro_roc_auc, kNaN);
  out += row("weighted", m.weighted_precision, m.weighted_recall, kNaN, m.weighted_f1, std::to_string(m.n), kNaN, kNaN);
  out += fmt::format("accuracy {}   balanced accuracy {}   (n = {})\n", cell(m.accuracy), cell(m.balanced_accuracy),
                     m.n);
  size_t column = 7;
  for (const std::string& c : m.classes) column = std::max(column, c.size());
  out += fmt::format("\nconfusion (rows: true class, columns: predicted)\n{:<{}}", "", width);
  for (const std::string& c : m.classes) out += fmt::format(" {:>{}}", c, column);
  out += "\n";
  for (size_t k = 0; k < m.classes.size(); ++k) {
    out += fmt::format("{:<{}}", m.classes[k], width);
    for (int64_t v : m.confusion[k]) out += fmt::format(" {:>{}}", v, column);
    out += "\n";
  }
  if (m.binary) {
    const BinaryMetrics& b = *m.binary;
    out += fmt::format("\npositive class {}: sensitivity {} at specificity >= 80%, {} at >= 90%; IoU {}, Dice {}\n",
                       m.classes[b.positive_class], cell(b.sensitivity_at_specificity_80),
                       cell(b.sensitivity_at_specificity_90), cell(b.iou), cell(b.dice));
  }
  return out;
}

}  // namespace nn
