// Evaluation (see evaluate.h).
#include "train/evaluate.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "tensor/autograd.h"
#include "train/data/csv.h"
#include "train/data/loader.h"

namespace nn {

namespace {

// A copy of images [N, C, H, W] flipped along W (horizontal) or H (vertical).
Tensor flipped(const Tensor& images, bool horizontal) {
  const Tensor x = images.contiguous();
  const Shape& s = x.shape();
  const int64_t planes = s[0] * s[1], h = s[2], w = s[3];
  Tensor out = empty(s);
  const float* in = x.data<float>();
  float* o = out.data<float>();
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t y = 0; y < h; ++y) {
      const float* row = in + (p * h + (horizontal ? y : h - 1 - y)) * w;
      float* dst = o + (p * h + y) * w;
      for (int64_t x2 = 0; x2 < w; ++x2) dst[x2] = row[horizontal ? w - 1 - x2 : x2];
    }
  }
  return out;
}

std::vector<std::vector<double>> rows_of(const Tensor& probs) {
  const Tensor p = probs.to(Device::cpu()).to(DType::f64).contiguous();
  const int64_t n = p.shape()[0], c = p.shape()[1];
  std::vector<std::vector<double>> rows(n, std::vector<double>(c));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < c; ++j) rows[i][j] = p.data<double>()[i * c + j];
  return rows;
}

}  // namespace

std::vector<std::vector<double>> batch_probabilities(Network& model, const Tensor& images, bool tta) {
  NoGradGuard no_grad;
  // Batches come from the loader on the host; the model may be on a GPU.
  const Device device = model.device();
  std::vector<std::vector<double>> probs = rows_of(softmax(model(images.to(device)), 1));
  if (!tta) return probs;
  for (bool horizontal : {true, false}) {
    const auto more = rows_of(softmax(model(flipped(images, horizontal).to(device)), 1));
    for (size_t i = 0; i < probs.size(); ++i)
      for (size_t j = 0; j < probs[i].size(); ++j) probs[i][j] += more[i][j];
  }
  for (auto& row : probs)
    for (double& v : row) v /= 3;
  return probs;
}

Predictions predict_samples(Network& model, const Dataset& dataset, const std::vector<int64_t>& indices,
                            const Preprocessing& prep, const EvalOptions& options) {
  LoaderOptions lo;
  lo.batch_size = options.batch_size;
  lo.workers = options.workers;
  lo.shuffle = false;
  lo.augment = false;
  lo.skip_bad_images = options.skip_bad_images;
  DataLoader loader(dataset, indices, prep, lo);
  const EvalModeGuard eval(model);
  Predictions out;
  loader.start_epoch(0);
  Batch batch;
  while (loader.next(batch)) {
    const auto probs = batch_probabilities(model, batch.images, options.tta);
    for (size_t i = 0; i < probs.size(); ++i) {
      const int64_t label = batch.labels.data<int64_t>()[i];
      out.indices.push_back(batch.indices[i]);
      out.labels.push_back(label);
      out.probs.push_back(probs[i]);
    }
  }
  out.loss = mean_cross_entropy(out);
  return out;
}

double mean_cross_entropy(const Predictions& p) {
  double sum = 0;
  for (size_t i = 0; i < p.probs.size(); ++i) sum += -std::log(std::max(p.probs[i][p.labels[i]], 1e-300));
  return p.probs.empty() ? 0 : sum / static_cast<double>(p.probs.size());
}

void write_predictions_csv(const std::string& path, const Dataset& dataset, const Predictions& predictions) {
  std::vector<std::string> header{"image"};
  header.insert(header.end(), dataset.classes.begin(), dataset.classes.end());
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < predictions.indices.size(); ++i) {
    std::vector<std::string> row{dataset.samples[predictions.indices[i]].id};
    for (double p : predictions.probs[i]) row.push_back(fmt::format("{:.6f}", p));
    rows.push_back(std::move(row));
  }
  write_file_atomically(path, format_csv(header, rows));
}

}  // namespace nn
