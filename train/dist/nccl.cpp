// NCCL for GPU gradients (see nccl.h). Compiled with CUDA=1 only; nccl_none.cpp otherwise.
#include "train/dist/nccl.h"

#define NN_CUDA_HOST_ONLY
#include "kernels/cuda/compat.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <nccl.h>

#include <cstring>
#include <mutex>
#include <vector>

#include "base/error.h"

namespace nn::dist {

namespace {

// The NCCL entry points skinnet calls, from libnccl.so.2.
struct NcclApi {
  decltype(&ncclGetVersion) get_version = nullptr;
  decltype(&ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&ncclCommInitRank) comm_init_rank = nullptr;
  decltype(&ncclCommDestroy) comm_destroy = nullptr;
  decltype(&ncclCommAbort) comm_abort = nullptr;
  decltype(&ncclAllReduce) all_reduce = nullptr;
  decltype(&ncclGetErrorString) error_string = nullptr;
  std::string error;  // why loading failed
};

const NcclApi& nccl() {
  static NcclApi api;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);  // the executable's RUNPATH, then ld.so.cache
    if (!lib) {
      api.error = fmt::format("cannot load libnccl.so.2: {}", dlerror());
      return;
    }
    auto bind = [&](auto& fn, const char* symbol) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, symbol));
      if (!fn && api.error.empty()) api.error = fmt::format("libnccl.so.2 lacks {}", symbol);
    };
    bind(api.get_version, "ncclGetVersion");
    bind(api.get_unique_id, "ncclGetUniqueId");
    bind(api.comm_init_rank, "ncclCommInitRank");
    bind(api.comm_destroy, "ncclCommDestroy");
    bind(api.comm_abort, "ncclCommAbort");
    bind(api.all_reduce, "ncclAllReduce");
    bind(api.error_string, "ncclGetErrorString");
  });
  NN_CHECK(api.error.empty(), "NCCL is not available: {}", api.error);
  return api;
}

void check(ncclResult_t r, const char* call) {
  if (r != ncclSuccess) NN_FAIL("NCCL error: {} returned {} ({})", call, static_cast<int>(r), nccl().error_string(r));
}

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return ncclFloat32;
    case DType::f64: return ncclFloat64;
    case DType::i64: return ncclInt64;
    default: break;
  }
  NN_FAIL("NCCL: no type for {} tensors", dtype_name(dtype));
}

}  // namespace

struct NcclGroup::Impl {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;   // the allreduces'
  cudaEvent_t ready = nullptr;     // recorded on the compute stream before each allreduce
  cudaEvent_t done = nullptr;      // recorded on the allreduce stream by wait()
};

bool NcclGroup::built() { return true; }

NcclGroup::NcclGroup(World& world) : impl_(std::make_unique<Impl>()) {
  const NcclApi& api = nccl();
  ncclUniqueId id{};
  std::string bytes(sizeof id, '\0');
  if (world.rank() == 0) {
    check(api.get_unique_id(&id), "ncclGetUniqueId");
    bytes.assign(reinterpret_cast<const char*>(&id), sizeof id);
  }
  world.broadcast(bytes);
  std::memcpy(&id, bytes.data(), sizeof id);
  NN_CUDA_CHECK(cudaSetDevice(world.local_rank()));
  check(api.comm_init_rank(&impl_->comm, world.size(), id, world.rank()), "ncclCommInitRank");
  NN_CUDA_CHECK(cudaStreamCreateWithFlags(&impl_->stream, cudaStreamNonBlocking));
  NN_CUDA_CHECK(cudaEventCreateWithFlags(&impl_->ready, cudaEventDisableTiming));
  NN_CUDA_CHECK(cudaEventCreateWithFlags(&impl_->done, cudaEventDisableTiming));
}

NcclGroup::~NcclGroup() {
  if (!impl_) return;
  if (impl_->comm) nccl().comm_destroy(impl_->comm);
  if (impl_->ready) cudaEventDestroy(impl_->ready);
  if (impl_->done) cudaEventDestroy(impl_->done);
  if (impl_->stream) cudaStreamDestroy(impl_->stream);
}

std::string NcclGroup::version() const {
  int v = 0;
  check(nccl().get_version(&v), "ncclGetVersion");
  return fmt::format("NCCL {}.{}.{}", v / 10000, (v / 100) % 100, v % 100);
}

void NcclGroup::start_all_reduce_sum(void* data, int64_t count, DType dtype) {
  NN_CUDA_CHECK(cudaEventRecord(impl_->ready, cuda::stream()));
  NN_CUDA_CHECK(cudaStreamWaitEvent(impl_->stream, impl_->ready, 0));
  check(nccl().all_reduce(data, data, static_cast<size_t>(count), nccl_type(dtype), ncclSum, impl_->comm, impl_->stream),
        "ncclAllReduce");
}

void NcclGroup::wait() {
  NN_CUDA_CHECK(cudaEventRecord(impl_->done, impl_->stream));
  NN_CUDA_CHECK(cudaStreamWaitEvent(cuda::stream(), impl_->done, 0));
}

}  // namespace nn::dist
