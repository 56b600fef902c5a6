// Optimisers, clipping and lr schedules: hand-computed SGD/Adam/AdamW steps, 5-step runs against
// torch.optim (tests/torch_cases_optim.py) with parameters and state compared after every step, frozen
// parameters holding no state, 30-epoch lr sequences against torch's schedulers, checkpoint round trips
// that continue bit for bit, and every bad option or checkpoint named in its error.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "layers/linear.h"
#include "tests/check.h"
#include "tests/support.h"
#include "train/optim/optim.h"
#include "train/optim/schedule.h"

namespace nn::test {

namespace {

using Named = std::vector<std::pair<std::string, Tensor>>;
const std::vector<std::string> kStateKeys = {"momentum_buffer", "exp_avg", "exp_avg_sq"};

OptimizerOptions options_of(const nlohmann::json& p) {
  return {.type = p["type"], .momentum = p["momentum"], .dampening = p["dampening"], .nesterov = p["nesterov"],
          .beta1 = p["beta1"], .beta2 = p["beta2"], .eps = p["eps"]};
}

// The case's parameters at their initial values ("frozen" ones without requires_grad), in groups.
std::vector<ParamGroup> groups_of(const TorchCase& c) {
  const auto frozen = c.params["frozen"].get<std::vector<std::string>>();
  std::vector<ParamGroup> groups;
  for (const auto& g : c.params["groups"]) {
    ParamGroup group{.name = g["name"], .params = {}, .lr = g["lr"], .weight_decay = g["weight_decay"]};
    for (const std::string name : g["params"]) {
      const Tensor init = c["init." + name];
      const bool is_frozen = std::find(frozen.begin(), frozen.end(), name) != frozen.end();
      group.params.emplace_back(name, is_frozen ? init.clone() : leaf(init));
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

std::vector<Tensor> tensors_of(const Optimizer& opt) {
  std::vector<Tensor> out;
  for (const ParamGroup& g : opt.groups())
    for (const auto& [name, p] : g.params) out.push_back(p);
  return out;
}

// The largest fraction of check_close's tolerance that any element of `got` uses (<= 1 passes).
double tolerance_used(const Tensor& got, const Tensor& want, Tol tol) {
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  double sq = 0, worst = 0;
  for (double v : w) sq += v * v;
  const double rms = w.empty() ? 0 : std::sqrt(sq / static_cast<double>(w.size()));
  for (size_t i = 0; i < g.size() && i < w.size(); ++i)
    worst = std::max(worst, std::abs(g[i] - w[i]) / (tol.rtol * std::abs(w[i]) + tol.atol_rms * rms));
  return worst;
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor x = a.contiguous(), y = b.contiguous();
  return std::memcmp(x.raw_data(), y.raw_data(), x.numel() * dtype_size(x.dtype())) == 0;
}

Tensor param(const Optimizer& opt, const std::string& name) {
  for (const ParamGroup& g : opt.groups())
    for (const auto& [n, p] : g.params)
      if (n == name) return p;
  NN_FAIL("test: no parameter {}", name);
}

// One f64 parameter per value list, each in its own group with `lr` (and `wd`), with gradient `grad`.
std::unique_ptr<Optimizer> tiny(const OptimizerOptions& o, const std::vector<double>& p, const std::vector<double>& g,
                                double lr, double wd = 0) {
  Tensor t = leaf(from_vector(p, {static_cast<int64_t>(p.size())}));
  t.set_grad(from_vector(g, {static_cast<int64_t>(g.size())}));
  return make_optimizer(o, {{.name = "all", .params = {{"p", t}}, .lr = lr, .weight_decay = wd}});
}

// Seeded parameters w [3, 4], b [4] (f32) and a gradient for step k, the same on every call.
Named make_params() {
  Generator gen(31);
  return {{"w", leaf(randn({3, 4}, gen))}, {"b", leaf(randn({4}, gen))}};
}
void set_grads(const Named& params, int64_t k) {
  Generator gen(1000 + k);
  for (const auto& [name, p] : params) p.set_grad(randn(p.shape(), gen));
}

}  // namespace

TEST_SUITE("known") {
  TEST_CASE("optim: two hand-computed SGD steps with momentum and weight decay") {
    // p = [1, -2], g = [0.5, 0.25], lr 0.1, momentum 0.9, wd 0.1.
    // step 1: d = g + 0.1 p = [0.6, 0.05]; buf = d; p -= 0.1 buf -> [0.94, -2.005]
    // step 2: d = [0.5 + 0.094, 0.25 - 0.2005] = [0.594, 0.0495]; buf = 0.9 [0.6, 0.05] + d = [1.134, 0.0945];
    //         p -= 0.1 buf -> [0.8266, -2.01445]
    auto opt = tiny({.type = "sgd", .momentum = 0.9}, {1, -2}, {0.5, 0.25}, 0.1, 0.1);
    opt->step();
    const Tensor p = param(*opt, "p");
    check_values("sgd step 1", p, {0.94, -2.005}, 1e-14);
    check_values("sgd buffer 1", opt->state("p", "momentum_buffer"), {0.6, 0.05}, 1e-14);
    opt->step();  // the gradient is still set
    check_values("sgd step 2", p, {0.8266, -2.01445}, 1e-14);
    check_values("sgd buffer 2", opt->state("p", "momentum_buffer"), {1.134, 0.0945}, 1e-14);
    CHECK(opt->steps() == 2);
  }

  TEST_CASE("optim: a hand-computed first Adam and AdamW step") {
    // Step 1: m = 0.1 g, v = 0.001 g^2; m / (1 - 0.9) = g and sqrt(v) / sqrt(1 - 0.999) = |g|, so
    // p -= lr g / (|g| + eps). g = 0.5: 0.01 * 0.5 / 0.50000001 = 0.01 - 2e-10; g = -4: 0.01 - 2.5e-11.
    auto adam = tiny({.type = "adam"}, {1, -2, 0.5}, {0.5, -4, 0}, 0.01);
    adam->step();
    check_values("adam step 1", param(*adam, "p"), {0.9900000002, -1.990000000025, 0.5}, 1e-15);
    check_values("adam exp_avg", adam->state("p", "exp_avg"), {0.05, -0.4, 0}, 1e-15);
    check_values("adam exp_avg_sq", adam->state("p", "exp_avg_sq"), {0.00025, 0.016, 0}, 1e-15);
    // AdamW with wd 0.1 first scales p by 1 - 0.01 * 0.1 = 0.999: [0.999, -1.998, 0.4995], then the same step.
    auto adamw = tiny({.type = "adamw"}, {1, -2, 0.5}, {0.5, -4, 0}, 0.01, 0.1);
    adamw->step();
    check_values("adamw step 1", param(*adamw, "p"), {0.9890000002, -1.988000000025, 0.4995}, 1e-15);
  }

  TEST_CASE("optim: clip_grad_norm scales every gradient by max_norm / (norm + 1e-6) only above max_norm") {
    Tensor a = leaf(zeros({2}, DType::f64)), b = leaf(zeros({3}, DType::f64)), none = leaf(zeros({2}, DType::f64));
    a.set_grad(from_vector<double>({3, 4}, {2}));
    b.set_grad(from_vector<double>({0, 0, 12}, {3}));
    CHECK(clip_grad_norm({a, b, none}, 20) == 13);  // sqrt(9 + 16 + 144); below max_norm: untouched
    check_values("a untouched", a.grad(), {3, 4}, 0);
    CHECK(!none.grad().defined());
    CHECK(clip_grad_norm({a, b, none}, 6.5) == 13);
    const double coef = 6.5 / (13 + 1e-6);
    check_values("a clipped", a.grad(), {3 * coef, 4 * coef}, 1e-15);
    check_values("b clipped", b.grad(), {0, 0, 12 * coef}, 1e-15);
    // A non-finite norm is returned for the caller to stop on; the gradients stay as they were.
    a.set_grad(from_vector<double>({INFINITY, 1}, {2}));
    CHECK(std::isinf(clip_grad_norm({a, b}, 1)));
    check_values("b kept", b.grad(), {0, 0, 12 * coef}, 1e-15);
    CHECK(clip_grad_norm({none}, 1) == 0);
  }

  TEST_CASE("optim: frozen parameters of a module get no state and stay unchanged; zero_grad drops grads") {
    Generator gen(5);
    Sequential net;
    net.emplace<Linear>(6, 5, true, gen).emplace<Linear>(5, 2, true, gen);
    net.freeze("0");
    const Tensor frozen_before = net.named_parameters()[0].second.clone();
    for (const std::string type : {"sgd", "adam", "adamw"}) {
      CAPTURE(type);
      auto opt = make_optimizer({.type = type}, {{.name = "all", .params = net.named_parameters(), .lr = 0.1,
                                                  .weight_decay = 0.01}});
      for (int k = 0; k < 2; ++k) {
        opt->zero_grad();
        sum(net(randn({3, 6}, gen))).backward();
        opt->step();
      }
      // Only "1.weight" [2, 5] and "1.bias" [2] are trained: 12 elements per state tensor.
      CHECK(opt->state_numel() == (type == "sgd" ? 12 : 24));
      CHECK(!opt->state("0.weight", "momentum_buffer").defined());
      CHECK(!opt->state("0.weight", "exp_avg").defined());
      CHECK(bit_equal(net.named_parameters()[0].second, frozen_before));
      opt->zero_grad();
      for (const auto& [name, p] : net.named_parameters()) CHECK(!p.grad().defined());
    }
  }

  TEST_CASE("optim: per-step warmup rises with the fraction of the epoch; then the epoch's lr") {
    Tensor p = leaf(zeros({1}));
    Optimizer opt({}, {{.name = "g", .params = {{"p", p}}, .lr = 1.0}});
    LrSchedule s({.type = "none", .warmup_epochs = 2, .warmup_start_factor = 0.1}, opt);
    s.begin_step(0, 0, 4);
    CHECK(opt.lr(0) == doctest::Approx(0.1).epsilon(1e-15));
    s.begin_step(0, 2, 4);  // epoch 0.5: 0.1 + 0.9 * 0.5 / 2
    CHECK(opt.lr(0) == doctest::Approx(0.325).epsilon(1e-15));
    s.begin_step(1, 2, 4);  // epoch 1.5: 0.1 + 0.9 * 1.5 / 2
    CHECK(opt.lr(0) == doctest::Approx(0.775).epsilon(1e-15));
    s.begin_step(2, 1, 4);
    CHECK(opt.lr(0) == 1.0);
  }
}

TEST_SUITE("torch") {
  TEST_CASE("optim: SGD, Adam and AdamW match torch.optim for 5 steps (params, state, clipping, groups)") {
    int n = 0;
    for (const TorchCase& c : torch_cases("optim")) {
      if (!c.params.contains("groups")) continue;
      CAPTURE(c.name);
      ++n;
      const Tol tol = c.params["dtype"] == "f64" ? kF64 : kF32;
      auto opt = make_optimizer(options_of(c.params), groups_of(c));
      const std::vector<Tensor> all = tensors_of(*opt);
      double used = 0;
      for (int k = 0; k < 5; ++k) {
        opt->zero_grad();
        for (const ParamGroup& g : opt->groups())
          for (const auto& [name, p] : g.params)
            if (c.has(fmt::format("grad{}.{}", k, name))) p.set_grad(c[fmt::format("grad{}.{}", k, name)].clone());
        if (!c.params["clip"].is_null()) {
          const double norm = clip_grad_norm(all, c.params["clip"]);
          check_close(fmt::format("{} norm{}", c.name, k), from_vector<double>({norm}, {1}),
                      c[fmt::format("norm{}", k)], tol);
        }
        opt->step();
        CHECK(opt->steps() == k + 1);
        int64_t state_numel = 0;
        for (const ParamGroup& g : opt->groups())
          for (const auto& [name, p] : g.params) {
            const Tensor want_p = c[fmt::format("step{}.{}", k, name)];
            check_close(fmt::format("{} step{}.{}", c.name, k, name), p, want_p, tol);
            used = std::max(used, tolerance_used(p, want_p, tol));
            for (const std::string& key : kStateKeys) {
              const std::string want = fmt::format("state{}.{}.{}", k, name, key);
              const Tensor got = opt->state(name, key);
              if (c.has(want)) {
                check_close(c.name + " " + want, got, c[want], tol);
                used = std::max(used, tolerance_used(got, c[want], tol));
                state_numel += got.numel();
              } else {
                CHECK_MESSAGE(!got.defined(), c.name, " ", want, ": state exists but torch has none");
              }
            }
          }
        CHECK(opt->state_numel() == state_numel);
      }
      const Tensor frozen = param(*opt, "frozen");
      CHECK(bit_equal(frozen, c["init.frozen"]));
      MESSAGE(c.name << ": worst error over 5 steps (params and state) = " << used << " of the tolerance");
    }
    CHECK(n == 28);
  }

  TEST_CASE("optim: step, cosine, warmup and plateau schedules give torch's lr for each of 30 epochs") {
    int n = 0;
    for (const TorchCase& c : torch_cases("optim")) {
      if (c.name.rfind("schedule_", 0) != 0) continue;
      CAPTURE(c.name);
      ++n;
      const nlohmann::json& p = c.params;
      ScheduleOptions o{.type = p["type"]};
      o.step_size = p.value("step_size", int64_t{0});
      o.gamma = p.value("gamma", 0.1);
      o.warmup_epochs = p.value("warmup_epochs", int64_t{0});
      o.warmup_start_factor = p.value("warmup_start_factor", 0.1);
      o.total_epochs = p.value("total_epochs", int64_t{0});
      o.min_lr = p.value("min_lr", 0.0);
      o.mode = p.value("mode", std::string("max"));
      o.factor = p.value("factor", 0.1);
      o.patience = p.value("patience", int64_t{2});
      o.threshold = p.value("threshold", 1e-4);
      o.cooldown = p.value("cooldown", int64_t{0});
      std::vector<ParamGroup> groups;
      for (double lr : p["base_lrs"].get<std::vector<double>>())
        groups.push_back({.name = fmt::format("g{}", groups.size()), .params = {{fmt::format("p{}", groups.size()),
                          leaf(zeros({1}))}}, .lr = lr});
      Optimizer opt({}, std::move(groups));
      LrSchedule schedule(o, opt);
      const std::vector<double> want = c["lrs"].to_vector<double>();
      const std::vector<double> metric = c.has("metric") ? c["metric"].to_vector<double>() : std::vector<double>(30);
      const size_t ng = opt.groups().size();
      double worst = 0;
      for (int64_t e = 0; e < 30; ++e) {
        schedule.begin_epoch(e);
        for (size_t g = 0; g < ng; ++g) {
          const double w = want[e * ng + g], got = opt.lr(g);
          // step, cosine and warmup are closed forms of torch's recursion, which drifts by rounding (worst
          // seen: 6e-13 relative, cosine rising to min_lr); plateau repeats torch's arithmetic exactly.
          const double err = std::abs(got - w) / std::abs(w);
          worst = std::max(worst, err);
          if (o.type == "plateau" || (o.type == "none" && o.warmup_epochs == 0))
            CHECK_MESSAGE(got == w, "epoch ", e, " group ", g, ": ", got, " vs ", w);
          else
            CHECK_MESSAGE(err <= 1e-12, "epoch ", e, " group ", g, ": ", got, " vs torch ", w);
        }
        schedule.end_epoch(metric[e]);
      }
      MESSAGE(c.name << ": worst relative lr error " << worst);
    }
    CHECK(n == 10);
  }
}

TEST_SUITE("known") {
  TEST_CASE("optim: 3 steps, save to a file, load into a fresh optimiser, 3 steps == 6 steps, bit for bit") {
    const TempDir dir("optim");
    for (const std::string type : {"sgd", "adam", "adamw"}) {
      CAPTURE(type);
      const OptimizerOptions o{.type = type, .nesterov = type == "sgd"};
      const Named ref = make_params();
      Optimizer full(o, {{.name = "all", .params = ref, .lr = 0.01, .weight_decay = 0.1}});
      for (int k = 0; k < 6; ++k) {
        set_grads(ref, k);
        full.step();
      }
      const Named first = make_params();
      Optimizer a(o, {{.name = "all", .params = first, .lr = 0.01, .weight_decay = 0.1}});
      for (int k = 0; k < 3; ++k) {
        set_grads(first, k);
        a.step();
      }
      Named tensors = first;  // the model's weights and the optimiser state in one file, as a checkpoint
      nlohmann::json meta;
      a.save_state(tensors, meta);
      const std::string path = dir / (type + ".safetensors");
      save_safetensors(path, tensors, {{"optim", meta.dump()}});

      const SafetensorsFile file = SafetensorsFile::open(path);
      std::map<std::string, Tensor> loaded;
      for (const std::string& name : file.names()) loaded[name] = file.get(name);
      const Named second = {{"w", leaf(loaded.at("w").clone())}, {"b", leaf(loaded.at("b").clone())}};
      Optimizer b(o, {{.name = "all", .params = second, .lr = 0.5, .weight_decay = 0.1}});
      b.load_state(loaded, nlohmann::json::parse(file.metadata().at("optim")));
      CHECK(b.steps() == 3);
      CHECK(b.lr(0) == 0.01);
      for (int k = 3; k < 6; ++k) {
        set_grads(second, k);
        b.step();
      }
      for (size_t i = 0; i < ref.size(); ++i) {
        CAPTURE(ref[i].first);
        CHECK(bit_equal(second[i].second, ref[i].second));
        for (const std::string& key : kStateKeys) {
          const Tensor x = full.state(ref[i].first, key), y = b.state(ref[i].first, key);
          CHECK(x.defined() == y.defined());
          if (x.defined()) CHECK(bit_equal(x, y));
        }
      }
    }
  }

  TEST_CASE("optim: a plateau schedule saved after 12 epochs continues as the uninterrupted one") {
    const std::vector<double> metric = {1.0, 0.9, 0.9, 0.95, 0.9, 0.85, 0.85, 0.85, 0.86, 0.84, 0.84, 0.84,
                                        0.84, 0.83, 0.83, 0.83, 0.83, 0.9, 0.8, 0.8};
    const ScheduleOptions o{.type = "plateau", .mode = "min", .factor = 0.5, .patience = 1, .cooldown = 1};
    auto make = [] {
      return Optimizer({}, {{.name = "a", .params = {{"a", leaf(zeros({1}))}}, .lr = 0.1},
                            {.name = "b", .params = {{"b", leaf(zeros({1}))}}, .lr = 0.02}});
    };
    Optimizer full = make();
    LrSchedule s(o, full);
    std::vector<double> want;
    for (int64_t e = 0; e < 20; ++e) {
      s.begin_epoch(e);
      want.push_back(full.lr(0));
      want.push_back(full.lr(1));
      s.end_epoch(metric[e]);
    }
    Optimizer first = make();
    LrSchedule s1(o, first);
    for (int64_t e = 0; e < 12; ++e) {
      s1.begin_epoch(e);
      s1.end_epoch(metric[e]);
    }
    const std::string saved = s1.save().dump();
    Optimizer second = make();
    second.set_lr(0, 0.5);  // base lrs come from the checkpoint, not from the optimiser
    LrSchedule s2(o, second);
    s2.load(nlohmann::json::parse(saved));
    CHECK(s2.base_lrs() == std::vector<double>{0.1, 0.02});
    for (int64_t e = 12; e < 20; ++e) {
      s2.begin_epoch(e);
      CHECK(second.lr(0) == want[2 * e]);
      CHECK(second.lr(1) == want[2 * e + 1]);
      s2.end_epoch(metric[e]);
    }
    CHECK(want[2 * 19] < want[2 * 11]);  // the sequence did reduce after the save point
  }
}

TEST_SUITE("errors") {
  TEST_CASE("optim: bad options and groups are refused with the option and group named") {
    Tensor w = leaf(zeros({2})), v = leaf(zeros({2}));
    auto group = [&](double lr, double wd = 0) {
      return std::vector<ParamGroup>{{.name = "head", .params = {{"fc.weight", w}}, .lr = lr, .weight_decay = wd}};
    };
    using doctest::Contains;
    CHECK_THROWS_WITH_AS(make_optimizer({.type = "rmsprop"}, group(0.1)), Contains("unknown type 'rmsprop'"), Error);
    CHECK_THROWS_WITH_AS(make_optimizer({}, group(-0.1)), Contains("lr -0.1 of group 'head'"), Error);
    CHECK_THROWS_WITH_AS(make_optimizer({}, group(NAN)), Contains("lr nan of group 'head'"), Error);
    CHECK_THROWS_WITH_AS(make_optimizer({}, group(0.1, -1)), Contains("weight_decay -1 of group 'head'"), Error);
    CHECK_THROWS_WITH_AS(make_optimizer({.momentum = 1}, group(0.1)), Contains("momentum 1 outside [0, 1)"), Error);
    CHECK_THROWS_WITH_AS(make_optimizer({.momentum = -0.5}, group(0.1)), Contains("momentum -0.5"), Error);
    CHECK_THROWS_WITH_AS(make_optimizer({.momentum = 0, .nesterov = true}, group(0.1)),
                         Contains("nesterov needs momentum > 0 and dampening 0"), Error);
    CHECK_THROWS_WITH_AS(make_optimizer({.dampening = 0.1, .nesterov = true}, group(0.1)),
                         Contains("dampening 0.1"), Error);
    CHECK_THROWS_WITH_AS(make_optimizer({.type = "adam", .beta1 = 1}, group(0.1)), Contains("beta1 1 outside [0, 1)"),
                         Error);
    CHECK_THROWS_WITH_AS(make_optimizer({.type = "adamw", .beta2 = -0.1}, group(0.1)), Contains("adamw beta2 -0.1"),
                         Error);
    CHECK_THROWS_WITH_AS(make_optimizer({.type = "adam", .eps = -1}, group(0.1)), Contains("eps -1"), Error);
    CHECK_THROWS_WITH_AS(make_optimizer({}, {}), Contains("no parameter groups"), Error);
    CHECK_THROWS_WITH_AS(make_optimizer({}, {{.name = "a", .params = {{"x", w}, {"x", v}}, .lr = 1}}),
                         Contains("parameter name 'x' appears twice"), Error);
    CHECK_THROWS_WITH_AS(make_optimizer({}, {{.name = "a", .params = {{"x", w}}, .lr = 1},
                                             {.name = "b", .params = {{"y", w}}, .lr = 1}}),
                         Contains("'y' in group 'b' is a tensor already given"), Error);
    CHECK_THROWS_WITH_AS(make_optimizer({}, {{.name = "a", .params = {{"n", zeros({2}, DType::i64)}}, .lr = 1}}),
                         Contains("parameter 'n' in group 'a'"), Error);
    CHECK_THROWS_WITH_AS(make_optimizer({}, {{.name = "a", .params = {{"u", Tensor()}}, .lr = 1}}),
                         Contains("'u' in group 'a' is undefined"), Error);
    auto opt = make_optimizer({}, group(0.1));
    CHECK_THROWS_WITH_AS(opt->set_lr(1, 0.1), Contains("group 1 but there are 1 groups"), Error);
    CHECK_THROWS_WITH_AS(opt->set_lr(0, -1), Contains("lr -1 of group 'head'"), Error);
    w.set_grad(zeros({2}));
    CHECK_THROWS_WITH_AS(clip_grad_norm({w}, 0), Contains("max_norm 0"), Error);
    // A step is an in-place write: backward through a graph that saved the old values is refused, as in torch.
    const Tensor y = sum(mul(w, w));
    opt->step();
    CHECK_THROWS_WITH_AS(y.backward(), Contains("modified in place after it was saved"), Error);
  }

  TEST_CASE("optim: a checkpoint that does not fit names the key or group and changes nothing") {
    Tensor w = leaf(ones({2, 3})), b = leaf(ones({3}));
    auto make = [&](const std::string& type, std::vector<std::pair<std::string, Tensor>> params) {
      return make_optimizer({.type = type}, {{.name = "all", .params = std::move(params), .lr = 0.1}});
    };
    auto saver = make("adam", {{"w", w}, {"b", b}});
    w.set_grad(ones({2, 3}));
    b.set_grad(ones({3}));
    saver->step();
    Named saved;
    nlohmann::json meta;
    saver->save_state(saved, meta);
    std::map<std::string, Tensor> tensors(saved.begin(), saved.end());
    CHECK(tensors.count("optim.w.exp_avg") == 1);
    CHECK(meta["param_steps"]["w"] == 1);
    using doctest::Contains;
    CHECK_THROWS_WITH_AS(make("sgd", {{"w", w}, {"b", b}})->load_state(tensors, meta),
                         Contains("saved by a 'adam' optimizer, loading into 'sgd'"), Error);
    CHECK_THROWS_WITH_AS(make("adam", {{"w", w}, {"c", b}})->load_state(tensors, meta),
                         Contains("parameter 1 is 'b' in the checkpoint but 'c' here"), Error);
    CHECK_THROWS_WITH_AS(make("adam", {{"w", w}})->load_state(tensors, meta),
                         Contains("saved 2 parameters, has 1"), Error);
    auto two = make_optimizer({.type = "adam"}, {{.name = "a", .params = {{"w", w}}, .lr = 1},
                                                 {.name = "b", .params = {{"b", b}}, .lr = 1}});
    CHECK_THROWS_WITH_AS(two->load_state(tensors, meta), Contains("1 parameter groups saved, this optimizer has 2"),
                         Error);
    auto fresh = make("adam", {{"w", w}, {"b", b}});
    auto bad = tensors;
    bad["optim.w.exp_avg"] = zeros({3, 2});
    CHECK_THROWS_WITH_AS(fresh->load_state(bad, meta), Contains("'optim.w.exp_avg' has shape [3, 2] but the parameter "
                                                                "has [2, 3]"), Error);
    bad = tensors;
    bad["optim.w.exp_avg"] = zeros({2, 3}, DType::f64);
    CHECK_THROWS_WITH_AS(fresh->load_state(bad, meta), Contains("'optim.w.exp_avg' is f64"), Error);
    bad = tensors;
    bad.erase("optim.b.exp_avg_sq");
    CHECK_THROWS_WITH_AS(fresh->load_state(bad, meta), Contains("'optim.b.exp_avg' without 'optim.b.exp_avg_sq'"),
                         Error);
    bad = tensors;
    bad["optim.conv1.weight.exp_avg"] = zeros({1});
    CHECK_THROWS_WITH_AS(fresh->load_state(bad, meta), Contains("'optim.conv1.weight.exp_avg' belongs to no"), Error);
    nlohmann::json no_steps = meta;
    no_steps["param_steps"].erase("w");
    CHECK_THROWS_WITH_AS(fresh->load_state(tensors, no_steps), Contains("'optim.w.exp_avg' has no step count"), Error);
    CHECK(fresh->state_numel() == 0);  // every failed load left it untouched
    CHECK(fresh->steps() == 0);
    bad = tensors;
    bad["model.fc.weight"] = zeros({1});  // other keys of a checkpoint are not the optimiser's business
    fresh->load_state(bad, meta);
    CHECK(fresh->state_numel() == 18);
  }

  TEST_CASE("optim: bad schedule options, epochs and checkpoints name the option") {
    Tensor p = leaf(zeros({1}));
    Optimizer opt({}, {{.name = "g", .params = {{"p", p}}, .lr = 1.0}});
    using doctest::Contains;
    auto make = [&](const ScheduleOptions& o) { return LrSchedule(o, opt); };
    CHECK_THROWS_WITH_AS(make({.type = "linear"}), Contains("unknown type 'linear'"), Error);
    CHECK_THROWS_WITH_AS(make({.type = "step"}), Contains("step needs step_size > 0 (got 0)"), Error);
    CHECK_THROWS_WITH_AS(make({.type = "step", .step_size = 3, .gamma = 0}), Contains("gamma 0"), Error);
    CHECK_THROWS_WITH_AS(make({.type = "cosine", .warmup_epochs = 5, .total_epochs = 5}),
                         Contains("total_epochs (5) > warmup_epochs (5)"), Error);
    CHECK_THROWS_WITH_AS(make({.type = "none", .warmup_epochs = 2, .warmup_start_factor = 0}),
                         Contains("warmup_start_factor 0 outside (0, 1]"), Error);
    CHECK_THROWS_WITH_AS(make({.type = "plateau", .warmup_epochs = 2}), Contains("plateau takes no warmup"), Error);
    CHECK_THROWS_WITH_AS(make({.type = "plateau", .mode = "up"}), Contains("mode 'up'"), Error);
    CHECK_THROWS_WITH_AS(make({.type = "plateau", .factor = 1}), Contains("factor 1 outside (0, 1)"), Error);
    CHECK_THROWS_WITH_AS(make({.type = "plateau", .patience = -1}), Contains("patience -1"), Error);
    CHECK_THROWS_WITH_AS(make({.type = "cosine", .total_epochs = 3, .min_lr = -1}), Contains("min_lr -1"), Error);
    LrSchedule cosine({.type = "cosine", .total_epochs = 3}, opt);
    CHECK_THROWS_WITH_AS(cosine.begin_epoch(3), Contains("cosine epoch 3 is past total_epochs 3"), Error);
    CHECK_THROWS_WITH_AS(cosine.begin_epoch(-1), Contains("epoch -1"), Error);
    CHECK_THROWS_WITH_AS(cosine.begin_step(0, 4, 4), Contains("step 4 of an epoch of 4 steps"), Error);
    LrSchedule plateau({.type = "plateau"}, opt);
    CHECK_THROWS_WITH_AS(plateau.load(cosine.save()), Contains("saved by a 'cosine' schedule, loading into 'plateau'"),
                         Error);
    nlohmann::json two = cosine.save();
    two["base_lrs"] = {0.1, 0.2};
    CHECK_THROWS_WITH_AS(cosine.load(two), Contains("2 groups saved, the optimizer has 1"), Error);
  }
}

}  // namespace nn::test
