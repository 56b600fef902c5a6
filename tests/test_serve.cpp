// skinnet serve (tools/serve/server.h) as a user meets it: the real binary, started on an ephemeral loopback
// port, spoken to over HTTP with cpp-httplib's client. Routes and the model card; predictions against
// `skinnet predict --json` on the same files, bit for bit; every bad input of docs/serving.md with its status and
// message; 503 from a full queue and 504 from a timeout; SIGTERM with a request in flight; the page in headless
// Chromium (tests/browser/page_test.js); 500 requests from 32 clients (skinnet bench-serve).
#include <fcntl.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <cstring>
#include <regex>
#include <sstream>
#include <thread>

#include "models/network.h"
#include "tests/check.h"
#include "tests/support.h"
#include "train/data/dataset.h"
#include "train/data/image.h"
#include "weights/load.h"

namespace nn::test {

namespace {

using json = nlohmann::json;

// A model as a training run leaves it: resnet18 with HAM10000's classes at 64 px, the dataset in its metadata
// and metrics.json beside it (what the model card shows). Random weights: what is checked is the serving.
std::string write_run(const TempDir& t) {
  auto model = make_model("resnet18", {.num_classes = 7, .seed = 11});
  Preprocessing p = Preprocessing::torchvision_imagenet(74);
  p.input_size = 64;
  const std::string path = t / "run/model.safetensors";
  std::filesystem::create_directories(t.path() / "run");
  save_weights(*model, path,
               {{"arch", "resnet18"},
                {"preprocessing", p.to_json()},
                {"classes", json(ham10000_classes()).dump()},
                {"dataset", json{{"name", "HAM10000"}, {"synthetic", true}}.dump()}});
  json per_class = json::array();
  for (const std::string& c : ham10000_classes()) per_class.push_back({{"class", c}, {"recall", 0.25}, {"support", 10}});
  t.write("run/metrics.json", json{{"balanced_accuracy", 0.25}, {"n", 70}, {"per_class", per_class}}.dump());
  return path;
}

// Lesion-like test images: a dark ellipse on skin tones, `w` x `h`, written as JPEG or PNG by extension.
std::string write_image(const TempDir& t, const std::string& name, int64_t w, int64_t h, int shade) {
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.resize(static_cast<size_t>(w * h * 3));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const double dx = (x - 0.55 * w) / (0.2 * w), dy = (y - 0.45 * h) / (0.25 * h);
      const bool lesion = dx * dx + dy * dy < 1;
      uint8_t* px = &img.rgb[static_cast<size_t>((y * w + x) * 3)];
      px[0] = static_cast<uint8_t>(lesion ? shade : 220 - (x + y) % 17);
      px[1] = static_cast<uint8_t>(lesion ? shade / 2 : 170 + (x * 3) % 13);
      px[2] = static_cast<uint8_t>(lesion ? shade / 3 : 150);
    }
  const std::string path = t / name;
  encode_image(img, path);
  return path;
}

// `skinnet serve` in a child process: the port comes from the first line it prints.
class ServeProcess {
 public:
  ServeProcess(const TempDir& t, const std::string& model, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {build_dir() + "/skinnet", "serve", "--checkpoint", model, "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    int out[2];
    REQUIRE(pipe(out) == 0);
    log_ = t / fmt::format("serve-{}.log", counter_++);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      const int err = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(err, STDERR_FILENO);
      close(out[0]);
      // Under AddressSanitizer freed memory waits in a quarantine (256 MB by default) before reuse, which
      // the load test's memory check would measure instead of the server; a small one still catches
      // use-after-free of recent allocations.
      if (kSanitized) setenv("ASAN_OPTIONS", "quarantine_size_mb=16", 0);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    out_ = out[0];
    // The first line: "serving resnet18 (...) on http://127.0.0.1:PORT/ ...", within a minute (sanitizers).
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      char c[256];
      const ssize_t n = read(out_, c, sizeof c);
      if (n <= 0) break;
      line.append(c, static_cast<size_t>(n));
    }
    std::smatch m;
    REQUIRE_MESSAGE(std::regex_search(line, m, std::regex(R"(on http://127\.0\.0\.1:(\d+)/)")),
                    "skinnet serve did not start; it printed: " << line << "\nstderr: " << read_file(log_));
    port = std::stoi(m[1]);
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_);
  }
  // SIGTERM, then the exit status (-1: killed by a signal, or still running after 60 s).
  int terminate() {
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 600; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return -1;
  }
  std::string stderr_text() const { return read_file(log_); }

  int port = 0;

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string log_;
  static inline int counter_ = 0;
};

httplib::Result post_file(httplib::Client& c, const std::string& file, const std::string& query = "") {
  const httplib::MultipartFormDataItems items = {{"image", read_file(file), std::filesystem::path(file).filename().string(),
                                                  "application/octet-stream"}};
  return c.Post(("/api/predict" + query).c_str(), items);
}

json body_json(const httplib::Result& r) {
  REQUIRE(r);
  return json::parse(r->body);
}

// The value of a sample of a /metrics page (the exact name with its labels, if any).
double metric(const std::string& text, const std::string& sample) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
  return -1;
}

void wait_for_queue(httplib::Client& c, int depth) {
  for (int i = 0; i < 200; ++i) {
    const auto r = c.Get("/metrics");
    if (r && metric(r->body, "skinnet_queue_depth") == depth) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL("the queue never reached depth " << depth);
}

}  // namespace

TEST_SUITE("serve") {
  TEST_CASE("serve: routes, the model card, and predictions equal skinnet predict --json bit for bit") {
    const TempDir t("serve");
    const std::string model = write_run(t);
    const std::string a = write_image(t, "a.jpg", 120, 90, 60), b = write_image(t, "b.png", 80, 100, 110);
    ServeProcess serve(t, model);
    httplib::Client c("127.0.0.1", serve.port);

    auto health = c.Get("/healthz");
    REQUIRE(health);
    CHECK(health->status == 200);
    CHECK(body_json(health) == json{{"status", "ok"}});
    auto page = c.Get("/");
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->get_header_value("Content-Type").find("text/html") == 0);
    CHECK(page->body.find("<script src=\"app.js\"") != std::string::npos);
    for (const char* asset : {"/app.js", "/style.css"}) {
      auto r = c.Get(asset);
      REQUIRE(r);
      CHECK_MESSAGE(r->status == 200, asset);
      CHECK(r->body.size() > 500);
    }

    const json card = body_json(c.Get("/api/model"));
    CHECK(card["arch"] == "resnet18");
    CHECK(card["classes"] == json(ham10000_classes()));
    CHECK(card["class_names"][1] == "Melanocytic nevi (NV)");
    CHECK(card["input_size"] == 64);
    CHECK(card["cam_layer"] == "layer4");
    CHECK(card["dataset"] == json{{"name", "HAM10000"}, {"synthetic", true}});
    CHECK(card["metrics"]["balanced_accuracy"] == 0.25);
    CHECK(card["metrics"]["per_class"][0] == json{{"class", "MEL"}, {"name", "Melanoma (MEL)"}, {"recall", 0.25}, {"support", 10}});
    CHECK(card["disclaimer"].get<std::string>().find("not a medical device") != std::string::npos);

    // The same numbers as skinnet predict --json, through a multipart form and as a raw body.
    const CommandResult predicted =
        run_command(fmt::format("{}/skinnet predict --checkpoint {} --json {} {}", build_dir(), model, a, b));
    REQUIRE(predicted.status == 0);
    std::istringstream lines(predicted.output);
    for (const std::string& file : {a, b}) {
      std::string line;
      std::getline(lines, line);
      const json want = json::parse(line);
      const json form = body_json(post_file(c, file));
      CHECK(form["image"] == std::filesystem::path(file).filename().string());
      auto raw_result = c.Post("/api/predict", read_file(file), file.ends_with(".png") ? "image/png" : "image/jpeg");
      const json raw = body_json(raw_result);
      for (const json& got : {form, raw}) {
        CHECK(got["logits"] == want["logits"]);  // doubles compared exactly: the same float32 values
        CHECK(got["probs"] == want["probs"]);
        CHECK(got["top"] == want["top"]);
        CHECK(got["classes"] == want["classes"]);
      }
    }

    // ?top=K and ?cam=1: the overlay of the top class, a PNG of the image's size plus the colour bar.
    const json cam = body_json(post_file(c, a, "?top=3&cam=1"));
    CHECK(cam["top"].size() == 3);
    CHECK(cam["cam"]["layer"] == "layer4");
    CHECK(cam["cam"]["class"] == cam["top"][0]["class"]);
    const std::string png = cam["cam"]["png"];
    REQUIRE(png.rfind("data:image/png;base64,", 0) == 0);
    const std::vector<uint8_t> bytes = unbase64(png.substr(22));
    const Image overlay = decode_image_bytes(bytes.data(), bytes.size(), "cam.png");
    CHECK(overlay.height == 90);
    CHECK(overlay.width > 120);
    CHECK(serve.terminate() == 0);
  }

  TEST_CASE("serve: bad input gets a clear JSON error with the right status, and the server stays up") {
    const TempDir t("serve-bad");
    const std::string model = write_run(t);
    const std::string a = write_image(t, "a.jpg", 120, 90, 60);
    ServeProcess serve(t, model, {"--max-body-mb", "1"});
    httplib::Client c("127.0.0.1", serve.port);
    auto expect = [&](const httplib::Result& r, int status, const std::string& message) {
      REQUIRE(r);
      CHECK(r->status == status);
      CHECK(r->get_header_value("Content-Type") == "application/json");
      const json j = json::parse(r->body);
      CHECK(j["status"] == status);
      CHECK_MESSAGE(j["error"].get<std::string>().find(message) != std::string::npos, j["error"], " lacks ", message);
    };
    const std::string jpeg = read_file(a);
    expect(c.Post("/api/predict", "", "image/jpeg"), 400, "the body is empty");
    expect(c.Post("/api/predict", "lesion notes, not a picture", "image/jpeg"), 400, "cannot read as an image");
    expect(c.Post("/api/predict", jpeg.substr(0, jpeg.size() / 2), "image/jpeg"), 400, "truncated");
    // A real PNG whose header claims 10000 x 10000 pixels: refused from the header, before decoding.
    std::string big = read_file(write_image(t, "small.png", 20, 20, 50));
    const unsigned char dims[8] = {0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10};
    big.replace(16, 8, reinterpret_cast<const char*>(dims), 8);
    expect(c.Post("/api/predict", big, "image/png"), 413, "10000x10000 pixels is over the limit of 40 megapixels");
    expect(c.Post("/api/predict", std::string(1'500'000, 'x'), "image/jpeg"), 413, "over the 1 MB limit");
    const httplib::MultipartFormDataItems two = {{"image", jpeg, "a.jpg", "image/jpeg"}, {"other", jpeg, "b.jpg", "image/jpeg"}};
    expect(c.Post("/api/predict", two), 400, "one image per request");
    const httplib::MultipartFormDataItems misnamed = {{"file", jpeg, "a.jpg", "image/jpeg"}};
    expect(c.Post("/api/predict", misnamed), 400, "field named 'image'");
    expect(c.Post("/api/predict?top=0", jpeg, "image/jpeg"), 400, "?top=0: must be a positive integer");
    expect(c.Post("/api/predict?cam=maybe", jpeg, "image/jpeg"), 400, "?cam=maybe");
    expect(c.Get("/nope"), 404, "GET /nope: no such route");
    auto get_predict = c.Get("/api/predict");
    expect(get_predict, 405, "takes POST only");
    CHECK(get_predict->get_header_value("Allow") == "POST");
    auto post_model = c.Post("/api/model", "x", "text/plain");
    expect(post_model, 405, "takes GET only");
    CHECK(post_model->get_header_value("Allow") == "GET");
    // Still serving, and counting what it refused.
    CHECK(body_json(post_file(c, a))["top"].size() == 5);
    const auto metrics = c.Get("/metrics");
    REQUIRE(metrics);
    CHECK(metric(metrics->body, R"(skinnet_requests_total{route="/api/predict",status="400"})") == 7);
    CHECK(metric(metrics->body, R"(skinnet_requests_total{route="/api/predict",status="413"})") == 2);
    CHECK(metric(metrics->body, R"(skinnet_requests_total{route="/api/predict",status="200"})") == 1);
    CHECK(metric(metrics->body, "skinnet_batch_size_count") == 1);
    CHECK(serve.terminate() == 0);
    CHECK(serve.stderr_text().find("AddressSanitizer") == std::string::npos);
  }

  TEST_CASE("serve: a full queue answers 503 with Retry-After, a slow one 504; SIGTERM answers what is in flight") {
    const TempDir t("serve-limits");
    const std::string model = write_run(t);
    const std::string a = write_image(t, "a.jpg", 120, 90, 60);
    {
      // The worker waits 3 s for a batch to fill; one image fits in the queue; requests time out after 1 s.
      ServeProcess serve(t, model, {"--max-queue", "1", "--max-batch", "64", "--max-delay-ms", "3000", "--timeout", "1"});
      httplib::Client c("127.0.0.1", serve.port), d("127.0.0.1", serve.port);
      std::optional<httplib::Result> first;
      std::thread waiting([&] { first.emplace(post_file(c, a)); });
      wait_for_queue(d, 1);
      auto busy = post_file(d, a);
      waiting.join();
      REQUIRE(busy);
      CHECK(busy->status == 503);
      CHECK(busy->get_header_value("Retry-After") == "1");
      CHECK(json::parse(busy->body)["error"].get<std::string>().find("busy") != std::string::npos);
      REQUIRE((first && *first));
      CHECK((*first)->status == 504);
      CHECK(json::parse((*first)->body)["error"].get<std::string>().find("1 s timeout") != std::string::npos);
    }
    // SIGTERM while an image waits for its batch: it is answered, then the server exits 0.
    ServeProcess serve(t, model, {"--max-batch", "64", "--max-delay-ms", "1500"});
    httplib::Client c("127.0.0.1", serve.port), d("127.0.0.1", serve.port);
    std::optional<httplib::Result> in_flight;
    std::thread waiting([&] { in_flight.emplace(post_file(c, a)); });
    wait_for_queue(d, 1);
    const int status = serve.terminate();
    waiting.join();
    REQUIRE((in_flight && *in_flight));
    CHECK((*in_flight)->status == 200);
    CHECK(status == 0);
  }

  TEST_CASE("serve: the page in headless Chromium: upload, bars, Grad-CAM overlay, model card, screenshot") {
    const TempDir t("serve-browser");
    const std::string model = write_run(t);
    const std::string a = write_image(t, "lesion.png", 160, 120, 70);
    REQUIRE_MESSAGE(run_command("command -v node").status == 0, "node is not installed; run `make deps`");
    REQUIRE_MESSAGE(std::filesystem::exists("build/node/node_modules/puppeteer-core"),
                    "puppeteer-core is not installed in build/node; run `make deps`");
    ServeProcess serve(t, model);
    // The class the page must show first: the server's own answer for the same file.
    httplib::Client c("127.0.0.1", serve.port);
    const std::string top = body_json(post_file(c, a))["top"][0]["name"];
    const CommandResult r = run_command(
        fmt::format("node tests/browser/page_test.js --url http://127.0.0.1:{}/ --image '{}' --screenshot '{}' "
                    "--expect-top '{}' --expect-synthetic 1 --timeout 90",
                    serve.port, a, t / "page.png", top),
        Capture::stdout_and_stderr);
    INFO(r.output);
    REQUIRE(r.status == 0);
    const json j = json::parse(r.output.substr(r.output.rfind("{\"ok\"")));
    MESSAGE("browser: " << j.dump());
    CHECK(j["ok"] == true);
    CHECK(j["top"] == top);
    CHECK(j["bars"] == 5);
    CHECK(j["synthetic"] == true);
    CHECK(j["cam"]["width"] == 160 + 6 + 12);  // the image, a gap and the colour bar (overlay.h)
    CHECK(j["cam"]["height"] == 120);
    CHECK(j["screenshot_bytes"].get<int64_t>() > 10000);
    CHECK(serve.terminate() == 0);
  }

  TEST_CASE("serve: 500 requests from 32 clients: every one answered, memory flat (bench-serve)") {
    const TempDir t("serve-load");
    const std::string model = write_run(t);
    const std::string a = write_image(t, "a.jpg", 600, 450, 60);
    ServeProcess serve(t, model);
    // Under the sanitizers (5-10x slower, and no memory figure to take: below) 100 requests after 50 warm-up
    // ones, still from 32 clients at once.
    const bool part = left_to_normal_build("the 500 requests after 500 (and the memory figure)");
    const int requests = part ? 100 : 500, warmup = part ? 50 : 500;
    const CommandResult r = run_command(fmt::format("{}/skinnet bench-serve --url http://127.0.0.1:{} --image {} "
                                                    "--requests {} --clients 32 --warmup {} --json",
                                                    build_dir(), serve.port, a, requests, warmup),
                                        Capture::stdout_and_stderr);
    INFO(r.output);
    REQUIRE(r.status == 0);
    const json j = json::parse(r.output.substr(r.output.rfind("{\"clients\"")));
    MESSAGE("load: " << j.dump());
    int64_t answered = 0;
    for (const auto& [status, n] : j["status"].items()) {
      CHECK_MESSAGE((status == "200" || status == "503"), status);
      answered += n.get<int64_t>();
    }
    CHECK(answered == requests);
    CHECK(j["status"].value("200", 0) > 0);
    CHECK(j["mean_batch"].get<double>() >= 1.0);
    // Memory flat: resident memory after the 500 requests within 10% of what it was after the warm-up (the
    // normal build measures 0-2%). Under AddressSanitizer resident memory is mostly the sanitizer's: its
    // allocator hands out fresh addresses while freed blocks wait in quarantine, and every fresh address
    // range also maps shadow memory, which is never returned (11-17% growth measured with 32 connections
    // served at once). There the leak check runs instead: LeakSanitizer at the server's exit, below.
    if (!part) CHECK(j["rss_growth"].get<double>() <= 0.10);
    httplib::Client c("127.0.0.1", serve.port);
    auto health = c.Get("/healthz");
    REQUIRE(health);
    CHECK(health->status == 200);
    CHECK(serve.terminate() == 0);  // a leak report would also make the exit status non-zero
    CHECK(serve.stderr_text().find("Sanitizer") == std::string::npos);
  }
}

}  // namespace nn::test
