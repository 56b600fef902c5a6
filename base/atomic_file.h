// Writing a whole file so that a reader (or a crash) never sees half of it: the text goes to PATH.tmp in
// the same folder, then a rename puts it in place (atomic on one file system). On failure the temporary
// file is removed and the error names the file.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace nn {

void write_file_atomically(const std::string& path, const std::string& text);
// The same for a file written piece by piece: `write` streams the contents (a large file need not be one
// string in memory first).
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace nn
