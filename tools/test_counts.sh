# Sourced by tools/run_tests.sh and tools/test_gpu.sh: reads a test binary's verdict from its log.
#   test_counts NAME LOG STATUS   sets `passed` and `failed` from LOG's `test-summary: passed=N failed=M` line
#                                 (tests/main.cpp); a binary that ended without a summary, or exited non-zero
#                                 after a clean one, counts as one failure (said on stderr, naming NAME).
test_counts() {
  local name=$1 log=$2 status=$3
  passed=$(sed -n 's/^test-summary: passed=\([0-9]*\) failed=\([0-9]*\)$/\1/p' "$log" | tail -1)
  failed=$(sed -n 's/^test-summary: passed=\([0-9]*\) failed=\([0-9]*\)$/\2/p' "$log" | tail -1)
  if [ -z "$passed" ]; then
    echo "$name ended without a test summary (exit status $status): counted as one failure" >&2
    passed=0
    failed=1
  elif [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "$name exited with status $status after its summary: counted as one failure" >&2
    failed=1
  fi
}
