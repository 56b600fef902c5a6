#!/usr/bin/env bash
# Runs every test of a build and prints the verdict line `tests: N passed, M failed`.
#   tools/run_tests.sh BUILD_DIR
# 1. tests/torch_reference.py writes the PyTorch references (BUILD_DIR/refs) with Debian's torch.
#    If that fails, the tests that compare with PyTorch fail; they are never skipped.
# 2. The doctest binary runs all test cases and reports counts per tier (its listener, tests/main.cpp).
# Exits non-zero when any test fails or a test binary dies.
set -uo pipefail
build=${1:?usage: run_tests.sh BUILD_DIR}
refs="$build/refs"
log="$build/test.log"
mkdir -p "$refs"

echo "== PyTorch references (tests/torch_reference.py, /usr/bin/python3)"
if ! /usr/bin/python3 tests/torch_reference.py --out "$refs" > "$build/torch_reference.log" 2>&1; then
  echo "torch_reference.py failed; the PyTorch comparisons will fail. Its output:" >&2
  tail -20 "$build/torch_reference.log" >&2
  rm -f "$refs"/*.safetensors
fi
tail -1 "$build/torch_reference.log"

echo "== $build/skinnet_tests"
NN_TEST_REFS="$refs" NN_TEST_BUILD="$build" "$build/skinnet_tests" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

passed=$(sed -n 's/^test-summary: passed=\([0-9]*\) failed=\([0-9]*\)$/\1/p' "$log" | tail -1)
failed=$(sed -n 's/^test-summary: passed=\([0-9]*\) failed=\([0-9]*\)$/\2/p' "$log" | tail -1)
if [ -z "$passed" ]; then
  echo "the test binary ended without a summary (exit status $status): counted as one failure" >&2
  passed=0
  failed=1
elif [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "the test binary exited with status $status after its summary: counted as one failure" >&2
  failed=1
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
