// build/skinnet: one binary, one subcommand per task.
//
// Output: stdout is line-buffered even into a file or a pipe (results and progress, which goes to stderr,
// interleave in order in `skinnet train ... > log 2>&1`). Errors print one paragraph on stderr.
// Exit codes (docs/cli.md): 0 success; 1 the work failed (unreadable file, bad data, diverged loss);
// 2 usage error (unknown command or flag, malformed or missing value).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/error.h"
#include "kernels/gemm.h"
#include "tools/skinnet/commands.h"

namespace nn {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"train", "fine-tune a network: stages, validation, checkpoints, test metrics, report.html", train_flags, train_main},
      {"eval", "metrics of a trained model on a dataset or one split of it", eval_flags, eval_main},
      {"predict", "classify images with a model and weights (logits, probabilities; --json)", predict_flags, predict_main},
      {"explain", "Grad-CAM: where in each image the model found the evidence for a class (PNG overlays, --json)",
       explain_flags, explain_main},
      {"serve", "serve a model over HTTP: upload page, JSON API, dynamic batching, Grad-CAM, metrics", serve_flags,
       serve_main},
      {"export", "write a model as ONNX (standard operators, dynamic batch, preprocessing in its metadata)",
       export_flags, export_main},
      {"data", "inspect a dataset: classes, lesion-grouped split, class weights; --check-images", data_flags, data_main},
      {"synth", "write a synthetic HAM10000-format dataset (procedural lesions) for trying skinnet", synth_flags,
       synth_main},
      {"summary", "layer table of an architecture: output shapes, parameters, FLOPs", summary_flags, summary_main},
      {"version", "version, commit, build flags, CPU features and the kernels in use", version_flags, version_main},
      {"completion", "print a bash completion script (source it, or install it as /etc/bash_completion.d/skinnet)",
       completion_flags, completion_main},
      {"bench-loader", "images/s of the data loader: 600x450 JPEGs to augmented 224x224 batches", bench_loader_flags,
       bench_loader_main},
      {"bench-ops", "GFLOP/s of GEMM and conv2d (forward, backward) on ResNet-50 and VGG19 layers", bench_ops_flags,
       bench_ops_main},
      {"bench-peak", "the machine's peak: FMA GFLOP/s per vector ISA, 1 and all threads; STREAM triad GB/s",
       bench_peak_flags, bench_peak_main},
      {"bench-model", "images/s and peak memory of a whole-network step on random data (make bench-compare)",
       bench_model_flags, bench_model_main},
      {"bench-dist", "data-parallel training speed under mpirun: images/s, exposed communication, overlap", bench_dist_flags,
       bench_dist_main},
      {"profile", "per-layer forward and backward ms and GFLOP/s of a network step, like caffe time", profile_flags,
       profile_main},
      {"bench-serve", "load test of a running skinnet serve: throughput, latency percentiles, batching, memory",
       bench_serve_flags, bench_serve_main},
      {"bench-gpu", "handwritten CUDA kernels vs cuBLAS/cuDNN on ResNet-50/VGG19 layers (GPU only)", bench_gpu_flags,
       bench_gpu_main},
  };
  return table;
}

}  // namespace nn

namespace {

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: skinnet COMMAND [--flag value ...]   (skinnet COMMAND --help for its flags; docs/cli.md)\n"
               "       skinnet --version\n\ncommands:\n");
  for (const nn::Command& c : nn::commands()) std::fprintf(out, "  %-12s %s\n", c.name, c.summary);
  std::fprintf(out, "\nexit codes: 0 success, 1 the work failed, 2 usage error\n");
}

}  // namespace

int main(int argc, char** argv) {
  nn::select_openblas_kernels(argv, "skinnet");
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // whole lines, in order with stderr, also into files and pipes
  const std::string first = argc < 2 ? "" : argv[1];
  if (first.empty()) {
    print_usage(stderr);
    return nn::kExitUsage;
  }
  if (first == "--help" || first == "-h" || first == "help") {
    print_usage(stdout);
    return nn::kExitOk;
  }
  if (first == "--version" || first == "-V") return nn::version_main(argc - 2, argv + 2);
  for (const nn::Command& c : nn::commands()) {
    if (first != c.name) continue;
    try {
      return c.run(argc - 2, argv + 2);
    } catch (const nn::UsageError& e) {
      std::fprintf(stderr, "skinnet %s: usage error: %s\n", c.name, e.what());
      return nn::kExitUsage;
    } catch (const nn::Error& e) {
      std::fprintf(stderr, "skinnet %s: error: %s\n", c.name, e.what());
      return nn::kExitError;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "skinnet %s: unexpected error: %s\n", c.name, e.what());
      return nn::kExitError;
    }
  }
  std::fprintf(stderr, "skinnet: unknown command '%s'; run `skinnet --help` for the list\n", first.c_str());
  return nn::kExitUsage;
}
