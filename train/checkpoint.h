// Checkpoints: everything a run needs to continue exactly where it stopped, in one safetensors file.
//
//   tensors   "model.<name>" for every parameter and buffer (torchvision's state-dict keys), and the
//             optimiser's state ("optim.<param>.momentum_buffer", ".exp_avg", ...)
//   metadata  "skinnet_checkpoint": JSON with the config (TOML text), arch, classes, preprocessing,
//             epochs completed, stage, schedule state, the dropout generators' states, the history
//             (metrics.jsonl's lines), the best epoch and its score, epochs since the best
//             "arch", "preprocessing", "classes": as in weights files, so predict can read a checkpoint
//
// Written through save_safetensors (a temporary file, fsync, rename): killing the process at any moment
// leaves either the old or the new file under the real name, never a mixture.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/network.h"
#include "weights/preprocess.h"
#include "weights/safetensors.h"

namespace nn {

class Optimizer;

// Saves model (+ optimiser state, when given) and `meta`.
void save_checkpoint(const std::string& path, const Network& model, const Optimizer* optimizer, const nlohmann::json& meta,
                     const std::map<std::string, std::string>& extra_metadata);

// The checkpoint's JSON, with an error naming the file when it is not a skinnet checkpoint.
nlohmann::json checkpoint_meta(const SafetensorsFile& file);

// Copies the checkpoint's "model.*" tensors into `model` (every key must match in name, shape and dtype).
void load_checkpoint_model(Network& model, const SafetensorsFile& file);

// The optimiser's tensors ("optim.*") of a checkpoint.
std::map<std::string, Tensor> checkpoint_optimizer_tensors(const SafetensorsFile& file);

// A trained model ready for eval/predict, from a run's model.safetensors or checkpoint-*.safetensors:
// the architecture, class names and preprocessing come from the file's metadata.
struct TrainedModel {
  std::shared_ptr<Network> model;
  Preprocessing prep;
  std::vector<std::string> classes;
  std::map<std::string, std::string> metadata;  // the file's, as written (e.g. "dataset" for serve's model card)
};
TrainedModel load_trained_model(const std::string& path);

// Dropout and StochasticDepth generators: their (seed, offset) by module name, to save and restore.
nlohmann::json dropout_states(Network& model);
void restore_dropout_states(Network& model, const nlohmann::json& states, const std::string& where);

}  // namespace nn
