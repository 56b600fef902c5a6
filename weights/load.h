// Loading and saving a model's parameters and buffers by name (torchvision's state-dict keys).
//
// strict (default): every key of the model must be in the file with the same shape and dtype, and the
//   file must hold nothing else; otherwise one error lists every missing key, unexpected key and
//   mismatch, so a wrong file is diagnosed in one go.
// finetune: the model's head (Network::head_name(), e.g. "fc" or "classifier.6") keeps its fresh
//   initialisation and the file's head is skipped; keys of the head's block (e.g. Keras "notop" files
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
// The same for any module; `head` and `head_block` name what finetune mode may skip or miss.
LoadReport load_state(Module& model, const SafetensorsFile& file, LoadMode mode, const std::string& head,
                      const std::string& head_block);

// Writes every parameter and buffer, plus metadata (arch, preprocessing, ...), to a safetensors file.
void save_weights(const Module& model, const std::string& path, const std::map<std::string, std::string>& metadata);

// The preprocessing recorded in a weights file, or an error that says how to convert the file.
Preprocessing weights_preprocessing(const SafetensorsFile& file);

}  // namespace nn
