// skinnet bench-serve: load on a running `skinnet serve`, over real HTTP: many concurrent clients posting
// one image, as the load test in `make test` and docs/serving.md's figures do.
//
//   skinnet serve --checkpoint C --port 8080 &
//   skinnet bench-serve --url http://127.0.0.1:8080 --image lesion.jpg --requests 500 --clients 32
//
// A warm-up round (--warmup requests) comes first, long enough for the server to reach its steady memory
// (every connection thread has decoded images, every batch size has been allocated); the server's resident memory (process_resident_memory_bytes
// from its /metrics) is read after it and after the measured run, and the mean batch size is the change of
// its skinnet_batch_size histogram over the run. Prints throughput, latency percentiles, answers by status,
// mean batch and the memory growth; --json prints the same as one line. Exit 1 when a request got no HTTP
// answer or an answer other than 200 or 503 (an honest "busy").
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"

namespace nn {

namespace {

using Clock = std::chrono::steady_clock;

struct Outcome {
  int status = -1;  // -1: no HTTP answer (connection refused, reset, timed out)
  double seconds = 0;
};

// A value of the server's /metrics page: the sample named exactly `name` (no labels).
double metric(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  NN_FAIL("bench-serve: the server's /metrics has no '{}'", name);
}

std::string get_metrics(httplib::Client& client) {
  const httplib::Result r = client.Get("/metrics");
  NN_CHECK(r && r->status == 200, "bench-serve: GET /metrics failed ({})",
           r ? fmt::format("HTTP {}", r->status) : httplib::to_string(r.error()));
  return r->body;
}

// `n` requests from `clients` threads, each with its own keep-alive connection.
std::vector<Outcome> send(const std::string& url, const std::string& path, const std::string& image, int64_t n,
                          int64_t clients) {
  std::vector<Outcome> out(static_cast<size_t>(n));
  std::atomic<int64_t> next{0};
  std::vector<std::thread> threads;
  for (int64_t c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      httplib::Client client(url);
      client.set_read_timeout(120, 0);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);  // as curl and browsers: no Nagle delay between headers and body
      for (int64_t i; (i = next++) < n;) {
        const Clock::time_point start = Clock::now();
        const httplib::Result r = client.Post(path, image, "application/octet-stream");
        out[static_cast<size_t>(i)] = {r ? r->status : -1, std::chrono::duration<double>(Clock::now() - start).count()};
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return out;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p / 100 * static_cast<double>(v.size())))];
}

}  // namespace

Flags bench_serve_flags() {
  Flags flags("bench-serve", "Load test of a running skinnet serve: throughput, latency, batching, memory.",
              "skinnet bench-serve --url http://127.0.0.1:8080 --image FILE [--requests 500] [--clients 32]");
  flags.add("url", "", "the server, e.g. http://127.0.0.1:8080")
      .add("image", "", "the image every request posts")
      .add("requests", "500", "measured requests")
      .add("clients", "32", "concurrent clients (threads, one connection each)")
      .add("warmup", "500", "requests sent before measuring (enough for every connection thread and batch size)")
      .add_switch("cam", "ask for the Grad-CAM overlay too (?cam=1)")
      .add_switch("json", "print the figures as one JSON line");
  return flags;
}

int bench_serve_main(int argc, char** argv) {
  Flags flags = bench_serve_flags();
  if (!flags.parse(argc, argv)) return 0;
  flags.require("url").require("image");
  const int64_t n = flags.integer("requests"), clients = flags.integer("clients"), warmup = flags.integer("warmup");
  NN_USAGE_CHECK(n > 0 && clients > 0 && warmup >= 0, "--requests and --clients must be positive, --warmup >= 0");
  std::ifstream in(flags.str("image"), std::ios::binary);
  NN_CHECK(in, "{}: cannot open the image", flags.str("image"));
  const std::string image{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const std::string url = flags.str("url"), path = flags.on("cam") ? "/api/predict?cam=1" : "/api/predict";
  httplib::Client client(url);

  send(url, path, image, warmup, clients);
  const std::string before = get_metrics(client);
  const Clock::time_point start = Clock::now();
  const std::vector<Outcome> outcomes = send(url, path, image, n, clients);
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const std::string after = get_metrics(client);

  std::map<int, int64_t> by_status;
  std::vector<double> latencies;
  for (const Outcome& o : outcomes) {
    ++by_status[o.status];
    if (o.status == 200) latencies.push_back(o.seconds);
  }
  const double batches = metric(after, "skinnet_batch_size_count") - metric(before, "skinnet_batch_size_count");
  const double images = metric(after, "skinnet_batch_size_sum") - metric(before, "skinnet_batch_size_sum");
  const double rss_warm = metric(before, "process_resident_memory_bytes");
  const double rss_after = metric(after, "process_resident_memory_bytes");
  nlohmann::json status = nlohmann::json::object();
  for (const auto& [s, count] : by_status) status[s < 0 ? "no answer" : std::to_string(s)] = count;
  const nlohmann::json j{{"requests", n},
                         {"clients", clients},
                         {"status", status},
                         {"seconds", wall},
                         {"requests_per_s", static_cast<double>(n) / wall},
                         {"p50_ms", 1e3 * percentile(latencies, 50)},
                         {"p95_ms", 1e3 * percentile(latencies, 95)},
                         {"p99_ms", 1e3 * percentile(latencies, 99)},
                         {"mean_batch", batches > 0 ? images / batches : 0.0},
                         {"rss_warm_mib", rss_warm / (1 << 20)},
                         {"rss_after_mib", rss_after / (1 << 20)},
                         {"rss_growth", rss_after / rss_warm - 1}};
  if (flags.on("json")) {
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%lld requests from %lld clients in %.2f s: %.1f requests/s\n", static_cast<long long>(n),
                static_cast<long long>(clients), wall, j["requests_per_s"].get<double>());
    std::printf("answers: %s\n", status.dump().c_str());
    std::printf("latency of 200s: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms\n", j["p50_ms"].get<double>(),
                j["p95_ms"].get<double>(), j["p99_ms"].get<double>());
    std::printf("mean batch %.2f images; server RSS %.1f MiB after warm-up, %.1f MiB after the run (%+.1f%%)\n",
                j["mean_batch"].get<double>(), j["rss_warm_mib"].get<double>(), j["rss_after_mib"].get<double>(),
                100 * j["rss_growth"].get<double>());
  }
  for (const auto& [s, count] : by_status)
    if (s != 200 && s != 503) return 1;
  return 0;
}

}  // namespace nn
