// Per-layer forward and backward timing (see profile.h).
#include "layers/profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "base/error.h"
#include "kernels/conv2d.h"
#include "layers/summary.h"

namespace nn {

namespace {
thread_local LayerProfiler* t_active = nullptr;
}  // namespace

LayerProfiler::LayerProfiler(Module& model, const Shape& input) {
  std::unordered_map<std::string, double> flops;
  for (const SummaryRow& r : summarize(model, input).rows) flops[r.name] += r.flops;
  for (auto& [name, m] : model.named_modules()) {
    index_[m] = static_cast<int>(rows_.size());
    Row row;
    row.name = name.empty() ? "(model)" : name;
    row.type = m->type_name();
    row.leaf = m->children().empty();
    if (auto it = flops.find(name); it != flops.end()) row.flops = it->second;
    rows_.push_back(std::move(row));
  }
  Row loss;
  loss.name = "(loss)";
  rows_.push_back(std::move(loss));
  first_call_.assign(rows_.size(), -1);
}

LayerProfiler::~LayerProfiler() { stop(); }

LayerProfiler* LayerProfiler::active() { return t_active; }

LayerProfiler::Scope::Scope(const Module* m) : profiler_(t_active), module_(m) {
  if (!profiler_) return;
  previous_ = profiler_->enter(m);
  start_ = std::chrono::steady_clock::now();
}

LayerProfiler::Scope::~Scope() {
  if (profiler_)
    profiler_->leave(module_, previous_, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count());
}

void LayerProfiler::start() {
  NN_CHECK(!t_active || t_active == this, "LayerProfiler: another profiler is already active on this thread");
  t_active = this;
  profile::set_sink(this);
  running_ = true;
}

void LayerProfiler::stop() {
  if (!running_) return;
  t_active = nullptr;
  profile::set_sink(nullptr);
  profile::set_current_layer(-1);
  running_ = false;
}

void LayerProfiler::reset() {
  for (Row& r : rows_) r.forward_ms = r.backward_ms = 0, r.calls = 0;
}

int LayerProfiler::enter(const Module* m) {
  conv2d_cpu_trace().forward = nullptr;  // leave() reads what this module's convolution ran, if any
  const int previous = profile::current_layer();
  const auto it = index_.find(m);
  profile::set_current_layer(it == index_.end() ? -1 : it->second);
  child_ms_.push_back(0);
  return previous;
}

void LayerProfiler::leave(const Module* m, int previous, double ms) {
  const double children = child_ms_.back();
  child_ms_.pop_back();
  if (!child_ms_.empty()) child_ms_.back() += ms;
  profile::set_current_layer(previous);
  const auto it = index_.find(m);
  if (it == index_.end()) return;  // a module outside the profiled model
  const int i = it->second;
  if (const char*& how = conv2d_cpu_trace().forward; how) {
    rows_[i].forward_algorithm = how;
    how = nullptr;
  }
  rows_[i].forward_ms += std::max(0.0, ms - children);
  rows_[i].calls += 1;
  if (first_call_[i] < 0) first_call_[i] = calls_seen_++;
}

void LayerProfiler::backward(int layer, double ms) {
  const size_t i = layer >= 0 && static_cast<size_t>(layer) < rows_.size() - 1 ? static_cast<size_t>(layer) : rows_.size() - 1;
  rows_[i].backward_ms += ms;
  // A convolution's node runs both backward passes; other nodes leave the trace empty.
  Conv2dCpuTrace& trace = conv2d_cpu_trace();
  if (trace.backward_data) rows_[i].backward_data_algorithm = trace.backward_data;
  if (trace.backward_weight) rows_[i].backward_weight_algorithm = trace.backward_weight;
  trace.backward_data = trace.backward_weight = nullptr;
}

std::vector<LayerProfiler::Row> LayerProfiler::rows() const {
  std::vector<size_t> order(rows_.size());
  std::iota(order.begin(), order.end(), 0);
  // Execution order; modules never called (and the loss row) go last, in registration order.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int64_t fa = first_call_[a] < 0 ? INT64_MAX : first_call_[a], fb = first_call_[b] < 0 ? INT64_MAX : first_call_[b];
    return fa < fb;
  });
  std::vector<Row> out;
  for (size_t i : order) out.push_back(rows_[i]);
  return out;
}

std::string LayerProfiler::table(int64_t steps, double peak_gflops) const {
  NN_CHECK(steps > 0, "LayerProfiler::table: steps must be positive");
  const double k = 1.0 / static_cast<double>(steps);
  double fwd = 0, bwd = 0, flop = 0;
  for (const Row& r : rows_) fwd += r.forward_ms * k, bwd += r.backward_ms * k, flop += r.flops;
  const bool algorithms = std::any_of(rows_.begin(), rows_.end(), [](const Row& r) { return !r.forward_algorithm.empty(); });
  std::string s = fmt::format("{:<28} {:<18} {:>9} {:>7} {:>9} {:>7} {:>6}{}{}\n", "layer", "type", "fwd ms", "GF/s",
                              "bwd ms", "GF/s", "%", peak_gflops > 0 ? "  % peak" : "",
                              algorithms ? "  layout   algorithm: forward / backward data / backward weight" : "");
  // "im2col+GEMM / flipped fwd: im2col+GEMM / im2col+GEMM", with "-" for a pass that did not run.
  auto how = [](const Row& r) {
    if (r.forward_algorithm.empty() && r.backward_data_algorithm.empty() && r.backward_weight_algorithm.empty()) return std::string();
    auto word = [](const std::string& w) { return w.empty() ? std::string("-") : w; };
    const std::string all = r.forward_algorithm + r.backward_data_algorithm + r.backward_weight_algorithm;
    const char* layout = all.find("nChw16c") != std::string::npos  ? "nChw16c"
                         : all.find("nChw8c") != std::string::npos ? "nChw8c"
                                                                    : "NCHW";
    return fmt::format("  {:<7}  {} / {} / {}", layout, word(r.forward_algorithm),
                       word(r.backward_data_algorithm), word(r.backward_weight_algorithm));
  };
  auto gflops = [](double f, double ms) { return f > 0 && ms > 0 ? fmt::format("{:7.1f}", f / ms / 1e6) : fmt::format("{:>7}", "-"); };
  // Backward FLOPs count only where backward ran (2 x forward: data and weight gradients).
  auto peak = [&](double f, double f_ms, double b_ms) {
    if (peak_gflops <= 0) return std::string();
    const double flops = (f_ms > 0 ? f : 0) + (b_ms > 0 ? 2 * f : 0);
    return flops > 0 ? fmt::format(" {:7.1f}", 100 * flops / (f_ms + b_ms) / 1e6 / peak_gflops) : fmt::format(" {:>7}", "-");
  };
  for (const Row& r : rows()) {
    const double f = r.forward_ms * k, b = r.backward_ms * k;
    if (f == 0 && b == 0) continue;  // containers with no computation of their own; uncalled modules
    // A layer's calls per step: a module called twice per step (none in torchvision's nets) adds up.
    const double calls = std::max(1.0, static_cast<double>(r.calls) * k);
    std::string name = r.name.size() > 28 ? r.name.substr(r.name.size() - 28) : r.name;
    std::string type = r.leaf ? r.type : r.type + " (self)";
    s += fmt::format("{:<28} {:<18} {:9.2f} {} {:9.2f} {} {:6.1f}{}{}\n", name, type.substr(0, 18), f,
                     gflops(r.flops * calls, f), b, gflops(2 * r.flops * calls, b), 100 * (f + b) / std::max(fwd + bwd, 1e-9),
                     peak(r.flops * calls, f, b), how(r));
  }
  s += fmt::format("{:<28} {:<18} {:9.2f} {} {:9.2f} {} {:6.1f}{}\n", "total", "", fwd, gflops(flop, fwd), bwd,
                   gflops(2 * flop, bwd), 100.0, peak(flop, fwd, bwd));
  return s;
}

}  // namespace nn
