// Learning-rate schedules (see schedule.h and docs/optim.md).
//
// step, cosine and the warmup are closed forms of the epoch. PyTorch computes the same lrs recursively
// (each from the previous one), which agrees to a few ulps; the tests compare with torch's sequence.
// plateau is a state machine and copies ReduceLROnPlateau.step line by line.
#include "train/optim/schedule.h"

#include <cmath>
#include <numbers>

namespace nn {

void validate_schedule(const ScheduleOptions& o) {
  NN_CHECK(o.type == "none" || o.type == "step" || o.type == "cosine" || o.type == "plateau",
           "schedule: unknown type '{}'; expected none, step, cosine or plateau", o.type);
  NN_CHECK(o.warmup_epochs >= 0, "schedule: warmup_epochs {} must be >= 0", o.warmup_epochs);
  if (o.warmup_epochs > 0) {
    NN_CHECK(o.type != "plateau", "schedule: plateau takes no warmup (warmup_epochs {})", o.warmup_epochs);
    NN_CHECK(o.warmup_start_factor > 0 && o.warmup_start_factor <= 1,
             "schedule: warmup_start_factor {} outside (0, 1]", o.warmup_start_factor);
  }
  NN_CHECK(std::isfinite(o.min_lr) && o.min_lr >= 0, "schedule: min_lr {} must be finite and >= 0", o.min_lr);
  if (o.type == "step") {
    NN_CHECK(o.step_size > 0, "schedule: step needs step_size > 0 (got {})", o.step_size);
    NN_CHECK(std::isfinite(o.gamma) && o.gamma > 0, "schedule: step gamma {} must be finite and > 0", o.gamma);
  }
  if (o.type == "cosine")
    NN_CHECK(o.total_epochs > o.warmup_epochs, "schedule: cosine needs total_epochs ({}) > warmup_epochs ({})",
             o.total_epochs, o.warmup_epochs);
  if (o.type == "plateau") {
    NN_CHECK(o.mode == "min" || o.mode == "max", "schedule: plateau mode '{}'; expected min or max", o.mode);
    NN_CHECK(o.factor > 0 && o.factor < 1, "schedule: plateau factor {} outside (0, 1)", o.factor);
    NN_CHECK(o.patience >= 0, "schedule: plateau patience {} must be >= 0", o.patience);
    NN_CHECK(o.cooldown >= 0, "schedule: plateau cooldown {} must be >= 0", o.cooldown);
    NN_CHECK(std::isfinite(o.threshold) && o.threshold >= 0, "schedule: plateau threshold {} must be >= 0",
             o.threshold);
  }
}

LrSchedule::LrSchedule(const ScheduleOptions& options, Optimizer& optimizer)
    : options_(options), optimizer_(optimizer) {
  validate_schedule(options_);
  for (size_t g = 0; g < optimizer_.groups().size(); ++g) base_lrs_.push_back(optimizer_.lr(g));
  lrs_ = base_lrs_;
}

double LrSchedule::lr_at(size_t group, double epoch) const {
  const ScheduleOptions& o = options_;
  const double base = base_lrs_[group];
  const auto warmup = static_cast<double>(o.warmup_epochs);
  // LinearLR(start_factor, end_factor=1, total_iters=warmup)
  if (epoch < warmup) return base * (o.warmup_start_factor + (1 - o.warmup_start_factor) * epoch / warmup);
  const double t = epoch - warmup;  // epochs since the warmup (the milestone of torch's SequentialLR)
  if (o.type == "step") return base * std::pow(o.gamma, std::floor(t / static_cast<double>(o.step_size)));
  if (o.type == "cosine") {
    // CosineAnnealingLR(T_max = total - warmup, eta_min = min_lr), closed form
    const auto period = static_cast<double>(o.total_epochs - o.warmup_epochs);
    return o.min_lr + (base - o.min_lr) * (1 + std::cos(std::numbers::pi * t / period)) / 2;
  }
  if (o.type == "plateau") return lrs_[group];
  return base;
}

void LrSchedule::apply(double epoch) {
  for (size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_lr(g, lr_at(g, epoch));
}

void LrSchedule::begin_epoch(int64_t epoch) {
  NN_CHECK(epoch >= 0, "schedule: epoch {} must be >= 0", epoch);
  // Past T_max torch's cosine would rise again; a run that long was configured with the wrong total.
  NN_CHECK(options_.type != "cosine" || epoch < options_.total_epochs,
           "schedule: cosine epoch {} is past total_epochs {}", epoch, options_.total_epochs);
  apply(static_cast<double>(epoch));
}

void LrSchedule::begin_step(int64_t epoch, int64_t step, int64_t steps_per_epoch) {
  NN_CHECK(steps_per_epoch > 0 && step >= 0 && step < steps_per_epoch,
           "schedule: step {} of an epoch of {} steps", step, steps_per_epoch);
  if (epoch >= options_.warmup_epochs) return begin_epoch(epoch);
  NN_CHECK(epoch >= 0, "schedule: epoch {} must be >= 0", epoch);
  apply(static_cast<double>(epoch) + static_cast<double>(step) / static_cast<double>(steps_per_epoch));
}

void LrSchedule::end_epoch(double metric) {
  if (options_.type != "plateau") return;
  const ScheduleOptions& o = options_;
  // is_better with threshold_mode 'rel'; with no best yet torch compares with +-inf, which every finite
  // metric beats (and NaN does not).
  bool better;
  if (o.mode == "min") better = has_best_ ? metric < best_ * (1 - o.threshold) : metric < INFINITY;
  else better = has_best_ ? metric > best_ * (1 + o.threshold) : metric > -INFINITY;
  if (better) {
    best_ = metric;
    has_best_ = true;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
  }
  if (num_bad_epochs_ > o.patience) {
    for (size_t g = 0; g < lrs_.size(); ++g) {
      const double old_lr = optimizer_.lr(g), new_lr = std::max(old_lr * o.factor, o.min_lr);
      if (old_lr - new_lr > 1e-8) lrs_[g] = new_lr;  // torch's eps: smaller changes are skipped
      else lrs_[g] = old_lr;
      optimizer_.set_lr(g, lrs_[g]);
    }
    cooldown_counter_ = o.cooldown;
    num_bad_epochs_ = 0;
  }
}

nlohmann::json LrSchedule::save() const {
  nlohmann::json j = {{"type", options_.type}, {"base_lrs", base_lrs_}};
  if (options_.type == "plateau")
    j["plateau"] = {{"lrs", lrs_},
                    {"best", has_best_ ? nlohmann::json(best_) : nlohmann::json(nullptr)},
                    {"num_bad_epochs", num_bad_epochs_},
                    {"cooldown_counter", cooldown_counter_}};
  return j;
}

void LrSchedule::load(const nlohmann::json& state) {
  NN_CHECK(state.is_object() && state.contains("type") && state.contains("base_lrs"),
           "schedule state: lacks type or base_lrs (got {})", state.dump());
  const std::string type = state["type"].get<std::string>();
  NN_CHECK(type == options_.type, "schedule state: saved by a '{}' schedule, loading into '{}'", type, options_.type);
  const auto base = state["base_lrs"].get<std::vector<double>>();
  NN_CHECK(base.size() == base_lrs_.size(), "schedule state: {} groups saved, the optimizer has {}", base.size(),
           base_lrs_.size());
  std::vector<double> lrs = base;
  bool has_best = false;
  double best = 0;
  int64_t bad = 0, cooldown = 0;
  if (type == "plateau") {
    NN_CHECK(state.contains("plateau"), "schedule state: plateau schedule without its 'plateau' state");
    const nlohmann::json& p = state["plateau"];
    lrs = p.at("lrs").get<std::vector<double>>();
    NN_CHECK(lrs.size() == base_lrs_.size(), "schedule state: plateau lrs for {} groups, the optimizer has {}",
             lrs.size(), base_lrs_.size());
    has_best = !p.at("best").is_null();
    if (has_best) best = p["best"].get<double>();
    bad = p.at("num_bad_epochs").get<int64_t>();
    cooldown = p.at("cooldown_counter").get<int64_t>();
  }
  base_lrs_ = base;
  lrs_ = lrs;
  has_best_ = has_best;
  best_ = best;
  num_bad_epochs_ = bad;
  cooldown_counter_ = cooldown;
}

}  // namespace nn
