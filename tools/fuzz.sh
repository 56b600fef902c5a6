#!/usr/bin/env bash
# Runs every fuzzer of a fuzz build for a bounded time (make fuzz).
#   tools/fuzz.sh FUZZ_BUILD SECONDS
# Each fuzzer starts from the seed corpus tools/fuzz_corpus.py writes and keeps what it finds in
# FUZZ_BUILD/corpus-found/NAME, so later runs go on from there. A crash, a sanitizer report or a leak
# stops that fuzzer with the input saved under FUZZ_BUILD/crashes/; the script then exits non-zero.
set -uo pipefail
build=${1:?usage: fuzz.sh FUZZ_BUILD SECONDS}
seconds=${2:?usage: fuzz.sh FUZZ_BUILD SECONDS}
/usr/bin/python3 tools/fuzz_corpus.py "$build/corpus-seed" || exit 1
mkdir -p "$build/crashes"
failed=0
for fuzzer in "$build"/fuzz_*; do
  [ -x "$fuzzer" ] || continue
  name=$(basename "$fuzzer")
  kind=${name#fuzz_}
  mkdir -p "$build/corpus-found/$kind"
  echo "== $name: $seconds s"
  "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=3072 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$build/crashes/$name-" "$build/corpus-found/$kind" "$build/corpus-seed/$kind" \
    > "$build/$name.log" 2>&1
  status=$?
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+ *DONE" "$build/$name.log" | sed 's/^/   /'
  echo "   corpus: $(ls "$build/corpus-found/$kind" | wc -l) inputs"
  if [ $status -ne 0 ]; then
    echo "$name FAILED (exit $status); its log: $build/$name.log" >&2
    grep -E "ERROR|SUMMARY|runtime error" "$build/$name.log" | head -5 >&2
    failed=1
  fi
done
if [ $failed -eq 0 ]; then echo "fuzz: no crash, no sanitizer report"; fi
exit $failed
