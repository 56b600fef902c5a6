#!/usr/bin/env bash
# make deps: installs the Debian packages skinnet builds and tests with, and nothing else.
# As root it runs apt-get; as anyone else it prints the exact command to run.
# Every dependency of the project is listed here, in one place.
#   tools/deps.sh          what `make`, `make test` and `make train` need
#   tools/deps.sh fuzz     and what `make fuzz` needs (clang's libFuzzer and sanitizer runtimes)
# and, from npm, the one JavaScript package the browser test of `skinnet serve` drives chromium with
# (tests/browser/package.json, installed into build/node).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ make pkg-config            # toolchain
  libopenblas-openmp-dev         # GEMM for conv2d/matmul on CPU (OpenMP build, shares threads with ours)
  libfmt-dev                     # formatting (g++ 12 has no std::format)
  doctest-dev                    # the test framework
  libstb-dev                     # stb_image: JPEG/PNG/BMP decoding
  nlohmann-json3-dev             # safetensors headers, JSON output
  python3-torch python3-numpy    # the oracle: references for the tests, generated at test time
  python3-torchvision            # reference models for the parity tests
  python3-h5py                   # weights/convert.py reads Keras .h5 files
  libtomlplusplus-dev            # training configs (configs/*.toml)
  python3-sklearn                # the oracle for the metrics (accuracy, ROC AUC, average precision, ...)
  chromium                       # renders report.html headless in the report test
  libboost-context-dev           # fibers for the CUDA emulator (one per CUDA thread, kernels/cuda/emu/)
  python3-onnx                   # the ONNX checker and shape inference, run on `skinnet export`'s files
  libopencv-dnn-dev              # OpenCV DNN: a second ONNX consumer, running exported files (tests/onnx/)
  libcpp-httplib-dev             # HTTP server and client for skinnet serve and bench-serve
  libopenmpi-dev openmpi-bin     # MPI: data-parallel training (mpirun -np N skinnet train), tests/test_dist.cpp
)
if [ "${1:-}" = fuzz ]; then
  packages+=(
    clang-14 libclang-rt-14-dev  # libFuzzer, AddressSanitizer and UBSan runtimes for clang
    libomp-14-dev                # OpenMP for clang (the library's loops use it)
    python3-pil                  # tools/fuzz_corpus.py writes the seed images
  )
fi

# puppeteer-core, pinned in tests/browser/package.json, into build/node (ignored by git): reinstalled when
# that file changes. It needs node >= 18 (Debian's nodejs when no newer node is installed) and npm.
npm_deps() {
  [ "${1:-}" = fuzz ] && return 0
  if cmp -s tests/browser/package.json build/node/package.json && [ -d build/node/node_modules/puppeteer-core ]; then
    return 0
  fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "deps: node and npm are needed for the browser test of skinnet serve; apt-get install nodejs npm" >&2
    return 1
  fi
  echo "deps: npm install puppeteer-core into build/node (tests/browser/package.json)"
  mkdir -p build/node
  cp tests/browser/package.json build/node/package.json
  npm install --prefix build/node --no-audit --no-fund --loglevel=error || { rm -f build/node/package.json; return 1; }
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
  npm_deps "${1:-}"
  exit
fi

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing Debian packages: ${missing[*]}" >&2
  echo "deps: run as root:  apt-get update && $cmd" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh them once if the install cannot find a package.
apt-get install -y --no-install-recommends "${missing[@]}" || { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; }
if ! command -v node >/dev/null; then
  apt-get install -y --no-install-recommends nodejs npm || { apt-get update && apt-get install -y --no-install-recommends nodejs npm; }
fi
npm_deps "${1:-}"
