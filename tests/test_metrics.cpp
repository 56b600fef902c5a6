// Classification metrics: hand-worked known answers, every figure against scikit-learn 1.2 on seeded cases
// (tests/torch_cases_metrics.py), ROC thinning for the JSON, the JSON schema, and bad input.
#include <cmath>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/check.h"
#include "train/report/metrics.h"

namespace nn::test {

namespace {

// |got - want| <= tol, NaN only where NaN is wanted; the message names the figure.
void check_figure(const std::string& what, double got, double want, double tol = 1e-12) {
  std::ostringstream msg;
  msg << std::setprecision(17) << what << ": expected " << want << ", got " << got;
  if (std::isnan(want))
    CHECK_MESSAGE(std::isnan(got), msg.str());
  else
    CHECK_MESSAGE(std::abs(got - want) <= tol, msg.str());
}

// The hand-worked example of the known tier (3 classes, 6 samples): see the first test case.
Metrics hand_example(int64_t positive_class) {
  return compute_metrics({0, 0, 0, 1, 1, 2},
                         {{0.6, 0.3, 0.1}, {0.2, 0.5, 0.3}, {0.7, 0.2, 0.1}, {0.1, 0.8, 0.1}, {0.4, 0.4, 0.2},
                          {0.3, 0.3, 0.4}},
                         {"a", "b", "c"}, positive_class);
}

bool non_decreasing(const std::vector<double>& v) {
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] < v[i - 1]) return false;
  return true;
}

std::vector<std::vector<double>> rows_of(const Tensor& probs) {
  const std::vector<double> flat = probs.to_vector<double>();
  const auto c = static_cast<size_t>(probs.size(1));
  std::vector<std::vector<double>> rows;
  for (size_t i = 0; i < flat.size(); i += c) rows.emplace_back(flat.begin() + i, flat.begin() + i + c);
  return rows;
}

double scalar(const TorchCase& c, const std::string& name) { return c[name].to_vector<double>().at(0); }

}  // namespace

TEST_SUITE("known") {
  TEST_CASE("metrics: a hand-worked 3-class example") {
    // sample  label  scores (a, b, c)  prediction
    //   0       a    .6  .3  .1         a
    //   1       a    .2  .5  .3         b
    //   2       a    .7  .2  .1         a
    //   3       b    .1  .8  .1         b
    //   4       b    .4  .4  .2         a  (tie between a and b: the lowest index wins)
    //   5       c    .3  .3  .4         c
    // Confusion (rows true): a [2 1 0], b [1 1 0], c [0 0 1]; accuracy 4/6.
    // a: TP 2, FP 1 (s4), FN 1 (s1), TN 2: P = R = 2/3, specificity TN/(TN+FP) = 2/3, F1 2/3.
    // b: TP 1, FP 1 (s1), FN 1 (s4), TN 3: P = R = 1/2, specificity 3/4, F1 1/2.
    // c: TP 1, FP 0, FN 0, TN 5: P = R = specificity = F1 = 1.
    // balanced accuracy = macro recall = macro P = macro F1 = (2/3 + 1/2 + 1) / 3 = 13/18;
    // weighted P = (3 * 2/3 + 2 * 1/2 + 1 * 1) / 6 = 2/3 = weighted R = weighted F1.
    // ROC a: scores .7P .6P .4N .3N .2P .1N: (0,0) (0,1/3) (0,2/3) (1/3,2/3) (2/3,2/3) (2/3,1) (1,1);
    //   AUC = pairs ranked right / 9 = (3 + 3 + 1) / 9 = 7/9; AP = 1/3*1 + 1/3*1 + 1/3*3/5 = 13/15.
    // ROC b: .8P .5N .4P .3N.3N(tied) .2N: (0,0) (0,1/2) (1/4,1/2) (1/4,1) (3/4,1) (1,1); AUC = (4 + 3)/8 = 7/8;
    //   AP = 1/2*1 + 1/2*2/3 = 5/6.
    // ROC c: .4P above every negative: AUC 1, AP 1. Macro AUC = (7/9 + 7/8 + 1) / 3 = 191/216.
    // Positive class b: FPR <= 0.2 and <= 0.1 both leave only FPR 0 (4 negatives): sensitivity 1/2 at both;
    //   IoU = 1/(1+1+1) = 1/3, Dice = 2/(2+1+1) = 1/2 (= F1 of b).
    const Metrics m = hand_example(1);
    CHECK(m.n == 6);
    CHECK(m.confusion == std::vector<std::vector<int64_t>>{{2, 1, 0}, {1, 1, 0}, {0, 0, 1}});
    check_figure("accuracy", m.accuracy, 4.0 / 6);
    check_figure("balanced accuracy", m.balanced_accuracy, 13.0 / 18);
    const double want[3][8] = {{2. / 3, 2. / 3, 2. / 3, 2. / 3, 3, 7. / 9, 13. / 15},
                               {1. / 2, 1. / 2, 3. / 4, 1. / 2, 2, 7. / 8, 5. / 6},
                               {1, 1, 1, 1, 1, 1, 1}};
    for (int k = 0; k < 3; ++k) {
      const ClassMetrics& c = m.per_class[k];
      CAPTURE(c.name);
      check_figure("precision", c.precision, want[k][0]);
      check_figure("recall", c.recall, want[k][1]);
      check_figure("specificity", c.specificity, want[k][2]);
      check_figure("f1", c.f1, want[k][3]);
      CHECK(c.support == static_cast<int64_t>(want[k][4]));
      check_figure("roc_auc", c.roc_auc, want[k][5]);
      check_figure("average_precision", c.average_precision, want[k][6]);
    }
    check_values("roc a fpr", from_vector(m.per_class[0].roc.fpr, {7}), {0, 0, 0, 1. / 3, 2. / 3, 2. / 3, 1}, 1e-15);
    check_values("roc a tpr", from_vector(m.per_class[0].roc.tpr, {7}), {0, 1. / 3, 2. / 3, 2. / 3, 2. / 3, 1, 1},
                 1e-15);
    check_values("roc b fpr", from_vector(m.per_class[1].roc.fpr, {6}), {0, 0, .25, .25, .75, 1}, 1e-15);
    check_values("roc b tpr", from_vector(m.per_class[1].roc.tpr, {6}), {0, .5, .5, 1, 1, 1}, 1e-15);
    check_figure("macro precision", m.macro_precision, 13.0 / 18);
    check_figure("macro recall", m.macro_recall, 13.0 / 18);
    check_figure("macro f1", m.macro_f1, 13.0 / 18);
    check_figure("macro roc_auc", m.macro_roc_auc, 191.0 / 216);
    check_figure("weighted precision", m.weighted_precision, 2.0 / 3);
    check_figure("weighted recall", m.weighted_recall, 2.0 / 3);
    check_figure("weighted f1", m.weighted_f1, 2.0 / 3);
    REQUIRE(m.binary.has_value());
    check_figure("sens@80", m.binary->sensitivity_at_specificity_80, 0.5);
    check_figure("sens@90", m.binary->sensitivity_at_specificity_90, 0.5);
    check_figure("iou", m.binary->iou, 1.0 / 3);
    check_figure("dice", m.binary->dice, 0.5);
    CHECK_FALSE(hand_example(-1).binary.has_value());
  }

  TEST_CASE("metrics: sensitivity at specificity counts FPR exactly 0.2 as specificity 80%") {
    // 4 positives (p = .9 .7 .5 .3) among 10 negatives (.8 .6 .4 .2 .1 .05 .04 .03 .02 .01). Descending:
    // .9P (0, 1/4)  .8N (.1, 1/4)  .7P (.1, 2/4)  .6N (.2, 2/4)  .5P (.2, 3/4)  .4N (.3, 3/4)  .3P (.3, 1) ...
    // FPR <= 0.2 (2 of 10 negatives, exactly on the boundary): best TPR 3/4; FPR <= 0.1: 2/4.
    // AUC = (10 + 9 + 8 + 7) / 40 = 0.85. Argmax of (1 - p, p) picks "pos" for p > .5 only (p = .5 ties to
    // "neg"): TP 2 (.9 .7), FP 2 (.8 .6), FN 2 (.5 .3): IoU 2/6, Dice 4/8.
    std::vector<int64_t> labels;
    std::vector<std::vector<double>> probs;
    for (double p : {.9, .7, .5, .3}) labels.push_back(1), probs.push_back({1 - p, p});
    for (double p : {.8, .6, .4, .2, .1, .05, .04, .03, .02, .01}) labels.push_back(0), probs.push_back({1 - p, p});
    const Metrics m = compute_metrics(labels, probs, {"neg", "pos"}, 1);
    check_figure("sens@80", m.binary->sensitivity_at_specificity_80, 0.75);
    check_figure("sens@90", m.binary->sensitivity_at_specificity_90, 0.5);
    check_figure("auc", m.per_class[1].roc_auc, 0.85);
    check_figure("iou", m.binary->iou, 2.0 / 6);
    check_figure("dice", m.binary->dice, 0.5);
    CHECK(m.confusion == std::vector<std::vector<int64_t>>{{8, 2}, {2, 2}});
  }

  TEST_CASE("metrics: JSON has exactly the schema's keys, null for undefined figures") {
    const nlohmann::json j = metrics_json(hand_example(1));
    std::set<std::string> keys;
    for (const auto& [k, v] : j.items()) keys.insert(k);
    CHECK(keys == std::set<std::string>{"classes", "n", "accuracy", "balanced_accuracy", "macro", "weighted",
                                        "per_class", "confusion", "roc", "binary"});
    CHECK(j["classes"] == nlohmann::json({"a", "b", "c"}));
    CHECK(j["n"] == 6);
    CHECK(j["confusion"] == nlohmann::json({{2, 1, 0}, {1, 1, 0}, {0, 0, 1}}));
    CHECK(j["macro"].size() == 4);
    CHECK(j["macro"]["roc_auc"].get<double>() == doctest::Approx(191.0 / 216));
    CHECK(j["weighted"].size() == 3);
    CHECK(j["weighted"]["f1"].get<double>() == doctest::Approx(2.0 / 3));
    REQUIRE(j["per_class"].size() == 3);
    const nlohmann::json& b = j["per_class"][1];
    CHECK(b.size() == 8);
    CHECK(b["class"] == "b");
    CHECK(b["support"] == 2);
    CHECK(b["support"].is_number_integer());
    for (const char* key : {"precision", "recall", "specificity", "f1", "roc_auc", "average_precision"})
      CHECK_MESSAGE(b[key].is_number_float(), key);
    CHECK(b["specificity"].get<double>() == 0.75);
    REQUIRE(j["roc"].size() == 3);
    CHECK(j["roc"][1]["class"] == "b");
    CHECK(j["roc"][1]["fpr"] == nlohmann::json({0, 0, .25, .25, .75, 1}));
    CHECK(j["roc"][1]["tpr"] == nlohmann::json({0, .5, .5, 1, 1, 1}));
    CHECK(j["binary"].size() == 5);
    CHECK(j["binary"]["positive_class"] == "b");
    CHECK(j["binary"]["iou"].get<double>() == doctest::Approx(1.0 / 3));
    CHECK(j["binary"]["dice"].get<double>() == 0.5);
    CHECK(j["binary"]["sensitivity_at_specificity_80"].get<double>() == 0.5);
    CHECK_FALSE(metrics_json(hand_example(-1)).contains("binary"));

    // Class "y" has no samples: its AUC and AP and, as the positive class, its sensitivities are null, its
    // curve is empty; the macro AUC averages the two classes that have one.
    const Metrics absent = compute_metrics({0, 1, 0}, {{.5, .3, .2}, {.1, .6, .3}, {.2, .2, .6}}, {"x", "z", "y"}, 2);
    const nlohmann::json ja = metrics_json(absent);
    CHECK(ja["per_class"][2]["roc_auc"].is_null());
    CHECK(ja["per_class"][2]["average_precision"].is_null());
    CHECK(ja["per_class"][2]["recall"] == 0.0);
    CHECK(ja["roc"][2]["fpr"].empty());
    CHECK(ja["binary"]["sensitivity_at_specificity_80"].is_null());
    CHECK(ja["binary"]["sensitivity_at_specificity_90"].is_null());
    CHECK(ja["binary"]["iou"] == 0.0);  // TP 0, FP 1: 0 / 1
    CHECK(ja["macro"]["roc_auc"].is_number_float());
    CHECK(nlohmann::json::parse(ja.dump()) == ja);  // no NaN leaks into the text (it would not parse back)
  }

  TEST_CASE("metrics: the table shows every class, the averages, the confusion matrix and the binary figures") {
    const std::string t = metrics_table(hand_example(1));
    for (const char* s : {"precision", "specificity", "roc_auc", "macro", "weighted", "0.7222", "0.8333",
                          "balanced accuracy 0.7222", "confusion", "positive class b", "IoU 0.3333", "Dice 0.5000"})
      CHECK_MESSAGE(t.find(s) != std::string::npos, "missing '" << s << "' in\n" << t);
    CHECK(metrics_table(hand_example(-1)).find("positive class") == std::string::npos);
  }

  TEST_CASE("metrics: ROC thinning keeps short curves, drops collinear points first, caps long ones") {
    const RocCurve short_curve{{0, 0, .5, 1}, {0, .5, .5, 1}};
    const RocCurve same = thin_roc_curve(short_curve, 4);
    CHECK(same.fpr == short_curve.fpr);
    CHECK(same.tpr == short_curve.tpr);
    // A staircase with collinear runs: (0,0) (0,.25) (0,.5) (0,.75) (.5,.75) (1,.75) (1,1): only the corners
    // (0,0) (0,.75) (1,.75) (1,1) are needed, and the area (0.75) does not change.
    const RocCurve stairs{{0, 0, 0, 0, .5, 1, 1}, {0, .25, .5, .75, .75, .75, 1}};
    const RocCurve corners = thin_roc_curve(stairs, 5);
    CHECK(corners.fpr == std::vector<double>{0, 0, 1, 1});
    CHECK(corners.tpr == std::vector<double>{0, .75, .75, 1});
    CHECK(trapezoid_auc(corners) == 0.75);
    CHECK_THROWS_AS(thin_roc_curve(stairs, 1), Error);
  }
}

TEST_SUITE("torch") {
  TEST_CASE("metrics: every figure against scikit-learn 1.2") {
    int n = 0, ovr = 0;
    for (const TorchCase& c : torch_cases("metrics")) {
      CAPTURE(c.name);
      ++n;
      const auto classes = c.params["classes"].get<std::vector<std::string>>();
      const auto positive = c.params["positive_class"].get<int64_t>();
      const Metrics m = compute_metrics(c["labels"].to_vector<int64_t>(), rows_of(c["probs"]), classes, positive);
      const size_t nc = classes.size();
      CHECK(m.n == c["labels"].size(0));
      check_figure("accuracy", m.accuracy, scalar(c, "accuracy"));
      check_figure("balanced_accuracy", m.balanced_accuracy, scalar(c, "balanced_accuracy"));
      check_figure("macro precision", m.macro_precision, scalar(c, "macro_precision"));
      check_figure("macro recall", m.macro_recall, scalar(c, "macro_recall"));
      check_figure("macro f1", m.macro_f1, scalar(c, "macro_f1"));
      check_figure("macro roc_auc", m.macro_roc_auc, scalar(c, "macro_roc_auc"));
      if (c.has("macro_roc_auc_ovr")) {
        ++ovr;
        check_figure("macro roc_auc vs roc_auc_score(multi_class='ovr')", m.macro_roc_auc,
                     scalar(c, "macro_roc_auc_ovr"));
      }
      check_figure("weighted precision", m.weighted_precision, scalar(c, "weighted_precision"));
      check_figure("weighted recall", m.weighted_recall, scalar(c, "weighted_recall"));
      check_figure("weighted f1", m.weighted_f1, scalar(c, "weighted_f1"));
      const auto confusion = c["confusion"].to_vector<int64_t>();
      const auto support = c["support"].to_vector<int64_t>();
      const nlohmann::json j = metrics_json(m);
      for (size_t k = 0; k < nc; ++k) {
        const ClassMetrics& cm = m.per_class[k];
        const std::string at = classes[k] + " ";
        check_figure(at + "precision", cm.precision, c["precision"].to_vector<double>()[k]);
        check_figure(at + "recall", cm.recall, c["recall"].to_vector<double>()[k]);
        check_figure(at + "specificity", cm.specificity, c["specificity"].to_vector<double>()[k]);
        check_figure(at + "f1", cm.f1, c["f1"].to_vector<double>()[k]);
        check_figure(at + "roc_auc", cm.roc_auc, c["roc_auc"].to_vector<double>()[k]);
        check_figure(at + "average_precision", cm.average_precision, c["average_precision"].to_vector<double>()[k]);
        CHECK_MESSAGE(cm.support == support[k], at << "support");
        for (size_t p = 0; p < nc; ++p)
          CHECK_MESSAGE(m.confusion[k][p] == confusion[k * nc + p], "confusion[" << k << "][" << p << "]");
        const std::string fpr = "roc_fpr_" + std::to_string(k), tpr = "roc_tpr_" + std::to_string(k);
        CHECK(c.has(fpr) == !cm.roc.fpr.empty());
        if (!c.has(fpr)) continue;
        // The full curve is sklearn's roc_curve(drop_intermediate=False), point for point; the JSON's
        // (thinned when over 200 points) has the same area up to rounding when only collinear points went.
        check_close(at + "roc fpr", from_vector(cm.roc.fpr, {static_cast<int64_t>(cm.roc.fpr.size())}), c[fpr]);
        check_close(at + "roc tpr", from_vector(cm.roc.tpr, {static_cast<int64_t>(cm.roc.tpr.size())}), c[tpr]);
        check_figure(at + "trapezoid of the full curve", trapezoid_auc(cm.roc), c["roc_auc"].to_vector<double>()[k]);
        const RocCurve json_curve{j["roc"][k]["fpr"].get<std::vector<double>>(),
                                  j["roc"][k]["tpr"].get<std::vector<double>>()};
        CHECK(json_curve.fpr.size() <= 200);
        if (cm.roc.fpr.size() <= 400)  // these thin by dropping collinear points only
          check_figure(at + "trapezoid of the JSON curve", trapezoid_auc(json_curve),
                       c["roc_auc"].to_vector<double>()[k]);
      }
      if (positive < 0) {
        CHECK_FALSE(m.binary.has_value());
        continue;
      }
      REQUIRE(m.binary.has_value());
      check_figure("sensitivity at specificity 80%", m.binary->sensitivity_at_specificity_80,
                   scalar(c, "sensitivity_at_specificity_80"));
      check_figure("sensitivity at specificity 90%", m.binary->sensitivity_at_specificity_90,
                   scalar(c, "sensitivity_at_specificity_90"));
      check_figure("iou", m.binary->iou, scalar(c, "iou"));
      check_figure("dice", m.binary->dice, scalar(c, "dice"));
    }
    CHECK(n == 8);
    CHECK(ovr == 3);  // ham7_imbalanced, ties_5class, perfect
  }

  TEST_CASE("metrics: a 3000-sample ROC curve thins to <= 200 points of the same shape") {
    const TorchCase* big = nullptr;
    const auto all = torch_cases("metrics");
    for (const TorchCase& c : all)
      if (c.name == "large_binary") big = &c;
    REQUIRE(big != nullptr);
    const Metrics m = compute_metrics((*big)["labels"].to_vector<int64_t>(), rows_of((*big)["probs"]),
                                      {"benign", "melanoma"}, 1);
    const RocCurve& full = m.per_class[1].roc;
    REQUIRE(full.fpr.size() > 1000);
    const RocCurve thin = thin_roc_curve(full);
    CHECK(thin.fpr.size() <= 200);
    CHECK(thin.fpr.size() >= 150);  // the cap is used, not collapsed to a handful of points
    CHECK(thin.fpr.front() == 0);
    CHECK(thin.tpr.front() == 0);
    CHECK(thin.fpr.back() == 1);
    CHECK(thin.tpr.back() == 1);
    CHECK(non_decreasing(thin.fpr));
    CHECK(non_decreasing(thin.tpr));
    // Every kept point lies on the full curve, so the thinned curve is the full one with corners cut: its
    // area differs by the corners' triangles: measured 0.0002 (188 points); 0.001 leaves 5x.
    std::set<std::pair<double, double>> on_curve;
    for (size_t i = 0; i < full.fpr.size(); ++i) on_curve.insert({full.fpr[i], full.tpr[i]});
    for (size_t i = 0; i < thin.fpr.size(); ++i) CHECK(on_curve.count({thin.fpr[i], thin.tpr[i]}) == 1);
    const double diff = std::abs(trapezoid_auc(thin) - m.per_class[1].roc_auc);
    MESSAGE("thinned AUC - full AUC = " << diff << " with " << thin.fpr.size() << " points");
    CHECK(diff < 0.001);
  }
}

TEST_SUITE("errors") {
  TEST_CASE("metrics: bad input is an error that says what is wrong") {
    const std::vector<std::string> abc{"a", "b", "c"};
    const std::vector<std::vector<double>> two_rows{{.2, .3, .5}, {.6, .3, .1}};
    CHECK_THROWS_WITH_AS(compute_metrics({0, 1, 2}, two_rows, abc),
                         doctest::Contains("3 labels but 2 probability rows"), Error);
    CHECK_THROWS_WITH_AS(compute_metrics({}, {}, abc), doctest::Contains("no samples"), Error);
    CHECK_THROWS_WITH_AS(compute_metrics({0, 1}, {{.2, .3, .5}, {.6, .4}}, abc),
                         doctest::Contains("sample 1 has 2 probabilities but there are 3 classes (a, b, c)"), Error);
    CHECK_THROWS_WITH_AS(compute_metrics({0, 3}, two_rows, abc),
                         doctest::Contains("sample 1 has label 3, outside the 3 classes [0, 3)"), Error);
    CHECK_THROWS_WITH_AS(compute_metrics({-1, 0}, two_rows, abc), doctest::Contains("sample 0 has label -1"), Error);
    CHECK_THROWS_WITH_AS(compute_metrics({0, 1}, {{.2, .3, .5}, {.6, NAN, .1}}, abc),
                         doctest::Contains("sample 1 has probability nan for class 1 ('b'); expected a finite number"),
                         Error);
    CHECK_THROWS_WITH_AS(compute_metrics({0, 1}, {{INFINITY, .3, .5}, {.6, .3, .1}}, abc),
                         doctest::Contains("sample 0 has probability inf for class 0 ('a')"), Error);
    CHECK_THROWS_WITH_AS(compute_metrics({0, 1}, two_rows, abc, 3),
                         doctest::Contains("positive_class 3 is not a class index in [0, 3)"), Error);
    CHECK_THROWS_WITH_AS(compute_metrics({0, 1}, two_rows, abc, -2), doctest::Contains("positive_class -2"), Error);
    CHECK_THROWS_WITH_AS(compute_metrics({0, 0}, {{1.0}, {1.0}}, {"only"}), doctest::Contains("at least 2 classes"),
                         Error);
    // Every message says where it comes from.
    try {
      compute_metrics({0}, {{.5, .5}}, abc);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).starts_with("compute_metrics: "));
    }
  }
}

}  // namespace nn::test
