// build/skinnet: one binary, one subcommand per task. Errors print one paragraph on stderr and exit 1.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/error.h"
#include "kernels/gemm.h"
#include "tools/skinnet/commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int argc, char** argv);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"train", nn::train_main, "fine-tune a network: stages, validation, checkpoints, test metrics, report.html"},
    {"eval", nn::eval_main, "metrics of a trained model on a dataset or one split of it"},
    {"predict", nn::predict_main, "classify images with a model and weights (logits, probabilities; --json)"},
    {"data", nn::data_main, "inspect a dataset: classes, lesion-grouped split, class weights; --check-images"},
    {"synth", nn::synth_main, "write a synthetic HAM10000-format dataset (procedural lesions) for trying skinnet"},
    {"summary", nn::summary_main, "layer table of an architecture: output shapes, parameters, FLOPs"},
    {"bench-loader", nn::bench_loader_main, "images/s of the data loader: 600x450 JPEGs to augmented 224x224 batches"},
    {"bench-ops", nn::bench_ops_main, "GFLOP/s of GEMM and conv2d (forward, backward) on ResNet-50 and VGG19 layers"},
    {"bench-model", nn::bench_model_main, "images/s and peak memory of a whole-network step on random data (make bench-compare)"},
    {"profile", nn::profile_main, "per-layer forward and backward ms and GFLOP/s of a network step, like caffe time"},
    {"bench-gpu", nn::bench_gpu_main, "handwritten CUDA kernels vs cuBLAS/cuDNN on ResNet-50/VGG19 layers (GPU only)"},
};

void print_usage() {
  std::printf("usage: skinnet COMMAND [--flag=value ...]   (skinnet COMMAND --help for its flags)\n\ncommands:\n");
  for (const Command& c : kCommands) std::printf("  %-12s %s\n", c.name, c.summary);
}

}  // namespace

int main(int argc, char** argv) {
  nn::select_openblas_kernels(argv, "skinnet");
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "help") {
    print_usage();
    return argc < 2 ? 1 : 0;
  }
  for (const Command& c : kCommands) {
    if (std::string(argv[1]) != c.name) continue;
    try {
      return c.run(argc - 2, argv + 2);
    } catch (const nn::Error& e) {
      std::fprintf(stderr, "skinnet %s: error: %s\n", c.name, e.what());
      return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "skinnet %s: unexpected error: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "skinnet: unknown command '%s'; run `skinnet --help` for the list\n", argv[1]);
  return 1;
}
