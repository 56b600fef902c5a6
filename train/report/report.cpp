// The run report page (see report.h): its sections, the thumbnails, and the atomic write.
#include "train/report/report.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <limits>

#include "base/atomic_file.h"
#include "base/error.h"
#include "train/data/image.h"
#include "train/report/report_svg.h"

namespace nn {

namespace {

using nlohmann::json;
using report::escape;
using report::format_number;
using report::format_percent;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Reads the input JSON leniently: missing or null values become NaN ("—" on the page); values of the wrong
// type are NaN too but are listed in `problems`, shown at the top of the page, so nothing is dropped silently.
struct Page {
  std::vector<std::string> problems;

  double number(const json& object, const char* key, const std::string& where) {
    if (!object.is_object() || !object.contains(key) || object[key].is_null()) return kNaN;
    const json& v = object[key];
    if (v.is_number()) return v.get<double>();
    problems.push_back(fmt::format("{}.{} is {}, expected a number", where, key, v.dump()));
    return kNaN;
  }
  std::string text(const json& object, const char* key, const std::string& where) {
    if (!object.is_object() || !object.contains(key) || object[key].is_null()) return "";
    const json& v = object[key];
    if (v.is_string()) return v.get<std::string>();
    problems.push_back(fmt::format("{}.{} is {}, expected a string", where, key, v.dump()));
    return v.dump();
  }
  // An array of numbers, or an empty vector (with a problem noted when it is something else).
  std::vector<double> numbers(const json& object, const char* key, const std::string& where) {
    std::vector<double> out;
    if (!object.is_object() || !object.contains(key) || object[key].is_null()) return out;
    const json& v = object[key];
    if (!v.is_array()) {
      problems.push_back(fmt::format("{}.{} is not an array", where, key));
      return out;
    }
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i].is_number()) {
        out.push_back(v[i].get<double>());
      } else {
        problems.push_back(fmt::format("{}.{}[{}] is {}, expected a number", where, key, i, v[i].dump()));
        out.push_back(kNaN);
      }
    }
    return out;
  }
  // The class names, or "0".."k-1" when the metrics have none.
  std::vector<std::string> classes(const json& metrics, size_t fallback_count) {
    std::vector<std::string> out;
    if (metrics.is_object() && metrics.contains("classes") && metrics["classes"].is_array()) {
      for (size_t i = 0; i < metrics["classes"].size(); ++i) out.push_back(text(metrics["classes"], i));
      return out;
    }
    if (metrics.is_object() && metrics.contains("classes") && !metrics["classes"].is_null())
      problems.push_back("test metrics.classes is not an array of names; classes are numbered instead");
    for (size_t i = 0; i < fallback_count; ++i) out.push_back(std::to_string(i));
    return out;
  }
  std::string text(const json& array, size_t i) {
    if (array[i].is_string()) return array[i].get<std::string>();
    problems.push_back(fmt::format("test metrics: classes[{}] is {}, expected a string", i, array[i].dump()));
    return array[i].dump();
  }
};

std::string card(const std::string& label, const std::string& value, const std::string& extra_class = "",
                 const std::string& reference = "") {
  return fmt::format("<div class=\"card{}\"><div class=\"value\">{}</div><div class=\"label\">{}</div>{}</div>",
                     extra_class.empty() ? "" : " " + extra_class, escape(value), escape(label),
                     reference.empty() ? "" : "<div class=\"reference\">" + escape(reference) + "</div>");
}

std::string summary_section(Page& page, const json& m) {
  std::string s = "<section id=\"summary\"><h2>Test set</h2>";
  if (!m.is_object() || m.empty())
    return s + "<p class=\"empty\">No test metrics were given for this run.</p></section>";
  const double n = page.number(m, "n", "test metrics");
  s += fmt::format("<p>{} test images.</p><div class=\"cards\">", format_number(n, 0));
  // What a model that learned nothing scores, beside the scores (the trainer adds "reference").
  std::string majority, chance;
  if (m.contains("reference") && m["reference"].is_object()) {
    const json& r = m["reference"];
    majority = fmt::format("always {}: {}", page.text(r, "majority_class", "test metrics.reference"),
                           format_percent(page.number(r, "majority_accuracy", "test metrics.reference"), 1));
    chance = fmt::format("chance or always one class: {}",
                         format_percent(page.number(r, "chance_balanced_accuracy", "test metrics.reference"), 1));
  }
  s += card("accuracy", format_percent(page.number(m, "accuracy", "test metrics"), 2), "primary", majority);
  s += card("balanced accuracy", format_percent(page.number(m, "balanced_accuracy", "test metrics"), 2), "primary",
            chance);
  const json macro = m.contains("macro") ? m["macro"] : json();
  s += card("macro F1", format_number(page.number(macro, "f1", "test metrics.macro")));
  s += card("macro ROC AUC", format_number(page.number(macro, "roc_auc", "test metrics.macro")));
  if (m.contains("loss")) s += card("loss", format_number(page.number(m, "loss", "test metrics"), 4));
  s += "</div>";
  if (m.contains("binary") && m["binary"].is_object()) {
    const json& b = m["binary"];
    const std::string where = "test metrics.binary";
    s += fmt::format("<h3>Binary: {} against the rest</h3><div class=\"cards\">",
                     escape(page.text(b, "positive_class", where)));
    s += card("sensitivity at 80% specificity",
              format_percent(page.number(b, "sensitivity_at_specificity_80", where), 1));
    s += card("sensitivity at 90% specificity",
              format_percent(page.number(b, "sensitivity_at_specificity_90", where), 1));
    s += card("IoU", format_number(page.number(b, "iou", where)));
    s += card("Dice", format_number(page.number(b, "dice", where)));
    s += "</div>";
  }
  return s + "</section>";
}

std::string training_section(Page& page, const json& history) {
  std::string s = "<section id=\"training\"><h2>Training</h2>";
  if (!history.is_null() && !history.is_array()) page.problems.push_back("history is not an array of epochs");
  if (!history.is_array() || history.empty())
    return s + "<p class=\"empty\">No training history: this run only evaluated a model.</p></section>";
  const std::vector<const char*> keys = {"epoch",          "stage",    "lr",           "train_loss",
                                         "train_accuracy", "val_loss", "val_accuracy", "val_balanced_accuracy",
                                         "seconds",        "images_per_second"};
  std::vector<std::vector<double>> col(keys.size());
  for (size_t i = 0; i < history.size(); ++i) {
    if (!history[i].is_object()) page.problems.push_back(fmt::format("history[{}] is not an object", i));
    for (size_t k = 0; k < keys.size(); ++k)
      col[k].push_back(page.number(history[i], keys[k], fmt::format("history[{}]", i)));
  }
  const auto& epoch = col[0];
  const auto& stage = col[1];
  std::vector<report::ChartMarker> markers;
  for (size_t i = 1; i < history.size(); ++i)
    if (std::isfinite(stage[i]) && std::isfinite(stage[i - 1]) && stage[i] != stage[i - 1])
      markers.push_back({(epoch[i] + epoch[i - 1]) / 2, fmt::format("stage {}", format_number(stage[i], 0))});
  const auto chart = [&](const std::string& title, const std::string& y_label,
                         std::vector<std::pair<size_t, std::string>> series, int height) {
    report::Chart c;
    c.title = title;
    c.x_label = "epoch";
    c.y_label = y_label;
    c.width = 540;  // two charts side by side in the page's width
    c.height = height;
    c.integer_x = true;
    c.dots = history.size() <= 25;  // dots help read a few epochs; on long runs they hide the line
    c.markers = markers;
    for (auto& [k, name] : series) c.series.push_back({name, epoch, col[k], name.rfind("train", 0) == 0});
    return report::svg_chart(c);
  };
  s += "<div class=\"charts\">";
  s += chart("Loss", "cross-entropy", {{3, "train loss"}, {5, "val loss"}}, 300);
  s += chart("Accuracy", "fraction", {{4, "train accuracy"}, {6, "val accuracy"}, {7, "val balanced accuracy"}}, 300);
  s += chart("Learning rate", "lr", {{2, "learning rate"}}, 200);
  s += "</div>";
  // The epoch table; the best validation balanced accuracy (the usual model-selection criterion) is marked.
  size_t best = history.size();
  for (size_t i = 0; i < history.size(); ++i)
    if (std::isfinite(col[7][i]) && (best == history.size() || col[7][i] > col[7][best])) best = i;
  double total_seconds = 0;
  for (double v : col[8])
    if (std::isfinite(v)) total_seconds += v;
  s += fmt::format("<p>{} epochs, {} minutes of training{}.</p>", history.size(), format_number(total_seconds / 60, 1),
                   best < history.size() ? fmt::format("; best validation balanced accuracy {} at epoch {}",
                                                       format_percent(col[7][best], 2), format_number(epoch[best], 0))
                                         : "");
  // A long run's table starts folded (a native <details>, so no script is needed to open it).
  s += fmt::format("<details{}><summary>per-epoch table</summary>", history.size() <= 12 ? " open" : "");
  s += "<div class=\"scroll\"><table class=\"numbers\"><thead><tr><th>epoch</th><th>stage</th><th>lr</th>"
       "<th>train loss</th><th>train acc.</th><th>val loss</th><th>val acc.</th><th>val bal. acc.</th>"
       "<th>seconds</th><th>images/s</th></tr></thead><tbody>";
  for (size_t i = 0; i < history.size(); ++i) {
    const double lr = col[2][i];
    s += fmt::format(
        "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>",
        i == best ? " class=\"best\"" : "", format_number(epoch[i], 0), format_number(stage[i], 0),
        std::isfinite(lr) ? fmt::format("{:.3g}", lr) : "—", format_number(col[3][i], 4), format_percent(col[4][i], 2),
        format_number(col[5][i], 4), format_percent(col[6][i], 2), format_percent(col[7][i], 2),
        format_number(col[8][i], 1), format_number(col[9][i], 1));
  }
  return s + "</tbody></table></div></details></section>";
}

std::string confusion_section(Page& page, const json& m) {
  std::string s = "<section id=\"confusion\"><h2>Confusion matrix</h2>";
  if (!m.is_object() || !m.contains("confusion") || m["confusion"].is_null())
    return s + "<p class=\"empty\">No confusion matrix in the metrics.</p></section>";
  const json& cm = m["confusion"];
  const size_t k = cm.is_array() ? cm.size() : 0;
  const std::vector<std::string> names = page.classes(m, k);
  bool ok = cm.is_array() && k == names.size() && k > 0;
  for (size_t r = 0; ok && r < k; ++r) {
    ok = cm[r].is_array() && cm[r].size() == k;
    for (size_t c = 0; ok && c < k; ++c) ok = cm[r][c].is_number() && cm[r][c].get<double>() >= 0;
  }
  if (!ok) {
    page.problems.push_back(fmt::format(
        "test metrics.confusion is not a {0}x{0} table of counts (one row and one column per class); not shown",
        names.size()));
    return s +
           "<p class=\"empty\">The confusion matrix in the metrics is malformed (see the problems "
           "above).</p></section>";
  }
  s += "<p>Rows are the true class, columns the predicted class. Each cell shows the count and, below it, the share "
       "of the row (the true class's images); the colour follows that share.</p>";
  s += "<div class=\"scroll\"><table class=\"confusion\"><thead><tr><th class=\"corner\">true \\ predicted</th>";
  for (const std::string& name : names) s += fmt::format("<th>{}</th>", escape(name));
  s += "<th>total</th></tr></thead><tbody>";
  for (size_t r = 0; r < k; ++r) {
    double total = 0;
    for (size_t c = 0; c < k; ++c) total += cm[r][c].get<double>();
    s += fmt::format("<tr><th>{}</th>", escape(names[r]));
    for (size_t c = 0; c < k; ++c) {
      const double v = cm[r][c].get<double>(), share = total > 0 ? v / total : kNaN;
      const double shade = std::isfinite(share) ? share : 0;
      s += fmt::format(
          "<td class=\"{}\" style=\"background:{};color:{}\"><span class=\"count\">{}</span>"
          "<span class=\"share\">{}</span></td>",
          r == c ? "diag" : "off", report::blues(shade), shade > 0.5 ? "#ffffff" : "#1a1a1a", format_number(v, 0),
          format_percent(share, 1));
    }
    s += fmt::format("<td class=\"total\">{}</td></tr>", format_number(total, 0));
  }
  s += "</tbody></table></div>";
  s += fmt::format(
      "<div class=\"scale\"><span>0%</span><span class=\"bar\" style=\"background:linear-gradient(to right,{},{},{},"
      "{},{})\"></span><span>100% of the true class</span></div>",
      report::blues(0), report::blues(0.25), report::blues(0.5), report::blues(0.75), report::blues(1));
  return s + "</section>";
}

// AUC per class name from the per-class table (NaN when absent or null).
double class_auc(Page& page, const json& m, const std::string& name) {
  if (!m.is_object() || !m.contains("per_class") || !m["per_class"].is_array()) return kNaN;
  for (const json& row : m["per_class"])
    if (row.is_object() && row.contains("class") && row["class"] == name)
      return page.number(row, "roc_auc", "per_class");
  return kNaN;
}

std::string roc_section(Page& page, const json& m) {
  std::string s = "<section id=\"roc\"><h2>ROC curves</h2>";
  if (!m.is_object() || !m.contains("roc") || !m["roc"].is_array() || m["roc"].empty())
    return s + "<p class=\"empty\">No ROC curves in the metrics.</p></section>";
  report::Chart c;
  c.title = "ROC, one class against the rest";
  c.x_label = "false positive rate (1 - specificity)";
  c.y_label = "true positive rate (sensitivity)";
  c.width = 640;
  c.height = 480;
  c.unit_square = true;
  for (size_t i = 0; i < m["roc"].size(); ++i) {
    const json& curve = m["roc"][i];
    const std::string where = fmt::format("test metrics.roc[{}]", i);
    const std::string name = page.text(curve, "class", where);
    report::ChartSeries series{fmt::format("{} (AUC {})", name, format_number(class_auc(page, m, name))),
                               page.numbers(curve, "fpr", where), page.numbers(curve, "tpr", where)};
    if (series.x.size() != series.y.size())
      page.problems.push_back(fmt::format("{}: fpr has {} points but tpr has {}; the curve is cut to the shorter",
                                          where, series.x.size(), series.y.size()));
    c.series.push_back(std::move(series));
  }
  s += "<p>Click a legend entry to hide or show a class (with scripts enabled).</p>";
  return s + report::svg_chart(c) + "</section>";
}

std::string per_class_section(Page& page, const json& m) {
  std::string s = "<section id=\"per-class\"><h2>Per class</h2>";
  if (!m.is_object() || !m.contains("per_class") || !m["per_class"].is_array())
    return s + "<p class=\"empty\">No per-class metrics.</p></section>";
  s += "<div class=\"scroll\"><table class=\"numbers\"><thead><tr><th>class</th><th>support</th><th>precision</th>"
       "<th>recall (sensitivity)</th><th>specificity</th><th>F1</th><th>ROC AUC</th><th>average precision</th>"
       "</tr></thead><tbody>";
  for (size_t i = 0; i < m["per_class"].size(); ++i) {
    const json& row = m["per_class"][i];
    const std::string where = fmt::format("test metrics.per_class[{}]", i);
    s += fmt::format(
        "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(page.text(row, "class", where)), format_number(page.number(row, "support", where), 0),
        format_number(page.number(row, "precision", where)), format_number(page.number(row, "recall", where)),
        format_number(page.number(row, "specificity", where)), format_number(page.number(row, "f1", where)),
        format_number(page.number(row, "roc_auc", where)), format_number(page.number(row, "average_precision", where)));
  }
  s += "</tbody><tfoot>";
  for (const char* avg : {"macro", "weighted"}) {
    const json a = m.contains(avg) ? m[avg] : json();
    const std::string where = fmt::format("test metrics.{}", avg);
    s += fmt::format(
        "<tr><th>{} average</th><td>{}</td><td>{}</td><td>{}</td><td>—</td><td>{}</td><td>{}</td>"
        "<td>—</td></tr>",
        avg, format_number(page.number(m, "n", "test metrics"), 0), format_number(page.number(a, "precision", where)),
        format_number(page.number(a, "recall", where)), format_number(page.number(a, "f1", where)),
        std::string(avg) == "macro" ? format_number(page.number(a, "roc_auc", where)) : "—");
  }
  return s + "</tfoot></table></div></section>";
}

// A thumbnail of `image` as a JPEG data: URI <img> with `alt` as its text.
std::string thumbnail(const Image& image, const std::string& alt) {
  Image img = resize_shorter_side(image, kReportThumbnailSide);
  // Very elongated images are cut to twice the shorter side so one tile cannot dominate the grid.
  img = center_crop(img, std::min(img.height, 2 * kReportThumbnailSide), std::min(img.width, 2 * kReportThumbnailSide));
  return fmt::format("<img src=\"data:image/jpeg;base64,{}\" width=\"{}\" height=\"{}\" alt=\"{}\">",
                     report::base64(encode_jpeg(img, 85)), img.width, img.height, escape(alt));
}

// The thumbnail of an image file; throws nn::Error when the image cannot be read.
std::string thumbnail(const std::string& path) { return thumbnail(decode_image(path), path); }

std::string mistakes_section(const std::vector<ReportMistake>& mistakes) {
  std::string s = "<section id=\"mistakes\"><h2>Most confident mistakes</h2>";
  if (mistakes.empty()) return s + "<p class=\"empty\">No misclassified images were recorded.</p></section>";
  std::vector<ReportMistake> worst = mistakes;
  std::stable_sort(worst.begin(), worst.end(), [](const ReportMistake& a, const ReportMistake& b) {
    return (std::isfinite(a.probability) ? a.probability : -1) > (std::isfinite(b.probability) ? b.probability : -1);
  });
  if (worst.size() > kReportMaxMistakes) worst.resize(kReportMaxMistakes);
  s += fmt::format(
      "<p>The {} wrong predictions made with the highest probability, of {} mistakes.{}</p>"
      "<div class=\"mistakes\">",
      worst.size(), mistakes.size(),
      worst.front().cam_predicted.rgb.empty()
          ? ""
          : " Under each image, Grad-CAM maps (docs/explain.md) of the predicted and of the true class: red where "
            "the network found evidence for that class, blue where it found none.");
  for (const ReportMistake& w : worst) {
    std::string picture;
    try {
      picture = thumbnail(w.image);
    } catch (const std::exception& e) {  // a moved or unreadable file must not cost the whole report
      picture = fmt::format("<div class=\"placeholder\">image unavailable<small>{}</small></div>", escape(e.what()));
    }
    const std::string file = std::filesystem::path(w.image).filename().string();
    if (!w.cam_predicted.rgb.empty() && !w.cam_true.rgb.empty())
      picture += fmt::format(
          "<div class=\"cams\"><figure>{}<figcaption>Grad-CAM: {}</figcaption></figure><figure>{}<figcaption>"
          "Grad-CAM: {}</figcaption></figure></div>",
          thumbnail(w.cam_predicted, "Grad-CAM of the predicted class " + w.predicted_class), escape(w.predicted_class),
          thumbnail(w.cam_true, "Grad-CAM of the true class " + w.true_class), escape(w.true_class));
    s += fmt::format(
        "<figure class=\"mistake\">{}<figcaption><span class=\"truth\">{}</span> predicted as <span "
        "class=\"pred\">{}</span> <span class=\"prob\">{}</span><span class=\"file\" title=\"{}\">{}</span>"
        "</figcaption></figure>",
        picture, escape(w.true_class), escape(w.predicted_class), format_percent(w.probability, 1), escape(w.image),
        escape(file));
  }
  return s + "</div></section>";
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

}  // namespace

std::string render_report(const ReportInput& in) {
  Page page;
  // Sections first: they collect the input problems that the top of the page lists.
  std::string body = summary_section(page, in.test_metrics);
  body += training_section(page, in.history);
  body += confusion_section(page, in.test_metrics);
  body += roc_section(page, in.test_metrics);
  body += per_class_section(page, in.test_metrics);
  body += mistakes_section(in.mistakes);
  body += "<section id=\"config\"><h2>Configuration</h2>";
  body += in.config_text.empty() ? "<p class=\"empty\">No configuration was recorded.</p>"
                                 : "<pre>" + escape(in.config_text) + "</pre>";
  body += "</section>";

  const std::string title = in.title.empty() ? "skinnet run" : in.title;
  std::string s =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  s += fmt::format("<title>{}</title><style>{}</style></head><body>", escape(title), report::kStyle);
  // First in the body, so it also catches errors of the script at the end (the test reads data-error).
  s += "<script>window.onerror=function(m){document.body.dataset.error=String(m);};</script>";
  s += fmt::format("<header><h1>{}</h1><p class=\"meta\">", escape(title));
  if (!in.run_dir.empty()) s += fmt::format("run folder <code>{}</code> · ", escape(in.run_dir));
  s += fmt::format("generated {} by skinnet</p>", now_utc());
  for (const std::string& note : in.notes) s += fmt::format("<div class=\"note\" role=\"note\">{}</div>", escape(note));
  s += "<nav><a href=\"#summary\">test set</a><a href=\"#training\">training</a><a href=\"#confusion\">confusion</a>"
       "<a href=\"#roc\">ROC</a><a href=\"#per-class\">per class</a><a href=\"#mistakes\">mistakes</a>"
       "<a href=\"#config\">configuration</a></nav></header><main>";
  if (!page.problems.empty()) {
    s += "<div class=\"problems\"><b>Problems with the input</b> (these values show as —):<ul>";
    for (const std::string& p : page.problems) s += "<li>" + escape(p) + "</li>";
    s += "</ul></div>";
  }
  s += body;
  s += fmt::format("</main><footer>skinnet run report · {}</footer><script>{}</script></body></html>\n", escape(title),
                   report::kScript);
  return s;
}

void write_report(const std::string& path, const ReportInput& input) {
  namespace fs = std::filesystem;
  const std::string html = render_report(input);
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    NN_CHECK(!ec, "{}: cannot create the folder {}: {}", path, target.parent_path().string(), ec.message());
  }
  write_file_atomically(path, html);
}

}  // namespace nn
