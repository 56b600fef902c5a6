// The training run (see trainer.h): setup, the stage and epoch loops, checkpoints, the final test.
#include "train/trainer.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include "base/error.h"
#include "base/parallel.h"
#include "kernels/cuda/vendor.h"
#include "kernels/gemm.h"
#include "layers/batch_norm.h"
#include "layers/fused.h"
#include "models/gradcam.h"
#include "tensor/autograd.h"
#include "tensor/shard.h"
#include "train/checkpoint.h"
#include "train/data/dataset.h"
#include "train/data/loader.h"
#include "train/data/sampling.h"
#include "train/data/split.h"
#include "train/data/synth/synth.h"
#include "train/dist/reducer.h"
#include "train/dist/world.h"
#include "train/evaluate.h"
#include "train/optim/optim.h"
#include "train/optim/schedule.h"
#include "train/progress.h"
#include "train/report/metrics.h"
#include "train/report/overlay.h"
#include "train/report/report.h"
#include "weights/load.h"

namespace nn {

namespace fs = std::filesystem;

namespace {

// Where the run stands: what a checkpoint restores.
struct RunState {
  int64_t epochs_done = 0;
  double best = std::numeric_limits<double>::quiet_NaN();
  int64_t best_epoch = 0;  // 1-based; 0: none yet
  int64_t since_best = 0;
  nlohmann::json history = nlohmann::json::array();
};

bool lower_is_better(const TrainConfig& c) { return c.select == "val_loss"; }

bool improved(const TrainConfig& c, double score, double best) {
  if (std::isnan(best)) return true;
  return lower_is_better(c) ? score < best : score > best;
}

// The stage of global epoch `epoch` (0-based) and the epoch's index within it.
std::pair<size_t, int64_t> stage_of(const TrainConfig& c, int64_t epoch) {
  for (size_t s = 0; s < c.stages.size(); ++s) {
    if (epoch < c.stages[s].epochs) return {s, epoch};
    epoch -= c.stages[s].epochs;
  }
  return {c.stages.size(), 0};
}

int64_t total_epochs(const TrainConfig& c) {
  int64_t n = 0;
  for (const StageConfig& s : c.stages) n += s.epochs;
  return n;
}

// What a classifier that learned nothing scores on the evaluated split: the majority rule (always the
// training split's largest class) and chance. Balanced accuracy is 1 / (classes present) for both; plain
// accuracy rewards the majority rule with the largest class's share, which on HAM10000 is 67%.
nlohmann::json reference_levels(const Dataset& data, const std::vector<int64_t>& train, const Metrics& evaluated) {
  const std::vector<int64_t> count = data.class_counts(train);
  const size_t majority = static_cast<size_t>(std::max_element(count.begin(), count.end()) - count.begin());
  const auto present = std::count_if(evaluated.per_class.begin(), evaluated.per_class.end(),
                                     [](const ClassMetrics& c) { return c.support > 0; });
  return {{"majority_class", data.classes[majority]},
          {"majority_accuracy", static_cast<double>(evaluated.per_class[majority].support) /
                                    static_cast<double>(evaluated.n)},
          {"chance_balanced_accuracy", 1.0 / static_cast<double>(present)}};
}

std::string reference_line(const nlohmann::json& r) {
  return fmt::format("learned nothing: always {} (the majority rule) scores accuracy {:.4f}; it and chance score "
                     "balanced accuracy {:.4f}",
                     r["majority_class"].get<std::string>(), r["majority_accuracy"].get<double>(),
                     r["chance_balanced_accuracy"].get<double>());
}

Preprocessing choose_preprocessing(const TrainConfig& c, const SafetensorsFile* weights) {
  Preprocessing p = weights ? weights_preprocessing(*weights) : Preprocessing::torchvision_imagenet();
  if (!weights && model_input_size(c.arch) != p.input_size) {  // from scratch: the architecture's native size
    p.input_size = model_input_size(c.arch);
    p.resize_shorter = (p.input_size * 8 + 6) / 7;
  }
  if (c.input_size > 0) {
    p.input_size = c.input_size;
    p.resize_shorter = c.resize_shorter >= 0 ? c.resize_shorter : (c.input_size * 8 + 6) / 7;  // 224 -> 256
  } else if (c.resize_shorter >= 0) {
    p.resize_shorter = c.resize_shorter;
  }
  return p;
}

// Freezes everything but what stage `s` trains; returns how many parameter tensors train.
// The head: the head block and every classification layer (Inception-v3's auxiliary "AuxLogits.fc" too).
std::vector<std::string> head_prefixes(const Network& model) {
  std::vector<std::string> prefixes{model.head_block()};
  for (const std::string& h : model.head_names())
    if (h.rfind(model.head_block(), 0) != 0) prefixes.push_back(h);
  return prefixes;
}

int64_t configure_trainable(Network& model, const StageConfig& s) {
  model.freeze("");
  for (const std::string& t : s.train) {
    if (t == "all") model.unfreeze("");
    else if (t != "head") model.unfreeze(t);
    for (const std::string& h : head_prefixes(model)) model.unfreeze(h);
  }
  return static_cast<int64_t>(model.parameters(Trainable::only).size());
}

// Training mode, except BatchNorm layers whose parameters are all frozen when the stage asks for it:
// their running statistics stay those of the pretrained network.
void set_train_mode(Network& model, const StageConfig& s) {
  model.train();
  if (!s.bn_eval) return;
  for (auto& [name, m] : model.named_modules()) {
    if (!dynamic_cast<BatchNorm2d*>(m)) continue;
    bool any_trainable = false;
    for (const auto& [pname, p] : m->named_parameters()) any_trainable |= p.requires_grad();
    if (!any_trainable) m->eval();
  }
}

std::vector<ParamGroup> param_groups(Network& model, const StageConfig& s, double weight_decay) {
  ParamGroup head{"head", {}, s.lr, weight_decay};
  ParamGroup backbone{"backbone", {}, s.backbone_lr > 0 ? s.backbone_lr : s.lr, weight_decay};
  const std::vector<std::string> prefixes = head_prefixes(model);
  for (auto& [name, p] : model.named_parameters(Trainable::only)) {
    const bool in_head = std::any_of(prefixes.begin(), prefixes.end(),
                                     [&](const std::string& h) { return name.rfind(h + ".", 0) == 0; });
    (in_head ? head : backbone).params.emplace_back(name, p);
  }
  std::vector<ParamGroup> groups;
  if (!head.params.empty()) groups.push_back(std::move(head));
  if (!backbone.params.empty()) groups.push_back(std::move(backbone));
  return groups;
}

OptimizerOptions optimizer_options(const TrainConfig& c) {
  OptimizerOptions o;
  o.type = c.optimizer;
  o.momentum = c.momentum;
  o.nesterov = c.nesterov;
  o.beta1 = c.beta1;
  o.beta2 = c.beta2;
  o.eps = c.eps;
  return o;
}

ScheduleOptions schedule_options(const TrainConfig& c, const StageConfig& s) {
  ScheduleOptions o;
  o.type = c.schedule;
  o.step_size = c.step_size;
  o.gamma = c.gamma;
  o.warmup_epochs = c.schedule == "plateau" ? 0 : std::min(c.warmup_epochs, s.epochs - 1);
  o.warmup_start_factor = c.warmup_start_factor;
  o.total_epochs = s.epochs;
  o.min_lr = c.min_lr;
  o.mode = lower_is_better(c) ? "min" : "max";
  o.factor = c.plateau_factor;
  o.patience = c.plateau_patience;
  return o;
}

double json_number(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::numeric_limits<double>::quiet_NaN();
}

// The validation score checkpoint.select names.
double select_score(const TrainConfig& c, const nlohmann::json& line) {
  return json_number(line, c.select.c_str());
}

std::string jsonl(const nlohmann::json& history) {
  std::string out;
  for (const auto& line : history) out += line.dump() + "\n";
  return out;
}

// The optimiser and schedule of the stage being trained; each stage builds its own. Declared in this
// order so that the schedule, which refers to the optimiser, is destroyed first.
struct StageRun {
  size_t stage;  // index into TrainConfig::stages; stages.size() before the first
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<LrSchedule> schedule;
};

// One epoch's running training figures, and its time.
struct EpochStats {
  double loss_sum = 0;  // batch loss x batch size, summed
  int64_t seen = 0, correct = 0;
  double seconds = 0, images_per_second = 0;
};

enum class AfterEpoch { go_on, stop_early };

class Trainer {
 public:
  Trainer(const TrainConfig& config, bool resume, const RunLog& log)
      : c_(config), resume_(resume), log_(log), device_(parse_device(config.device, "config: device")) {}

  RunSummary run();

 private:
  const TrainConfig& c_;
  bool resume_;
  RunLog log_;
  Device device_;  // where the model, its batches and the optimiser state live
  fs::path dir_;
  Dataset data_;
  Split split_;
  std::shared_ptr<Network> model_;
  Preprocessing prep_;
  std::map<std::string, std::string> model_options_;  // the weights' model options, recorded in the files it writes
  std::vector<std::string> notes_;
  bool synthetic_ = false;  // the data is skinnet synth's (the title and notes say so)
  RunState state_;
  Tensor class_weight_;
  nlohmann::json resume_meta_;  // the last checkpoint's JSON when resuming
  std::unique_ptr<SafetensorsFile> resume_file_;  // rank 0's; the other ranks get what it holds by broadcast
  // Data-parallel training (docs/distributed.md): rank 0 alone reads and writes the run folder.
  dist::World& world_ = dist::World::get();
  std::unique_ptr<dist::GradientReducer> reducer_;  // the stage's trainable parameters, with several ranks
  bool root() const { return world_.rank() == 0; }

  void setup();
  void train_epochs(RunSummary& summary);
  std::unique_ptr<DataLoader> make_train_loader() const;
  void enter_stage(StageRun& current, size_t stage, int64_t in_stage);
  EpochStats train_epoch(DataLoader& loader, Optimizer& optimizer, int64_t epoch, int64_t total);
  void train_step(const Batch& batch, const std::vector<Tensor>& params, const CrossEntropyOptions& loss_options,
                  Optimizer& optimizer, int64_t epoch, EpochStats& stats);
  AfterEpoch end_of_epoch(const StageRun& current, int64_t epoch, int64_t total, const EpochStats& stats);
  void precise_batch_norm(DataLoader& loader, int64_t epoch);
  nlohmann::json validate(int64_t epoch, size_t stage, double lr, double train_loss, double train_acc, double seconds,
                          double ips);
  nlohmann::json checkpoint_meta_json(size_t stage) const;
  void finish(RunSummary& summary);
  void setup_distributed();
  Tensor forward_shard(const Batch& batch);
  void sync_model_from_root(bool buffers_only);
  Predictions predict_split(const std::vector<int64_t>& indices, const EvalOptions& options);
  std::string path(const char* file) const { return (dir_ / file).string(); }
  std::string last_good() const {
    return state_.epochs_done > 0 ? path("checkpoint-last.safetensors") : "none (no epoch finished)";
  }
};

void Trainer::setup() {
  dir_ = fs::path(c_.runs_dir) / c_.name;
  NN_CHECK(c_.batch_size % world_.size() == 0,
           "config: data.batch_size {} is the global batch and must divide among the {} ranks (a multiple of {})",
           c_.batch_size, world_.size(), world_.size());
  if (root()) {
    const bool exists = fs::exists(dir_ / "checkpoint-last.safetensors");
    if (resume_) {
      NN_CHECK(exists, "{}: no checkpoint-last.safetensors to resume from", dir_.string());
    } else {
      NN_CHECK(!exists, "{}: this run folder already holds a run; resume it with --resume, or choose another name "
                        "(--name=...)", dir_.string());
    }
    fs::create_directories(dir_);
  }
  NN_CHECK(!c_.data_path.empty(), "config: data.path is empty: give a dataset (docs/data.md), or run `make train`, "
                                  "which makes the synthetic one");

  // Data and split.
  data_ = open_dataset(c_.data_path, c_.data_format == "auto" ? "" : c_.data_format);
  for (const std::string& w : data_.warnings) log_.warning(w);
  synthetic_ = is_synthetic_dataset(c_.data_path);
  if (synthetic_) {
    notes_.push_back("Trained and tested on SYNTHETIC images (skinnet synth): procedural drawings, not dermoscopy. "
                     "These figures say nothing about real skin lesions.");
    log_.text(fmt::format("NOTE: {} is a SYNTHETIC dataset (procedural images, not dermoscopy)", c_.data_path));
  }
  if (!root()) {
    // Rank 0's split (its split file, the run's split.csv or a fresh split) arrives by broadcast below.
  } else if (!c_.split_file.empty()) {
    split_ = read_split_csv(c_.split_file, data_);
  } else if (resume_) {
    split_ = read_split_csv(path("split.csv"), data_);
  } else {
    SplitOptions so;
    so.val = c_.val;
    so.test = c_.test;
    so.seed = c_.seed;
    split_ = make_split(data_, so);
  }
  world_.broadcast(split_.train);
  world_.broadcast(split_.val);
  world_.broadcast(split_.test);
  NN_CHECK(!split_.val.empty(), "{}: the validation split is empty; checkpoints are chosen on it (data.val > 0)",
           data_.root);
  if (!resume_ && root()) {
    write_split_csv(path("split.csv"), data_, split_);
    write_file_atomically(path("metrics.jsonl"), "");  // a fresh run starts a fresh log
  }
  log_.text(fmt::format("{}: {} images, {} classes\n{}", data_.name, data_.samples.size(), data_.classes.size(),
                        split_table(data_, split_)));
  log_.event("data", {{"path", c_.data_path}, {"name", data_.name}, {"images", data_.samples.size()},
                      {"classes", data_.classes}, {"synthetic", synthetic_}, {"train", split_.train.size()},
                      {"val", split_.val.size()}, {"test", split_.test.size()}});

  // Model and preprocessing.
  ModelOptions mo;
  mo.num_classes = static_cast<int64_t>(data_.classes.size());
  mo.seed = c_.seed;
  mo.dropout = c_.dropout;
  mo.stochastic_depth = c_.stochastic_depth;
  std::optional<SafetensorsFile> weights;
  if (!c_.weights.empty()) {
    weights = SafetensorsFile::open(c_.weights);
    if (auto it = weights->metadata().find("arch"); it != weights->metadata().end())
      NN_CHECK(it->second == c_.arch, "{}: holds {} weights, but model.arch is {}", c_.weights, it->second, c_.arch);
    mo = model_options_for(*weights, mo);  // the flavour (Keras), input transform, ... the weights call for
  }
  model_options_ = model_options_metadata(mo);
  model_ = make_model(c_.arch, mo);
  model_->use_aux_logits(c_.aux_weight > 0);  // Inception-v3's auxiliary classifier: off with aux_weight = 0
  // Validation, test and the frozen backbone run conv -> batch norm -> ReLU as one convolution; passes that
  // need gradients run the modules one by one (layers/fused.h). Weights loaded below reach the fused modules.
  fuse_for_inference(*model_);
  if (weights) {
    const LoadReport r = load_weights(*model_, *weights, LoadMode::finetune);
    prep_ = choose_preprocessing(c_, &*weights);
    log_.text(fmt::format("model: {}, {} tensors from {}; new {}-class head", c_.arch, r.loaded, c_.weights,
                          mo.num_classes));
  } else {
    prep_ = choose_preprocessing(c_, nullptr);
    const std::string notice = fmt::format(
        "{0} starts from random initialisation (no model.weights): every filter is learned from the {1} training "
        "images alone. With ImageNet weights (`make weights ARCH={0}`, then --model.weights=weights/{0}.safetensors; "
        "for the demo, configs/resnet18-synthetic-imagenet.toml) it would start from filters learned on 1.28 million "
        "photographs and only adapt them, the head first and then every layer at a lower rate: on real dermoscopy "
        "that is the usual way, and needs far fewer images and epochs than training from scratch. How much it gains "
        "on synthetic drawings has not been measured.",
        c_.arch, split_.train.size());
    log_.warning(notice, "NOTICE");
    notes_.push_back(notice);
  }
  log_.text(fmt::format("input: {}x{}, eval resize {}, {} mean/std", prep_.input_size, prep_.input_size,
                        prep_.resize_shorter, prep_.color_order));
  log_.event("model", {{"arch", c_.arch}, {"weights", c_.weights}, {"classes", mo.num_classes},
                       {"preprocessing", nlohmann::json::parse(prep_.to_json())}});

  if (c_.class_weights) {
    const std::vector<double> w = class_weights(data_, split_.train);
    class_weight_ = empty({static_cast<int64_t>(w.size())});
    for (size_t i = 0; i < w.size(); ++i) class_weight_.data<float>()[i] = static_cast<float>(w[i]);
    class_weight_ = class_weight_.to(device_);
  }

  if (resume_) {
    std::string meta_text;
    if (root()) {
      resume_file_ = std::make_unique<SafetensorsFile>(SafetensorsFile::open(path("checkpoint-last.safetensors")));
      resume_meta_ = checkpoint_meta(*resume_file_);
      NN_CHECK(resume_meta_.value("arch", "") == c_.arch, "{}: the checkpoint holds {}, the config asks for {}",
               resume_file_->path(), resume_meta_.value("arch", ""), c_.arch);
      load_checkpoint_model(*model_, *resume_file_);
      meta_text = resume_meta_.dump();
    }
    world_.broadcast(meta_text);  // the model's tensors follow in setup_distributed()
    if (!root()) resume_meta_ = nlohmann::json::parse(meta_text);
    restore_dropout_states(*model_, resume_meta_.at("dropout"), path("checkpoint-last.safetensors"));
    state_.epochs_done = resume_meta_.at("epochs_done").get<int64_t>();
    state_.best = resume_meta_.at("best").is_number() ? resume_meta_["best"].get<double>()
                                                       : std::numeric_limits<double>::quiet_NaN();
    state_.best_epoch = resume_meta_.at("best_epoch").get<int64_t>();
    state_.since_best = resume_meta_.at("since_best").get<int64_t>();
    state_.history = resume_meta_.at("history");
    if (root()) write_file_atomically(path("metrics.jsonl"), jsonl(state_.history));  // drop lines after the checkpoint
    log_.text(fmt::format("resuming {} after epoch {}", dir_.string(), state_.epochs_done));
    log_.event("resume", {{"run_dir", dir_.string()}, {"epochs_done", state_.epochs_done}});
  }
  setup_distributed();
  const cuda::KernelSource source = cuda::parse_kernel_source(c_.kernels, "config: kernels");
  if (source == cuda::KernelSource::vendor) set_cpu_gemm_source(CpuGemmSource::openblas);  // else as NN_CPU_GEMM says
  if (!device_.is_cpu()) {
    cuda::set_kernel_source(source);
    model_->to(device_);  // after loading: files are read on the host, and each tensor crosses once
    log_.text(fmt::format("device: {} ({} kernels)", device_.str(), c_.kernels));
  }
}

// Several ranks: one model. Every rank starts from rank 0's parameters and buffers (its weights file or
// checkpoint), as DDP does; synchronised BatchNorm is switched on when asked for.
void Trainer::setup_distributed() {
  if (!world_.distributed()) return;
  sync_model_from_root(false);
  if (c_.sync_bn) {
    const std::shared_ptr<Collective> group(&world_, [](Collective*) {});  // the world outlives the model
    for (auto& [name, m] : model_->named_modules())
      if (auto* bn = dynamic_cast<BatchNorm2d*>(m)) bn->set_sync(group);
  }
  log_.text(fmt::format("batch: {} global = {} ranks x {}; BatchNorm statistics {}", c_.batch_size, world_.size(),
                        c_.batch_size / world_.size(),
                        c_.sync_bn ? "over all ranks (model.sync_bn)" : "per rank, rank 0's running statistics kept (as DDP)"));
}

// The model on a training batch. Several ranks: the batch is this rank's rows of the global one, and dropout
// draws those rows' masks of the global batch (tensor/shard.h), as one process would.
Tensor Trainer::forward_shard(const Batch& batch) {
  if (!world_.distributed()) return (*model_)(batch.images.to(device_));
  const BatchShard shard(batch.global_first, batch.global_size);
  return (*model_)(batch.images.to(device_));
}

// Rank 0's parameters and buffers (or buffers alone) to every rank.
void Trainer::sync_model_from_root(bool buffers_only) {
  if (!world_.distributed()) return;
  if (!buffers_only)
    for (auto& [name, p] : model_->named_parameters()) world_.broadcast(p);
  for (auto& [name, b] : model_->named_buffers()) world_.broadcast(b);
}

// Predictions for `indices` with every rank evaluating a contiguous share and all of them gathered, in the
// order of `indices`: the same figures as one process evaluating them all.
Predictions Trainer::predict_split(const std::vector<int64_t>& indices, const EvalOptions& options) {
  if (!world_.distributed()) return predict_samples(*model_, data_, indices, prep_, options);
  const auto [first, end] = share_rows(static_cast<int64_t>(indices.size()), world_.rank(), world_.size());
  const std::vector<int64_t> mine(indices.begin() + first, indices.begin() + end);
  Predictions p;
  if (!mine.empty()) p = predict_samples(*model_, data_, mine, prep_, options);
  std::vector<double> probs;
  for (const auto& row : p.probs) probs.insert(probs.end(), row.begin(), row.end());
  Predictions all;
  all.indices = world_.all_gather(p.indices);
  all.labels = world_.all_gather(p.labels);
  const std::vector<double> flat = world_.all_gather(probs);
  const size_t classes = data_.classes.size();
  NN_CHECK(flat.size() == all.indices.size() * classes && all.labels.size() == all.indices.size(),
           "distributed evaluation: the ranks' predictions do not fit together ({} values for {} samples)", flat.size(),
           all.indices.size());
  for (size_t i = 0; i < all.indices.size(); ++i)
    all.probs.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(i * classes),
                           flat.begin() + static_cast<std::ptrdiff_t>((i + 1) * classes));
  all.loss = mean_cross_entropy(all);
  return all;
}

nlohmann::json Trainer::checkpoint_meta_json(size_t stage) const {
  return {{"arch", c_.arch},
          {"classes", data_.classes},
          {"preprocessing", nlohmann::json::parse(prep_.to_json())},
          {"config", config_to_toml(c_)},
          {"epochs_done", state_.epochs_done},
          {"stage", stage},
          {"best", std::isnan(state_.best) ? nlohmann::json() : nlohmann::json(state_.best)},
          {"best_epoch", state_.best_epoch},
          {"since_best", state_.since_best},
          {"history", state_.history},
          {"dropout", dropout_states(*model_)}};
}

nlohmann::json Trainer::validate(int64_t epoch, size_t stage, double lr, double train_loss, double train_acc,
                                 double seconds, double ips) {
  EvalOptions eo;
  eo.batch_size = c_.batch_size;
  eo.workers = static_cast<int>(c_.workers);
  eo.skip_bad_images = c_.skip_bad_images;
  const Predictions p = predict_split(split_.val, eo);
  const nlohmann::json m = metrics_json(compute_metrics(p.labels, p.probs, data_.classes));
  return {{"epoch", epoch + 1},
          {"stage", stage + 1},
          {"lr", lr},
          {"train_loss", train_loss},
          {"train_accuracy", train_acc},
          {"val_loss", p.loss},
          {"val_accuracy", m["accuracy"]},
          {"val_balanced_accuracy", m["balanced_accuracy"]},
          {"seconds", seconds},
          {"images_per_second", ips}};
}

// The loader of the training split: augmented, cached as configured, oversampled when asked.
std::unique_ptr<DataLoader> Trainer::make_train_loader() const {
  LoaderOptions lo;
  lo.batch_size = c_.batch_size;
  lo.workers = static_cast<int>(c_.workers);
  lo.seed = c_.seed;
  lo.augment = true;
  lo.augmentation = c_.augment;
  lo.drop_last = static_cast<int64_t>(split_.train.size()) > c_.batch_size;  // no tiny last batch for BatchNorm
  lo.cache = c_.cache == "memory" ? CacheMode::memory : c_.cache == "disk" ? CacheMode::disk : CacheMode::none;
  lo.cache_shorter = std::max(prep_.resize_shorter, prep_.input_size);
  lo.cache_dir = c_.cache_dir.empty() ? path("cache") : c_.cache_dir;
  lo.skip_bad_images = c_.skip_bad_images;
  lo.shard = world_.rank();
  lo.shards = world_.size();
  if (!root() && lo.cache == CacheMode::disk) lo.cache = CacheMode::memory;  // rank 0 alone writes its folders
  std::vector<int64_t> train = split_.train;
  if (c_.sampling == "oversample") train = oversample(data_, split_.train, c_.seed);
  return std::make_unique<DataLoader>(data_, train, prep_, lo);
}

void Trainer::train_epochs(RunSummary& summary) {
  const std::unique_ptr<DataLoader> loader = make_train_loader();
  const std::vector<double> sample_weights =
      c_.sampling == "weighted" ? inverse_frequency_weights(data_, split_.train) : std::vector<double>{};

  const int64_t total = total_epochs(c_);
  const int64_t stop_at = c_.stop_after_epochs > 0 ? std::min(total, c_.stop_after_epochs) : total;
  StageRun current{c_.stages.size(), nullptr, nullptr};
  for (int64_t epoch = state_.epochs_done; epoch < stop_at; ++epoch) {
    const auto [stage, in_stage] = stage_of(c_, epoch);
    if (stage != current.stage) enter_stage(current, stage, in_stage);
    current.schedule->begin_epoch(in_stage);
    set_train_mode(*model_, c_.stages[stage]);
    if (!sample_weights.empty())
      loader->set_indices(weighted_epoch(split_.train, sample_weights, static_cast<int64_t>(split_.train.size()),
                                         sample_seed(c_.seed, epoch, -2)));
    const EpochStats stats = train_epoch(*loader, *current.optimizer, epoch, total);
    precise_batch_norm(*loader, epoch);
    // Per-rank BatchNorm: the ranks' running statistics differ; rank 0's are the model's (DDP broadcasts
    // them from rank 0 before each forward). Synchronised ones are equal already.
    if (!c_.sync_bn) sync_model_from_root(true);
    if (end_of_epoch(current, epoch, total, stats) == AfterEpoch::stop_early) {
      summary.stopped_early = true;
      break;
    }
  }
  summary.epochs = state_.epochs_done;
}

// Starts stage `stage` at its epoch `in_stage`: what trains, a fresh optimiser and schedule, and, when
// resuming inside the stage the checkpoint was written in, their saved state.
void Trainer::enter_stage(StageRun& current, size_t stage, int64_t in_stage) {
  const StageConfig& s = c_.stages[stage];
  current.stage = stage;
  const int64_t trainable = configure_trainable(*model_, s);
  current.optimizer = make_optimizer(optimizer_options(c_), param_groups(*model_, s, c_.weight_decay));
  current.schedule = std::make_unique<LrSchedule>(schedule_options(c_, s), *current.optimizer);
  if (world_.distributed()) {
    dist::ReducerOptions ro;
    ro.bucket_bytes = static_cast<int64_t>(c_.bucket_mb * (1 << 20));
    ro.first_bucket_bytes = static_cast<int64_t>(c_.first_bucket_mb * (1 << 20));
    reducer_ = std::make_unique<dist::GradientReducer>(world_, model_->named_parameters(Trainable::only), ro);
  }
  const double backbone_lr = s.backbone_lr > 0 ? s.backbone_lr : s.lr;
  log_.text(fmt::format("stage {}: {} epochs, {} of {} parameter tensors train ({}), lr {:g} head / {:g} backbone",
                        stage + 1, s.epochs, trainable, model_->parameters().size(), fmt::join(s.train, ", "), s.lr,
                        backbone_lr));
  log_.event("stage", {{"stage", stage + 1}, {"epochs", s.epochs}, {"train", s.train}, {"trainable_tensors", trainable},
                       {"lr", s.lr}, {"backbone_lr", backbone_lr}});
  if (reducer_) log_.text("distributed: " + reducer_->describe());
  if (resume_ && in_stage > 0 && resume_meta_.value("stage", size_t{0}) == stage) {
    std::map<std::string, Tensor> tensors;
    if (root()) tensors = checkpoint_optimizer_tensors(*resume_file_);
    world_.broadcast(tensors);
    current.optimizer->load_state(tensors, resume_meta_.at("optimizer"));
    current.schedule->load(resume_meta_.at("schedule"));
  }
}

// Precise BatchNorm (checkpoint.precise_bn_batches): the running statistics are an exponential average
// over the last few dozen batches, taken while the weights moved under them; at a high learning rate they
// lag the weights, and the model validated in eval mode is not the one that trained (validation accuracy
// swings between epochs). So before validating, the statistics of every BatchNorm layer that trains are
// recomputed for the weights as they are: forgotten, then averaged equally over `precise_bn_batches`
// training batches (no gradients, nothing else changes). The batches are the training loader's, in an
// order of their own (a loader epoch number no training epoch uses), so a resumed run repeats them.
void Trainer::precise_batch_norm(DataLoader& loader, int64_t epoch) {
  if (c_.precise_bn_batches <= 0) return;
  std::vector<std::pair<BatchNorm2d*, std::optional<double>>> layers;
  for (auto& [name, m] : model_->named_modules()) {
    auto* bn = dynamic_cast<BatchNorm2d*>(m);
    if (!bn || !bn->training()) continue;  // frozen layers in eval mode keep their (pretrained) statistics
    layers.emplace_back(bn, bn->momentum());
    bn->reset_running_stats();
    bn->set_momentum(std::nullopt);
  }
  if (layers.empty()) return;
  constexpr int64_t kPreciseBnEpochs = int64_t{1} << 40;  // loader epochs of their own
  NoGradGuard no_grad;
  loader.start_epoch(kPreciseBnEpochs + epoch);
  Batch batch;
  for (int64_t k = 0; k < c_.precise_bn_batches && loader.next(batch); ++k) forward_shard(batch);
  for (auto& [bn, momentum] : layers) bn->set_momentum(momentum);
}

// One pass over the training split, with a progress line.
EpochStats Trainer::train_epoch(DataLoader& loader, Optimizer& optimizer, int64_t epoch, int64_t total) {
  const std::vector<Tensor> params = model_->parameters(Trainable::only);
  CrossEntropyOptions loss_options;
  loss_options.weight = class_weight_;
  loss_options.label_smoothing = c_.label_smoothing;
  Progress progress(fmt::format("epoch {}/{}", epoch + 1, total), loader.batches_per_epoch(), 20, log_.progress());
  EpochStats stats;
  loader.start_epoch(epoch);
  Batch batch;
  while (loader.next(batch)) {
    const int64_t seen = stats.seen;
    train_step(batch, params, loss_options, optimizer, epoch, stats);
    progress.update(stats.seen - seen, stats.loss_sum / static_cast<double>(stats.seen),
                    static_cast<double>(stats.correct) / static_cast<double>(stats.seen));
  }
  stats.images_per_second = progress.finish();
  stats.seconds = progress.seconds();
  return stats;
}

// One batch: forward, loss, backward, gradient clipping, optimiser step; adds the batch to `stats`.
void Trainer::train_step(const Batch& batch, const std::vector<Tensor>& params,
                         const CrossEntropyOptions& loss_options, Optimizer& optimizer, int64_t epoch,
                         EpochStats& stats) {
  // The loader assembles batches on the host; they cross to the model's device here, and only the
  // loss (one float) and the predicted labels come back.
  const Tensor logits = forward_shard(batch);
  const Tensor labels = batch.labels.to(device_);
  Tensor loss = cross_entropy(logits, labels, loss_options);
  // Inception-v3's auxiliary classifier (training forwards only): its loss joins the main one, as in
  // torchvision's reference recipe; the figures logged stay the main classifier's own.
  const double main_loss = loss.item<float>();
  double total_loss = main_loss;
  if (const Tensor aux = model_->take_aux_logits(); aux.defined()) {
    loss = add(loss, mul(cross_entropy(aux, labels, loss_options), c_.aux_weight));
    total_loss = loss.item<float>();
  }
  const int64_t n = batch.labels.numel();
  const Tensor predicted = argmax(logits.detach(), 1).to(Device::cpu());
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) correct += predicted.data<int64_t>()[i] == batch.labels.data<int64_t>()[i];
  double value = main_loss;
  // Several ranks: this rank's loss is the (weighted) mean over its share of the batch. Weighting it by its
  // share of the batch's total sample weight makes the sum over ranks the whole batch's loss, as one
  // process computes it (reducer.h); the figures logged are the whole batch's.
  double weight = static_cast<double>(n), total_weight = weight, batch_n = static_cast<double>(n);
  if (world_.distributed()) {
    if (class_weight_.defined()) {
      const Tensor w = class_weight_.to(Device::cpu());
      weight = 0;
      for (int64_t i = 0; i < n; ++i) weight += w.data<float>()[batch.labels.data<int64_t>()[i]];
    }
    std::vector<double> sums{weight, value * weight, static_cast<double>(correct), static_cast<double>(n)};
    world_.all_reduce_sum(sums);
    total_weight = sums[0];
    value = sums[1] / sums[0];
    correct = static_cast<int64_t>(sums[2]);
    batch_n = sums[3];
  }
  NN_CHECK(std::isfinite(value) && std::isfinite(total_loss),
           "the training loss became {} at epoch {}; stopping. Last good checkpoint: {}. Lower the learning rate "
           "or clip gradients (optimizer.clip_grad_norm)", value, epoch + 1, last_good());
  optimizer.zero_grad();
  if (reducer_) {
    // Backward of this rank's weighted share, so that every gradient that crosses ranks during backward
    // (synchronised BatchNorm's) is already weighted; the buckets then sum.
    reducer_->begin();
    (loss * (weight / total_weight)).backward();
    reducer_->finish();
  } else {
    loss.backward();
  }
  if (c_.clip_grad_norm > 0) {
    const double norm = clip_grad_norm(params, c_.clip_grad_norm);
    NN_CHECK(std::isfinite(norm), "the gradient norm became {} at epoch {}; stopping. Last good checkpoint: {}",
             norm, epoch + 1, last_good());
  }
  optimizer.step();
  stats.correct += correct;
  stats.loss_sum += value * batch_n;
  stats.seen += static_cast<int64_t>(batch_n);
}

// Validation, the schedule's epoch step, the best score, metrics.jsonl, the log line, the checkpoints, and
// the early-stopping decision.
AfterEpoch Trainer::end_of_epoch(const StageRun& current, int64_t epoch, int64_t total, const EpochStats& stats) {
  nlohmann::json line =
      validate(epoch, current.stage, current.optimizer->lr(0), stats.loss_sum / std::max<int64_t>(stats.seen, 1),
               static_cast<double>(stats.correct) / std::max<int64_t>(stats.seen, 1), stats.seconds,
               stats.images_per_second);
  const double score = select_score(c_, line);
  current.schedule->end_epoch(score);
  state_.history.push_back(line);
  state_.epochs_done = epoch + 1;
  const bool best = improved(c_, score, state_.best);
  if (best) {
    state_.best = score;
    state_.best_epoch = epoch + 1;
    state_.since_best = 0;
  } else {
    ++state_.since_best;
  }
  if (root()) std::ofstream(path("metrics.jsonl"), std::ios::app) << line.dump() << "\n";
  log_.text(fmt::format("epoch {}/{}  train loss {:.4f} acc {:.3f} | val loss {:.4f} acc {:.3f} bacc {:.3f} | {:.0f} s, "
                        "{:.1f} img/s{}",
                        epoch + 1, total, line["train_loss"].get<double>(), line["train_accuracy"].get<double>(),
                        line["val_loss"].get<double>(), json_number(line, "val_accuracy"),
                        json_number(line, "val_balanced_accuracy"), stats.seconds, stats.images_per_second,
                        best ? "  [best]" : ""));
  nlohmann::json event = line;
  event["epochs"] = total;
  event["best"] = best;
  log_.event("epoch", event);

  nlohmann::json meta = checkpoint_meta_json(current.stage);
  meta["schedule"] = current.schedule->save();
  std::map<std::string, std::string> md = model_options_;
  md["arch"] = c_.arch;
  md["preprocessing"] = prep_.to_json();
  if (best && root()) {
    save_checkpoint(path("checkpoint-best.safetensors"), *model_, nullptr, meta, md);
    log_.event("checkpoint", {{"path", path("checkpoint-best.safetensors")}, {"epoch", epoch + 1}, {"best", true}});
  }
  if (root()) save_checkpoint(path("checkpoint-last.safetensors"), *model_, current.optimizer.get(), meta, md);
  log_.event("checkpoint", {{"path", path("checkpoint-last.safetensors")}, {"epoch", epoch + 1}, {"best", false}});

  if (c_.early_stopping > 0 && state_.since_best >= c_.early_stopping) {
    log_.text(fmt::format("early stopping: no improvement of {} for {} epochs", c_.select, state_.since_best));
    log_.event("early_stopping", {{"select", c_.select}, {"epochs_without_improvement", state_.since_best}});
    return AfterEpoch::stop_early;
  }
  return AfterEpoch::go_on;
}

void Trainer::finish(RunSummary& summary) {
  // The best checkpoint's model, on the test split (or validation when the dataset has no test split).
  // Several ranks: rank 0 reads it and the others receive it; they evaluate their shares of the test split
  // and rank 0 alone writes the files.
  if (root()) {
    const SafetensorsFile best = SafetensorsFile::open(path("checkpoint-best.safetensors"));
    load_checkpoint_model(*model_, best);
    std::map<std::string, std::string> md = model_options_;
    md["arch"] = c_.arch;
    md["preprocessing"] = prep_.to_json();
    md["classes"] = nlohmann::json(data_.classes).dump();
    md["dataset"] = nlohmann::json{{"name", data_.name}, {"synthetic", synthetic_}}.dump();
    save_weights(*model_, path("model.safetensors"), md);
  }
  sync_model_from_root(false);
  std::vector<int64_t> test = split_.test;
  if (test.empty()) {
    test = split_.val;
    notes_.push_back("The dataset has no test split: the figures below are on the validation split, which also chose "
                     "the checkpoint (optimistic).");
    log_.warning("no test split; reporting the validation split");
  }
  EvalOptions eo;
  eo.batch_size = c_.batch_size;
  eo.workers = static_cast<int>(c_.workers);
  eo.tta = c_.tta;
  eo.skip_bad_images = c_.skip_bad_images;
  const Predictions p = predict_split(test, eo);
  int64_t positive = -1;
  if (!c_.positive_class.empty()) {
    for (size_t i = 0; i < data_.classes.size(); ++i)
      if (data_.classes[i] == c_.positive_class) positive = static_cast<int64_t>(i);
    NN_CHECK(positive >= 0, "config: data.positive_class '{}' is not a class of {} ({})", c_.positive_class, data_.root,
             fmt::format("{}", fmt::join(data_.classes, ", ")));
  }
  const Metrics metrics = compute_metrics(p.labels, p.probs, data_.classes, positive);
  nlohmann::json m = metrics_json(metrics);
  m["loss"] = p.loss;
  m["reference"] = reference_levels(data_, split_.train, metrics);
  m["best_epoch"] = state_.best_epoch;
  m["tta"] = c_.tta;
  summary.test_metrics = m;
  if (!root()) return;
  write_file_atomically(path("metrics.json"), m.dump(2) + "\n");
  write_predictions_csv(path("predictions.csv"), data_, p);

  // The worst mistakes: wrong predictions made with the highest confidence.
  struct Wrong {
    double probability;
    size_t sample, predicted;
  };
  std::vector<Wrong> wrong;
  for (size_t i = 0; i < p.probs.size(); ++i) {
    const auto& row = p.probs[i];
    const size_t pred = static_cast<size_t>(std::max_element(row.begin(), row.end()) - row.begin());
    if (static_cast<int64_t>(pred) != p.labels[i]) wrong.push_back({row[pred], i, pred});
  }
  std::sort(wrong.begin(), wrong.end(), [](const Wrong& a, const Wrong& b) { return a.probability > b.probability; });
  ReportInput report;
  report.title = fmt::format("{}: {} on {}", c_.name, c_.arch,
                             synthetic_ ? "a SYNTHETIC " + data_.name + "-format dataset" : data_.name);
  report.run_dir = dir_.string();
  report.config_text = config_to_toml(c_);
  report.history = state_.history;
  report.test_metrics = m;
  report.notes = notes_;
  GradCam cam(*model_);  // the report shows where the network looked for its worst mistakes
  for (size_t k = 0; k < wrong.size() && k < kReportMaxMistakes; ++k) {
    const Wrong& w = wrong[k];
    ReportMistake m;
    m.image = data_.samples[p.indices[w.sample]].image;
    m.true_class = data_.classes[p.labels[w.sample]];
    m.predicted_class = data_.classes[w.predicted];
    m.probability = w.probability;
    try {
      const Image image = decode_image(m.image);
      cam.forward(preprocess_image(image, prep_).unsqueeze(0).to(model_->device()));
      auto overlay = [&](int64_t c) {
        const Tensor map = cam.maps({c});
        return cam_overlay(image, prep_, normalize_cam(map.to_vector<float>()), map.size(1), map.size(2));
      };
      m.cam_predicted = overlay(static_cast<int64_t>(w.predicted));
      m.cam_true = overlay(p.labels[w.sample]);
    } catch (const std::exception& e) {  // the report shows the image's own placeholder; no maps
      log_.warning(fmt::format("Grad-CAM of {}: {}", m.image, e.what()));
    }
    report.mistakes.push_back(std::move(m));
  }
  write_report(path("report.html"), report);

  log_.text(fmt::format("\ntest ({} images, best epoch {}{}):\n{}", test.size(), state_.best_epoch,
                        c_.tta ? ", flips averaged" : "", metrics_table(metrics)));
  log_.text(reference_line(m["reference"]));
  for (const std::string& n : notes_) log_.text("NOTE: " + n);
  log_.text(fmt::format("\nrun folder: {}\nreport:     {}", dir_.string(), path("report.html")));
  nlohmann::json test_event = m;
  test_event["images"] = test.size();
  test_event["notes"] = notes_;
  log_.event("test", test_event);
  log_.event("done", {{"run_dir", dir_.string()}, {"report", path("report.html")}, {"model", path("model.safetensors")}});
}

RunSummary Trainer::run() {
  log_.event("distributed", {{"ranks", world_.size()}, {"nodes", world_.nodes()}, {"ranks_on_node", world_.local_size()},
                             {"transport", world_.transport()}, {"threads_per_rank", num_threads()},
                             {"bucket_mb", c_.bucket_mb}, {"first_bucket_mb", c_.first_bucket_mb}});
  setup();
  if (root()) write_file_atomically(path("config.toml"), config_to_toml(c_));
  RunSummary summary;
  summary.run_dir = dir_.string();
  train_epochs(summary);
  summary.best_epoch = state_.best_epoch;
  const bool paused = state_.epochs_done < total_epochs(c_) && !summary.stopped_early;
  if (paused) {
    log_.text(fmt::format("paused after epoch {} of {} (checkpoint.stop_after_epochs); continue with --resume",
                          state_.epochs_done, total_epochs(c_)));
    log_.event("paused", {{"epochs_done", state_.epochs_done}, {"epochs", total_epochs(c_)}, {"run_dir", dir_.string()}});
    return summary;
  }
  finish(summary);
  return summary;
}

}  // namespace

std::string distributed_line(const TrainConfig& c) {
  const dist::World& w = dist::World::get();
  return fmt::format("distributed: {} rank{} on {} node{} ({} on this one), {}, {} thread{} per rank; gradient buckets "
                     "of {:g} MiB after a first of {:g} MiB",
                     w.size(), w.size() == 1 ? "" : "s", w.nodes(), w.nodes() == 1 ? "" : "s", w.local_size(),
                     w.transport(), num_threads(), num_threads() == 1 ? "" : "s", c.bucket_mb, c.first_bucket_mb);
}

RunSummary run_training(const TrainConfig& config, bool resume, const RunLog& log) {
  Trainer trainer(config, resume, log);
  return trainer.run();
}

}  // namespace nn
