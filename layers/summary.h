// Model summaries: one row per leaf module in execution order with its output shape, parameter count and
// FLOPs, from one forward pass on zeros (no gradients recorded), like torchinfo or Keras' summary().
#pragma once

#include <string>
#include <vector>

#include "layers/module.h"

namespace nn {

struct SummaryRow {
  std::string name;  // dotted path, e.g. "layer1.0.conv1"
  std::string type;  // module description
  Shape output;
  int64_t params = 0;
  double flops = 0;
};

struct Summary {
  std::vector<SummaryRow> rows;
  Shape input;
  int64_t params = 0, trainable_params = 0;
  double flops = 0;  // one forward of the whole input (all images in it)
  std::string table() const;  // the printable table with totals
};

// Runs model on zeros(input) in eval mode (the mode is restored afterwards).
Summary summarize(Module& model, const Shape& input);

// Used by Module::operator(): whether a summary is being recorded on this thread, and the record call.
bool summary_active();
void summary_record(const Module& module, const Shape& in, const Shape& out);

}  // namespace nn
