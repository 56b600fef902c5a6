#!/usr/bin/env bash
# Writes compile_commands.json (for clangd) to stdout: compile_commands.sh DIR "COMPILER FLAGS" FILE...
set -euo pipefail
dir=$1; cmd=$2; shift 2
echo "["
sep=""
for f in "$@"; do
  printf '%s  {"directory": "%s", "file": "%s", "command": "%s -c %s"}' "$sep" "$dir" "$f" "${cmd//\"/\\\"}" "$f"
  sep=$',\n'
done
printf '\n]\n'
