// safetensors reader and writer (see safetensors.h).
#include "weights/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/math.h"

namespace nn {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100 << 20;  // the reference implementation's limit

struct DTypeName {
  const char* name;
  DType dtype;
};
constexpr DTypeName kDTypes[] = {{"F32", DType::f32}, {"F64", DType::f64}, {"I64", DType::i64}, {"U8", DType::u8}};

DType parse_dtype(const std::string& s, const std::string& path, const std::string& tensor) {
  for (const auto& d : kDTypes)
    if (s == d.name) return d.dtype;
  NN_FAIL("{}: tensor '{}' has dtype {}, which skinnet does not read (F32, F64, I64, U8); convert it first", path,
          tensor, s);
}

const char* dtype_tag(DType t) {
  for (const auto& d : kDTypes)
    if (d.dtype == t) return d.name;
  return "?";
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  NN_CHECK(fd >= 0, "{}: cannot open: {}", path, errno_text());
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    NN_FAIL("{}: cannot stat: {}", path, errno_text());
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    NN_FAIL("{}: not a safetensors file: {} bytes, shorter than the 8-byte header length", path, file_size);
  }
  void* base = mmap(nullptr, file_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  NN_CHECK(base != MAP_FAILED, "{}: cannot map {} bytes: {}", path, file_size, errno_text());

  SafetensorsFile f;
  f.path_ = path;
  f.mapping_ = std::shared_ptr<void>(base, [file_size](void* p) { munmap(p, file_size); });
  const char* bytes = static_cast<const char*>(base);

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[i]);
  NN_CHECK(header_len <= kMaxHeaderBytes && header_len <= file_size - 8,
           "{}: not a safetensors file or truncated: header length {} with a file of {} bytes", path, header_len,
           file_size);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes + 8, bytes + 8 + header_len);
  } catch (const nlohmann::json::exception& e) {
    NN_FAIL("{}: the safetensors header is not valid JSON: {}", path, e.what());
  }
  NN_CHECK(header.is_object(), "{}: the safetensors header is not a JSON object", path);
  f.data_ = bytes + 8 + header_len;
  const uint64_t data_size = file_size - 8 - header_len;

  std::vector<std::pair<size_t, size_t>> ranges;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      NN_CHECK(value.is_object(), "{}: __metadata__ must be an object of strings", path);
      for (const auto& [k, v] : value.items()) {
        NN_CHECK(v.is_string(), "{}: __metadata__ entry '{}' is not a string", path, k);
        f.metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    NN_CHECK(value.is_object() && value.contains("dtype") && value.contains("shape") && value.contains("data_offsets") &&
                 value["dtype"].is_string() && value["shape"].is_array() && value["data_offsets"].is_array() &&
                 value["data_offsets"].size() == 2,
             "{}: tensor '{}' needs dtype (string), shape (array) and data_offsets ([begin, end])", path, name);
    Entry e;
    e.dtype = parse_dtype(value["dtype"].get<std::string>(), path, name);
    for (const auto& d : value["shape"]) {
      NN_CHECK(d.is_number_unsigned(), "{}: tensor '{}' has a shape entry {} that is not a non-negative integer",
               path, name, d.dump());
      e.shape.push_back(d.get<int64_t>());
    }
    const auto& off = value["data_offsets"];
    NN_CHECK(off[0].is_number_unsigned() && off[1].is_number_unsigned(),
             "{}: tensor '{}' has data_offsets that are not non-negative integers", path, name);
    e.begin = off[0].get<size_t>();
    e.end = off[1].get<size_t>();
    NN_CHECK(e.begin <= e.end && e.end <= data_size,
             "{}: tensor '{}' has data_offsets [{}, {}] outside the {} data bytes (truncated file?)", path, name,
             e.begin, e.end, data_size);
    const uint64_t expected = static_cast<uint64_t>(e.shape.numel()) * dtype_size(e.dtype);
    NN_CHECK(e.end - e.begin == expected, "{}: tensor '{}' {} {} needs {} bytes but data_offsets give {}", path, name,
             dtype_tag(e.dtype), e.shape, expected, e.end - e.begin);
    ranges.emplace_back(e.begin, e.end);
    f.entries_[name] = e;
  }
  std::sort(ranges.begin(), ranges.end());
  size_t covered = 0;
  for (const auto& [b, e] : ranges) {
    NN_CHECK(b == covered, "{}: tensor data {} at byte {} of the data section (expected {})", path,
             b < covered ? "overlaps" : "leaves a hole", b, covered);
    covered = e;
  }
  NN_CHECK(covered == data_size, "{}: {} bytes of data follow the last tensor; the file is malformed", path,
           data_size - covered);
  return f;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::pair<size_t, std::string>> order;
  for (const auto& [name, e] : entries_) order.emplace_back(e.begin, name);
  std::sort(order.begin(), order.end());
  std::vector<std::string> out;
  for (auto& [_, name] : order) out.push_back(std::move(name));
  return out;
}

Tensor SafetensorsFile::get(const std::string& name) const {
  auto it = entries_.find(name);
  NN_CHECK(it != entries_.end(), "{}: no tensor named '{}' ({} tensors in the file)", path_, name, entries_.size());
  const Entry& e = it->second;
  const char* p = data_ + e.begin;
  const size_t nbytes = e.end - e.begin;
  if (reinterpret_cast<uintptr_t>(p) % dtype_size(e.dtype) != 0) {  // misaligned for its type: copy once
    Tensor t = empty(e.shape, e.dtype);
    std::memcpy(t.raw_data(), p, nbytes);
    return t.set_name(name);
  }
  auto storage = Storage::wrap(const_cast<char*>(p), nbytes, Device::cpu(), mapping_);
  Tensor t = make_tensor(std::move(storage), e.shape, contiguous_strides(e.shape), 0, e.dtype);
  return t.set_name(name);
}

void SafetensorsFile::release_pages(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) return;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data_ + it->second.begin);
  const uintptr_t end = reinterpret_cast<uintptr_t>(data_ + it->second.end);
  const uintptr_t first = ceil_div(begin, page) * page, last = end / page * page;  // whole pages only
  if (first < last) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  std::vector<Tensor> host;
  size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    NN_CHECK(t.defined(), "{}: tensor '{}' is undefined", path, name);
    NN_CHECK(name != "__metadata__" && !header.contains(name), "{}: tensor name '{}' is reserved or repeated", path,
             name);
    Tensor h = t.detach().to(Device::cpu()).contiguous();
    const size_t nbytes = static_cast<size_t>(h.numel()) * dtype_size(h.dtype());
    header[name] = {{"dtype", dtype_tag(h.dtype())}, {"shape", std::vector<int64_t>(h.shape().begin(), h.shape().end())},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    host.push_back(std::move(h));
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned

  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  NN_CHECK(fd >= 0, "{}: cannot create: {}", tmp, errno_text());
  auto write_all = [&](const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(fd, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        const std::string why = errno_text();
        ::close(fd);
        ::unlink(tmp.c_str());
        NN_FAIL("{}: write failed: {}", tmp, why);
      }
      p += w;
      n -= static_cast<size_t>(w);
    }
  };
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(static_cast<uint64_t>(json.size()) >> (8 * i));
  write_all(len, 8);
  write_all(json.data(), json.size());
  for (const Tensor& h : host) write_all(h.raw_data(), static_cast<size_t>(h.numel()) * dtype_size(h.dtype()));
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    NN_FAIL("{}: cannot finish writing: {}", path, why);
  }
}

}  // namespace nn
