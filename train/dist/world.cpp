// The data-parallel world on MPI (see world.h).
#include "train/dist/world.h"

#include <fmt/format.h>
#include <mpi.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "base/error.h"
#include "tensor/autograd.h"

namespace nn::dist {

namespace {

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return MPI_FLOAT;
    case DType::f64: return MPI_DOUBLE;
    case DType::i64: return MPI_INT64_T;
    default: break;
  }
  NN_FAIL("distributed: no MPI type for {} tensors", dtype_name(dtype));
}

// MPI counts are int: larger buffers go in pieces.
constexpr int64_t kMaxCount = INT_MAX / 2;

// Runs `op` on a contiguous CPU tensor holding t's values; when that is a staging copy (t on a GPU, or
// strided), writes the result back into t if `write_back`.
template <class Op>
void on_host(const Tensor& t, bool write_back, Op op) {
  if (t.device().is_cpu() && t.is_contiguous()) {
    op(t);
    return;
  }
  const Tensor host = t.to(Device::cpu()).contiguous();
  op(host);
  if (!write_back) return;
  NoGradGuard no_grad;  // parameters require grad; this is a data transfer, not an op
  t.copy_(host.to(t.device()));
}

}  // namespace

World& World::get() {
  static World world;
  return world;
}

bool World::launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

void World::init() {
  if (mpi_ || !launched()) return;
  int already = 0;
  MPI_Initialized(&already);
  if (!already) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  }
  mpi_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &local_rank_);
  MPI_Comm_size(node, &local_size_);
  MPI_Comm_free(&node);
  int first_on_node = local_rank_ == 0 ? 1 : 0;
  MPI_Allreduce(&first_on_node, &nodes_, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
}

void World::finalize() {
  if (!mpi_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
  mpi_ = false;
}

std::string World::transport() const {
  if (!mpi_) return "none (one process)";
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(version, &length);
  std::string v(version, static_cast<size_t>(length));
  v = v.substr(0, v.find_first_of(",\n"));
  return fmt::format("MPI ({})", v);
}

void World::barrier() {
  if (mpi_) MPI_Barrier(MPI_COMM_WORLD);
}

void World::all_reduce_sum(const Tensor& t) {
  if (!mpi_ || size_ == 1) return;
  on_host(t, true, [&](const Tensor& h) {
    const size_t element = dtype_size(h.dtype());
    char* p = static_cast<char*>(h.raw_data());
    for (int64_t done = 0; done < h.numel(); done += kMaxCount) {
      const int64_t n = std::min(kMaxCount, h.numel() - done);
      MPI_Allreduce(MPI_IN_PLACE, p + done * element, static_cast<int>(n), mpi_type(h.dtype()), MPI_SUM,
                    MPI_COMM_WORLD);
    }
  });
}

void World::all_reduce_sum(std::vector<double>& values) {
  if (!mpi_ || size_ == 1 || values.empty()) return;
  MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

void World::broadcast(const Tensor& t, int root) {
  if (!mpi_ || size_ == 1) return;
  on_host(t, rank_ != root, [&](const Tensor& h) {  // the root only sends
    const size_t element = dtype_size(h.dtype());
    char* p = static_cast<char*>(h.raw_data());
    for (int64_t done = 0; done < h.numel(); done += kMaxCount) {
      const int64_t n = std::min(kMaxCount, h.numel() - done);
      MPI_Bcast(p + done * element, static_cast<int>(n), mpi_type(h.dtype()), root, MPI_COMM_WORLD);
    }
  });
}

void World::broadcast(std::string& text, int root) {
  if (!mpi_ || size_ == 1) return;
  int64_t length = static_cast<int64_t>(text.size());
  MPI_Bcast(&length, 1, MPI_INT64_T, root, MPI_COMM_WORLD);
  text.resize(static_cast<size_t>(length));
  for (int64_t done = 0; done < length; done += kMaxCount)
    MPI_Bcast(text.data() + done, static_cast<int>(std::min(kMaxCount, length - done)), MPI_CHAR, root, MPI_COMM_WORLD);
}

void World::broadcast(std::vector<int64_t>& values, int root) {
  if (!mpi_ || size_ == 1) return;
  int64_t length = static_cast<int64_t>(values.size());
  MPI_Bcast(&length, 1, MPI_INT64_T, root, MPI_COMM_WORLD);
  values.resize(static_cast<size_t>(length));
  if (length > 0) MPI_Bcast(values.data(), static_cast<int>(length), MPI_INT64_T, root, MPI_COMM_WORLD);
}

void World::broadcast(std::map<std::string, Tensor>& tensors, int root) {
  if (!mpi_ || size_ == 1) return;
  std::string layout;
  if (rank_ == root) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& [name, t] : tensors) j.push_back({name, dtype_name(t.dtype()), std::vector<int64_t>(t.shape().begin(), t.shape().end())});
    layout = j.dump();
  }
  broadcast(layout, root);
  if (rank_ != root) {
    tensors.clear();
    for (const auto& e : nlohmann::json::parse(layout)) {
      const std::string dtype = e[1].get<std::string>();
      const DType d = dtype == "f64" ? DType::f64 : dtype == "i64" ? DType::i64 : DType::f32;
      const auto dims = e[2].get<std::vector<int64_t>>();
      tensors[e[0].get<std::string>()] = empty(Shape(std::span<const int64_t>(dims)), d);
    }
  }
  for (auto& [name, t] : tensors) broadcast(t, root);
}

namespace {

template <class T>
std::vector<T> gather_all(const std::vector<T>& mine, MPI_Datatype type, int size) {
  int count = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<size_t>(size)), offsets(static_cast<size_t>(size));
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int64_t total = 0;
  for (int r = 0; r < size; ++r) {
    offsets[r] = static_cast<int>(total);
    total += counts[r];
  }
  NN_CHECK(total < INT_MAX, "distributed all_gather: {} values are more than one MPI call takes", total);
  std::vector<T> all(static_cast<size_t>(total));
  MPI_Allgatherv(mine.data(), count, type, all.data(), counts.data(), offsets.data(), type, MPI_COMM_WORLD);
  return all;
}

}  // namespace

std::vector<double> World::all_gather(const std::vector<double>& mine) {
  if (!mpi_ || size_ == 1) return mine;
  return gather_all(mine, MPI_DOUBLE, size_);
}

std::vector<int64_t> World::all_gather(const std::vector<int64_t>& mine) {
  if (!mpi_ || size_ == 1) return mine;
  return gather_all(mine, MPI_INT64_T, size_);
}

World::Request World::start_all_reduce_sum(void* data, int64_t count, DType dtype) {
  Request r;
  if (!mpi_ || size_ == 1) return r;
  NN_CHECK(count <= kMaxCount, "distributed: a gradient bucket of {} values is too large for one MPI call", count);
  auto* handle = new MPI_Request;
  MPI_Iallreduce(MPI_IN_PLACE, data, static_cast<int>(count), mpi_type(dtype), MPI_SUM, MPI_COMM_WORLD, handle);
  r.handle = handle;
  r.done = false;
  return r;
}

bool World::test(Request& r) {
  if (r.done) return true;
  auto* handle = static_cast<MPI_Request*>(r.handle);
  int flag = 0;
  MPI_Test(handle, &flag, MPI_STATUS_IGNORE);
  if (flag) {
    delete handle;
    r.handle = nullptr;
    r.done = true;
  }
  return r.done;
}

void World::wait(Request& r) {
  if (r.done) return;
  auto* handle = static_cast<MPI_Request*>(r.handle);
  MPI_Wait(handle, MPI_STATUS_IGNORE);
  delete handle;
  r.handle = nullptr;
  r.done = true;
}

void World::fail(const std::string& message, int code) {
  std::fprintf(stderr, "skinnet rank %d of %d: %s\n", rank_, size_, message.c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  if (mpi_) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

}  // namespace nn::dist
