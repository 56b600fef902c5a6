#!/usr/bin/env bash
# Runs every test of a build and prints the verdict line `tests: N passed, M failed`.
#   tools/run_tests.sh BUILD_DIR
# 1. tests/torch_reference.py writes the PyTorch references with Debian's torch into build/refs (NN_REFS
#    overrides), shared by every build: they depend only on the generator's sources and torch's version,
#    which build/refs/inputs.sha256 records, and are made again only when those change (they take ~3.5 min;
#    `make test SANITIZE=1` after `make test` reuses them). If that fails, the tests that compare with
#    PyTorch fail; they are never skipped.
# 2. The doctest binaries run their test cases and report counts per tier (their listener, tests/main.cpp):
#    skinnet_tests every tier but "cuda", "emulator", "vendor" and "onnx-all", skinnet_emu_tests "cuda" and
#    "emulator" (the CUDA emulator). "vendor" (cuBLAS/cuDNN against the handwritten kernels) needs a GPU: make
#    test-gpu. "onnx-all" (every architecture through ONNX export, ~10 min) is `make check-onnx`.
# 3. tools/check_layers.sh checks the include layering (base < kernels < tensor < ... < tools).
# Exits non-zero when any test fails or a test binary dies.
set -uo pipefail
source "$(dirname "$0")/test_counts.sh"
build=${1:?usage: run_tests.sh BUILD_DIR}
refs="${NN_REFS:-build/refs}"
log="$build/test.log"
mkdir -p "$refs" "$build"

# What the references are made from: the generator and everything it imports (tests/torch_*.py, the
# converter in weights/), and the torch and Python that run it.
refs_inputs() {
  sha256sum tests/torch_*.py weights/*.py
  dpkg-query -W -f '${Package} ${Version}\n' python3-torch python3-torchvision 2>/dev/null
  /usr/bin/python3 --version
}
stamp="$refs/inputs.sha256"
inputs=$(refs_inputs)
if [ -s "$stamp" ] && [ "$inputs" = "$(cat "$stamp")" ]; then
  echo "== PyTorch references: $refs is up to date (made from the same sources and torch: $stamp)"
else
  echo "== PyTorch references (tests/torch_reference.py, /usr/bin/python3, into $refs)"
  rm -f "$stamp"
  if /usr/bin/python3 tests/torch_reference.py --out "$refs" > "$refs/torch_reference.log" 2>&1; then
    printf '%s\n' "$inputs" > "$stamp"
  else
    echo "torch_reference.py failed; the PyTorch comparisons will fail. Its output:" >&2
    tail -20 "$refs/torch_reference.log" >&2
    rm -f "$refs"/*.safetensors
  fi
  tail -1 "$refs/torch_reference.log"
fi

# Runs one test binary with doctest filter arguments; adds its counts to the totals. A binary that ends
# without a summary, or fails after it, counts as one failure.
total_passed=0
total_failed=0
run_binary() {
  local bin=$1 log=$2
  shift 2
  echo "== $bin $*"
  NN_TEST_REFS="$refs" NN_TEST_BUILD="$build" "$bin" "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  local passed failed
  test_counts "$bin" "$log" "$status"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
}

# The CPU build: every tier but the CUDA ones. The "cuda" tier (CUDA kernels against the CPU kernels) and
# the "emulator" tier run in the emulator build, where cuda:0 is the CUDA emulator (docs/emulator.md); on a
# GPU, `make test-gpu` runs the "cuda" tier natively.
run_binary "$build/skinnet_tests" "$log" -tse=cuda,emulator,vendor,onnx-all
run_binary "$build/skinnet_emu_tests" "$build/test-emu.log" -ts=cuda,emulator

# The emulator's ThreadSanitizer flavour (make emu-tsan): the planted missing __syncthreads must be
# reported as a data race, the correct kernel must not be. Two checks.
tsan="$build/emu-tsan/tsan_check"
echo "== $tsan good|bad"
if [ -x "$tsan" ] && "$tsan" good > "$build/emu-tsan/good.log" 2>&1 &&
   ! grep -q "ThreadSanitizer" "$build/emu-tsan/good.log"; then
  echo "emulator-tsan: no report for the kernel with its barrier: passed"
  total_passed=$((total_passed + 1))
else
  echo "emulator-tsan: the correct kernel failed or was reported (see $build/emu-tsan/good.log): FAILED"
  total_failed=$((total_failed + 1))
fi
if [ -x "$tsan" ] && ! "$tsan" bad > "$build/emu-tsan/bad.log" 2>&1 &&
   grep -q "WARNING: ThreadSanitizer: data race" "$build/emu-tsan/bad.log" &&
   grep -q "planted.cu" "$build/emu-tsan/bad.log"; then
  echo "emulator-tsan: the missing __syncthreads is reported as a data race in planted.cu: passed"
  total_passed=$((total_passed + 1))
else
  echo "emulator-tsan: the missing __syncthreads was not reported (see $build/emu-tsan/bad.log): FAILED"
  total_failed=$((total_failed + 1))
fi

# The layering (tools/check_layers.sh): each folder includes only the layers below it. Two checks: the
# tree, and the checker against planted violations.
for mode in "" --self-test; do
  echo "== tools/check_layers.sh $mode"
  if tools/check_layers.sh $mode; then
    total_passed=$((total_passed + 1))
  else
    echo "layers: FAILED"
    total_failed=$((total_failed + 1))
  fi
done

echo "tests: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
