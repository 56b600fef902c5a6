// skinnet export: a model as an ONNX file (weights/onnx.h), for runtimes outside skinnet.
//
//   skinnet export --checkpoint runs/demo/model.safetensors --onnx demo.onnx
//   skinnet export --arch resnet50 --weights weights/resnet50.safetensors --onnx r50.onnx --batch 8 --fuse-bn
//
// The file's input is "input" [N, 3, H, W] float32, preprocessed as its metadata_props say ("preprocessing":
// resize the shorter side, centre-crop, scale, subtract the mean, divide by the std, in "color_order"); its
// output "logits" [N, classes], before softmax; "classes" names them (a JSON list) for a skinnet run.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "tools/skinnet/commands.h"
#include "tools/skinnet/model_source.h"
#include "tools/skinnet/version.h"
#include "weights/onnx.h"

namespace nn {

Flags export_flags() {
  Flags flags("export",
              fmt::format("Writes a model as ONNX (opset {}): standard operators, weights as float32, the preprocessing "
                          "and class names in its metadata.",
                          kOnnxOpset),
              "skinnet export (--checkpoint C | --arch A --weights W) --onnx OUT.onnx [--batch dynamic|N] [--fuse-bn]");
  add_model_flags(flags);
  flags.add("onnx", "", "the ONNX file to write")
      .add("batch-size", "dynamic", "dynamic (the input's first dimension is the symbol N) or a fixed batch size")
      .add("input-size", "auto", "input height and width; auto: the preprocessing's input_size")
      .add_switch("fuse-bn", "fold each batch norm into the convolution before it (fewer operators, same function)");
  return flags;
}

int export_main(int argc, char** argv) {
  Flags flags = export_flags();
  if (!flags.parse(argc, argv)) return kExitOk;
  NN_USAGE_CHECK(flags.positional().empty(), "unexpected argument '{}'", flags.positional().front());
  flags.require("onnx", "the file to write");
  OnnxExportOptions o;
  if (flags.str("batch-size") != "dynamic") {
    o.batch = flags.integer("batch-size");
    NN_USAGE_CHECK(o.batch > 0, "--batch is dynamic or a positive size, not {}", o.batch);
  }
  const LoadedModel loaded = load_model_from_flags(flags);
  Preprocessing prep = loaded.prep;
  if (flags.str("input-size") != "auto") {
    const int64_t size = flags.integer("input-size");
    NN_USAGE_CHECK(size > 0, "--input-size must be positive, got {}", size);
    prep.input_size = size;
  }
  o.height = o.width = prep.input_size;
  o.fold_batch_norm = flags.on("fuse-bn");
  o.producer_version = version_string();
  o.metadata = {{"arch", loaded.model->arch()},
                {"preprocessing", prep.to_json()},
                {"source", loaded.source},
                {"skinnet_version", version_string()},
                {"batch_norm", o.fold_batch_norm ? "folded into the convolutions" : "BatchNormalization operators"},
                {"output", "logits [N, classes], before softmax"}};
  if (!loaded.classes.empty()) o.metadata["classes"] = nlohmann::json(loaded.classes).dump();
  const OnnxExportSummary s = export_onnx(*loaded.model, o, flags.str("onnx"));
  std::vector<std::string> ops;
  for (const auto& [op, n] : s.ops) ops.push_back(fmt::format("{} {}", n, op));
  const std::string batch = o.batch == 0 ? "N" : std::to_string(o.batch);
  std::printf("%s\n", fmt::format("wrote {}: {}, opset {}, input [{}, 3, {}, {}], output [{}, {}]; {} operators ({}), {} "
                                  "weights ({:.1f} MB)",
                                  flags.str("onnx"), loaded.model->arch(), kOnnxOpset, batch, o.height, o.width, batch,
                                  s.output[1], s.nodes, fmt::join(ops, ", "), s.parameters, s.bytes / 1e6)
                          .c_str());
  return kExitOk;
}

}  // namespace nn
