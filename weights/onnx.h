// ONNX export: a model (eval mode) as an ONNX file that other runtimes load (OpenCV DNN, onnxruntime, TensorRT).
//
//   export_onnx(*model, {.height = 224, .width = 224, .metadata = {{"classes", "[...]"}}}, "model.onnx");
//
// The graph comes from the modules themselves (Module::export_graph, layers/export.h: which operator each
// layer becomes); this file writes it in ONNX's protobuf encoding, by hand (a protobuf message is a list of
// (field number, wire type, value) records; the field numbers are those of onnx.proto). What is written:
//   - ir_version 7, opset 13 of the default domain, producer "skinnet";
//   - graph input "input" [N, 3, H, W] float32 with N symbolic ("N", dynamic batch) or fixed; output
//     "logits" [N, classes];
//   - every weight as a float32 initializer named by its state-dict key (a float64 model is written as float32);
//   - metadata_props: what the caller gives (skinnet export: arch, classes, preprocessing, opset).
// Files over 2 GB (protobuf's limit; ONNX's external-data format) are refused: no skinnet model is that large.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "layers/module.h"

namespace nn {

inline constexpr int64_t kOnnxOpset = 13;
inline constexpr int64_t kOnnxIrVersion = 7;  // the IR version that goes with opset 13

struct OnnxExportOptions {
  int64_t batch = 0;  // 0: dynamic (the symbol "N"); else a fixed batch size
  int64_t height = 224, width = 224;
  bool fold_batch_norm = false;  // each conv -> batch norm pair as one Conv (GraphBuilder::fold_batch_norm)
  std::map<std::string, std::string> metadata;
  std::string producer_version = "unknown";  // skinnet's version (skinnet export passes it)
};

// What was written, for the command's report and for tests.
struct OnnxExportSummary {
  int64_t nodes = 0, initializers = 0, parameters = 0, bytes = 0;
  std::map<std::string, int64_t> ops;  // operator -> count
  Shape output;                        // with the batch as given (1 when dynamic)
};

// Writes `model`, in eval mode, to `path` (atomically: a failure leaves no partial file).
OnnxExportSummary export_onnx(const Module& model, const OnnxExportOptions& options, const std::string& path);

}  // namespace nn
