// skinnet serve's HTTP server, inference worker and metrics (see server.h).
#include "tools/serve/server.h"

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "base/allocator.h"
#include "layers/fused.h"
#include "models/gradcam.h"
#include "tools/serve/assets.h"
#include "tools/skinnet/version.h"
#include "train/data/dataset.h"
#include "train/data/image.h"
#include "train/report/overlay.h"
#include "train/report/report_svg.h"

namespace nn {

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
Clock::duration after(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// An answer other than 200: its status and the message the JSON body carries.
struct HttpError : std::runtime_error {
  HttpError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
  int status;
};

void send_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", message}, {"status", status}}.dump(), "application/json");
}

// ---- metrics, in Prometheus' text format

struct Histogram {
  std::vector<double> bounds;  // upper bounds of the buckets; +Inf is implicit
  std::vector<int64_t> counts = std::vector<int64_t>(bounds.size(), 0);
  double sum = 0;
  int64_t count = 0;

  void observe(double v) {
    for (size_t i = 0; i < bounds.size(); ++i)
      if (v <= bounds[i]) ++counts[i];  // Prometheus buckets are cumulative
    sum += v;
    ++count;
  }
  std::string text(const std::string& name, const std::string& help) const {
    std::string s = fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
    for (size_t i = 0; i < bounds.size(); ++i) s += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds[i], counts[i]);
    return s + fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count, name, sum, name, count);
  }
};

int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

class Metrics {
 public:
  void request(const std::string& route, int status) {
    const std::lock_guard lock(m_);
    ++requests_[{route, status}];
  }
  void latency(double seconds) {
    const std::lock_guard lock(m_);
    latency_.observe(seconds);
  }
  void batch(int64_t size, double seconds) {
    const std::lock_guard lock(m_);
    batch_size_.observe(static_cast<double>(size));
    inference_.observe(seconds);
  }
  std::string text(int64_t queue_depth) const {
    const std::lock_guard lock(m_);
    std::string s = "# HELP skinnet_requests_total HTTP requests answered, by route and status.\n"
                    "# TYPE skinnet_requests_total counter\n";
    for (const auto& [key, n] : requests_)
      s += fmt::format("skinnet_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
    s += latency_.text("skinnet_predict_latency_seconds", "Time from receiving a prediction request to answering it.");
    s += batch_size_.text("skinnet_batch_size", "Images per inference batch.");
    s += inference_.text("skinnet_inference_seconds", "Time the model took per batch.");
    s += fmt::format("# HELP skinnet_queue_depth Images waiting for the inference worker.\n"
                     "# TYPE skinnet_queue_depth gauge\nskinnet_queue_depth {}\n",
                     queue_depth);
    const AllocatorStats a = CpuAllocator::instance().stats();
    s += fmt::format("# HELP skinnet_tensor_bytes Tensor memory of the CPU allocator: in use, and cached for reuse.\n"
                     "# TYPE skinnet_tensor_bytes gauge\nskinnet_tensor_bytes{{state=\"allocated\"}} {}\n"
                     "skinnet_tensor_bytes{{state=\"cached\"}} {}\n",
                     a.allocated_bytes, a.cached_bytes);
    s += fmt::format("# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                     "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {}\n",
                     resident_bytes());
    return s;
  }

 private:
  mutable std::mutex m_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  Histogram latency_{{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}};
  Histogram batch_size_{{1, 2, 4, 8, 16, 32, 64}};
  Histogram inference_{{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}};
};

// ---- the inference worker

struct JobResult {
  Tensor logits;               // [classes]
  std::vector<float> cam_map;  // raw Grad-CAM map of the top class, when asked
  int64_t cam_height = 0, cam_width = 0, cam_class = -1;
  std::string error;           // the batch failed
};

struct Job {
  Tensor input;  // [3, S, S]
  bool cam = false;
  Clock::time_point enqueued = Clock::now();
  std::atomic<bool> abandoned{false};  // its request timed out: skip it
  std::promise<JobResult> result;
};

class Worker {
 public:
  Worker(Network& model, const ServeOptions& options, Metrics& metrics)
      : model_(model), cam_(model), options_(options), metrics_(metrics), thread_([this] { loop(); }) {}
  ~Worker() { stop(); }

  // False when the queue is full (the caller answers 503).
  bool submit(const std::shared_ptr<Job>& job) {
    {
      const std::lock_guard lock(m_);
      if (stopping_ || static_cast<int64_t>(queue_.size()) >= options_.max_queue) return false;
      queue_.push_back(job);
    }
    cv_.notify_one();
    return true;
  }
  int64_t depth() const {
    const std::lock_guard lock(m_);
    return static_cast<int64_t>(queue_.size());
  }
  // Answers what is queued, then ends the thread.
  void stop() {
    {
      const std::lock_guard lock(m_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }
  const std::string& cam_layer() const { return cam_.layer(); }

 private:
  void loop() {
    for (;;) {
      std::vector<std::shared_ptr<Job>> batch;
      {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything answered
        // Dynamic batching: wait for the batch to fill, at most max_delay after the oldest image arrived.
        const auto deadline = queue_.front()->enqueued + after(options_.max_delay_ms / 1e3);
        cv_.wait_until(lock, deadline, [&] {
          return stopping_ || static_cast<int64_t>(queue_.size()) >= options_.max_batch;
        });
        while (!queue_.empty() && static_cast<int64_t>(batch.size()) < options_.max_batch) {
          if (!queue_.front()->abandoned) batch.push_back(queue_.front());
          queue_.pop_front();
        }
      }
      if (!batch.empty()) run(batch);
    }
  }

  void run(const std::vector<std::shared_ptr<Job>>& batch) {
    std::vector<JobResult> results(batch.size());
    try {
      std::vector<Tensor> inputs, cam_inputs;
      for (const auto& job : batch) inputs.push_back(job->input.unsqueeze(0));
      const Clock::time_point start = Clock::now();
      Tensor logits;
      {
        NoGradGuard no_grad;
        logits = model_(cat(inputs, 0));  // the fused model, as skinnet predict runs it
      }
      metrics_.batch(static_cast<int64_t>(batch.size()), seconds_since(start));
      std::vector<size_t> want_cam;
      std::vector<int64_t> cam_classes;
      for (size_t i = 0; i < batch.size(); ++i) {
        results[i].logits = logits.select(0, static_cast<int64_t>(i)).clone();
        if (!batch[i]->cam) continue;
        want_cam.push_back(i);
        cam_inputs.push_back(inputs[i]);
        cam_classes.push_back(argmax(results[i].logits, 0).to_vector<int64_t>()[0]);
      }
      if (!want_cam.empty()) {  // Grad-CAM needs its own forward pass with a graph after the target layer
        cam_.forward(cat(cam_inputs, 0));
        const Tensor maps = cam_.maps(cam_classes);  // [m, h, w]
        for (size_t k = 0; k < want_cam.size(); ++k) {
          JobResult& r = results[want_cam[k]];
          r.cam_map = maps.select(0, static_cast<int64_t>(k)).contiguous().to_vector<float>();
          r.cam_height = maps.size(1);
          r.cam_width = maps.size(2);
          r.cam_class = cam_classes[k];
        }
      }
    } catch (const std::exception& e) {
      for (JobResult& r : results) {
        r = JobResult();
        r.error = e.what();
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) batch[i]->result.set_value(std::move(results[i]));
  }

  Network& model_;
  GradCam cam_;
  const ServeOptions& options_;
  Metrics& metrics_;
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

// The routes, for 405 answers and the request counter's labels.
const std::map<std::string, std::string>& route_methods() {
  static const std::map<std::string, std::string> routes = {
      {"/", "GET"},           {"/app.js", "GET"}, {"/style.css", "GET"}, {"/api/model", "GET"},
      {"/api/predict", "POST"}, {"/healthz", "GET"}, {"/metrics", "GET"}};
  return routes;
}

std::string content_type(const std::string& path) {
  if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (path.ends_with(".css")) return "text/css; charset=utf-8";
  return "text/html; charset=utf-8";
}

}  // namespace

json model_card(const LoadedModel& loaded) {
  const Network& model = *loaded.model;
  json classes = json::array(), names = json::array();
  for (int64_t c = 0; c < model.num_classes(); ++c) {
    classes.push_back(class_name(loaded.classes, c));
    names.push_back(class_label(loaded.classes, c));
  }
  json card{{"arch", model.arch()},
            {"classes", classes},
            {"class_names", names},
            {"input_size", loaded.prep.input_size},
            {"cam_layer", model.cam_layer()},
            {"source", std::filesystem::path(loaded.source).filename().string()},
            {"version", kSkinnetVersion},
            {"dataset", nullptr},
            {"metrics", nullptr},
            {"disclaimer",
             "This is a research model, not a medical device. It has not been validated for diagnosis: its "
             "outputs must not be used to decide on the care of any person. See a dermatologist about any "
             "skin lesion that worries you."}};
  // The dataset: skinnet runs record it in the model file's metadata.
  if (auto it = loaded.metadata.find("dataset"); it != loaded.metadata.end()) card["dataset"] = json::parse(it->second);
  // The run's test metrics: metrics.json beside the model file.
  const std::filesystem::path metrics = std::filesystem::path(loaded.source).parent_path() / "metrics.json";
  if (std::filesystem::exists(metrics)) {
    std::ifstream in(metrics);
    const json m = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (m.is_object() && m.contains("balanced_accuracy") && m.contains("per_class")) {
      json per_class = json::array();
      for (const json& c : m["per_class"]) {
        const std::string code = c.value("class", "");
        per_class.push_back({{"class", code}, {"name", class_display_name(code)}, {"recall", c.value("recall", 0.0)},
                             {"support", c.value("support", 0)}});
      }
      card["metrics"] = {{"balanced_accuracy", m["balanced_accuracy"]}, {"n", m.value("n", 0)}, {"per_class", per_class}};
    }
  }
  return card;
}

struct Server::Impl {
  Impl(LoadedModel loaded, ServeOptions opts)
      : model(std::move(loaded)), options(std::move(opts)), card(model_card(model)) {
    fuse_for_inference(*model.model);
    model.model->eval();
    worker = std::make_unique<Worker>(*model.model, options, metrics);
    routes();
  }

  void routes() {
    svr.new_task_queue = [n = options.threads] { return new httplib::ThreadPool(static_cast<size_t>(n)); };
    svr.set_payload_max_length(static_cast<size_t>(options.max_body_bytes));
    // An answer goes out as headers then body: with Nagle's algorithm the body waits for the client's
    // delayed ACK, 40 ms on Linux, longer than a ResNet-18 forward pass.
    svr.set_tcp_nodelay(true);
    // cpp-httplib 0.11 (Debian's, compiled into its library) listens with a backlog of 5 and closes a
    // keep-alive connection after 5 requests. With 32 clients the accept queue overflowed (the kernel's
    // ListenOverflows counter: 33 in one bench-serve run): the dropped handshakes cost their clients a 1 s
    // retransmission (p99 1.27 s against p50 0.25 s) and now and then a request got no answer at all. So the
    // listening socket is remembered here and listen() is called again with the system's maximum once bound
    // (Linux then raises the backlog), and a connection serves up to 100 requests, as nginx's default.
    svr.set_socket_options([this](socket_t sock) {
      httplib::default_socket_options(sock);
      listen_socket = sock;
    });
    svr.set_keep_alive_max_count(100);
    svr.set_default_headers({{"X-Content-Type-Options", "nosniff"},
                             {"Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:"}});
    for (const Asset& a : serve_assets()) {
      const std::string path = a.path == "/index.html" ? "/" : std::string(a.path);
      svr.Get(path, [a](const httplib::Request&, httplib::Response& res) {
        res.set_content(a.bytes.data(), a.bytes.size(), content_type(std::string(a.path)).c_str());
      });
    }
    svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"ok"})", "application/json");
    });
    svr.Get("/api/model", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(card.dump(), "application/json");
    });
    svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics.text(worker->depth()), "text/plain; version=0.0.4");
    });
    svr.Post("/api/predict", [this](const httplib::Request& req, httplib::Response& res) {
      const Clock::time_point start = Clock::now();
      try {
        predict(req, res, start);
      } catch (const HttpError& e) {
        send_error(res, e.status, e.what());
      } catch (const std::exception& e) {
        send_error(res, 500, fmt::format("internal error: {}", e.what()));
      }
      metrics.latency(seconds_since(start));
    });
    // Answers httplib gives itself (no route: 404; body over the limit: 413; a malformed request: 400) get
    // the same JSON body as ours; a known route asked with the wrong method is 405 with Allow.
    svr.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // one of ours
      const auto& known = route_methods();
      if (res.status == 404) {
        if (auto it = known.find(req.path); it != known.end()) {
          res.set_header("Allow", it->second);
          send_error(res, 405, fmt::format("{} {}: this route takes {} only", req.method, req.path, it->second));
          return httplib::Server::HandlerResponse::Handled;
        }
        send_error(res, 404, fmt::format("{} {}: no such route (see GET /api/model, POST /api/predict)", req.method,
                                         req.path));
      } else if (res.status == 413 &&
                 req.get_header_value("Content-Type") == "application/x-www-form-urlencoded") {
        send_error(res, 413, "a form-urlencoded body is limited to 8 KB: send the image as a multipart form "
                             "(curl -F image=@lesion.jpg) or as the raw body with its type "
                             "(-H 'Content-Type: image/jpeg')");
      } else if (res.status == 413) {
        send_error(res, 413, fmt::format("the request body is over the {} MB limit (--max-body-mb)",
                                         static_cast<double>(options.max_body_bytes) / (1 << 20)));
      } else if (res.status == 400) {
        send_error(res, 400, fmt::format("{} {}: malformed request (a body without Content-Length, or a broken "
                                         "multipart form?)", req.method, req.path));
      } else {
        send_error(res, res.status, fmt::format("{} {}: the request could not be handled (HTTP {})", req.method, req.path,
                                                res.status));
      }
      return httplib::Server::HandlerResponse::Handled;
    }));
    svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      const auto& known = route_methods();
      metrics.request(known.count(req.path) ? req.path : "other", res.status);
    });
  }

  void predict(const httplib::Request& req, httplib::Response& res, Clock::time_point start) {
    // The image: a multipart form's "image" field, or the raw body.
    std::string name = "upload";
    const std::string* body = &req.body;
    httplib::MultipartFormData form;  // get_file_value returns a copy: it must outlive `body`
    if (req.is_multipart_form_data()) {
      if (req.files.size() != 1 || !req.has_file("image"))
        throw HttpError(400, "send one image per request, in a multipart form field named 'image' (or as the raw body)");
      form = req.get_file_value("image");
      body = &form.content;
      if (!form.filename.empty()) name = form.filename;
    }
    if (body->empty()) throw HttpError(400, "the request holds no image: the body is empty");
    int64_t top = options.top;
    if (req.has_param("top")) {
      const std::string t = req.get_param_value("top");
      const bool digits = !t.empty() && t.size() < 6 && t.find_first_not_of("0123456789") == std::string::npos;
      if (!digits || std::stoll(t) < 1) throw HttpError(400, fmt::format("?top={}: must be a positive integer", t));
      top = std::stoll(t);
    }
    bool cam = false;
    if (req.has_param("cam")) {
      const std::string c = req.get_param_value("cam");
      if (c != "0" && c != "1" && c != "true" && c != "false") throw HttpError(400, fmt::format("?cam={}: must be 0 or 1", c));
      cam = c == "1" || c == "true";
    }
    const auto* bytes = reinterpret_cast<const uint8_t*>(body->data());
    ImageInfo info;
    try {
      info = image_info(bytes, body->size(), name);
    } catch (const std::exception& e) {
      throw HttpError(400, e.what());
    }
    if (info.height * info.width > options.max_pixels)  // before decoding: a small file can declare a huge image
      throw HttpError(413, fmt::format("{}: {}x{} pixels is over the limit of {} megapixels", name, info.width,
                                       info.height, static_cast<double>(options.max_pixels) / 1e6));
    Image image;
    try {
      image = decode_image_bytes(bytes, body->size(), name);
    } catch (const std::exception& e) {
      throw HttpError(400, e.what());
    }
    auto job = std::make_shared<Job>();
    job->input = preprocess_image(image, model.prep);
    job->cam = cam;
    std::future<JobResult> future = job->result.get_future();
    if (!worker->submit(job)) {
      res.set_header("Retry-After", "1");
      throw HttpError(503, fmt::format("the server is busy: {} images are waiting; retry in a second", options.max_queue));
    }
    const auto deadline = start + after(options.timeout_s);
    if (future.wait_until(deadline) != std::future_status::ready) {
      job->abandoned = true;
      throw HttpError(504, fmt::format("{}: no answer within the {} s timeout (--timeout)", name, options.timeout_s));
    }
    const JobResult r = future.get();
    if (!r.error.empty()) throw HttpError(500, fmt::format("{}: inference failed: {}", name, r.error));
    json j = prediction_json(name, r.logits, model.classes, top);
    if (cam) {
      const Image overlay = cam_overlay(image, model.prep, normalize_cam(r.cam_map), r.cam_height, r.cam_width);
      j["cam"] = {{"layer", worker->cam_layer()},
                  {"class", class_name(model.classes, r.cam_class)},
                  {"name", class_label(model.classes, r.cam_class)},
                  {"index", r.cam_class},
                  {"png", "data:image/png;base64," + report::base64(encode_png(overlay))}};
    }
    res.set_content(j.dump(), "application/json");
  }

  LoadedModel model;
  ServeOptions options;
  json card;
  Metrics metrics;
  std::unique_ptr<Worker> worker;
  httplib::Server svr;
  socket_t listen_socket = INVALID_SOCKET;  // set by the socket options callback when bind() creates it
};

Server::Server(LoadedModel model, ServeOptions options)
    : impl_(std::make_unique<Impl>(std::move(model), std::move(options))) {}

Server::~Server() = default;

int Server::bind() {
  const ServeOptions& o = impl_->options;
  const int port = o.port == 0 ? impl_->svr.bind_to_any_port(o.host) : (impl_->svr.bind_to_port(o.host, o.port) ? o.port : -1);
  NN_CHECK(port > 0, "serve: cannot listen on {}:{} (in use, or not an address of this machine?)", o.host, o.port);
  // A deeper accept queue than httplib's 5 (see routes()); on failure the backlog just stays at 5.
  if (impl_->listen_socket != INVALID_SOCKET) ::listen(impl_->listen_socket, SOMAXCONN);
  return port;
}

void Server::run() {
  impl_->svr.listen_after_bind();
  impl_->worker->stop();  // the connection threads have finished; answer anything still queued
}

void Server::stop() { impl_->svr.stop(); }

}  // namespace nn
