// Whole-model comparisons with PyTorch shared by the model tests (tests/test_models.cpp,
// tests/test_notebook_models.cpp, tests/test_efficient_models.cpp): state-dict keys, converted files'
// logits, `skinnet predict`, and the training-step check of a train_<arch> reference case.
#pragma once

#include <string>
#include <vector>

#include "models/network.h"
#include "tests/check.h"
#include "weights/safetensors.h"

namespace nn::test {

const TorchCase& find_case(const std::vector<TorchCase>& cases, const std::string& name);

// `model`'s state dict against a keys_<arch> case: the same keys, in the same order, with the same shapes.
void check_state_keys(const TorchCase& c, const Network& model);

// The model a converted weights file calls for (its flavour and options from the metadata), with its
// weights, in eval mode; checks that every tensor of the model was loaded.
std::shared_ptr<Network> load_converted(const std::string& arch, const SafetensorsFile& file);

// A case's flavour as ModelOptions spells it: "keras", or "" for the reference implementation's.
std::string flavour_of(const TorchCase& c);

// max |a - b| / max |b|: the eval-logit criterion of every model test.
double logit_error(const Tensor& a, const Tensor& b);

// `skinnet predict --json` on a PNG with the converted file of each named case: the CLI must build the
// network the file calls for (flavour, input transform, class offset) and prepare the image as its
// metadata says; its logits must equal the library's fused model's on the same input (<= 1e-5), and those
// the float64 model's within 1e-4.
void check_predict_cli(const std::vector<TorchCase>& cases, const std::vector<std::string>& names);

// ||a - b|| / ||b||, in double.
double relative_error(const Tensor& a, const Tensor& b);

// One batch, five SGD steps (momentum 0.9) of `model` (built and loaded with the case's initial weights,
// in training mode) against a train_<arch> case (train_case in tests/torch_cases_models.py):
//   float32: first loss within 1e-5 relative, every gradient within 1e-3 (norm-wise) of PyTorch float32
//            and of the float64 truth, the five losses within 1e-4, buffers within 1e-3 (a running mean
//            relative to the larger of its norm and its channels' standard deviations');
//   float64: the same quantities within 1e-10: identical semantics, step for step.
// The bias of a convolution followed by batch norm has gradient 0 in exact arithmetic: both sides hold
// rounding noise, so it must only be negligible (1e-4 of the weight gradient; in float64 1e-10). Which
// gradients are zero is read from the float64 truth (below 1e-10 of its weight's gradient), where rounding
// cannot blur it. With params["aux_weight"] (Inception-v3) the loss adds that times the auxiliary
// classifier's cross-entropy, as PyTorch's did.
//
// `f32_tensor_tol` relaxes the float32 per-tensor bound for deep networks at full resolution, where one
// max-pool pick or ReLU decision that flips between two correct float32 runs moves the gradients of every
// layer before it by ~1/sqrt(values per channel) (tests/test_notebook_models.cpp says what was measured);
// the gradients of all parameters together must still be within 1e-3 of PyTorch's and of the truth.
void check_training_case(const TorchCase& c, Network& model, bool f64, double f32_tensor_tol = 1e-3);

}  // namespace nn::test
