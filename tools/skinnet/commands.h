// The subcommands of build/skinnet. Each has a flag table (`NAME_flags()`, tools/skinnet/flags.h), from which
// its --help, bash completion and docs/cli.md are generated, and a main that takes the arguments after its
// name and returns the exit code (kExitOk; errors are thrown and turned into exit codes by main.cpp).
#pragma once

#include <vector>

#include "tools/skinnet/flags.h"

namespace nn {

struct Command {
  const char* name;
  const char* summary;
  Flags (*flags)();
  int (*run)(int argc, char** argv);
};
// Every subcommand, in the order `skinnet --help` lists them (main.cpp).
const std::vector<Command>& commands();

Flags train_flags();          // tools/skinnet/cmd_train.cpp
int train_main(int argc, char** argv);
Flags eval_flags();           // tools/skinnet/cmd_eval.cpp
int eval_main(int argc, char** argv);
Flags predict_flags();        // tools/skinnet/cmd_predict.cpp
int predict_main(int argc, char** argv);
Flags explain_flags();        // tools/skinnet/cmd_explain.cpp
int explain_main(int argc, char** argv);
Flags serve_flags();          // tools/skinnet/cmd_serve.cpp
int serve_main(int argc, char** argv);
Flags export_flags();         // tools/skinnet/cmd_export.cpp
int export_main(int argc, char** argv);
Flags data_flags();           // tools/skinnet/cmd_data.cpp
int data_main(int argc, char** argv);
Flags synth_flags();          // tools/skinnet/cmd_synth.cpp
int synth_main(int argc, char** argv);
Flags summary_flags();        // tools/skinnet/cmd_summary.cpp
int summary_main(int argc, char** argv);
Flags version_flags();        // tools/skinnet/cmd_version.cpp
int version_main(int argc, char** argv);
Flags completion_flags();     // tools/skinnet/cmd_completion.cpp
int completion_main(int argc, char** argv);
Flags bench_loader_flags();   // bench/bench_loader.cpp
int bench_loader_main(int argc, char** argv);
Flags bench_ops_flags();      // bench/bench_ops.cpp
int bench_ops_main(int argc, char** argv);
Flags bench_peak_flags();     // bench/bench_peak.cpp
int bench_peak_main(int argc, char** argv);
Flags bench_model_flags();    // bench/bench_model.cpp
int bench_model_main(int argc, char** argv);
Flags bench_dist_flags();     // bench/bench_dist.cpp
int bench_dist_main(int argc, char** argv);
Flags profile_flags();        // bench/profile.cpp
int profile_main(int argc, char** argv);
Flags bench_serve_flags();    // bench/bench_serve.cpp
int bench_serve_main(int argc, char** argv);
Flags bench_gpu_flags();      // bench/gpu.cpp
int bench_gpu_main(int argc, char** argv);

}  // namespace nn
