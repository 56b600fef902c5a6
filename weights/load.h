// Loading and saving a model's parameters and buffers by name (torchvision's state-dict keys).
//
// strict (default): every key of the model must be in the file with the same shape and dtype, and the
//   file must hold nothing else; otherwise one error lists every missing key, unexpected key and
//   mismatch, so a wrong file is diagnosed in one go.
// finetune: the model's heads (Network::head_names(), e.g. "fc" or "classifier.6", and Inception-v3's
//   "AuxLogits.fc") keep their fresh initialisation and the file's are skipped; keys of the head's block (e.g. Keras "notop" files
//   have no classifier at all) may be missing. Skipped and missing keys are reported.
// Data is copied into the model's existing tensors (optimisers keep their references); each tensor's
// pages of the mapped file are dropped once copied, so peak memory stays near model size + one tensor.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "models/network.h"
#include "weights/preprocess.h"
#include "weights/safetensors.h"

namespace nn {

enum class LoadMode { strict, finetune };

struct LoadReport {
  int64_t loaded = 0;                // tensors copied from the file
  std::vector<std::string> skipped;  // file keys not loaded (finetune: the old head)
  std::vector<std::string> missing;  // model keys left as initialised (finetune: head block keys absent)
};

LoadReport load_weights(Network& model, const SafetensorsFile& file, LoadMode mode = LoadMode::strict);
// The same for any module; `heads` and `head_block` name what finetune mode may skip or miss.
LoadReport load_state(Module& model, const SafetensorsFile& file, LoadMode mode, const std::vector<std::string>& heads,
                      const std::string& head_block);

// The architecture options a weights file calls for, from its metadata (weights/convert.py writes them):
//   "flavour": "keras"            Keras' Inception-v3 / Inception-ResNet-v2 (batch norm without scale, ...)
//   "transform_input": "true"     torchvision's Inception-v3 weights (its builder sets transform_input)
//   "aux_logits": "false"         an Inception-v3 file without the auxiliary classifier
//   "bn_eps": "0.001"             Keras 2.2's ResNet50 (batch norm with Keras' default epsilon)
// Other options (classes, seed, dropout) are left as `base` has them. A value it does not know is an error
// that names the file.
ModelOptions model_options_for(const SafetensorsFile& file, ModelOptions base = {});
// The metadata entries that record `o`'s weight-dependent options (those model_options_for reads), for the
// files skinnet writes (a trained model, a checkpoint), so they rebuild the same network.
std::map<std::string, std::string> model_options_metadata(const ModelOptions& o);

// Writes every parameter and buffer, plus metadata (arch, preprocessing, ...), to a safetensors file.
void save_weights(const Module& model, const std::string& path, const std::map<std::string, std::string>& metadata);

// The preprocessing recorded in a weights file, or an error that says how to convert the file.
Preprocessing weights_preprocessing(const SafetensorsFile& file);

}  // namespace nn
