// skinnet serve: a trained model behind HTTP: a page to upload images and read the prediction with its
// Grad-CAM, and a JSON API (tools/serve/server.h, docs/serving.md).
//
//   skinnet serve --checkpoint runs/demo/model.safetensors                   http://127.0.0.1:8080/
//   skinnet serve --checkpoint C --host 0.0.0.0 --port 9000 --max-batch 16   reachable from other machines
//   curl -F image=@lesion.jpg 'http://127.0.0.1:8080/api/predict?cam=1'
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "tools/serve/server.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"

namespace nn {

Flags serve_flags() {
  Flags flags("serve", "Serves a model over HTTP: an upload page and a JSON API, with dynamic batching.",
              "skinnet serve (--checkpoint C | --arch A --weights W) [--host H] [--port P] [options]");
  add_model_flags(flags);
  flags.add("host", "127.0.0.1", "address to listen on (0.0.0.0: every interface; only this machine by default)")
      .add("port", "8080", "TCP port (0: any free port, printed on the first line)")
      .add("threads", "64", "connection threads (each serves one connection at a time: keep it above the "
                            "number of clients, or some wait for a thread)")
      .add("max-batch", "8", "images per inference batch")
      .add("max-delay-ms", "5", "how long the worker waits for a batch to fill after the first image")
      .add("max-queue", "64", "images waiting for the model; more are answered 503 with Retry-After")
      .add("timeout", "30", "seconds a request may take, queueing included; then 504")
      .add("max-body-mb", "20", "largest request body; larger is 413")
      .add("max-megapixels", "40", "largest image, by the size its header declares (checked before decoding); 413")
      .add("top", "5", "classes in each answer's \"top\" list unless the request says ?top=K");
  flags.epilog(
      "Routes: GET / (the page), POST /api/predict[?top=K&cam=1], GET /api/model, GET /healthz, GET /metrics "
      "(Prometheus). SIGTERM or Ctrl-C stops accepting, answers what is in flight and exits 0. Uploads stay "
      "in memory. docs/serving.md has curl examples and deployment behind a reverse proxy.");
  return flags;
}

int serve_main(int argc, char** argv) {
  Flags flags = serve_flags();
  if (!flags.parse(argc, argv)) return 0;
  ServeOptions o;
  o.host = flags.str("host");
  o.port = static_cast<int>(flags.integer("port"));
  o.threads = static_cast<int>(flags.integer("threads"));
  o.max_batch = flags.integer("max-batch");
  o.max_delay_ms = flags.real("max-delay-ms");
  o.max_queue = flags.integer("max-queue");
  o.timeout_s = flags.real("timeout");
  o.max_body_bytes = static_cast<int64_t>(flags.real("max-body-mb") * (1 << 20));
  o.max_pixels = static_cast<int64_t>(flags.real("max-megapixels") * 1e6);
  o.top = flags.integer("top");
  NN_USAGE_CHECK(!o.host.empty(), "--host must not be empty");
  NN_USAGE_CHECK(o.port >= 0 && o.port <= 65535, "--port {} is not a TCP port (0..65535)", o.port);
  NN_USAGE_CHECK(o.threads >= 1, "--threads must be at least 1");
  NN_USAGE_CHECK(o.max_batch >= 1 && o.max_queue >= 1 && o.top >= 1, "--max-batch, --max-queue and --top must be positive");
  NN_USAGE_CHECK(o.max_delay_ms >= 0 && o.timeout_s > 0, "--max-delay-ms must be >= 0 and --timeout positive");
  NN_USAGE_CHECK(o.max_body_bytes > 0 && o.max_pixels > 0, "--max-body-mb and --max-megapixels must be positive");

  // glibc gives threads their own malloc arenas (up to 8 per core), moves its mmap threshold as it goes
  // and trims the heap when its top is free: with 64 connection threads decoding megabyte-sized images, RSS
  // crept up (resnet50, 32 clients: +1% per 200 requests from 400 to 1600) and swung by up to 9% between
  // two measurements. Two arenas, large blocks from the heap and no trimming below 256 MiB: RSS rises to
  // the steady-state need within a few hundred requests and stays there (docs/serving.md). Returning large
  // blocks to the system on every free instead (a fixed 256 KiB mmap threshold) halved the throughput.
  mallopt(M_ARENA_MAX, 2);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);

  // SIGTERM and SIGINT go to one thread that stops the server; every other thread (created below) has them
  // blocked, so no handler runs in the middle of a request.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  LoadedModel loaded = load_model_from_flags(flags);
  const std::string arch = loaded.model->arch(), source = loaded.source;
  Server server(std::move(loaded), o);
  const int port = server.bind();
  std::printf("serving %s (%s) on http://%s:%d/  (max batch %lld, max delay %g ms, queue %lld; SIGTERM or Ctrl-C stops)\n",
              arch.c_str(), source.c_str(), o.host.c_str(), port, static_cast<long long>(o.max_batch), o.max_delay_ms,
              static_cast<long long>(o.max_queue));
  std::fflush(stdout);
  // A signal can arrive before the server is listening, when stop() has nothing to stop yet: the stopper
  // keeps asking until run() has returned.
  std::atomic<bool> done{false};
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (done) return;
    std::printf("%s: finishing the requests in flight\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    std::fflush(stdout);
    while (!done) {
      server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  server.run();
  done = true;
  kill(getpid(), SIGTERM);  // wakes the stopper when run() ended without a signal; blocked, so harmless
  stopper.join();
  std::printf("stopped\n");
  return 0;
}

}  // namespace nn
