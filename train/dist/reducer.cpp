// Bucketed, overlapped gradient allreduce (see reducer.h).
#include "train/dist/reducer.h"

#include <fmt/format.h>

#include "base/error.h"
#include "tensor/ops.h"

namespace nn::dist {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

GradientReducer::GradientReducer(World& world, std::vector<std::pair<std::string, Tensor>> params,
                                 ReducerOptions options)
    : world_(world), params_(std::move(params)) {
  NN_CHECK(options.first_bucket_bytes > 0 && options.bucket_bytes > 0, "distributed: bucket sizes must be positive");
  const DType dtype = params_.empty() ? DType::f32 : params_.front().second.dtype();
  for (const auto& [name, p] : params_)
    NN_CHECK(p.dtype() == dtype, "distributed: parameter {} is {}, the others {}; one dtype per model", name,
             dtype_name(p.dtype()), dtype_name(dtype));
  // Reverse registration order: the last layers' gradients are final first.
  place_.assign(params_.size(), {0, 0});
  copied_.assign(params_.size(), false);
  int64_t filled = 0;
  for (size_t k = params_.size(); k-- > 0;) {
    const int64_t bytes = params_[k].second.numel() * static_cast<int64_t>(dtype_size(dtype));
    const int64_t limit = buckets_.size() <= 1 ? options.first_bucket_bytes : options.bucket_bytes;
    if (buckets_.empty() || (filled > 0 && filled + bytes > limit)) {
      buckets_.emplace_back();
      filled = 0;
    }
    Bucket& b = buckets_.back();
    b.offsets.push_back(filled / static_cast<int64_t>(dtype_size(dtype)));
    place_[k] = {buckets_.size() - 1, b.params.size()};
    b.params.push_back(k);
    filled += bytes;
    index_[params_[k].second.impl()] = k;
  }
  const Device device = params_.empty() ? Device::cpu() : params_.front().second.device();
  if (!device.is_cpu() && world_.distributed() && NcclGroup::built()) nccl_ = std::make_unique<NcclGroup>(world_);
  for (Bucket& b : buckets_) {
    const size_t last = b.params.back();
    b.buffer = empty({b.offsets.back() + params_[last].second.numel()}, dtype, nccl_ ? device : Device::cpu());
  }
  reset_stats();
}

GradientReducer::~GradientReducer() {
  // A step abandoned by an exception: the job is ending (World::fail aborts every rank). Waiting for the
  // allreduces in flight could hang (another rank may never start its part), and freeing their buffers would
  // let MPI write into freed memory: the buffers stay alive until the process ends.
  static std::vector<Tensor> in_flight;
  for (Bucket& b : buckets_)
    if (b.started && !b.request.done) in_flight.push_back(b.buffer);
}

int64_t GradientReducer::total_bytes() const {
  int64_t n = 0;
  for (const Bucket& b : buckets_) n += b.buffer.numel() * static_cast<int64_t>(dtype_size(b.buffer.dtype()));
  return n;
}

std::vector<int64_t> GradientReducer::bucket_bytes() const {
  std::vector<int64_t> out;
  for (const Bucket& b : buckets_) out.push_back(b.buffer.numel() * static_cast<int64_t>(dtype_size(b.buffer.dtype())));
  return out;
}

std::string GradientReducer::transport() const { return nccl_ ? nccl_->version() : "MPI"; }

std::string GradientReducer::describe() const {
  std::vector<std::string> sizes;
  for (int64_t b : bucket_bytes()) sizes.push_back(fmt::format("{:.2f}", static_cast<double>(b) / (1 << 20)));
  return fmt::format("{} gradient bucket{} of {} MiB ({} parameter tensors, {:.2f} MiB per step, {})", buckets_.size(),
                     buckets_.size() == 1 ? "" : "s", fmt::join(sizes, ", "), params_.size(),
                     static_cast<double>(total_bytes()) / (1 << 20), transport());
}

void GradientReducer::begin() {
  NN_CHECK(!active_, "distributed: begin() twice without finish()");
  active_ = true;
  next_bucket_ = 0;
  std::fill(copied_.begin(), copied_.end(), false);
  for (Bucket& b : buckets_) {
    b.pending = b.params.size();
    b.started = false;
  }
  hook_.emplace([this](TensorImpl* leaf) { ready(leaf); });
}

void GradientReducer::ready(TensorImpl* leaf) {
  const auto it = index_.find(leaf);
  if (it == index_.end()) return;  // not a parameter this reducer sums (e.g. an input that requires grad)
  copy_in(it->second);
  start_ready_buckets();
  progress();
}

void GradientReducer::copy_in(size_t k) {
  if (copied_[k]) return;
  copied_[k] = true;
  const auto [bucket, slot] = place_[k];
  Bucket& b = buckets_[bucket];
  const Tensor& p = params_[k].second;
  const Tensor dst = b.buffer.slice(0, b.offsets[slot], b.offsets[slot] + p.numel());
  const Tensor g = p.grad();
  if (g.defined()) {
    dst.copy_(g.reshape({-1}).to(dst.device()));
  } else {
    dst.zero_();  // no gradient reached it this step: it contributes nothing
  }
  --b.pending;
}

void GradientReducer::start_ready_buckets() {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0) {
    Bucket& b = buckets_[next_bucket_++];
    if (nccl_) {
      nccl_->start_all_reduce_sum(b.buffer.raw_data(), b.buffer.numel(), b.buffer.dtype());
    } else {
      b.request = world_.start_all_reduce_sum(b.buffer.raw_data(), b.buffer.numel(), b.buffer.dtype());
    }
    b.started = true;
  }
}

void GradientReducer::progress() {
  for (size_t i = 0; i < next_bucket_; ++i)
    if (!buckets_[i].request.done) world_.test(buckets_[i].request);
}

void GradientReducer::finish() {
  NN_CHECK(active_, "distributed: finish() without begin()");
  hook_.reset();
  active_ = false;
  for (size_t k = 0; k < params_.size(); ++k) copy_in(k);  // parameters no gradient reached
  const auto backward_end = std::chrono::steady_clock::now();
  start_ready_buckets();
  const auto t0 = std::chrono::steady_clock::now();
  for (Bucket& b : buckets_) world_.wait(b.request);
  if (nccl_) nccl_->wait();  // the compute stream waits; the host does not
  stats_.last_wait_seconds = seconds_since(t0);
  stats_.last_backward_end = std::chrono::duration<double>(backward_end.time_since_epoch()).count();
  stats_.exposed_seconds += stats_.last_wait_seconds;
  ++stats_.steps;
  NoGradGuard no_grad;
  for (const Bucket& b : buckets_) {
    for (size_t slot = 0; slot < b.params.size(); ++slot) {
      const Tensor& p = params_[b.params[slot]].second;
      const Tensor sum = b.buffer.slice(0, b.offsets[slot], b.offsets[slot] + p.numel()).reshape(p.shape());
      Tensor g = p.grad();
      if (!g.defined()) {
        p.set_grad(sum.to(p.device()).clone());
      } else {
        g.copy_(sum.to(p.device()));
      }
    }
  }
}

double GradientReducer::time_blocking_reduce(int repeats) {
  world_.barrier();
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r)
    for (Bucket& b : buckets_) {
      World::Request q = world_.start_all_reduce_sum(b.buffer.raw_data(), b.buffer.numel(), b.buffer.dtype());
      world_.wait(q);
    }
  return seconds_since(t0) / std::max(repeats, 1);
}

}  // namespace nn::dist
