// safetensors files: read (memory-mapped, validated) and write (atomically).
//
// Format: 8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}}
// then the raw little-endian data; offsets are relative to the end of the header. Reading checks the
// header length, the JSON, every dtype, shape and offset range against the file size, that byte counts
// match shapes, and that the tensors tile the data section exactly (no overlap, no holes), and names the
// file and the tensor in any error. Tensors are views of a private (copy-on-write) mapping of the file:
// no copy is made, the file is never modified, and the mapping lives as long as any tensor from it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace nn {

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::vector<std::string> names() const;  // in file order
  bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  Tensor get(const std::string& name) const;  // error naming the file when absent
  // Hints that a tensor's data will not be read again (it was copied elsewhere): its whole pages of the
  // mapping are dropped (read back from the file if a tensor still refers to them), so loading a big file
  // does not keep the file's bytes resident next to the copy.
  void release_pages(const std::string& name) const;

 private:
  struct Entry {
    DType dtype;
    Shape shape;
    size_t begin, end;  // offsets into the data section
  };
  std::string path_;
  std::shared_ptr<void> mapping_;  // unmaps when the last tensor referring to it is gone
  const char* data_ = nullptr;     // start of the data section
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (any device; copied to the host) in the given order. Writes PATH.tmp, fsyncs, renames.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace nn
