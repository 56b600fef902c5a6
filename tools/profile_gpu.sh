#!/usr/bin/env bash
# make profile: Nsight Systems and Nsight Compute on a short GPU run (skinnet bench-gpu --quick).
#   tools/profile_gpu.sh BUILD_DIR      (builds BUILD_DIR/skinnet with CUDA=1 first; -lineinfo is in NVCCFLAGS)
# Writes BUILD_DIR/profile/:
#   timeline.nsys-rep   the timeline: CUDA API, kernels, cuBLAS/cuDNN calls, and skinnet's NVTX ranges (one
#                       per op and per layer, base/nvtx.h); open it in nsys-ui
#   timeline-stats.txt  nsys stats: time per kernel, per NVTX range, per CUDA API call
#   kernels.ncu-rep     Nsight Compute's detailed section set for the first NCU_COUNT kernels (default 40)
#                       whose name matches NCU_KERNELS (a regex, default every kernel); open it in ncu-ui,
#                       where -lineinfo maps stalls to .cu source lines
#   kernels.txt         the same report as text
# Exits 2 without a GPU, 1 when a tool is missing or fails.
set -uo pipefail
build=${1:?usage: profile_gpu.sh BUILD_DIR}
out="$build/profile"
cli="$build/skinnet"
run=("$cli" bench-gpu --quick)

if ! command -v nvidia-smi > /dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  echo "make profile: no NVIDIA GPU here (nvidia-smi is missing or lists no device); nothing to profile." >&2
  exit 2
fi
cuda_bin="${CUDA_HOME:-/usr/local/cuda}/bin"
nsys=$(command -v nsys || echo "$cuda_bin/nsys")
ncu=$(command -v ncu || echo "$cuda_bin/ncu")
for tool in "$nsys" "$ncu"; do
  [ -x "$tool" ] || { echo "make profile: $(basename "$tool") not found (PATH, $cuda_bin); install Nsight Systems/Compute" >&2; exit 1; }
done
make --no-print-directory -j"$(nproc)" CUDA=1 BUILD="$build" "$cli" || { echo "make profile: the build failed" >&2; exit 1; }
mkdir -p "$out"

echo "== Nsight Systems: ${run[*]}"
"$nsys" profile --trace=cuda,nvtx,cublas,cudnn,osrt --force-overwrite=true --output="$out/timeline" "${run[@]}" \
  > "$out/nsys.log" 2>&1 || { tail -20 "$out/nsys.log" >&2; exit 1; }
"$nsys" stats --force-export=true --report cuda_gpu_kern_sum,nvtx_sum,cuda_api_sum "$out/timeline.nsys-rep" \
  > "$out/timeline-stats.txt" 2>&1 || { tail -20 "$out/timeline-stats.txt" >&2; exit 1; }

echo "== Nsight Compute: ${run[*]} (first ${NCU_COUNT:-40} kernels matching '${NCU_KERNELS:-.*}')"
"$ncu" --set detailed --import-source yes --force-overwrite --launch-count "${NCU_COUNT:-40}" \
  --kernel-name "regex:${NCU_KERNELS:-.*}" --export "$out/kernels" "${run[@]}" > "$out/ncu.log" 2>&1 ||
  { tail -20 "$out/ncu.log" >&2; echo "(ncu needs GPU performance counters: root, or the driver's" \
    "NVreg_RestrictProfilingToAdminUsers=0)" >&2; exit 1; }
"$ncu" --import "$out/kernels.ncu-rep" --page details > "$out/kernels.txt" 2>&1

echo "profile written to $out/: timeline.nsys-rep, timeline-stats.txt, kernels.ncu-rep, kernels.txt"
