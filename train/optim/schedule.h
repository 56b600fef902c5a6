// Learning-rate schedules: per-epoch step decay, cosine annealing, reduce-on-plateau, each after an
// optional linear warmup that can advance per optimiser step. They match torch.optim.lr_scheduler of
// PyTorch 1.13 (docs/optim.md gives the formulas and the exact torch equivalents).
//
// A schedule remembers each group's base lr (the optimiser's lr when the schedule is made, or the saved
// one after load()) and writes the optimiser's lrs. The training loop calls begin_epoch(e) before epoch e
// (or begin_step for every step, to warm up smoothly), and end_epoch(metric) after validating it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/optim/optim.h"

namespace nn {

struct ScheduleOptions {
  std::string type = "none";  // none | step | cosine | plateau
  int64_t step_size = 0;      // step: epochs between decays by gamma
  double gamma = 0.1;
  int64_t warmup_epochs = 0;  // none, step, cosine: linear warmup over these epochs first
  double warmup_start_factor = 0.1;  // lr = base * this at the start of the warmup
  int64_t total_epochs = 0;   // cosine: the run's length; the cosine spans total - warmup epochs
  double min_lr = 0;          // cosine: eta_min; plateau: the floor
  // plateau (ReduceLROnPlateau, relative threshold)
  std::string mode = "max";   // max: the metric should rise (accuracy); min: fall (loss)
  double factor = 0.1;
  int64_t patience = 2;
  double threshold = 1e-4;
  int64_t cooldown = 0;
};

// Checks the options: type and mode known, step_size > 0 (step), total_epochs > warmup_epochs (cosine),
// 0 < warmup_start_factor <= 1, gamma > 0, 0 < factor < 1, patience/cooldown/min_lr/threshold >= 0, no
// warmup with plateau.
void validate_schedule(const ScheduleOptions& options);

class LrSchedule {
 public:
  LrSchedule(const ScheduleOptions& options, Optimizer& optimizer);

  // Sets every group's lr for epoch `epoch` (0-based).
  void begin_epoch(int64_t epoch);
  // As begin_epoch, but inside the warmup the lr rises with the fraction of the epoch done:
  // epoch + step / steps_per_epoch. Outside the warmup it is begin_epoch(epoch).
  void begin_step(int64_t epoch, int64_t step, int64_t steps_per_epoch);
  // Feeds the epoch's validation metric to plateau (which may lower the lrs at once); others ignore it.
  void end_epoch(double metric);

  const ScheduleOptions& options() const { return options_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }

  // Checkpoints: type, base lrs and the plateau state. load() checks the type and the group count.
  nlohmann::json save() const;
  void load(const nlohmann::json& state);

 private:
  double lr_at(size_t group, double epoch) const;  // epoch may be fractional inside the warmup
  void apply(double epoch);

  ScheduleOptions options_;
  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  // plateau: the current lrs, the best metric so far (none yet: has_best_ false), and the counters
  std::vector<double> lrs_;
  bool has_best_ = false;
  double best_ = 0;
  int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0;
};

}  // namespace nn
