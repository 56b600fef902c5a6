// Synthetic HAM10000 (train/data/synth/synth.h): class counts, the folder a small run writes (CSV, JPEGs, lesions),
// determinism across seeds and thread counts, replacing earlier output, refusing foreign folders and bad
// options, and a learnability check that can fail both ways (colour statistics must separate the classes,
// but not perfectly).
#include <omp.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tests/check.h"
#include "tests/support.h"
#include "train/data/synth/synth.h"

namespace nn::test {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream ss(line);
  std::string f;
  while (std::getline(ss, f, ',')) fields.push_back(f);
  return fields;
}

std::vector<std::vector<std::string>> read_csv(const fs::path& file) {
  std::ifstream in(file);
  REQUIRE_MESSAGE(in.good(), file.string());
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(split(line));
  return rows;
}

// name -> bytes of every file under `dir`.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = read_file(e.path());
  return files;
}

SynthOptions small(int64_t images, uint64_t seed = 0) {
  SynthOptions o;
  o.images = images;
  o.seed = seed;
  o.width = 120;
  o.height = 90;
  return o;
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("synth: class counts follow HAM10000's proportions, with a floor of 5 images per class") {
    const std::vector<int64_t>& ham = ham10000_class_images();
    const double ham_total = 10015;
    for (int64_t n : {2000, 10015, 12345}) {
      const std::vector<int64_t> counts = synthetic_class_counts(n);
      int64_t sum = 0;
      for (size_t c = 0; c < counts.size(); ++c) {
        sum += counts[c];
        CHECK_MESSAGE(std::fabs(static_cast<double>(counts[c]) - n * ham[c] / ham_total) < 1,
                      synthetic_classes()[c], " of ", n);
      }
      CHECK(sum == n);
    }
    CHECK(synthetic_class_counts(10015) == ham);
    // 60: df, vasc, akiec and bcc fall under 5 and are pinned there; then mel and bkl (4.99 and 4.93 of the
    // remaining 40); nv takes the remaining 30. Order: mel, nv, bcc, akiec, bkl, df, vasc.
    CHECK(synthetic_class_counts(60) == std::vector<int64_t>{5, 30, 5, 5, 5, 5, 5});
    // 200: df and vasc pinned at 5; 190 shared by largest remainder: 21.67, 130.56, 10.01, 6.37, 21.39.
    CHECK(synthetic_class_counts(200) == std::vector<int64_t>{22, 131, 10, 6, 21, 5, 5});
    CHECK(synthetic_class_counts(7) == std::vector<int64_t>(7, 1));
    CHECK(synthetic_class_counts(20) == std::vector<int64_t>{2, 8, 2, 2, 2, 2, 2});
  }

  TEST_CASE("synth: a small run writes a HAM10000 folder whose CSV lists every image, of every class") {
    TempDir tmp("synth-small");
    const fs::path out = tmp.path() / "ham";
    const SynthOptions o = small(60);
    const int64_t lesions = write_synthetic_ham10000(out.string(), o);

    const auto rows = read_csv(out / "HAM10000_metadata.csv");
    REQUIRE(rows.size() == 61);
    CHECK(rows[0] == std::vector<std::string>{"lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization",
                                              "dataset"});
    std::map<std::string, int64_t> per_class;
    std::map<std::string, std::set<std::string>> images_of, dx_of;
    std::set<std::string> ids;
    for (size_t i = 1; i < rows.size(); ++i) {
      const auto& r = rows[i];
      REQUIRE_MESSAGE(r.size() == 8, "CSV line ", i + 1);
      CHECK(r[7] == "synthetic");
      CHECK(ids.insert(r[1]).second);
      ++per_class[r[2]];
      images_of[r[0]].insert(r[1]);
      dx_of[r[0]].insert(r[2]);
      const int age = std::stoi(r[4]);
      CHECK((age >= 5 && age <= 85 && age % 5 == 0));
      const Image img = decode_image((out / "HAM10000_images" / (r[1] + ".jpg")).string());
      CHECK(img.width == 120);
      CHECK(img.height == 90);
    }
    const std::vector<int64_t> want = synthetic_class_counts(60);
    for (size_t c = 0; c < want.size(); ++c)
      CHECK_MESSAGE(per_class[synthetic_classes()[c]] == want[c], synthetic_classes()[c]);
    CHECK(per_class.size() == 7);
    // Lesions: 1-3 images each, one class each, some with more than one image; the count is returned.
    CHECK(static_cast<int64_t>(images_of.size()) == lesions);
    int64_t multi = 0;
    for (const auto& [lesion, images] : images_of) {
      CHECK((images.size() >= 1 && images.size() <= 3));
      CHECK(dx_of[lesion].size() == 1);
      multi += images.size() > 1;
    }
    CHECK(multi >= 3);
    CHECK(lesions < 60);
    // Nothing else in the image folder; the README says what this is.
    CHECK(std::distance(fs::directory_iterator(out / "HAM10000_images"), fs::directory_iterator()) == 60);
    CHECK(read_file(out / "README.txt").find("THESE IMAGES ARE SYNTHETIC") != std::string::npos);
    CHECK(!fs::exists(out / "HAM10000_metadata.csv.tmp"));
  }

  TEST_CASE("synth: the same seed writes byte-identical files with 1 or 2 threads; another seed differs") {
    TempDir tmp("synth-seeds");
    const SynthOptions o = small(24, 5);
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    write_synthetic_ham10000((tmp.path() / "a").string(), o);
    omp_set_num_threads(2);
    write_synthetic_ham10000((tmp.path() / "b").string(), o);
    omp_set_num_threads(threads);
    write_synthetic_ham10000((tmp.path() / "c").string(), small(24, 6));
    const auto a = snapshot(tmp.path() / "a"), b = snapshot(tmp.path() / "b"), c = snapshot(tmp.path() / "c");
    CHECK(a.size() == 26);  // README, CSV, 24 images
    // README.txt names its folder (a, b); everything else must match byte for byte.
    CHECK(a.at("README.txt").size() == b.at("README.txt").size());
    auto without_readme = [](auto files) {
      files.erase("README.txt");
      return files;
    };
    CHECK(without_readme(a) == without_readme(b));
    REQUIRE(c.size() == a.size());
    int same_images = 0;
    for (const auto& [name, bytes] : a) same_images += name.starts_with("HAM10000_images/") && c.at(name) == bytes;
    CHECK(same_images == 0);
    CHECK(a.at("HAM10000_metadata.csv") != c.at("HAM10000_metadata.csv"));
  }

  TEST_CASE("synth: views of a lesion differ from each other; lesions of a class differ") {
    const Image v0 = synthetic_lesion_image(0, 42, 0, 96, 72), v1 = synthetic_lesion_image(0, 42, 1, 96, 72);
    const Image other = synthetic_lesion_image(0, 43, 0, 96, 72);
    CHECK(v0.rgb != v1.rgb);
    CHECK(v0.rgb != other.rgb);
    CHECK(synthetic_lesion_image(0, 42, 1, 96, 72).rgb == v1.rgb);
  }

  TEST_CASE("synth: an earlier synthetic output is replaced, leaving no stale images") {
    TempDir tmp("synth-rewrite");
    const fs::path out = tmp.path() / "ham";
    write_synthetic_ham10000(out.string(), small(30));
    write_synthetic_ham10000(out.string(), small(10, 3));
    CHECK(read_csv(out / "HAM10000_metadata.csv").size() == 11);
    CHECK(std::distance(fs::directory_iterator(out / "HAM10000_images"), fs::directory_iterator()) == 10);
  }

  TEST_CASE("synth: --reuse keeps only the same command's output of this generator; anything else is redrawn") {
    TempDir tmp("synth-reuse");
    const fs::path out = tmp.path() / "ham";
    const std::string cli = build_dir() + "/skinnet synth --images 10 --width 64 --height 48 --reuse --out " + out.string();
    CommandResult r = run_command(cli, Capture::stdout_and_stderr);
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(r.output.find("writing 10 SYNTHETIC images") != std::string::npos);
    CHECK(read_file(out / "README.txt").find(fmt::format("\nGenerator: {}\n", kSynthGenerator)) != std::string::npos);
    const auto before = snapshot(out);
    CHECK(synthetic_output_is_current(out.string(), [] {
      SynthOptions o;
      o.images = 10, o.width = 64, o.height = 48;
      return o;
    }()));
    // The same command again: kept, byte for byte.
    r = run_command(cli, Capture::stdout_and_stderr);
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(r.output.find("already holds these SYNTHETIC images") != std::string::npos);
    CHECK(snapshot(out) == before);
    // Another command (another seed), or the README of an older generator: drawn again.
    r = run_command(cli + " --seed 1", Capture::stdout_and_stderr);
    CHECK(r.output.find("writing 10 SYNTHETIC images") != std::string::npos);
    r = run_command(cli, Capture::stdout_and_stderr);
    CHECK(r.output.find("writing 10 SYNTHETIC images") != std::string::npos);
    std::string readme = read_file(out / "README.txt");
    readme.replace(readme.find("Generator: "), std::string("Generator: ").size() + 1, "Generator: 1");
    std::ofstream(out / "README.txt") << readme;
    r = run_command(cli, Capture::stdout_and_stderr);
    CHECK(r.output.find("writing 10 SYNTHETIC images") != std::string::npos);
    CHECK(snapshot(out) == before);  // redrawn: the same images as the first time
    // Without its CSV (an interrupted run) a folder is not current either.
    fs::remove(out / "HAM10000_metadata.csv");
    r = run_command(cli, Capture::stdout_and_stderr);
    CHECK(r.output.find("writing 10 SYNTHETIC images") != std::string::npos);
  }

  TEST_CASE("synth: mean colours separate the classes above chance on held-out lesions, but not perfectly") {
    // Features per image: the skin colour is the mean of the ring 0.38-0.45 of the shorter side from the
    // centre (inside the dermatoscope's frame); lesion pixels are those within 0.35 whose colour lies more
    // than 40 levels from it. Features: the lesion's mean RGB, its difference from the skin, its area and
    // its brightness spread; standardised; nearest class centroid. Trained on 40 lesions per class, tested
    // on 25 others per class (balanced, so chance is 1/7).
    constexpr int64_t kW = 96, kH = 72, kTrain = 40, kTest = 25, kClasses = 7, kF = 8;
    auto features = [](const Image& img) {
      const double s = static_cast<double>(std::min(img.width, img.height));
      auto dist = [&](int64_t y, int64_t x) {
        const double dx = (x + 0.5 - img.width / 2.0) / s, dy = (y + 0.5 - img.height / 2.0) / s;
        return std::sqrt(dx * dx + dy * dy);
      };
      auto px = [&](int64_t y, int64_t x, int ch) {
        return static_cast<double>(img.rgb[static_cast<size_t>((y * img.width + x) * 3 + ch)]);
      };
      std::array<double, 3> skin{};
      double n_skin = 0;
      for (int64_t y = 0; y < img.height; ++y)
        for (int64_t x = 0; x < img.width; ++x)
          if (dist(y, x) >= 0.38 && dist(y, x) < 0.45) {
            for (int ch = 0; ch < 3; ++ch) skin[ch] += px(y, x, ch);
            ++n_skin;
          }
      for (double& v : skin) v /= std::max(1.0, n_skin);
      std::array<double, 3> sum{};
      double n = 0, luma = 0, luma2 = 0;
      for (int64_t y = 0; y < img.height; ++y)
        for (int64_t x = 0; x < img.width; ++x) {
          if (dist(y, x) >= 0.35) continue;
          double d2 = 0;
          for (int ch = 0; ch < 3; ++ch) d2 += std::pow(px(y, x, ch) - skin[ch], 2);
          if (d2 < 40.0 * 40.0) continue;
          const double l = (px(y, x, 0) + px(y, x, 1) + px(y, x, 2)) / 3;
          for (int ch = 0; ch < 3; ++ch) sum[ch] += px(y, x, ch);
          luma += l;
          luma2 += l * l;
          ++n;
        }
      std::vector<double> f(kF, 0.0);
      const double m = std::max(1.0, n);
      for (int ch = 0; ch < 3; ++ch) f[ch] = sum[ch] / m, f[3 + ch] = sum[ch] / m - skin[ch];
      f[6] = n / static_cast<double>(img.width * img.height);
      f[7] = std::sqrt(std::max(0.0, luma2 / m - std::pow(luma / m, 2)));
      return f;
    };
    std::vector<std::vector<double>> train, test;
    std::vector<int64_t> train_y, test_y;
    for (int64_t cls = 0; cls < kClasses; ++cls)
      for (int64_t i = 0; i < kTrain + kTest; ++i) {
        const uint64_t lesion_seed = 1000 + static_cast<uint64_t>(cls * 1000 + i);
        const auto f = features(synthetic_lesion_image(cls, lesion_seed, 0, kW, kH));
        (i < kTrain ? train : test).push_back(f);
        (i < kTrain ? train_y : test_y).push_back(cls);
      }
    std::vector<double> mean(kF, 0), sd(kF, 0);
    for (const auto& f : train)
      for (int k = 0; k < kF; ++k) mean[k] += f[k] / static_cast<double>(train.size());
    for (const auto& f : train)
      for (int k = 0; k < kF; ++k) sd[k] += (f[k] - mean[k]) * (f[k] - mean[k]) / static_cast<double>(train.size());
    for (double& s : sd) s = std::sqrt(s) + 1e-9;
    std::vector<std::vector<double>> centroid(kClasses, std::vector<double>(kF, 0));
    for (size_t i = 0; i < train.size(); ++i)
      for (int k = 0; k < kF; ++k) centroid[train_y[i]][k] += (train[i][k] - mean[k]) / sd[k] / kTrain;
    int64_t correct = 0;
    for (size_t i = 0; i < test.size(); ++i) {
      int64_t best = 0;
      double best_d = 1e300;
      for (int64_t c = 0; c < kClasses; ++c) {
        double d = 0;
        for (int k = 0; k < kF; ++k) d += std::pow((test[i][k] - mean[k]) / sd[k] - centroid[c][k], 2);
        if (d < best_d) best_d = d, best = c;
      }
      correct += best == test_y[i];
    }
    const double accuracy = static_cast<double>(correct) / static_cast<double>(test.size());
    MESSAGE("nearest-centroid balanced accuracy on held-out synthetic lesions: ", accuracy);
    CHECK(accuracy > 0.4);   // clearly above chance (1/7 = 0.14): the classes carry colour and size cues
    CHECK(accuracy < 0.95);  // but these simple statistics do not solve the task
  }
}

TEST_SUITE("errors") {
  TEST_CASE("synth: a non-empty folder that is not synthetic output is refused, by name, and left alone") {
    TempDir tmp("synth-foreign");
    const fs::path out = tmp.path() / "photos";
    fs::create_directories(out);
    std::ofstream(out / "notes.txt") << "mine\n";
    CHECK_THROWS_WITH_AS(write_synthetic_ham10000(out.string(), small(10)), doctest::Contains(out.string().c_str()),
                         Error);
    CHECK_THROWS_WITH_AS(write_synthetic_ham10000(out.string(), small(10)),
                         doctest::Contains("not earlier `skinnet synth`"), Error);
    CHECK(snapshot(out).size() == 1);
    // Earlier synthetic output with a foreign file added is refused too, naming the file.
    const fs::path ours = tmp.path() / "ours";
    write_synthetic_ham10000(ours.string(), small(10));
    std::ofstream(ours / "HAM10000_images" / "keep.png") << "x";
    CHECK_THROWS_WITH_AS(write_synthetic_ham10000(ours.string(), small(10)), doctest::Contains("keep.png"), Error);
    // A file where the folder should be.
    std::ofstream(tmp.path() / "file") << "x";
    CHECK_THROWS_WITH_AS(write_synthetic_ham10000((tmp.path() / "file").string(), small(10)),
                         doctest::Contains("is not a folder"), Error);
  }

  TEST_CASE("synth: bad options are rejected before anything is written") {
    TempDir tmp("synth-options");
    const fs::path out = tmp.path() / "never";
    auto with = [](auto change) {
      SynthOptions o = small(20);
      change(o);
      return o;
    };
    CHECK_THROWS_WITH_AS(write_synthetic_ham10000(out.string(), with([](SynthOptions& o) { o.images = 6; })),
                         doctest::Contains("--images 6 is outside 7.."), Error);
    CHECK_THROWS_WITH_AS(write_synthetic_ham10000(out.string(), with([](SynthOptions& o) { o.width = 31; })),
                         doctest::Contains("--width 31 is outside 32.."), Error);
    CHECK_THROWS_WITH_AS(write_synthetic_ham10000(out.string(), with([](SynthOptions& o) { o.height = 0; })),
                         doctest::Contains("--height 0 is outside"), Error);
    CHECK_THROWS_WITH_AS(write_synthetic_ham10000(out.string(), with([](SynthOptions& o) { o.quality = 0; })),
                         doctest::Contains("--quality 0 is outside 1..100"), Error);
    CHECK_THROWS_WITH_AS(write_synthetic_ham10000(out.string(), with([](SynthOptions& o) { o.quality = 101; })),
                         doctest::Contains("--quality 101"), Error);
    CHECK_THROWS_WITH_AS(write_synthetic_ham10000("", small(20)), doctest::Contains("no output folder"), Error);
    CHECK(!fs::exists(out));
    CHECK_THROWS_WITH_AS(synthetic_lesion_image(7, 1, 0, 64, 48), doctest::Contains("class 7 is outside 0..6"), Error);
  }
}

}  // namespace nn::test
