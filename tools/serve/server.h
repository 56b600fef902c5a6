// skinnet serve: a trained model behind HTTP, for people (a page) and programs (a JSON API).
//
// Threads: cpp-httplib's pool of connection threads reads requests, checks and decodes the images and
// writes the answers; one inference worker owns the model. A handler puts its image in a bounded queue
// and waits; the worker takes what is waiting (up to max_batch, waiting at most max_delay after the first
// image for more, as Triton's and TorchServe's dynamic batching do), runs one batch, and hands each request
// its logits (and its Grad-CAM map when asked). A full queue is answered 503 with Retry-After at once; a
// request that waits longer than the timeout is answered 504 and dropped from the queue. docs/serving.md
// describes the routes, the limits and the metrics.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tools/skinnet/model_source.h"

namespace nn {

struct ServeOptions {
  std::string host = "127.0.0.1";  // loopback unless asked: a model is not exposed by accident
  int port = 8080;                 // 0: any free port (printed)
  int threads = 64;                // connection threads
  int64_t max_batch = 8;           // images per inference batch
  double max_delay_ms = 5;         // how long the worker waits for a batch to fill
  int64_t max_queue = 64;          // images waiting; beyond: 503
  double timeout_s = 30;           // per request, queueing included; beyond: 504
  int64_t max_body_bytes = 20 << 20;  // request body; beyond: 413
  int64_t max_pixels = 40'000'000;    // declared image size, checked before decoding; beyond: 413
  int64_t top = 5;                    // classes in "top" unless ?top= says otherwise
};

// What GET /api/model answers and the page's model card shows: architecture, classes with full names,
// input size, Grad-CAM layer, the dataset (null when unknown) and the run's test metrics (null when none).
nlohmann::json model_card(const LoadedModel& loaded);

class Server {
 public:
  Server(LoadedModel model, ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port and returns the port (the chosen one for port 0); throws when it cannot bind.
  int bind();
  // Serves until stop(); in-flight requests finish, queued images are answered, then it returns.
  void run();
  // Safe from any thread (the signal thread of `skinnet serve`).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nn
