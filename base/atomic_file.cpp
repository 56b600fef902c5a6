// Atomic whole-file writes (see atomic_file.h).
#include "base/atomic_file.h"

#include <filesystem>
#include <fstream>

#include "base/error.h"

namespace nn {

void write_file_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, [&](std::ostream& out) { out.write(text.data(), static_cast<std::streamsize>(text.size())); });
}

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path + ".tmp";
  std::error_code ec;
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    NN_CHECK(f.good(), "{}: cannot write (cannot create {}: does the folder exist and is it writable?)", path, tmp);
    try {
      write(f);
    } catch (...) {
      f.close();
      std::filesystem::remove(tmp, ec);
      throw;
    }
    f.close();
    if (!f) {
      std::filesystem::remove(tmp, ec);
      NN_FAIL("{}: writing {} failed (full disk?)", path, tmp);
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    NN_FAIL("{}: cannot move {} into place: {}", path, tmp, ec.message());
  }
}

}  // namespace nn
