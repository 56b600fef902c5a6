// The subcommands of build/skinnet: each takes the arguments after its name and returns the exit code.
#pragma once

namespace nn {

int bench_ops_main(int argc, char** argv);  // bench/bench_ops.cpp

}  // namespace nn
