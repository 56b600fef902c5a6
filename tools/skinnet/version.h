// skinnet's version, and the commit the binary was built from (the Makefile passes it to cmd_version.cpp).
#pragma once

#include <string>

namespace nn {

inline constexpr const char* kSkinnetVersion = "0.9.0";
// "0.9.0 (commit 1f1789d)"; "-dirty" when the tree had uncommitted changes at build time.
std::string version_string();

}  // namespace nn
