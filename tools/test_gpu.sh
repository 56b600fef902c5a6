#!/usr/bin/env bash
# make test-gpu: the "cuda" test tier on a real GPU, three times, and the verdict `tests: N passed, M failed`.
#   tools/test_gpu.sh BUILD_DIR      (builds BUILD_DIR/skinnet_tests with CUDA=1 first)
# 1. natively: the hardware's own thread schedule, real timing (NN_CUDA_SYNC=1 pins faults to their launch);
# 2. under compute-sanitizer --tool memcheck: out-of-bounds and misaligned device accesses. The caching
#    allocator is off (NN_CUDA_CACHE=0), so every tensor is its own cudaMalloc and an overrun is not hidden
#    inside a larger cached block. No leak check: cuBLAS/cuDNN handles and per-thread streams live until
#    the process ends by design;
# 3. under compute-sanitizer --tool racecheck: shared-memory data hazards (a missing __syncthreads).
# Each run adds the test counts of its summary line (tests/main.cpp); a sanitizer that reports errors, or a
# binary that dies without a summary, adds one failure. Exits 2 without a GPU, 1 when anything failed.
set -uo pipefail
source "$(dirname "$0")/test_counts.sh"
build=${1:?usage: test_gpu.sh BUILD_DIR}
refs="$build/refs"
log_dir="$build/test-gpu"
bin="$build/skinnet_tests"

if ! command -v nvidia-smi > /dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  echo "make test-gpu: no NVIDIA GPU here (nvidia-smi is missing or lists no device); the cuda tier runs" \
       "on the CUDA emulator in make test instead." >&2
  exit 2
fi
make --no-print-directory -j"$(nproc)" CUDA=1 BUILD="$build" "$bin" || { echo "make test-gpu: the build failed" >&2; exit 1; }
sanitizer=$(command -v compute-sanitizer || echo "${CUDA_HOME:-/usr/local/cuda}/bin/compute-sanitizer")
mkdir -p "$log_dir" "$refs"
nvidia-smi -L

total_passed=0
total_failed=0
# run NAME COMMAND...: runs the cuda tier under COMMAND, adds its counts; sanitizer errors count as a failure.
run() {
  local name=$1
  shift
  local log="$log_dir/$name.log"
  echo "== $name: $*"
  NN_TEST_REFS="$refs" NN_TEST_BUILD="$build" "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  local passed failed
  if grep -q "^test-summary:" "$log" && grep -q "^========= ERROR SUMMARY: [1-9]" "$log"; then
    # The sanitizer's findings explain a non-zero exit (--error-exitcode): one failure on top of the counts.
    echo "$name: compute-sanitizer reported errors (see $log): counted as one failure" >&2
    test_counts "$name" "$log" 0
    failed=$((failed + 1))
  else
    test_counts "$name" "$log" "$status"
  fi
  echo "$name: $passed passed, $failed failed"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
}

run native env NN_CUDA_SYNC=1 "$bin" -ts=cuda,vendor
if [ -x "$sanitizer" ]; then
  run memcheck env NN_CUDA_CACHE=0 "$sanitizer" --tool memcheck --error-exitcode 1 "$bin" -ts=cuda,vendor
  run racecheck "$sanitizer" --tool racecheck --error-exitcode 1 "$bin" -ts=cuda,vendor
else
  echo "compute-sanitizer not found (looked in PATH and \$CUDA_HOME/bin): memcheck and racecheck FAILED" >&2
  total_failed=$((total_failed + 2))
fi

# Data-parallel training on two GPUs (NCCL, docs/distributed.md): ResNet-18 with synchronised BatchNorm on
# 2 ranks, one GPU each, must give the 1-rank weights (float64 after 5 SGD steps: 1e-12; after 5 more AdamW
# steps: 1e-10, as tests/test_dist.cpp explains). One check; with fewer than two GPUs it says so.
gpus=$(nvidia-smi -L | grep -c '^GPU ')
if [ "$gpus" -ge 2 ]; then
  echo "== dist: 2 GPUs (NCCL) against 1"
  make --no-print-directory -j"$(nproc)" CUDA=1 BUILD="$build" "$build/dist_check" > /dev/null || total_failed=$((total_failed + 1))
  mpi="mpirun --oversubscribe --bind-to none $([ "$(id -u)" = 0 ] && echo --allow-run-as-root)"
  out="$log_dir/dist"
  if $mpi -np 1 "$build/dist_check" train --device cuda --batch 10 --out "$out-1" &&
     $mpi -np 2 "$build/dist_check" train --device cuda --batch 10 --out "$out-2"; then
    sgd=$("$build/dist_check" compare "$out-2-sgd.safetensors" "$out-1-sgd.safetensors")
    adamw=$("$build/dist_check" compare "$out-2-adamw.safetensors" "$out-1-adamw.safetensors")
    echo "dist: 2 GPUs vs 1: SGD $sgd, then AdamW $adamw"
    if awk -v s="$sgd" -v a="$adamw" 'BEGIN { exit !(s <= 1e-12 && a <= 1e-10) }'; then
      total_passed=$((total_passed + 1))
    else
      echo "dist: 2-GPU equivalence FAILED" >&2
      total_failed=$((total_failed + 1))
    fi
  else
    echo "dist: a 2-GPU run failed" >&2
    total_failed=$((total_failed + 1))
  fi
else
  echo "== dist: the 2-GPU equivalence check needs two GPUs; this machine has $gpus: not run"
fi

echo "tests: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
