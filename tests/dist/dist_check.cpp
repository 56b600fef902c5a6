// The data-parallel equivalence checks' worker (tests/test_dist.cpp runs it under mpirun with 1, 2 and 3
// ranks). It uses the real pieces of a distributed run — World on MPI, GradientReducer, synchronised
// BatchNorm2d — on a fixed random batch, so runs with different rank counts can be compared exactly.
//
//   dist_check compare A B               ||A - B|| / ||B|| over the float tensors of two weight files
//                                        (tests/test_dist.cpp compares every run with it)
//   dist_check bn                        synchronised batch norm on N ranks against batch_norm of the whole
//                                        batch on one: prints {"forward":..,"input_grad":..,"param_grad":..,
//                                        "running":..} (max |difference| / max |value|, float64)
//   dist_check train --out F [options]   `steps` SGD steps, then `steps` AdamW steps, on global batches split
//                                        among the ranks; rank 0 writes the parameters and buffers after each
//                                        to F-sgd.safetensors and F-adamw.safetensors
//     --dtype f32|f64  --arch resnet18|vgg11  --sync-bn 0|1  --lr 0.01 (AdamW: lr/10)  --steps 5  --batch 6
//     --size 32  --device cpu|cuda (rank r on GPU local_rank)  --emulate-ranks K (one process: DDP's per-rank semantics computed by hand, below)
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "layers/batch_norm.h"
#include "models/network.h"
#include "tensor/ops.h"
#include "tensor/shard.h"
#include "train/dist/reducer.h"
#include "train/dist/world.h"
#include "train/optim/optim.h"
#include "weights/load.h"
#include "weights/safetensors.h"

using namespace nn;

namespace {

double rel_error(const Tensor& a, const Tensor& b) {
  const auto x = a.to(DType::f64).contiguous().to_vector<double>(), y = b.to(DType::f64).contiguous().to_vector<double>();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    diff = std::max(diff, std::abs(x[i] - y[i]));
    scale = std::max(scale, std::abs(y[i]));
  }
  return diff / std::max(scale, 1e-300);
}


int check_bn(dist::World& world) {
  Generator gen(7);
  const Tensor x_all = randn({6, 3, 5, 4}, gen, DType::f64) * 2.0 + 0.5;
  const Tensor r_all = randn({6, 3, 5, 4}, gen, DType::f64);  // loss = sum(y * r)
  const auto [lo, hi] = share_rows(6, world.rank(), world.size());

  BatchNorm2d ref(3, 1e-5, 0.1);
  ref.to(DType::f64);
  {
    NoGradGuard no_grad;
    ref.weight.fill_(1.5);
    ref.bias.fill_(-0.25);
  }
  Tensor x_ref = x_all.clone().requires_grad_();
  const Tensor y_ref = ref(x_ref);
  sum(y_ref * r_all).backward();

  BatchNorm2d bn(3, 1e-5, 0.1);
  bn.to(DType::f64);
  {
    NoGradGuard no_grad;
    bn.weight.fill_(1.5);
    bn.bias.fill_(-0.25);
  }
  bn.set_sync(std::shared_ptr<Collective>(&world, [](Collective*) {}));
  Tensor x = x_all.slice(0, lo, hi).clone().requires_grad_();
  const Tensor y = bn(x);
  sum(y * r_all.slice(0, lo, hi)).backward();
  Tensor gw = bn.weight.grad().clone(), gb = bn.bias.grad().clone();  // this rank's part of the sums
  world.all_reduce_sum(gw);
  world.all_reduce_sum(gb);

  std::vector<double> e{rel_error(y, y_ref.slice(0, lo, hi)), rel_error(x.grad(), x_ref.grad().slice(0, lo, hi)),
                        std::max(rel_error(gw, ref.weight.grad()), rel_error(gb, ref.bias.grad())),
                        std::max(rel_error(bn.running_mean, ref.running_mean), rel_error(bn.running_var, ref.running_var))};
  std::vector<double> worst = e;  // the worst over ranks: each checks its own rows
  for (double& v : worst) v = 0;
  std::vector<double> all = world.all_gather(e);
  for (size_t i = 0; i < all.size(); ++i) worst[i % 4] = std::max(worst[i % 4], all[i]);
  if (world.rank() == 0)
    std::printf("{\"forward\": %.3g, \"input_grad\": %.3g, \"param_grad\": %.3g, \"running\": %.3g}\n", worst[0],
                worst[1], worst[2], worst[3]);
  return 0;
}

// ||a - b|| / ||b|| over every float tensor of two weight or checkpoint files (a checkpoint's optimiser
// state left out); an error when the files share fewer than 10 float tensors (nothing much was compared).
double weights_difference(const std::string& a_path, const std::string& b_path) {
  const SafetensorsFile a = SafetensorsFile::open(a_path), b = SafetensorsFile::open(b_path);
  double diff = 0, norm = 0;
  int64_t compared = 0;
  for (const std::string& name : b.names()) {
    if (name.rfind("optim.", 0) == 0) continue;
    const Tensor y = b.get(name);
    if (y.dtype() == DType::i64) continue;
    ++compared;
    const auto xv = a.get(name).to(DType::f64).to_vector<double>(), yv = y.to(DType::f64).to_vector<double>();
    if (xv.size() != yv.size()) throw std::runtime_error(name + ": the files' shapes differ");
    for (size_t i = 0; i < xv.size(); ++i) {
      diff += (xv[i] - yv[i]) * (xv[i] - yv[i]);
      norm += yv[i] * yv[i];
    }
  }
  if (compared < 10) throw std::runtime_error(fmt::format("{}: only {} float tensors to compare", b_path, compared));
  return std::sqrt(diff / norm);
}

struct TrainArgs {
  std::string out, dtype = "f64", arch = "resnet18", device = "cpu";
  bool sync_bn = true;
  double lr = 0.01;
  int64_t steps = 5, batch = 6, size = 32, emulate = 0;
};

int check_train(dist::World& world, const TrainArgs& a) {
  const DType dtype = a.dtype == "f64" ? DType::f64 : DType::f32;
  ModelOptions mo;
  mo.num_classes = 5;
  mo.seed = 11;
  mo.dropout = 0;
  auto model = make_model(a.arch, mo);
  model->to(dtype);
  // --device cuda: each rank on its node's GPU local_rank (the reducer then sums with NCCL).
  const Device device = a.device == "cuda" ? Device::cuda(world.local_rank()) : Device::cpu();
  model->to(device);
  model->train();
  if (a.sync_bn && world.distributed())
    for (auto& [name, m] : model->named_modules())
      if (auto* bn = dynamic_cast<BatchNorm2d*>(m)) bn->set_sync(std::shared_ptr<Collective>(&world, [](Collective*) {}));
  auto params = model->named_parameters(Trainable::only);
  std::unique_ptr<dist::GradientReducer> reducer;
  if (world.distributed()) {
    dist::ReducerOptions ro;
    ro.first_bucket_bytes = 64 << 10;  // small buckets: several in flight during backward
    ro.bucket_bytes = 2 << 20;
    reducer = std::make_unique<dist::GradientReducer>(world, params, ro);
  }
  std::vector<std::pair<std::string, Tensor>> buffers = model->named_buffers();
  // `steps` SGD steps, then `steps` AdamW steps (a fresh optimiser), the weights saved after each.
  for (const std::string phase : {"sgd", "adamw"}) {
    OptimizerOptions oo;
    oo.type = phase;
    auto optimizer = make_optimizer(oo, {ParamGroup{"all", params, phase == "sgd" ? a.lr : a.lr * 0.1, 1e-4}});
    for (int64_t step = 0; step < a.steps; ++step) {
      Generator gen(1000 + static_cast<uint64_t>(step) + (phase == "sgd" ? 0 : 100));
      const Tensor images = randn({a.batch, 3, a.size, a.size}, gen, dtype).to(device);
      const Tensor labels = randint(0, 5, {a.batch}, gen).to(device);
      optimizer->zero_grad();
      if (a.emulate > 1) {
        // DDP by hand in one process: each rank's share runs forward and backward on its own (per-rank batch
        // statistics); the gradients are summed weighted by share size; the running statistics are those
        // of rank 0's share, the ones DDP keeps (it broadcasts rank 0's buffers).
        std::map<std::string, Tensor> grads, rank0_buffers;
        for (int k = 0; k < a.emulate; ++k) {
          const auto [lo, hi] = share_rows(a.batch, k, a.emulate);
          for (auto& [name, p] : params) p.zero_grad();
          cross_entropy((*model)(images.slice(0, lo, hi)), labels.slice(0, lo, hi)).backward();
          const double w = static_cast<double>(hi - lo) / static_cast<double>(a.batch);
          for (auto& [name, p] : params) {
            const Tensor g = p.grad() * w;
            grads[name] = grads.count(name) ? add(grads[name], g) : g;
          }
          if (k == 0)
            for (auto& [name, b] : buffers) rank0_buffers[name] = b.clone();
        }
        for (auto& [name, p] : params) p.set_grad(grads[name]);
        NoGradGuard no_grad;
        for (auto& [name, b] : buffers) b.copy_(rank0_buffers[name]);
      } else {
        // What the trainer does: this rank's share of the loss, weighted by its share of the batch.
        const auto [lo, hi] = share_rows(a.batch, world.rank(), world.size());
        const Tensor loss = cross_entropy((*model)(images.slice(0, lo, hi)), labels.slice(0, lo, hi));
        if (reducer) reducer->begin();
        (loss * (static_cast<double>(hi - lo) / static_cast<double>(a.batch))).backward();
        if (reducer) reducer->finish();
        if (!a.sync_bn && world.distributed())  // DDP: rank 0's buffers
          for (auto& [name, b] : buffers) world.broadcast(b);
      }
      optimizer->step();
    }
    if (world.rank() == 0) save_weights(*model, a.out + "-" + phase + ".safetensors", {{"ranks", std::to_string(world.size())}});
    // The ranks hold one model: the same bits on every rank (a hash of every parameter's bytes).
    uint64_t hash = 1469598103934665603ull;
    for (const auto& [name, p] : params) {
      const Tensor c = p.to(Device::cpu()).contiguous();
      const auto* bytes = static_cast<const unsigned char*>(c.raw_data());
      for (size_t i = 0; i < static_cast<size_t>(c.numel()) * dtype_size(c.dtype()); ++i)
        hash = (hash ^ bytes[i]) * 1099511628211ull;
    }
    const std::vector<int64_t> hashes = world.all_gather(std::vector<int64_t>{static_cast<int64_t>(hash)});
    for (int64_t h : hashes)
      if (h != hashes.front()) throw std::runtime_error("the ranks' parameters differ after the " + phase + " steps");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  dist::World& world = dist::World::get();
  world.init();
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    int status = 2;
    if (mode == "bn") {
      status = check_bn(world);
    } else if (mode == "train") {
      TrainArgs a;
      for (int i = 2; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--out") a.out = v;
        else if (k == "--dtype") a.dtype = v;
        else if (k == "--device") a.device = v;
        else if (k == "--arch") a.arch = v;
        else if (k == "--sync-bn") a.sync_bn = v == "1";
        else if (k == "--steps") a.steps = std::stoll(v);
        else if (k == "--lr") a.lr = std::stod(v);
        else if (k == "--batch") a.batch = std::stoll(v);
        else if (k == "--size") a.size = std::stoll(v);
        else if (k == "--emulate-ranks") a.emulate = std::stoll(v);
        else throw std::runtime_error("unknown option " + k);
      }
      status = check_train(world, a);
    } else if (mode == "compare" && argc == 4) {
      std::printf("%.3g\n", weights_difference(argv[2], argv[3]));
      status = 0;
    } else {
      std::fprintf(stderr, "usage: dist_check bn | train --out FILE [options] | compare A B\n");
    }
    world.finalize();
    return status;
  } catch (const std::exception& e) {
    world.fail(fmt::format("dist_check: {}", e.what()));
  }
}
