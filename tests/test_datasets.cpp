// Dataset readers: HAM10000, ISIC 2016/2017/2018 and image folders on small generated trees, format
// detection, every bad-input error (file, line, what was expected), and ImageFolder against torchvision.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "tests/check.h"
#include "tests/support.h"
#include "train/data/dataset.h"
#include "train/data/image.h"

namespace nn::test {

namespace {

namespace fs = std::filesystem;

// A file whose bytes nobody reads: the readers only check that images exist.
std::string placeholder(const TempDir& t, const std::string& rel) { return t.write(rel, "not decoded"); }

// doctest's matcher from a std::string (it takes only its own String).
doctest::Contains has(const std::string& s) { return doctest::Contains(doctest::String(s.c_str())); }

std::vector<int64_t> labels(const Dataset& d) {
  std::vector<int64_t> out;
  for (const Sample& s : d.samples) out.push_back(s.label);
  return out;
}

const char* kHamHeader = "lesion_id,image_id,dx,dx_type,age,sex,localization,dataset\n";

// A HAM10000-like download: metadata.csv, images in _part_1 and _part_2 (one as .png).
void write_ham(const TempDir& t) {
  t.write("HAM10000_metadata.csv", std::string(kHamHeader) +
                                       "HAM_0000118,ISIC_0027419,bkl,histo,80.0,male,scalp,vidir_modern\n"
                                       "HAM_0000118,ISIC_0025030,bkl,histo,80.0,male,scalp,vidir_modern\n"
                                       "HAM_0002730,ISIC_0026769,mel,histo,80.0,male,scalp,vidir_modern\n"
                                       "HAM_0001466,ISIC_0031633,nv,follow_up,75.0,male,ear,rosendahl\n"
                                       "HAM_0002761,ISIC_0029176,AKIEC,histo,60.0,male,face,rosendahl\n"
                                       "HAM_0005132,ISIC_0025837,vasc,consensus,70.0,female,back,vidir_modern\n");
  placeholder(t, "HAM10000_images_part_1/ISIC_0027419.jpg");
  placeholder(t, "HAM10000_images_part_1/ISIC_0025030.jpg");
  placeholder(t, "HAM10000_images_part_2/ISIC_0026769.jpg");
  placeholder(t, "HAM10000_images_part_2/ISIC_0031633.JPG");
  placeholder(t, "HAM10000_images_part_2/ISIC_0029176.png");
  placeholder(t, "HAM10000_images_part_1/ISIC_0025837.jpeg");
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("dataset: HAM10000 metadata, classes in ISIC 2018 order, images found in both part folders") {
    TempDir t("dataset-ham");
    write_ham(t);
    const Dataset d =
        read_ham10000(t / "HAM10000_metadata.csv", {t / "HAM10000_images_part_1", t / "HAM10000_images_part_2"});
    CHECK(d.name == "HAM10000");
    CHECK(d.classes == std::vector<std::string>{"MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"});
    CHECK(labels(d) == std::vector<int64_t>{4, 4, 0, 1, 3, 6});
    REQUIRE(d.samples.size() == 6);
    CHECK(d.samples[0].id == "ISIC_0027419");
    CHECK(d.samples[0].group == "HAM_0000118");
    CHECK(d.samples[1].group == "HAM_0000118");
    CHECK(d.samples[0].image == t / "HAM10000_images_part_1/ISIC_0027419.jpg");
    CHECK(d.samples[3].image == t / "HAM10000_images_part_2/ISIC_0031633.JPG");
    CHECK(d.samples[4].image == t / "HAM10000_images_part_2/ISIC_0029176.png");
    CHECK(d.samples[5].image == t / "HAM10000_images_part_1/ISIC_0025837.jpeg");
    CHECK(d.class_counts() == std::vector<int64_t>{1, 1, 0, 1, 2, 0, 1});
    CHECK(d.class_counts({0, 1, 5}) == std::vector<int64_t>{0, 0, 0, 0, 2, 0, 1});
    CHECK(d.official_split.empty());
    // BCC and DF have no images: not an error for the dataset (make_split refuses to train without them).
    REQUIRE(d.warnings.size() == 2);
    CHECK(d.warnings[0].find("class BCC has no images") != std::string::npos);
    // open_dataset finds the metadata and the image folders from the dataset folder.
    const Dataset o = open_dataset(t.path().string());
    CHECK(o.name == "HAM10000");
    CHECK(labels(o) == labels(d));
    CHECK(o.samples[2].image == d.samples[2].image);
    CHECK(open_dataset(t / "HAM10000_metadata.csv", "auto").samples.size() == 6);
  }

  TEST_CASE("dataset: HAM10000 prefers .jpg when an id has several files; the first folder wins") {
    TempDir t("dataset-ham-dup");
    t.write("meta.csv", "lesion_id,image_id,dx\nL1,I1,df\n");
    placeholder(t, "a/I1.png");
    placeholder(t, "a/I1.jpg");
    placeholder(t, "b/I1.jpg");
    CHECK(read_ham10000(t / "meta.csv", {t / "a", t / "b"}).samples[0].image == t / "a/I1.jpg");
    CHECK(read_ham10000(t / "meta.csv", {t / "b", t / "a"}).samples[0].image == t / "b/I1.jpg");
  }

  TEST_CASE("dataset: ISIC 2018 one-hot ground truth, lesion groupings, and detection of the download layout") {
    TempDir t("dataset-isic2018");
    t.write("ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv",
            "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\n"
            "ISIC_0024306,0.0,1.0,0.0,0.0,0.0,0.0,0.0\n"
            "ISIC_0024307,0,0,0,0,0,1,0\n"
            "ISIC_0024308,1.0,0.0,0.0,0.0,0.0,0.0,0.0\n"
            "ISIC_0024309,0.0,0.0,0.0,0.0,0.0,0.0,1.0\n");
    t.write("ISIC2018_Task3_Training_LesionGroupings.csv",
            "image,lesion_id,diagnosis_confirm_type\nISIC_0024306,HAM_1,histo\nISIC_0024307,HAM_2,histo\n"
            "ISIC_0024308,HAM_1,histo\nISIC_0024309,HAM_3,histo\nISIC_0099999,HAM_4,histo\n");
    for (const char* id : {"ISIC_0024306", "ISIC_0024307", "ISIC_0024308", "ISIC_0024309"})
      placeholder(t, fmt::format("ISIC2018_Task3_Training_Input/{}.jpg", id));
    const Dataset d =
        read_isic2018(t / "ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv",
                      t / "ISIC2018_Task3_Training_Input", t / "ISIC2018_Task3_Training_LesionGroupings.csv");
    CHECK(d.name == "ISIC2018");
    CHECK(d.classes == ham10000_classes());
    CHECK(labels(d) == std::vector<int64_t>{1, 5, 0, 6});
    CHECK(d.samples[0].group == "HAM_1");
    CHECK(d.samples[2].group == "HAM_1");
    CHECK(d.samples[3].group == "HAM_3");
    const Dataset o = open_dataset(t.path().string());
    CHECK(o.name == "ISIC2018");
    CHECK(labels(o) == labels(d));
    CHECK(o.samples[2].group == "HAM_1");  // groupings found beside the ground-truth folder
    CHECK(o.samples[1].image == d.samples[1].image);
    // Without groupings every image is its own group, and the dataset says so.
    const Dataset g = read_isic2018(t / "ISIC2018_Task3_Training_GroundTruth/ISIC2018_Task3_Training_GroundTruth.csv",
                                    t / "ISIC2018_Task3_Training_Input");
    CHECK(g.samples[2].group == "ISIC_0024308");
    REQUIRE(g.warnings.size() >= 1);
    CHECK(g.warnings[0].find("no lesion groupings") != std::string::npos);
  }

  TEST_CASE("dataset: ISIC 2016 (no header; benign/malignant or 0/1) and ISIC 2017 (melanoma vs the rest)") {
    TempDir t("dataset-isic2016");
    t.write("ISBI2016_ISIC_Part3_Training_GroundTruth.csv", "ISIC_0000000,benign\nISIC_0000002,malignant\n");
    t.write("ISBI2016_ISIC_Part3_Test_GroundTruth.csv", "ISIC_0000003,0.0\nISIC_0000004,1.0\n");
    for (const char* id : {"ISIC_0000000", "ISIC_0000002", "ISIC_0000003", "ISIC_0000004"})
      placeholder(t, fmt::format("ISBI2016_ISIC_Part3_Training_Data/{}.jpg", id));
    const Dataset d =
        read_isic2016(t / "ISBI2016_ISIC_Part3_Training_GroundTruth.csv", t / "ISBI2016_ISIC_Part3_Training_Data");
    CHECK(d.name == "ISIC2016");
    CHECK(d.classes == std::vector<std::string>{"benign", "malignant"});
    CHECK(labels(d) == std::vector<int64_t>{0, 1});
    CHECK(d.samples[1].group == "ISIC_0000002");
    // The folder holds a training and a test ground truth: the training one wins.
    const Dataset o = open_dataset(t.path().string());
    CHECK(o.name == "ISIC2016");
    CHECK(o.samples.size() == 2);
    CHECK(labels(open_dataset(t / "ISBI2016_ISIC_Part3_Test_GroundTruth.csv")) == std::vector<int64_t>{0, 1});

    TempDir u("dataset-isic2017");
    u.write("ISIC-2017_Training_Part3_GroundTruth.csv",
            "image_id,melanoma,seborrheic_keratosis\nISIC_0000000,0.0,0.0\nISIC_0000001,1.0,0.0\nISIC_0000002,0,1\n");
    for (const char* id : {"ISIC_0000000", "ISIC_0000001", "ISIC_0000002"})
      placeholder(u, fmt::format("ISIC-2017_Training_Data/{}.jpg", id));
    const Dataset e = open_dataset(u.path().string(), "isic2017");
    CHECK(e.name == "ISIC2017");
    CHECK(e.classes == std::vector<std::string>{"other", "melanoma"});
    CHECK(labels(e) == std::vector<int64_t>{0, 1, 0});
    CHECK(labels(read_isic2017(u / "ISIC-2017_Training_Part3_GroundTruth.csv", u / "ISIC-2017_Training_Data")) ==
          labels(e));
  }

  TEST_CASE("dataset: an image folder: classes byte-sorted, any-case extensions, subfolders, hidden files skipped") {
    TempDir t("dataset-folder");
    placeholder(t, "nevus/a.jpg");
    placeholder(t, "nevus/b.PNG");
    placeholder(t, "nevus/deeper/c.jpeg");
    placeholder(t, "nevus/.hidden.jpg");
    placeholder(t, "nevus/notes.txt");
    placeholder(t, "Melanoma/x.bmp");
    placeholder(t, "bcc/y.jpg");
    placeholder(t, ".trash/z.jpg");
    const Dataset d = read_image_folder(t.path().string());
    CHECK(d.name == "ImageFolder");
    CHECK(d.classes == std::vector<std::string>{"Melanoma", "bcc", "nevus"});  // byte order: uppercase first
    CHECK(d.official_split.empty());
    std::set<std::pair<std::string, int64_t>> got;
    for (const Sample& s : d.samples) {
      got.insert({s.id, s.label});
      CHECK(s.group == s.id);
    }
    CHECK(got == std::set<std::pair<std::string, int64_t>>{
                     {"Melanoma/x", 0}, {"bcc/y", 1}, {"nevus/a", 2}, {"nevus/b", 2}, {"nevus/deeper/c", 2}});
    REQUIRE(d.warnings.size() == 1);
    CHECK(d.warnings[0].find("skipped 1 file") != std::string::npos);
    CHECK(open_dataset(t.path().string()).samples.size() == 5);
  }

  TEST_CASE("dataset: an image folder with train/valid/test folders gives official splits") {
    TempDir t("dataset-splits");
    for (const char* f : {"train/df/1.jpg", "train/df/2.jpg", "train/mel/3.jpg", "valid/df/4.jpg", "valid/mel/5.jpg",
                          "test/df/6.jpg", "test/mel/7.png"})
      placeholder(t, f);
    const Dataset d = open_dataset(t.path().string(), "imagefolder");
    CHECK(d.classes == std::vector<std::string>{"df", "mel"});
    REQUIRE(d.samples.size() == 7);
    REQUIRE(d.official_split.size() == 7);
    std::set<std::tuple<std::string, int64_t, std::string>> got;
    for (size_t i = 0; i < 7; ++i) got.insert({d.samples[i].id, d.samples[i].label, d.official_split[i]});
    CHECK(got == std::set<std::tuple<std::string, int64_t, std::string>>{{"train/df/1", 0, "train"},
                                                                         {"train/df/2", 0, "train"},
                                                                         {"train/mel/3", 1, "train"},
                                                                         {"valid/df/4", 0, "val"},
                                                                         {"valid/mel/5", 1, "val"},
                                                                         {"test/df/6", 0, "test"},
                                                                         {"test/mel/7", 1, "test"}});
  }
}

TEST_SUITE("data") {
  TEST_CASE("dataset: skinnet data prints the split table, writes split.csv, rereads it, and finds a bad image") {
    TempDir t("dataset-cli");
    std::string meta = "lesion_id,image_id,dx\n";
    const char* dx[] = {"mel", "nv", "nv", "nv", "bkl", "bcc", "akiec", "df", "vasc", "nv"};
    Image img;
    img.height = 4;
    img.width = 5;
    img.rgb.assign(60, 90);
    for (int i = 0; i < 60; ++i) {
      meta += fmt::format("HAM_{},ISIC_{:03},{}\n", i / 2, i, dx[(i / 2) % 10]);
      const std::string rel = fmt::format("HAM10000_images_part_{}/ISIC_{:03}.jpg", 1 + i % 2, i);
      fs::create_directories((t.path() / rel).parent_path());
      encode_image(img, t / rel);
    }
    t.write("HAM10000_metadata.csv", meta);
    const std::string cli = build_dir() + "/skinnet data --data " + t.path().string();
    const auto data = [&](const std::string& args) { return run_command(cli + args, Capture::stdout_and_stderr); };
    auto [status, out] = data(" --out " + t / "out" + " --check-images --seed 3");
    CHECK_MESSAGE(status == 0, out);
    for (const char* want : {"dataset  HAM10000", "images   60", "groups   30", "\ntotal ",
                             "class weights (training split", "wrote ", "check-images: 60 images checked, 0 bad"})
      CHECK_MESSAGE(out.find(want) != std::string::npos, std::string(want) << " not in:\n" << out);
    CHECK(fs::exists(t / "out/split.csv"));
    const auto table = [](const std::string& text) { return text.substr(text.find("class ")); };
    auto [status2, again] = data(" --split-file " + t / "out/split.csv");
    CHECK_MESSAGE(status2 == 0, again);
    CHECK(again.find("split    read from") != std::string::npos);
    CHECK(table(again) == table(out).substr(0, table(again).size()));
    t.write("HAM10000_images_part_2/ISIC_007.jpg", "truncated");
    auto [status3, bad] = data(" --check-images");
    CHECK(status3 == 1);
    CHECK_MESSAGE(
        bad.find("bad image (id ISIC_007): " + t / "HAM10000_images_part_2/ISIC_007.jpg") != std::string::npos, bad);
    CHECK(bad.find("check-images: 60 images checked, 1 bad") != std::string::npos);
    auto [status4, skipped] = data(" --check-images --skip-bad-images");
    CHECK_MESSAGE(status4 == 0, skipped);
    CHECK(skipped.find("1 unreadable images will be skipped") != std::string::npos);
  }
}

TEST_SUITE("errors") {
  TEST_CASE("dataset: HAM10000 bad metadata names the file, the line and what was expected") {
    TempDir t("dataset-ham-bad");
    write_ham(t);
    const std::vector<std::string> dirs = {t / "HAM10000_images_part_1", t / "HAM10000_images_part_2"};
    const std::string meta = t / "meta.csv";
    auto read = [&](const std::string& text) {
      t.write("meta.csv", text);
      return read_ham10000(meta, dirs);
    };
    CHECK_THROWS_WITH_AS(read(std::string(kHamHeader) + "HAM_1,ISIC_0027419,bkl,histo,1,m,x,y\nHAM_2,ISIC_404,nv,histo,"
                                                        "1,m,x,y\nHAM_3,ISIC_405,nv,histo,1,m,x,y\n"),
                         has(meta +
                             ":3: image 'ISIC_404' not found (looked for ISIC_404.jpg, .jpeg and "
                             ".png in " +
                             dirs[0] + ", " + dirs[1] + "); 2 images of 3 rows are missing"),
                         Error);
    CHECK_THROWS_WITH_AS(read("lesion_id,image_id,dx\nHAM_1,ISIC_0027419,melanoma\n"),
                         has(meta + ":2: unknown dx 'melanoma' for image 'ISIC_0027419'; expected one "
                                    "of mel, nv, bcc, akiec, bkl, df, vasc"),
                         Error);
    CHECK_THROWS_WITH_AS(read("lesion_id,image_id,dx\nHAM_1,ISIC_0027419,mel\nHAM_2,ISIC_0025030,nv\nHAM_1,"
                              "ISIC_0027419,mel\n"),
                         has(meta + ":4: image id 'ISIC_0027419' repeated (first on line 2)"), Error);
    CHECK_THROWS_WITH_AS(read("lesion,image_id,diagnosis\nHAM_1,ISIC_0027419,mel\n"),
                         has(meta + ": missing columns lesion_id, dx: a HAM10000 metadata file needs "
                                    "lesion_id, image_id, dx; the file has lesion, image_id, diagnosis"),
                         Error);
    CHECK_THROWS_WITH_AS(read("lesion_id,image_id,dx\n,ISIC_0027419,mel\n"), has(meta + ":2: empty lesion_id"), Error);
    CHECK_THROWS_WITH_AS(read_ham10000(t / "HAM10000_metadata.csv", {t / "nowhere"}),
                         has("image folder " + t / "nowhere" + " does not exist"), Error);
    CHECK_THROWS_WITH_AS(open_dataset(t / "missing"), has(t / "missing" + ": no such file or folder"), Error);
    CHECK_THROWS_WITH_AS(open_dataset(t.path().string(), "isic2019"), has("unknown dataset format 'isic2019'"), Error);
    CHECK_THROWS_WITH_AS(open_dataset(t / "HAM10000_images_part_1", "ham10000"),
                         has("no HAM10000_metadata.csv in this folder"), Error);
  }

  TEST_CASE("dataset: ISIC ground truth with no class, two classes, bad values or no lesion group is refused") {
    TempDir t("dataset-isic-bad");
    placeholder(t, "img/A.jpg");
    placeholder(t, "img/B.jpg");
    const std::string gt = t / "gt.csv", img = t / "img";
    const std::string head = "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\n";
    t.write("gt.csv", head + "A,1,0,0,0,0,0,0\nB,0,0,0,0,0,0,0\n");
    CHECK_THROWS_WITH_AS(read_isic2018(gt, img), has(gt + ":3: image 'B' has no class"), Error);
    t.write("gt.csv", head + "A,1,0,0,0,0,1.0,0\n");
    CHECK_THROWS_WITH_AS(read_isic2018(gt, img), has(gt + ":2: image 'A' is both MEL and DF"), Error);
    t.write("gt.csv", head + "A,1,0,0,0,0,0.5,0\n");
    CHECK_THROWS_WITH_AS(read_isic2018(gt, img), has(gt + ":2: DF is '0.5', expected 0, 1, 0.0 or 1.0"), Error);
    t.write("gt.csv", head + "A,1,0,0,0,0,0,0\nB,0,1,0,0,0,0,0\n");
    t.write("groups.csv", "image,lesion_id\nA,L1\n");
    CHECK_THROWS_WITH_AS(read_isic2018(gt, img, t / "groups.csv"),
                         has(gt + ":3: image 'B' has no row in the lesion groupings file"), Error);
    t.write("gt.csv", "image,MEL,NV\nA,1,0\n");
    CHECK_THROWS_WITH_AS(read_isic2018(gt, img), has("missing columns BCC, AKIEC, BKL, DF, VASC"), Error);
    t.write("gt.csv", "A,benign\nB,melanoma\n");
    CHECK_THROWS_WITH_AS(read_isic2016(gt, img),
                         has(gt + ":2: label 'melanoma' for image 'B', expected "
                                  "benign, malignant, 0 or 1"),
                         Error);
    t.write("gt.csv", "A,benign,x\n");
    CHECK_THROWS_WITH_AS(read_isic2016(gt, img), has(gt + ":1: 3 columns, expected 2"), Error);
    t.write("gt.csv", "image_id,melanoma,seborrheic_keratosis\nA,1,1\n");
    CHECK_THROWS_WITH_AS(read_isic2017(gt, img),
                         has(gt + ":2: image 'A' is both melanoma and "
                                  "seborrheic_keratosis"),
                         Error);
    t.write("gt.csv", "what,ever\n1,2,3\n");
    CHECK_THROWS_WITH_AS(open_dataset(gt), has(gt + ":2: 3 fields"), Error);
    t.write("gt.csv", "what,ever,this\n1,2,3\n");
    CHECK_THROWS_WITH_AS(open_dataset(gt), has(gt + ": the columns fit no known format"), Error);
  }

  TEST_CASE("dataset: bad image folders: missing, empty, images in the root, empty class, mismatched splits") {
    TempDir t("dataset-folder-bad");
    CHECK_THROWS_WITH_AS(read_image_folder(t / "none"), has(t / "none" + ": no such folder"), Error);
    fs::create_directories(t / "empty");
    CHECK_THROWS_WITH_AS(read_image_folder(t / "empty"), has(t / "empty" + ": empty folder"), Error);
    placeholder(t, "root/a.jpg");
    CHECK_THROWS_WITH_AS(read_image_folder(t / "root"),
                         has(t / "root" + ": holds images (a.jpg) but no "
                                          "class folders"),
                         Error);
    placeholder(t, "root/mel/b.jpg");
    CHECK_THROWS_WITH_AS(read_image_folder(t / "root"), has(t / "root" + ": holds images directly (a.jpg)"), Error);
    placeholder(t, "noimg/mel/b.jpg");
    placeholder(t, "noimg/nv/readme.txt");
    CHECK_THROWS_WITH_AS(read_image_folder(t / "noimg"),
                         has(t / "noimg/nv" + ": class folder with no "
                                              "images"),
                         Error);
    placeholder(t, "split/train/mel/1.jpg");
    placeholder(t, "split/train/nv/2.jpg");
    placeholder(t, "split/val/mel/3.jpg");
    CHECK_THROWS_WITH_AS(read_image_folder(t / "split"),
                         has(t / "split/val" + ": no class folder 'nv', "
                                               "which train/ has"),
                         Error);
    placeholder(t, "split/val/nv/4.jpg");
    placeholder(t, "split/test/nv/5.jpg");
    placeholder(t, "split/test/mel/6.jpg");
    placeholder(t, "split/test/bcc/7.jpg");
    CHECK_THROWS_WITH_AS(read_image_folder(t / "split"),
                         has(t / "split/test" + ": class folder 'bcc' "
                                                "that train/ lacks"),
                         Error);
    fs::remove_all(t / "split/test/bcc");
    CHECK(read_image_folder(t / "split").samples.size() == 6);
    placeholder(t, "split/valid/nv/4.jpg");
    CHECK_THROWS_WITH_AS(read_image_folder(t / "split"), has("both val/ and valid/ are present"), Error);
    fs::remove_all(t / "split/valid");
    placeholder(t, "split/extra/nv/4.jpg");
    CHECK_THROWS_WITH_AS(read_image_folder(t / "split"), has("folder 'extra' beside train/"), Error);
    placeholder(t, "dup/mel/a.jpg");
    placeholder(t, "dup/mel/a.png");
    CHECK_THROWS_WITH_AS(read_image_folder(t / "dup"), has("two images have the id 'mel/a'"), Error);
  }
}

TEST_SUITE("torch") {
  TEST_CASE("dataset: an image folder reads like torchvision.datasets.ImageFolder (classes, paths, labels)") {
    TempDir t("dataset-torchvision");
    Image img;
    img.height = 3;
    img.width = 2;
    img.rgb.assign(18, 128);
    int n = 0;
    for (const char* f : {"nv/a.png", "nv/b.png", "nv/sub/c.png", "MEL/d.png", "MEL/e.png", "bcc/f.png", "_x/g.png",
                          "Zeta/h.png", "akiec/i.png"}) {
      fs::create_directories((t.path() / f).parent_path());
      img.rgb[0] = static_cast<uint8_t>(n++);
      encode_image(img, t / f);
    }
    const Dataset d = read_image_folder(t.path().string());
    const std::string out = t / "torchvision.json";
    const std::string cmd =
        "/usr/bin/python3 -c 'import json, sys, torchvision\n"
        "d = torchvision.datasets.ImageFolder(sys.argv[1])\n"
        "json.dump({\"classes\": d.classes, \"samples\": d.samples}, open(sys.argv[2], \"w\"))' " +
        t.path().string() + " " + out;
    const auto [status, text] = run_command(cmd, Capture::stdout_and_stderr);
    REQUIRE_MESSAGE(status == 0, "python with torchvision failed: " << text);
    std::ifstream in(out);
    const nlohmann::json j = nlohmann::json::parse(in);
    const std::vector<std::string> classes = j["classes"];
    CHECK(d.classes == classes);
    std::set<std::pair<std::string, int64_t>> want, got;
    for (const auto& s : j["samples"])
      want.insert({fs::path(s[0].get<std::string>()).lexically_normal().string(), s[1]});
    for (const Sample& s : d.samples) got.insert({fs::path(s.image).lexically_normal().string(), s.label});
    CHECK(want.size() == 9);
    CHECK(got == want);
  }
}

}  // namespace nn::test
