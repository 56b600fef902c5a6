// Evaluation: class probabilities for a split (with optional test-time augmentation), the loss, and
// predictions.csv in the ISIC submission format. Shared by training (validation each epoch, test at the
// end), `skinnet eval` and `skinnet predict`.
#pragma once

#include <string>
#include <vector>

#include "base/atomic_file.h"
#include "models/network.h"
#include "train/data/dataset.h"
#include "weights/preprocess.h"

namespace nn {

struct Predictions {
  std::vector<int64_t> indices;             // dataset samples, in the order evaluated
  std::vector<int64_t> labels;              // their true classes
  std::vector<std::vector<double>> probs;   // softmax probabilities, one row per sample
  double loss = 0;                          // mean cross-entropy (unweighted, no smoothing)
};

struct EvalOptions {
  int64_t batch_size = 32;
  int workers = 2;
  bool tta = false;            // average the probabilities of the image and its horizontal and vertical flips
  bool skip_bad_images = false;
};

// Runs `model` in eval mode without gradients over `indices` (deterministic eval transform) and restores
// the model's training mode afterwards.
Predictions predict_samples(Network& model, const Dataset& dataset, const std::vector<int64_t>& indices,
                            const Preprocessing& prep, const EvalOptions& options);

// The mean cross-entropy of predictions (their .loss), from the probabilities, in their order.
double mean_cross_entropy(const Predictions& predictions);

// Probabilities for a batch of network inputs [N, 3, S, S] (eval mode is the caller's business).
std::vector<std::vector<double>> batch_probabilities(Network& model, const Tensor& images, bool tta);

// predictions.csv: header "image,<class 1>,...,<class C>", one row per sample (image id, probabilities),
// the ISIC 2018 Task 3 submission format. Written atomically.
void write_predictions_csv(const std::string& path, const Dataset& dataset, const Predictions& predictions);

}  // namespace nn
