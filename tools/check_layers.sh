#!/usr/bin/env bash
# The layering check (run by tools/run_tests.sh in `make test`; docs/architecture.md draws the layers).
#
# Each layer includes only the layers below it:
#   base < kernels < tensor < layers < models < weights < train/data, train/optim, train/dist < train/data/synth,
#   train/report < train < tools, bench < tests
# A file may include headers of its own layer and of lower ones; tools/ and bench/ form one layer (the CLI).
# Second rule, for nvcc: CUDA sources (.cu, .cuh) and the kernel headers they include (kernels/**/*.h but
# the CPU kernels' own, kernels/cpu/*.h, which only g++ compiles) may include only the nvcc-safe part of
# base/ (no fmt: dtype.h, shape.h, random.h, check.h, math.h).
#
#   tools/check_layers.sh              prints every violation as FILE:LINE: message; exits 1 if there is one
#   tools/check_layers.sh --self-test  checks the checker: planted violations must all be reported
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

# Reads include lines "FILE:LINE:#include ..." on stdin; one pass of awk.
check() {
  awk -F: '
function rank(p) {
  if (p ~ /^base\//) return 0
  if (p ~ /^kernels\//) return 1
  if (p ~ /^tensor\//) return 2
  if (p ~ /^layers\//) return 3
  if (p ~ /^models\//) return 4
  if (p ~ /^weights\//) return 5
  if (p ~ /^train\/data\/synth\//) return 7
  if (p ~ /^train\/(data|optim|dist)\//) return 6
  if (p ~ /^train\/report\//) return 7
  if (p ~ /^train\//) return 8
  if (p ~ /^(tools|bench)\//) return 9
  if (p ~ /^tests\//) return 10
  return -1
}
# Folders that share a rank but are not the same layer may not include each other.
function group(p) {
  if (p ~ /^train\/data\/synth\//) return "train/data/synth"
  if (p ~ /^train\/(data|optim|dist|report)\//) { split(p, a, "/"); return "train/" a[2] }
  if (p ~ /^(tools|bench)\//) return "tools+bench"
  split(p, a, "/"); return a[1]
}
# Code that nvcc compiles: CUDA sources and the kernel headers they include (host-only headers, the headers
# of the CPU kernels and the g++-only emulator excepted).
function nvcc(p) {
  if (p ~ /^kernels\/cuda\/emu\// || p == "kernels/cuda/device.h" || p == "kernels/cuda/vendor.h") return 0
  if (p ~ /^kernels\/cpu\//) return 0
  return p ~ /\.(cu|cuh)$/ || p ~ /^kernels\/.*\.h$/
}
BEGIN { safe["base/dtype.h"]; safe["base/shape.h"]; safe["base/random.h"]; safe["base/check.h"]; safe["base/math.h"] }
{
  file = $1; line = $2; inc = $0; sub(/^[^:]*:[0-9]+:/, "", inc)
  from = rank(file)
  if (from < 0) next
  if (inc ~ /^#include <fmt\// && nvcc(file)) { print file ":" line ": includes fmt, which nvcc cannot compile"; bad++ }
  if (inc !~ /^#include "/) next
  target = inc; sub(/^#include "/, "", target); sub(/".*/, "", target)
  to = rank(target)
  if (to < 0) { print file ":" line ": includes \"" target "\", which is in no layer"; bad++; next }
  if (to > from) { print file ":" line ": includes \"" target "\" from a higher layer (" group(target) " above " group(file) ")"; bad++ }
  else if (to == from && group(target) != group(file)) { print file ":" line ": includes \"" target "\" from a sibling layer (" group(target) " beside " group(file) ")"; bad++ }
  if (nvcc(file) && target ~ /^base\// && !(target in safe)) {
    print file ":" line ": includes \"" target "\", which nvcc cannot compile (CUDA code may include base/dtype.h, shape.h, random.h, check.h, math.h)"; bad++
  }
}
END {
  if (bad) { print "layers: " bad " include(s) break the layering (docs/architecture.md)"; exit 1 }
  print "layers: every include respects base < kernels < tensor < layers < models < weights < train < tools"
}'
}

if [ "${1:-}" = --self-test ]; then
  # Each planted line breaks one rule; the last two are allowed and must not be reported.
  planted='kernels/cpu/copy.cpp:2:#include "tensor/tensor.h"
base/shape.cpp:3:#include "kernels/loop.h"
kernels/cuda/copy.cu:4:#include "base/error.h"
kernels/cuda/copy.cu:5:#include <fmt/format.h>
train/data/loader.cpp:6:#include "train/report/report.h"
train/optim/optim.cpp:7:#include "train/data/csv.h"
models/resnet.cpp:8:#include "nowhere/thing.h"
train/trainer.cpp:9:#include "train/data/synth/synth.h"
bench/gpu.cpp:10:#include "tools/skinnet/flags.h"'
  out=$(echo "$planted" | check)
  reported=$(echo "$out" | grep -c ': includes')
  if [ "$reported" -eq 7 ] && ! echo "$out" | grep -q 'trainer.cpp\|bench/gpu.cpp'; then
    echo "layers self-test: all 7 planted violations reported, the 2 allowed includes not: passed"
    exit 0
  fi
  echo "layers self-test: expected 7 reports, got:"; echo "$out"
  exit 1
fi

git ls-files '*.h' '*.cpp' '*.cu' '*.cuh' | xargs grep -n '^#include ' /dev/null | check
