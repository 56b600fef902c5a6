# skinnet: `make` builds build/skinnet; `make test` runs every test; `make train` trains (see README.md).
#
# Switches:
#   CUDA=auto|0|1   auto (default) compiles the CUDA sources when nvcc is found; 0 never; 1 always
#   SANITIZE=1      address + undefined-behaviour sanitizers, built apart in build/sanitize (CUDA off)
#   BUILD=dir       output folder (default build, or build/sanitize with SANITIZE=1)

CUDA ?= auto
SANITIZE ?= 0
CUDA_HOME ?= /usr/local/cuda
NVCC ?= $(firstword $(wildcard $(CUDA_HOME)/bin/nvcc) $(shell command -v nvcc 2>/dev/null))

ifeq ($(SANITIZE),1)
  BUILD ?= build/sanitize
  ifeq ($(CUDA),auto)
    CUDA := 0
  endif
else
  BUILD ?= build
endif
ifeq ($(CUDA),auto)
  CUDA := $(if $(NVCC),1,0)
endif

# OpenBLAS reads OPENBLAS_CORETYPE when it loads; Haswell kernels halve GEMM speed on AVX-512 CPUs.
# Targets run here never inherit it (the CLI also drops it itself, see tools/skinnet/main.cpp).
unexport OPENBLAS_CORETYPE

OPENBLAS_INC := /usr/include/x86_64-linux-gnu/openblas-openmp
OPENBLAS_LIB := /usr/lib/x86_64-linux-gnu/openblas-openmp

CXX := g++
CPPFLAGS := -I. -I$(OPENBLAS_INC) -MMD -MP
CXXFLAGS := -std=c++20 -O2 -Wall -Wextra -fopenmp -fno-strict-aliasing
LDFLAGS := -fopenmp -L$(OPENBLAS_LIB) -Wl,-rpath,$(OPENBLAS_LIB)
LDLIBS := -lopenblas -lfmt -lstb
# The CPU kernels get -O3: GCC 12's -O2 vectorises only with its "very cheap" cost model, which leaves
# loops such as ReLU's select scalar and branchy (10x slower; docs/performance.md).
KERNEL_OPT := -O3  # follows SANITIZE, which build/config already records
TEST_OPT :=        # likewise
ifeq ($(SANITIZE),1)
  KERNEL_OPT :=
  # -g1: line tables, all a sanitizer report needs (file:line in every frame), at half the object size.
  # The tests' own files at -O0: 3x faster to compile (tests/test_train.cpp: 33 s against 102 s at -O1 -g),
  # and a test's time is spent in the library, which stays at -O1. CI builds this from scratch each time.
  TEST_OPT := -O0
  CXXFLAGS += -O1 -g1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  CPPFLAGS += -DNN_SANITIZE
  LDFLAGS += -fsanitize=address,undefined
endif

# The library, layer by layer (docs/architecture.md; tools/check_layers.sh keeps each layer to the ones below).
BASE_SRCS := $(wildcard base/*.cpp)
KERNEL_SRCS := $(filter-out kernels/cuda/device_emu.cpp,$(wildcard kernels/cpu/*.cpp kernels/cpu/*/*.cpp kernels/cuda/*.cpp))
TENSOR_SRCS := $(wildcard tensor/*.cpp)
DATA_SRCS := $(wildcard train/data/*.cpp train/data/synth/*.cpp)
LIB_SRCS := $(BASE_SRCS) $(KERNEL_SRCS) $(TENSOR_SRCS) $(wildcard layers/*.cpp models/*.cpp weights/*.cpp) \
            $(DATA_SRCS) $(wildcard train/optim/*.cpp train/dist/*.cpp train/report/*.cpp train/*.cpp)
# Every CUDA kernel source; nvcc compiles them into the library (CUDA=1), g++ into the emulator build below.
KERNEL_CU_SRCS := $(wildcard kernels/cuda/*.cu kernels/cuda/*/*.cu)
CU_SRCS :=
# The vendor entry points (kernels/cuda/vendor.h): cuBLAS/cuDNN with CUDA=1, "built without" stubs otherwise.
VENDOR_NONE_SRC := kernels/cuda/vendor/none.cpp
# NCCL for data-parallel GPU gradients (train/dist/nccl.h): with CUDA=1, a stub otherwise.
NCCL_NONE_SRC := train/dist/nccl_none.cpp
ifneq ($(CUDA),1)
  LIB_SRCS := $(filter-out kernels/cuda/device.cpp train/dist/nccl.cpp,$(LIB_SRCS)) $(VENDOR_NONE_SRC)
endif
ifeq ($(CUDA),1)
  LIB_SRCS := $(filter-out kernels/cuda/device_none.cpp $(NCCL_NONE_SRC),$(LIB_SRCS)) kernels/cuda/vendor/cublas_cudnn.cpp
  CU_SRCS := $(KERNEL_CU_SRCS)
  CPPFLAGS += -isystem $(CUDA_HOME)/include
  LDFLAGS += -L$(CUDA_HOME)/lib64
  LDLIBS += -lcudart_static -ldl -lrt -lpthread
  # cuDNN (shared library) for the library's vendor entry points; never in the emulator binary. cuBLAS is
  # opened with dlopen on first use (the rpath lets it find libcublas): linked, it would add 210 MiB of
  # resident memory to every process (kernels/cuda/vendor/cublas_cudnn.cpp).
  VENDOR_LIBS := -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudnn
  # nvcc 13 cannot compile fmt 9's headers: .cu files include only kernels/*.h and base/'s fmt-free
  # headers (shape.h, dtype.h, random.h, check.h); kernels/cuda/device.cpp needs only the runtime API and g++.
  NVCCFLAGS := -std=c++20 -O2 -lineinfo -I. -MMD -MP \
               -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
               -Xcompiler -Wall,-Wextra,-fno-strict-aliasing
endif
CLI_SRCS := $(wildcard tools/skinnet/*.cpp tools/serve/*.cpp bench/*.cpp)
TEST_SRCS := $(wildcard tests/*.cpp)

LIB_OBJS := $(LIB_SRCS:%.cpp=$(BUILD)/obj/%.o) $(CU_SRCS:%.cu=$(BUILD)/obj/%.cu.o)
# The kernels compiled by g++ for the CUDA emulator, and the emulator. CPU-only builds (CUDA=0, SANITIZE=1)
# link them into the library as well, so that every op's CUDA entry point exists; there is no CUDA device
# in such a build (kernels/cuda/device_none.cpp), so nothing reaches them outside the emulator test binary.
EMU_KERNEL_OBJS := $(KERNEL_CU_SRCS:%.cu=$(BUILD)/emu/%.cu.o) $(BUILD)/emu/kernels/cuda/emu/emulator.o
ifneq ($(CUDA),1)
  LIB_OBJS += $(EMU_KERNEL_OBJS)
  LDLIBS += -lboost_context
endif
CLI_OBJS := $(CLI_SRCS:%.cpp=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/serve_assets.o
TEST_OBJS := $(TEST_SRCS:%.cpp=$(BUILD)/obj/%.o)

LIB := $(BUILD)/libskinnet.a
CLI := $(BUILD)/skinnet
TEST_BIN := $(BUILD)/skinnet_tests

.PHONY: all deps test test-build check-onnx emu-test-build emu-tsan train demo-seeds bench-ops bench-peak bench-loader bench-compare bench-dist bench-gpu test-gpu profile weights fuzz \
        clean compile_commands.json FORCE
.DEFAULT_GOAL := all

all: $(CLI) compile_commands.json

deps:
	@tools/deps.sh

# Objects depend on the configuration: switching CUDA or SANITIZE rebuilds instead of mixing objects.
BUILD_SETTINGS := CUDA=$(CUDA) $(CXX) $(CPPFLAGS) $(CXXFLAGS) $(LDFLAGS) $(LDLIBS)
$(BUILD)/config: FORCE
	@mkdir -p $(@D)
	@echo '$(BUILD_SETTINGS)' | cmp -s - $@ || echo '$(BUILD_SETTINGS)' > $@
FORCE:

$(BUILD)/obj/%.o: %.cpp $(BUILD)/config
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(BUILD)/obj/kernels/cpu/%.o: kernels/cpu/%.cpp $(BUILD)/config
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(KERNEL_OPT) -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.cpp $(BUILD)/config
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(TEST_OPT) -c $< -o $@

# Kernels with builds for AVX2 + FMA and AVX-512, chosen at run time by CPUID (kernels/cpu/isa.h).
$(BUILD)/obj/kernels/cpu/%_avx2.o: KERNEL_OPT += -mavx2 -mfma
$(BUILD)/obj/kernels/cpu/%_avx512.o: KERNEL_OPT += -mavx512f -mavx2 -mfma
# Batch norm's vector copies give the baseline's results bit for bit: no contraction into FMAs there.
$(BUILD)/obj/kernels/cpu/batch_norm_avx2.o $(BUILD)/obj/kernels/cpu/batch_norm_avx512.o: KERNEL_OPT += -ffp-contract=off

# `skinnet version` names the commit it was built from: build/git-commit changes only when the commit (or
# whether the tree is dirty) does, so only cmd_version.o rebuilds.
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
$(BUILD)/git-commit: FORCE
	@mkdir -p $(@D)
	@echo '$(GIT_COMMIT)' | cmp -s - $@ || echo '$(GIT_COMMIT)' > $@
$(BUILD)/obj/tools/skinnet/cmd_version.o: tools/skinnet/cmd_version.cpp $(BUILD)/config $(BUILD)/git-commit
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -DSKINNET_GIT_COMMIT='"$(GIT_COMMIT)"' -c $< -o $@

# bench-gpu times with CUDA events in CUDA=1 builds; elsewhere it only says that it needs a GPU.
$(BUILD)/obj/bench/gpu.o: bench/gpu.cpp $(BUILD)/config
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(if $(filter 1,$(CUDA)),-DNN_BENCH_CUDA) -c $< -o $@

$(BUILD)/obj/%.cu.o: %.cu $(BUILD)/config
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) $(filter -D%,$(CPPFLAGS)) -c $< -o $@

$(LIB): $(LIB_OBJS) $(BUILD)/config
	@rm -f $@
	ar rcs $@ $(LIB_OBJS)

# skinnet serve and bench-serve (and the serve tests) speak HTTP through cpp-httplib, a compiled library
# whose header must see the options it was built with (pkg-config). Kept out of BUILD_SETTINGS: only
# these objects and the two links use it.
HTTP_CFLAGS := $(shell pkg-config --cflags cpp-httplib 2>/dev/null)
HTTP_LIBS := $(or $(shell pkg-config --libs cpp-httplib 2>/dev/null),-lcpp-httplib)
$(BUILD)/obj/tools/serve/%.o $(BUILD)/obj/bench/bench_serve.o $(BUILD)/obj/tests/test_serve.o: CPPFLAGS += $(HTTP_CFLAGS)
# MPI (OpenMPI from Debian) for data-parallel training: only train/dist/world.cpp includes mpi.h; like
# httplib's, its flags stay out of the build settings. The C API only (no deprecated C++ bindings).
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null) -DOMPI_SKIP_MPICXX
MPI_LIBS := $(or $(shell pkg-config --libs ompi-c 2>/dev/null),-lmpi)
$(BUILD)/obj/train/dist/world.o $(BUILD)/emu/train/dist/world.o: CPPFLAGS += $(MPI_CFLAGS)

# The page of skinnet serve, embedded in the binary (tools/serve/assets.h).
SERVE_PAGE := $(wildcard tools/serve/page/*)
$(BUILD)/gen/serve_assets.cpp: $(SERVE_PAGE) tools/serve/embed.sh
	@mkdir -p $(@D)
	tools/serve/embed.sh $@ $(SERVE_PAGE)
$(BUILD)/obj/gen/serve_assets.o: $(BUILD)/gen/serve_assets.cpp $(BUILD)/config
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(CLI): $(CLI_OBJS) $(LIB)
	$(CXX) $(LDFLAGS) $(CLI_OBJS) $(LIB) $(LDLIBS) $(HTTP_LIBS) $(MPI_LIBS) $(VENDOR_LIBS) -o $@

# The data-parallel checks' worker, run under mpirun by tests/test_dist.cpp.
DIST_CHECK := $(BUILD)/dist_check
$(DIST_CHECK): $(BUILD)/obj/tests/dist/dist_check.o $(LIB)
	$(CXX) $(LDFLAGS) $< $(LIB) $(LDLIBS) $(MPI_LIBS) $(VENDOR_LIBS) -o $@

$(TEST_BIN): $(TEST_OBJS) $(LIB)
	$(CXX) $(LDFLAGS) $(TEST_OBJS) $(LIB) $(LDLIBS) $(HTTP_LIBS) $(MPI_LIBS) $(VENDOR_LIBS) -o $@

# The CUDA emulator build (docs/emulator.md): g++ compiles every kernel .cu against kernels/cuda/emu/emulator.h
# and links it with the library's other objects into $(BUILD)/skinnet_emu_tests, where cuda:0 is the CPU.
# It runs the "cuda" tier (kernels against the CPU kernels) and the "emulator" tier (the emulator's own tests
# with planted bugs, tests/emu/). With SANITIZE=1 shared memory is static storage and blocks run one at a
# time, so AddressSanitizer sees shared-memory overruns.
EMU_FLAGS := $(if $(filter 1,$(SANITIZE)),-DNN_EMU_SHARED_STATIC)
EMU_SRCS := kernels/cuda/device_emu.cpp $(filter-out tests/emu/tsan_check.cpp,$(wildcard tests/emu/*.cpp))
EMU_OBJS := $(EMU_KERNEL_OBJS) $(EMU_SRCS:%.cpp=$(BUILD)/emu/%.o) $(patsubst %.cu,$(BUILD)/emu/%.cu.o,$(wildcard tests/emu/*.cu))
# The emulator has no cuBLAS/cuDNN: it always links the vendor stubs, never the libraries.
EMU_LIB_OBJS := $(filter-out $(BUILD)/obj/kernels/cuda/device.o $(BUILD)/obj/kernels/cuda/device_none.o \
                  $(BUILD)/obj/%.cu.o $(EMU_KERNEL_OBJS) $(BUILD)/obj/kernels/cuda/vendor/%.o \
                  $(BUILD)/obj/train/dist/nccl.o $(BUILD)/obj/$(NCCL_NONE_SRC:.cpp=.o),$(LIB_OBJS)) \
                $(BUILD)/obj/$(VENDOR_NONE_SRC:.cpp=.o) $(BUILD)/obj/$(NCCL_NONE_SRC:.cpp=.o)
EMU_TEST_BIN := $(BUILD)/skinnet_emu_tests

$(BUILD)/emu/%.o: %.cpp $(BUILD)/config
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(EMU_FLAGS) -c $< -o $@

$(BUILD)/emu/%.cu.o: %.cu $(BUILD)/config
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(EMU_FLAGS) -x c++ -c $< -o $@

$(EMU_TEST_BIN): $(TEST_OBJS) $(EMU_OBJS) $(EMU_LIB_OBJS)
	$(CXX) $(LDFLAGS) $(TEST_OBJS) $(EMU_OBJS) $(EMU_LIB_OBJS) $(LDLIBS) $(HTTP_LIBS) $(MPI_LIBS) -lboost_context -o $@

emu-test-build: $(EMU_TEST_BIN)

# The emulator's ThreadSanitizer flavour: a planted missing __syncthreads must be reported as a data race
# (tests/emu/tsan_check.cpp; run by tools/run_tests.sh). The scheduler is compiled without instrumentation.
EMU_TSAN_BIN := $(BUILD)/emu-tsan/tsan_check
EMU_TSAN_FLAGS := -std=c++20 -O1 -g -I. -DNN_EMU_TSAN -fno-strict-aliasing
$(EMU_TSAN_BIN): kernels/cuda/emu/emulator.cpp kernels/cuda/emu/emulator.h kernels/cuda/compat.h \
                 tests/emu/planted.cu tests/emu/planted.h tests/emu/tsan_check.cpp
	@mkdir -p $(@D)
	$(CXX) $(EMU_TSAN_FLAGS) -c kernels/cuda/emu/emulator.cpp -o $(@D)/emulator.o
	$(CXX) $(EMU_TSAN_FLAGS) -fsanitize=thread -x c++ -c tests/emu/planted.cu -o $(@D)/planted.o
	$(CXX) $(EMU_TSAN_FLAGS) -fsanitize=thread -c tests/emu/tsan_check.cpp -o $(@D)/tsan_check.o
	$(CXX) -fsanitize=thread $(@D)/tsan_check.o $(@D)/planted.o $(@D)/emulator.o -lboost_context -o $@

emu-tsan: $(EMU_TSAN_BIN)

# clangd reads this; regenerated on every build from the same flags.
compile_commands.json:
	@tools/compile_commands.sh "$(CURDIR)" "$(CXX) $(CPPFLAGS) $(CXXFLAGS)" $(LIB_SRCS) $(CLI_SRCS) $(TEST_SRCS) > $@

# `make test`: install what is missing, build, generate the PyTorch references, run every test.
JOBS ?= $(shell nproc)

# An ONNX consumer not written here, for the export tests: OpenCV DNN loads and runs what `skinnet export`
# wrote (tests/onnx/opencv_run.cpp). Plain flags: it tests OpenCV's reading of our file, not our code.
ONNX_OPENCV := $(BUILD)/onnx-opencv
$(ONNX_OPENCV): tests/onnx/opencv_run.cpp
	@mkdir -p $(@D)
	$(CXX) -std=c++20 -O2 -isystem /usr/include/opencv4 $< -o $@ -lopencv_dnn -lopencv_core

# Every architecture through `skinnet export`, the ONNX checker and OpenCV DNN (docs/export.md's table).
check-onnx: deps
	@$(MAKE) -j$(JOBS) --no-print-directory $(TEST_BIN) $(CLI) $(ONNX_OPENCV)
	@NN_TEST_BUILD=$(BUILD) $(TEST_BIN) -ts=onnx-all > $(BUILD)/check-onnx.log 2>&1; status=$$?; \
	  grep -E "onnx-all:|test cases|ERROR" $(BUILD)/check-onnx.log; echo "(full log: $(BUILD)/check-onnx.log)"; exit $$status

test: deps
	@$(MAKE) -j$(JOBS) --no-print-directory test-build
	@tools/run_tests.sh $(BUILD)

test-build: $(TEST_BIN) $(EMU_TEST_BIN) $(EMU_TSAN_BIN) $(CLI) $(ONNX_OPENCV) $(DIST_CHECK) compile_commands.json


# `make train`: the demo. Without DATA, the synthetic HAM10000-format folder (skinnet synth; NOT real
# dermoscopy) is written to data/synthetic-ham10000 (again only when an older skinnet wrote it) and used.
# With weights/resnet18.safetensors (make weights ARCH=resnet18) the demo fine-tunes from ImageNet
# (configs/resnet18-synthetic-imagenet.toml); without, ResNet-18 trains from scratch
# (configs/resnet18-synthetic.toml), and says what would change. docs/results.md has its figures.
# The real experiment: make train DATA=data/HAM10000 CONFIG=configs/resnet50-ham10000.toml
#                        WEIGHTS=weights/resnet50.safetensors   (docs/training.md)
# Each run gets its own folder runs/<config name>-<date-time>; ARGS passes more settings (--key=value).
SYNTH_DATA := data/synthetic-ham10000
DEMO_WEIGHTS := $(if $(ARCH),,$(wildcard weights/resnet18.safetensors))
CONFIG ?= $(if $(DEMO_WEIGHTS),configs/resnet18-synthetic-imagenet.toml,configs/resnet18-synthetic.toml)
DATA ?=
ARCH ?=
WEIGHTS ?=
ARGS ?=
RUN ?= $(basename $(notdir $(CONFIG)))-$(shell date +%Y%m%d-%H%M%S)

train: deps
	@$(MAKE) -j$(JOBS) --no-print-directory all
	@if [ -z "$(DATA)" ]; then $(CLI) synth --out $(SYNTH_DATA) --reuse; fi
	@if [ "$(CONFIG)" = configs/resnet18-synthetic.toml ] && [ -z "$(ARCH)" ]; then \
	  echo "make train: no weights/resnet18.safetensors, so ResNet-18 trains from scratch ($(CONFIG));"; \
	  echo "  with ImageNet weights (make weights ARCH=resnet18) make train fine-tunes instead"; \
	  echo "  (configs/resnet18-synthetic-imagenet.toml: the head first, then every layer, the backbone slower)"; fi
	$(if $(NP),$(MPIRUN) -np $(NP) )$(CLI) train --config $(CONFIG) --name=$(RUN) $(if $(DATA),--data.path=$(DATA)) \
	  $(if $(ARCH),--model.arch=$(ARCH)) $(if $(WEIGHTS),--model.weights=$(WEIGHTS)) $(ARGS)

# `make demo-seeds`: the demo over seeds 0-4, then again on OpenBLAS's AVX2 kernels (another float
# summation order), with the table of docs/results.md (tools/demo_seeds.py; about 50 minutes on 2 cores).
# SEEDS="0 1" narrows it; ARGS passes training settings to every run. Runs go to runs/demo-seeds/.
SEEDS ?= 0 1 2 3 4
demo-seeds: deps
	@$(MAKE) -j$(JOBS) --no-print-directory all
	$(CLI) synth --out $(SYNTH_DATA) --reuse
	/usr/bin/python3 tools/demo_seeds.py --variant native --seeds $(SEEDS) $(if $(ARGS),-- $(ARGS))
	/usr/bin/python3 tools/demo_seeds.py --variant avx2 --seeds $(SEEDS) $(if $(ARGS),-- $(ARGS))

bench-ops: all
	$(CLI) bench-ops

bench-peak: all
	$(CLI) bench-peak

bench-loader: all
	$(CLI) bench-loader --torch

# Data-parallel runs on this machine (docs/distributed.md): `make train NP=2` trains on 2 ranks. mpirun
# leaves binding to skinnet (each rank takes its share of the cores), may start more ranks than cores,
# and runs as root when that is who asks.
MPIRUN := mpirun --bind-to none --oversubscribe $(if $(filter 0,$(shell id -u)),--allow-run-as-root)

# `make bench-dist`: resnet18 and resnet50 training at 224 px, global batch 16, as 1 rank x 2 threads and
# 2 ranks x 1 thread, interleaved (two rounds); one JSON line each (skinnet bench-dist, docs/distributed.md).
BENCH_DIST_ARCHS ?= resnet18 resnet50
bench-dist: deps
	@$(MAKE) -j$(JOBS) --no-print-directory all
	@for round in 1 2; do for arch in $(BENCH_DIST_ARCHS); do \
	  OMP_NUM_THREADS=2 $(CLI) bench-dist --arch $$arch $(ARGS) || exit 1; \
	  OMP_NUM_THREADS=1 $(MPIRUN) -x OMP_NUM_THREADS -np 2 $(CLI) bench-dist --arch $$arch $(ARGS) || exit 1; \
	done; done

# `make bench-compare`: skinnet vs PyTorch, whole networks (resnet18/resnet50/vgg19/inception_v3/
# inception_resnet_v2 at their own input sizes; inference, training,
# frozen-backbone training; batch 8 and 32), interleaved; table on stdout and in build/bench-compare.json.
# ARGS narrows it, e.g. ARGS="--models resnet50 --modes train --batches 8" (tools/bench_compare.py --help).
bench-compare: deps
	@$(MAKE) -j$(JOBS) --no-print-directory all
	/usr/bin/python3 tools/bench_compare.py --build $(BUILD) $(ARGS)

# GPU-only targets (docs/profiling.md). On a machine without an NVIDIA GPU each says so and exits 2.
#   test-gpu:  the "cuda" test tier natively, then under compute-sanitizer memcheck and racecheck
#   bench-gpu: handwritten kernels vs cuBLAS/cuDNN per layer, and training steps (ARGS: e.g. --batch=64)
#   profile:   Nsight Systems timeline and Nsight Compute kernel reports of bench-gpu --quick, in build/profile/
#              (NCU_KERNELS: regex of the kernels Nsight Compute reports, NCU_COUNT: how many)
GPU_CHECK = command -v nvidia-smi > /dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU ' || \
  { echo "make $@: no NVIDIA GPU here (nvidia-smi is missing or lists no device)" >&2; exit 2; }

test-gpu:
	@tools/test_gpu.sh $(BUILD)

bench-gpu:
	@$(GPU_CHECK)
	@$(MAKE) -j$(JOBS) --no-print-directory CUDA=1 $(CLI)
	$(CLI) bench-gpu $(ARGS)

NCU_KERNELS ?= .*
NCU_COUNT ?= 40
profile:
	@NCU_KERNELS='$(NCU_KERNELS)' NCU_COUNT='$(NCU_COUNT)' tools/profile_gpu.sh $(BUILD)

# `make weights ARCH=resnet50`: download torchvision's ImageNet file (when online), check its SHA-256 prefix,
# convert it to weights/resnet50.safetensors. Offline it says what to download and where to put it.
weights: deps
	@test -n "$(ARCH)" || { echo "make weights: name the architecture, e.g. make weights ARCH=resnet50" >&2; exit 2; }
	/usr/bin/python3 weights/convert.py --fetch $(ARCH) --dir weights

# `make fuzz`: libFuzzer (Debian's clang) with AddressSanitizer and UBSan on the CSV reader and on the image
# path (decode, augment, normalise), FUZZ_SECONDS each, from seed corpora that tools/fuzz_corpus.py writes.
# Inputs that crash are saved in build/fuzz/crashes/; see docs/testing.md.
FUZZ_BUILD := build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_CXX := clang++-14
FUZZ_CXXFLAGS := -std=c++20 -O1 -g -fopenmp -fno-omit-frame-pointer -fsanitize=address,undefined \
                 -fno-sanitize-recover=undefined -DNN_SANITIZE -I. -I$(OPENBLAS_INC) -MMD -MP
# The fuzzers link the data layer and what it stands on (the same lists as the library's).
FUZZ_LIB_SRCS := $(filter-out kernels/cuda/device.cpp,$(BASE_SRCS) $(KERNEL_SRCS) $(TENSOR_SRCS)) \
                 $(VENDOR_NONE_SRC) weights/preprocess.cpp $(DATA_SRCS)
FUZZ_LIB_OBJS := $(FUZZ_LIB_SRCS:%.cpp=$(FUZZ_BUILD)/obj/%.o) \
                 $(KERNEL_CU_SRCS:%.cu=$(FUZZ_BUILD)/obj/%.cu.o) $(FUZZ_BUILD)/obj/kernels/cuda/emu/emulator.o
FUZZERS := $(patsubst tests/fuzz/%.cpp,$(FUZZ_BUILD)/%,$(wildcard tests/fuzz/*.cpp))
.SECONDARY: $(patsubst tests/fuzz/%.cpp,$(FUZZ_BUILD)/obj/tests/fuzz/%.o,$(wildcard tests/fuzz/*.cpp))

$(FUZZ_BUILD)/obj/%.o: %.cpp
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

# The CUDA entry points, compiled for the emulator as in CPU-only builds (see EMU_KERNEL_OBJS).
$(FUZZ_BUILD)/obj/%.cu.o: %.cu
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -DNN_EMU_SHARED_STATIC -fsanitize=fuzzer-no-link -x c++ -c $< -o $@

$(FUZZ_BUILD)/libskinnet-fuzz.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/%: $(FUZZ_BUILD)/obj/tests/fuzz/%.o $(FUZZ_BUILD)/libskinnet-fuzz.a
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer $^ -L$(OPENBLAS_LIB) -Wl,-rpath,$(OPENBLAS_LIB) \
	  -lopenblas -lfmt -lstb -lboost_context -o $@

fuzz:
	@tools/deps.sh fuzz
	@$(MAKE) -j$(JOBS) --no-print-directory $(FUZZERS)
	@tools/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf build compile_commands.json

-include $(LIB_OBJS:.o=.d) $(EMU_LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(EMU_OBJS:.o=.d) $(FUZZ_LIB_OBJS:.o=.d)
