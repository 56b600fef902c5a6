// The subcommands of build/skinnet: each takes the arguments after its name and returns the exit code.
#pragma once

namespace nn {

int bench_ops_main(int argc, char** argv);  // bench/bench_ops.cpp
int bench_gpu_main(int argc, char** argv);  // bench/gpu.cpp
int summary_main(int argc, char** argv);    // tools/skinnet/cmd_summary.cpp
int predict_main(int argc, char** argv);    // tools/skinnet/cmd_predict.cpp
int bench_loader_main(int argc, char** argv);  // bench/bench_loader.cpp
int bench_model_main(int argc, char** argv);   // bench/bench_model.cpp
int profile_main(int argc, char** argv);       // bench/profile.cpp
int data_main(int argc, char** argv);       // tools/skinnet/cmd_data.cpp
int synth_main(int argc, char** argv);      // tools/skinnet/cmd_synth.cpp
int train_main(int argc, char** argv);      // tools/skinnet/cmd_train.cpp
int eval_main(int argc, char** argv);       // tools/skinnet/cmd_eval.cpp

}  // namespace nn
