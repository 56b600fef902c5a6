// The run report (train/report/report.h): a realistic 7-class report is self-contained (no reference leaves the file),
// escapes every text, shows the numbers and the most confident mistakes as embedded thumbnails (placeholders for
// unreadable files); empty and malformed inputs still give a page; then headless Chromium renders the page: the
// screenshot must not be blank, and the page's script must finish without errors (with a control page whose
// script fails, so the check can fail).
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "tests/check.h"
#include "tests/support.h"
#include "train/data/image.h"
#include "train/report/report.h"

namespace nn::test {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kOddClass = "<b>&\"x";  // must reach the page escaped, never as markup
const std::string kOddEscaped = "&lt;b&gt;&amp;&quot;x";

// Hand-made test-set metrics in the metrics writer's schema: 7 classes, 200 images.
json metrics_json() {
  const std::vector<std::string> classes = {"akiec", "bcc", "bkl", "df", "mel", "nv", kOddClass};
  json m;
  m["classes"] = classes;
  m["n"] = 200;
  m["accuracy"] = 0.8123;
  m["balanced_accuracy"] = 0.6789;
  m["loss"] = 0.56789;
  m["macro"] = {{"precision", 0.7012}, {"recall", 0.6789}, {"f1", 0.6543}, {"roc_auc", 0.9312}};
  m["weighted"] = {{"precision", 0.8211}, {"recall", 0.8123}, {"f1", 0.8144}};
  const std::vector<std::vector<int>> confusion = {
      {5, 1, 1, 0, 1, 2, 0},  {1, 9, 1, 0, 0, 1, 0},   {1, 1, 15, 0, 2, 3, 0}, {0, 0, 0, 2, 0, 1, 0},
      {1, 0, 2, 0, 14, 6, 0}, {1, 1, 3, 0, 5, 120, 1}, {0, 0, 0, 0, 0, 1, 2}};
  m["confusion"] = confusion;
  m["per_class"] = json::array();
  m["roc"] = json::array();
  for (size_t i = 0; i < classes.size(); ++i) {
    int support = 0;
    for (int v : confusion[i]) support += v;
    json row = {{"class", classes[i]},        {"precision", 0.5 + 0.05 * i},
                {"recall", 0.4 + 0.07 * i},   {"specificity", 0.9 + 0.01 * i},
                {"f1", 0.45 + 0.06 * i},      {"support", support},
                {"roc_auc", 0.85 + 0.02 * i}, {"average_precision", 0.6 + 0.03 * i}};
    if (classes[i] == "df") row["roc_auc"] = nullptr;  // one positive-free class: AUC undefined
    if (classes[i] == "df") row["average_precision"] = nullptr;
    m["per_class"].push_back(row);
    m["roc"].push_back({{"class", classes[i]},
                        {"fpr", {0.0, 0.05, 0.1 + 0.02 * i, 0.3, 0.6, 1.0}},
                        {"tpr", {0.0, 0.4 + 0.03 * i, 0.6, 0.8, 0.95, 1.0}}});
  }
  m["binary"] = {{"positive_class", "mel"},
                 {"sensitivity_at_specificity_80", 0.8772},
                 {"sensitivity_at_specificity_90", 0.7654},
                 {"iou", 0.4321},
                 {"dice", 0.6035}};
  return m;
}

json history_json() {
  json h = json::array();
  h.push_back({{"epoch", 1},
               {"stage", 1},
               {"lr", 0.001},
               {"train_loss", 1.2345},
               {"train_accuracy", 0.55},
               {"val_loss", 1.1111},
               {"val_accuracy", 0.61},
               {"val_balanced_accuracy", 0.41},
               {"seconds", 61.5},
               {"images_per_second", 120.25}});
  h.push_back({{"epoch", 2},
               {"stage", 1},
               {"lr", 0.001},
               {"train_loss", 0.9876},
               {"train_accuracy", 0.66},
               {"val_loss", 0.8765},
               {"val_accuracy", 0.7},
               {"val_balanced_accuracy", 0.5},
               {"seconds", 60.5},
               {"images_per_second", 122.5}});
  h.push_back({{"epoch", 3},
               {"stage", 2},
               {"lr", 0.0001},
               {"train_loss", 0.7654},
               {"train_accuracy", 0.74},
               {"val_loss", 0.7321},
               {"val_accuracy", 0.78},
               {"val_balanced_accuracy", 0.6543},
               {"seconds", 90.0},
               {"images_per_second", 80.0}});
  return h;
}

// An image whose mean colour is (r, g, b) with a little texture, so thumbnails can be told apart.
Image solid(int64_t h, int64_t w, int r, int g, int b) {
  Image img;
  img.height = h;
  img.width = w;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const int d = ((x / 8 + y / 8) % 2) ? 6 : -6;
      for (int v : {r, g, b}) img.rgb.push_back(static_cast<uint8_t>(std::clamp(v + d, 0, 255)));
    }
  return img;
}

ReportInput full_input(const TempDir& t) {
  encode_image(solid(150, 200, 200, 40, 40), (t.path() / "red lesion.png").string());  // landscape PNG
  encode_image(solid(300, 100, 40, 40, 200), (t.path() / "blue.jpg").string(), 95);    // tall JPEG
  std::ofstream(t.path() / "notes.jpg") << "not an image";
  ReportInput in;
  in.title = "resnet50 on HAM10000 <fold 1> & friends";
  in.run_dir = (t.path() / "run").string();
  in.config_text = "arch = \"resnet50\"\nweights_url = \"https://example.org/w?a=1&b=<2>\"\nepochs = 3\n";
  in.history = history_json();
  in.test_metrics = metrics_json();
  in.mistakes = {{(t.path() / "red lesion.png").string(), "mel", kOddClass, 0.95, {}, {}},
                 {(t.path() / "blue.jpg").string(), "bcc", "nv", 0.7, {}, {}},
                 {(t.path() / "missing.jpg").string(), "nv", "mel", 0.99, {}, {}},
                 {(t.path() / "notes.jpg").string(), "bkl", "nv", 0.5, {}, {}}};
  in.notes = {"trained on SYNTHETIC data (skinnet synth), not dermoscopy"};
  return in;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// The text between the first `from` and the next `to` after it.
std::string between(const std::string& text, const std::string& from, const std::string& to) {
  const size_t a = text.find(from);
  REQUIRE_MESSAGE(a != std::string::npos, from);
  const size_t b = text.find(to, a);
  REQUIRE_MESSAGE(b != std::string::npos, to);
  return text.substr(a, b - a);
}

std::array<double, 3> mean_rgb(const Image& img) {
  std::array<double, 3> m{0, 0, 0};
  for (size_t i = 0; i < img.rgb.size(); ++i) m[i % 3] += img.rgb[i];
  for (double& v : m) v /= static_cast<double>(img.height * img.width);
  return m;
}

// Debian's chromium in headless mode. A private profile folder keeps concurrent runs apart; `timeout` bounds a
// hung browser. Missing chromium fails the test: it is a dependency (`make deps`), never a reason to skip.
std::string chromium(const TempDir& t, const std::string& args, const fs::path& page) {
  REQUIRE_MESSAGE(run_command("command -v chromium").status == 0,
                  "chromium is not installed; run `make deps` (it installs Debian's chromium for the report test)");
  const fs::path log = t.path() / "chromium.log";
  const std::string cmd = fmt::format(
      "timeout 60 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir='{}' {} "
      "'file://{}' 2>'{}'",
      (t.path() / "profile").string(), args, page.string(), log.string());
  const CommandResult r = run_command(cmd);
  REQUIRE_MESSAGE(r.status == 0, cmd << "\nexit status " << r.status << "\n" << read_file(log));
  return r.output;
}

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("report: a 7-class report is self-contained, escapes text and shows the numbers") {
    TempDir t("report-full");
    const ReportInput in = full_input(t);
    const fs::path file = t.path() / "run" / "report.html";
    write_report(file.string(), in);
    const std::string html = read_file(file);
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(html.find("</html>") != std::string::npos);
    // The write went through a temporary file that is gone now.
    for (const auto& e : fs::directory_iterator(t.path() / "run")) CHECK_MESSAGE(e.path() == file, e.path().string());

    // Self-contained: every src/href is a data: URI or an in-page anchor; no stylesheet, import or URL outside the
    // configuration text (whose URL must be there, escaped).
    const std::regex attribute(R"re(\b(src|href)\s*=\s*["']?([^"'\s>]*))re", std::regex::icase);
    int attributes = 0;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), attribute); it != std::sregex_iterator(); ++it) {
      const std::string value = (*it)[2];
      ++attributes;
      CHECK_MESSAGE((value.rfind("data:", 0) == 0 || value.rfind("#", 0) == 0), (*it)[0].str().substr(0, 80));
    }
    CHECK(attributes >= 9);  // 7 navigation links + 2 thumbnails
    const std::string pre = between(html, "<pre>", "</pre>");
    CHECK(pre.find("https://example.org/w?a=1&amp;b=&lt;2&gt;") != std::string::npos);
    std::string outside = html;
    outside.erase(outside.find(pre), pre.size());
    for (const char* bad : {"http://", "https://", "file:", "<link", "@import", "url(", "<iframe", "<object"})
      CHECK_MESSAGE(outside.find(bad) == std::string::npos, std::string(bad));

    // Escaping: the odd class name appears in the confusion table (header and row), the per-class table, the ROC
    // legend and a mistake caption, always escaped; the title too.
    CHECK(html.find(kOddClass) == std::string::npos);
    CHECK(count(html, kOddEscaped) >= 5);
    CHECK(html.find("<title>resnet50 on HAM10000 &lt;fold 1&gt; &amp; friends</title>") != std::string::npos);
    CHECK(html.find("Problems with the input") == std::string::npos);  // the input is well-formed

    // The numbers: summary, binary figures, history, confusion cells with row shares, per-class rows.
    const std::string summary = between(html, "id=\"summary\"", "</section>");
    for (const char* want : {"200 test images", "81.23%", "67.89%", "0.654", "0.931", "0.5679", "87.7%", "76.5%",
                             "0.432", "0.604", "Binary: mel against the rest"})
      CHECK_MESSAGE(summary.find(want) != std::string::npos, std::string(want));
    const std::string training = between(html, "id=\"training\"", "</section>");
    for (const char* want : {"0.7321", "1.2345", "65.43%", "stage 2", "3 epochs", "3.5 minutes", "0.0001", "122.5",
                             "best validation balanced accuracy 65.43% at epoch 3", "<tr class=\"best\"><td>3</td>"})
      CHECK_MESSAGE(training.find(want) != std::string::npos, std::string(want));
    CHECK(count(training, "<svg") == 3);
    CHECK(count(training, "class=\"marker\"") == 3);  // the stage boundary on each chart
    const std::string confusion = between(html, "id=\"confusion\"", "</section>");
    CHECK(count(confusion, "<td class=\"diag\"") == 7);
    CHECK(count(confusion, "<td class=\"off\"") == 42);
    // mel row: 14 of 23 correct -> 60.9%; nv row: 120 of 131 -> 91.6%, dark enough for white text.
    CHECK(confusion.find("<span class=\"count\">14</span><span class=\"share\">60.9%</span>") != std::string::npos);
    CHECK(confusion.find("color:#ffffff\"><span class=\"count\">120</span><span class=\"share\">91.6%</span>") !=
          std::string::npos);
    CHECK(confusion.find("<td class=\"total\">131</td>") != std::string::npos);
    const std::string roc = between(html, "id=\"roc\"", "</section>");
    CHECK(count(roc, "<g class=\"series\"") == 7);
    CHECK(roc.find("akiec (AUC 0.850)") != std::string::npos);
    CHECK(roc.find("df (AUC —)") != std::string::npos);
    CHECK(roc.find(kOddEscaped + " (AUC 0.970)") != std::string::npos);
    const std::string per_class = between(html, "id=\"per-class\"", "</section>");
    CHECK(per_class.find("<tr><th>df</th><td>3</td><td>0.650</td><td>0.610</td><td>0.930</td><td>0.630</td>"
                         "<td>—</td><td>—</td></tr>") != std::string::npos);
    CHECK(per_class.find("<tr><th>macro average</th><td>200</td><td>0.701</td><td>0.679</td><td>—</td><td>0.654</td>"
                         "<td>0.931</td>") != std::string::npos);

    // The note is shown as a banner, the date is written.
    CHECK(html.find("<div class=\"note\" role=\"note\">trained on SYNTHETIC data") != std::string::npos);
    CHECK(std::regex_search(html, std::regex("generated 20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC")));
  }

  TEST_CASE("report: mistakes are embedded as ~128 px JPEG thumbnails, most confident first, placeholders otherwise") {
    TempDir t("report-mistakes");
    const ReportInput in = full_input(t);
    const std::string html = render_report(in);
    const std::string section = between(html, "id=\"mistakes\"", "</section>");
    CHECK(count(section, "<figure") == 4);
    CHECK(count(section, "<img src=\"data:image/jpeg;base64,") == 2);
    CHECK(count(section, "image unavailable") == 2);
    CHECK(section.find("missing.jpg: cannot read as an image") != std::string::npos);  // the reason, escaped path
    // Order by probability: missing (99%), red PNG (95%), blue JPEG (70%), not-an-image (50%).
    const size_t a = section.find("missing.jpg\">"), b = section.find("red lesion.png\">"),
                 c = section.find("blue.jpg\">"), d = section.find("notes.jpg\">");
    REQUIRE((a != std::string::npos && b != std::string::npos && c != std::string::npos && d != std::string::npos));
    CHECK((a < b && b < c && c < d));
    CHECK(section.find("predicted as <span class=\"pred\">" + kOddEscaped + "</span> <span class=\"prob\">95.0%") !=
          std::string::npos);
    // The embedded pictures decode to the shapes and colours of their sources: 200x150 -> shorter side 128
    // (170x128, resize_shorter_side truncates the longer side as torchvision does); 100x300 -> 128x384, cut
    // to 128x256.
    const std::regex img(R"re(<img src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)" width="(\d+)" height="(\d+)")re");
    std::vector<Image> thumbs;
    for (auto it = std::sregex_iterator(section.begin(), section.end(), img); it != std::sregex_iterator(); ++it) {
      const std::vector<uint8_t> bytes = unbase64((*it)[1]);
      thumbs.push_back(decode_image_bytes(bytes.data(), bytes.size(), "thumbnail"));
      CHECK(std::to_string(thumbs.back().width) == (*it)[2].str());
      CHECK(std::to_string(thumbs.back().height) == (*it)[3].str());
    }
    REQUIRE(thumbs.size() == 2);
    CHECK((thumbs[0].width == 170 && thumbs[0].height == 128));
    CHECK((thumbs[1].width == 128 && thumbs[1].height == 256));
    const auto red = mean_rgb(thumbs[0]), blue = mean_rgb(thumbs[1]);
    CHECK((std::fabs(red[0] - 200) < 8 && std::fabs(red[1] - 40) < 8 && std::fabs(red[2] - 40) < 8));
    CHECK((std::fabs(blue[0] - 40) < 8 && std::fabs(blue[1] - 40) < 8 && std::fabs(blue[2] - 200) < 8));

    // At most 16 tiles: 20 mistakes keep the 16 most probable (25%..100%; 5%..20% are left out).
    ReportInput many;
    for (int i = 1; i <= 20; ++i)
      many.mistakes.push_back({(t.path() / "red lesion.png").string(), "mel", "nv", i / 20.0, {}, {}});
    const std::string tiles = between(render_report(many), "id=\"mistakes\"", "</section>");
    CHECK(count(tiles, "<figure") == 16);
    CHECK(tiles.find("The 16 wrong predictions made with the highest probability, of 20 mistakes") !=
          std::string::npos);
    CHECK(tiles.find(">100.0%<") != std::string::npos);
    CHECK(tiles.find(">25.0%<") != std::string::npos);
    CHECK(tiles.find(">20.0%<") == std::string::npos);
    CHECK(tiles.find(">5.0%<") == std::string::npos);

    // With Grad-CAM overlays (the trainer draws them), each tile shows both under the image, captioned.
    ReportInput cams;
    ReportMistake m{(t.path() / "red lesion.png").string(), "mel", "nv", 0.9, {}, {}};
    m.cam_predicted.height = m.cam_true.height = 60;
    m.cam_predicted.width = m.cam_true.width = 90;
    m.cam_predicted.rgb.assign(60 * 90 * 3, 30);
    m.cam_true.rgb.assign(60 * 90 * 3, 220);
    cams.mistakes.push_back(m);
    const std::string cam_tile = between(render_report(cams), "id=\"mistakes\"", "</section>");
    CHECK(count(cam_tile, "<img") == 3);
    CHECK(cam_tile.find("Grad-CAM: nv</figcaption>") != std::string::npos);
    CHECK(cam_tile.find("Grad-CAM: mel</figcaption>") != std::string::npos);
    CHECK(cam_tile.find("Grad-CAM maps (docs/explain.md)") != std::string::npos);
    CHECK(tiles.find("Grad-CAM") == std::string::npos);  // none drawn, none announced
  }

  TEST_CASE("report: an eval-only run, an empty input and malformed metrics still give a complete page") {
    ReportInput empty;
    const std::string page = render_report(empty);
    for (const char* want :
         {"No test metrics were given", "No training history: this run only evaluated a model", "No confusion matrix",
          "No ROC curves", "No per-class metrics", "No misclassified images were recorded",
          "No configuration was recorded", "<title>skinnet run</title>", "</html>"})
      CHECK_MESSAGE(page.find(want) != std::string::npos, std::string(want));

    ReportInput eval_only;
    eval_only.test_metrics = metrics_json();
    eval_only.history = json::array();
    const std::string eval_page = render_report(eval_only);
    CHECK(eval_page.find("No training history") != std::string::npos);
    CHECK(eval_page.find("81.23%") != std::string::npos);

    // Wrong types and shapes are listed at the top, shown as "—", and the rest of the page is kept.
    ReportInput bad;
    bad.test_metrics = metrics_json();
    bad.test_metrics["accuracy"] = "high";
    bad.test_metrics["confusion"][2] = json::array({1, 2});
    bad.test_metrics["macro"]["f1"] = nullptr;
    bad.test_metrics["roc"][0]["tpr"] = json::array({0.0, 1.0});
    bad.history = history_json();
    bad.history[1]["val_loss"] = nullptr;         // a gap in the validation loss curve
    bad.history[2]["train_loss"] = std::nan("");  // a NaN number (null once dumped): "—"
    bad.history.push_back(42);                     // not an epoch object: a row of "—" and a problem
    const std::string bad_page = render_report(bad);
    const std::string problems = between(bad_page, "Problems with the input", "</div>");
    CHECK(problems.find("test metrics.accuracy is &quot;high&quot;, expected a number") != std::string::npos);
    CHECK(problems.find("test metrics.confusion is not a 7x7 table of counts") != std::string::npos);
    CHECK(problems.find("test metrics.roc[0]: fpr has 6 points but tpr has 2") != std::string::npos);
    CHECK(problems.find("history[3] is not an object") != std::string::npos);
    CHECK(count(problems, "<li>") == 4);  // null values are not problems
    const std::string summary = between(bad_page, "id=\"summary\"", "</section>");
    CHECK(summary.find("<div class=\"value\">—</div><div class=\"label\">accuracy</div>") != std::string::npos);
    CHECK(summary.find("<div class=\"value\">—</div><div class=\"label\">macro F1</div>") != std::string::npos);
    CHECK(summary.find("67.89%") != std::string::npos);
    CHECK(bad_page.find("The confusion matrix in the metrics is malformed") != std::string::npos);
    const std::string training = between(bad_page, "id=\"training\"", "</section>");
    CHECK(training.find("<td>2</td><td>1</td><td>0.001</td><td>0.9876</td><td>66.00%</td><td>—</td>") !=
          std::string::npos);
    CHECK(training.find("<td>3</td><td>2</td><td>0.0001</td><td>—</td>") != std::string::npos);
  }

  TEST_CASE("report: write_report replaces an existing report and names the path when it cannot write") {
    TempDir t("report-write");
    const fs::path file = t.path() / "report.html";
    std::ofstream(file) << "old";
    ReportInput in;
    in.title = "second";
    write_report(file.string(), in);
    CHECK(read_file(file).find("<title>second</title>") != std::string::npos);
    std::ofstream(t.path() / "plain") << "a file, not a folder";
    const std::string bad = (t.path() / "plain" / "report.html").string();
    CHECK_THROWS_WITH_AS(write_report(bad, in), doctest::Contains(bad.c_str()), Error);
  }

  TEST_CASE(
      "report: headless Chromium renders the page with its script run and no errors; the screenshot is not blank") {
    TempDir t("report-chromium");
    const ReportInput in = full_input(t);
    const fs::path file = t.path() / "run" / "report.html";
    write_report(file.string(), in);

    const std::string dom = chromium(t, "--dump-dom", file);
    const std::string body_tag = between(dom, "<body", ">");
    CHECK_MESSAGE(body_tag.find("data-ok=\"1\"") != std::string::npos, body_tag);
    CHECK_MESSAGE(body_tag.find("data-error") == std::string::npos, body_tag);
    CHECK(count(dom, "<svg") == 4);  // loss, accuracy, lr, ROC: parsed as SVG elements in the live DOM
    // Still text after parsing, not a <b> element (Chromium's serialiser leaves quotes in text unescaped).
    CHECK(dom.find("&lt;b&gt;&amp;\"x") != std::string::npos);
    CHECK(dom.find("<b>&") == std::string::npos);

    const fs::path shot = t.path() / "shot.png";
    chromium(t, fmt::format("--screenshot='{}' --window-size=1280,2000", shot.string()), file);
    REQUIRE(fs::exists(shot));
    const Image img = decode_image(shot.string());
    CHECK(img.width == 1280);
    CHECK(img.height == 2000);
    std::set<uint32_t> colours;
    size_t banner = 0;  // pixels of the note's amber background (#fff3cd), near the top
    for (size_t i = 0; i + 2 < img.rgb.size(); i += 3) {
      const uint32_t r = img.rgb[i], g = img.rgb[i + 1], b = img.rgb[i + 2];
      colours.insert((r << 16) | (g << 8) | b);
      banner += std::abs(static_cast<int>(r) - 255) + std::abs(static_cast<int>(g) - 243) +
                    std::abs(static_cast<int>(b) - 205) <=
                6;
    }
    MESSAGE("screenshot: " << colours.size() << " distinct colours, " << banner << " banner pixels");
    CHECK(colours.size() >= 200);
    CHECK(banner >= 20000);  // the banner is about 1200 x 45 pixels

    // Control: a page whose script throws must be caught by the same check, or the check above proves nothing.
    std::string broken = read_file(file);
    broken.insert(broken.rfind("</body>"), "<script>no_such_function();</script>");
    const fs::path broken_file = t.path() / "broken.html";
    std::ofstream(broken_file, std::ios::binary) << broken;
    const std::string broken_body = between(chromium(t, "--dump-dom", broken_file), "<body", ">");
    CHECK_MESSAGE(broken_body.find("data-error=\"") != std::string::npos, broken_body);
  }
}

}  // namespace nn::test
