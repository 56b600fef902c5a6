// Writing a whole file so that a reader (or a crash) never sees half of it: the text goes to PATH.tmp in
// the same folder, then a rename puts it in place (atomic on one file system). On failure the temporary
// file is removed and the error names the file.
#pragma once

#include <string>

namespace nn {

void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace nn
