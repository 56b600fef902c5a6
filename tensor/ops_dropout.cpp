// dropout: draws the mask from the caller's Generator (kernels/dropout.h) and records the backward.
#include "kernels/dropout.h"
#include "kernels/random.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"
#include "tensor/shard.h"

namespace nn {

namespace {
thread_local const BatchShard* t_shard = nullptr;
}  // namespace

BatchShard::BatchShard(int64_t first_row, int64_t total_rows)
    : first_(first_row), total_(total_rows), previous_(t_shard) {
  NN_CHECK(first_row >= 0 && first_row < total_rows, "BatchShard: row {} is not in a batch of {}", first_row, total_rows);
  t_shard = this;
}
BatchShard::~BatchShard() { t_shard = previous_; }
const BatchShard* BatchShard::current() { return t_shard; }

namespace {

struct DropoutBackward final : Node {
  SavedTensor mask;  // already scaled by 1/(1-p)
  const char* name() const override { return "DropoutBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override { return {mul(g, mask.get(*this))}; }
  void release() override { mask.reset(); }
};

}  // namespace

Tensor dropout(const Tensor& input, double p, bool training, Generator& gen) {
  check_floating(input, "dropout");
  NN_CHECK(p >= 0 && p <= 1, "dropout: probability p={} is not in [0, 1]", p);
  if (!training || p == 0) return input;
  if (p == 1) return mul(input, 0.0);  // every element dropped; keeps the graph, no 1/0 scale
  const Tensor x = input.contiguous();
  Tensor y = empty_like(x), mask = empty_like(x);
  auto draw = [&](Tensor& out, Tensor& out_mask, const Tensor& in, uint64_t offset) {
    dispatch<DropoutForwardKernels>("dropout", in, [&](auto kernel, auto t) {
      using T = decltype(t);
      kernel(out.data<T>(), out_mask.data<T>(), in.data<T>(), in.numel(), p, gen.seed(), offset);
    });
  };
  const BatchShard* shard = BatchShard::current();
  if (!shard || x.ndim() == 0 || x.numel() == 0) {
    draw(y, mask, x, gen.reserve(random_counters(RandomKind::uniform, DType::f32, x.numel())));
  } else {
    // Rows [first, first + rows) of the global batch (tensor/shard.h). Element e of the global batch draws
    // from counter start + e / 4, word e % 4: when the shard's first element is a multiple of 4 that is the
    // kernel at offset start + first / 4; otherwise the global mask is drawn and the shard's rows taken.
    const int64_t rows = x.size(0), per_row = x.numel() / rows, first = shard->first_row() * per_row;
    NN_CHECK(shard->first_row() + rows <= shard->total_rows(),
             "dropout: {} rows from row {} do not fit the global batch of {} (BatchShard)", rows, shard->first_row(),
             shard->total_rows());
    const uint64_t start = gen.reserve(random_counters(RandomKind::uniform, DType::f32, shard->total_rows() * per_row));
    if (first % 4 == 0) {
      draw(y, mask, x, start + static_cast<uint64_t>(first / 4));
    } else {
      Shape global = x.shape();
      global[0] = shard->total_rows();
      Tensor ones_in = ones(global, x.dtype(), x.device()), unused = empty_like(ones_in), global_mask = empty_like(ones_in);
      draw(unused, global_mask, ones_in, start);
      mask = global_mask.slice(0, shard->first_row(), shard->first_row() + rows).contiguous();
      NoGradGuard no_grad;  // the node below records the backward
      y = mul(x.detach(), mask);
    }
  }
  if (auto node = new_node<DropoutBackward>({&input})) {
    node->mask = SavedTensor(mask);
    attach(y, node);
  }
  return y;
}

}  // namespace nn
