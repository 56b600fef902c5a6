// The page of `skinnet serve` (tools/serve/page/), embedded in the binary: the server never reads files
// at run time. The Makefile generates the definition with tools/serve/embed.sh.
#pragma once

#include <string_view>
#include <vector>

namespace nn {

struct Asset {
  std::string_view path;   // "/index.html", "/app.js", "/style.css"
  std::string_view bytes;  // the file's content
};
const std::vector<Asset>& serve_assets();

}  // namespace nn
