// Shared test scaffolding (see support.h).
#include "tests/support.h"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace nn::test {

// ---- files and processes ----

namespace fs = std::filesystem;

std::string build_dir() {
  const char* build = std::getenv("NN_TEST_BUILD");
  return build && *build ? build : "build";
}

TempDir::TempDir(const std::string& name) {
  // The counter keeps two folders of one test (or one name used twice) apart; the pid keeps concurrent test
  // binaries of one build apart.
  static std::atomic<int> counter{0};
  path_ = fs::absolute(fs::path(build_dir()) / "tmp" /
                       (name + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++)));
  fs::remove_all(path_);  // left by an earlier process with the same pid that crashed
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;  // a destructor must not throw; a folder that cannot be removed shows up in <build>/tmp
  if (!std::getenv("NN_KEEP_TMP")) fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& rel, const std::string& text) const {
  const fs::path file = path_ / rel;
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out << text;
  out.close();
  REQUIRE_MESSAGE(out.good(), "cannot write " << file.string());
  return file.string();
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << file.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

CommandResult run_command(const std::string& cmd, Capture capture) {
  const std::string full = capture == Capture::stdout_and_stderr ? cmd + " 2>&1" : cmd;
  FILE* p = popen(full.c_str(), "r");
  REQUIRE_MESSAGE(p, "cannot run " << full);
  CommandResult r{-1, ""};
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) r.output.append(buf, n);
  const int status = pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// ---- images ----

Image image_from_tensor(const Tensor& t) {
  Image img;
  img.height = t.size(0);
  img.width = t.size(1);
  img.rgb = t.to_vector<uint8_t>();
  return img;
}

// ---- convolution parameters ----

Conv2dParams conv_params(const ConvSpec& s) {
  Conv2dParams p;
  p.N = s.N, p.C = s.C, p.H = s.H, p.W = s.W, p.K = s.K, p.R = s.R, p.S = s.S;
  p.stride_h = s.stride_h, p.stride_w = s.stride_w, p.pad_h = s.pad_h, p.pad_w = s.pad_w;
  p.dil_h = s.dil_h, p.dil_w = s.dil_w;
  p.G = s.G;
  return conv2d_with_output_size(p);
}

std::vector<uint8_t> unbase64(const std::string& s) {
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '+') v = 62;
    if (c == '/') v = 63;
    if (v < 0) continue;  // '=' padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 255));
    }
  }
  return out;
}

bool left_to_normal_build(const std::string& what) {
  if (kSanitized) MESSAGE("sanitizer build: " << what << " is left to the normal build (docs/testing.md)");
  return kSanitized;
}

}  // namespace nn::test
