// What many test files need, written once: a temporary folder, a command runner, the build folder, and
// builders for convolution parameters. (The comparison helpers are in tests/check.h.)
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "tensor/tensor.h"
#include "train/data/image.h"

namespace nn::test {

// The sanitizer build (make test SANITIZE=1): a few long cases that add no coverage there skip themselves.
#if defined(NN_SANITIZE)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

// For a case that runs part of its work in the sanitizer build (docs/testing.md lists them): true there,
// and the log says what was left to the normal build, so a pass there does not read as the whole case's.
bool left_to_normal_build(const std::string& what);

// ---- files and processes ----

// The build folder: the skinnet CLI is build_dir() + "/skinnet", the PyTorch references are in
// build_dir() + "/refs". tools/run_tests.sh sets NN_TEST_BUILD (build, or build/sanitize); when it is unset (the
// test binary run by hand from the repository root) this is "build".
std::string build_dir();

// A fresh, empty folder for one test: <build_dir()>/tmp/<name>-<pid>-<n> as an absolute path, created on
// construction and removed with everything in it on destruction, so also when a check fails or the test throws.
// Every test folder lives under that one base folder: a run leaves nothing in /tmp, and anything left in
// <build>/tmp (a test binary that crashed) is easy to see and to delete. NN_KEEP_TMP=1 keeps the folders,
// to look at what a failing test wrote (files a test removes itself are still removed).
class TempDir {
 public:
  explicit TempDir(const std::string& name);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The path of `rel` inside the folder, as a string (what the readers and the CLI take).
  std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }
  // Writes `text` byte for byte to `rel` inside the folder, creating the folders on the way; returns its path.
  std::string write(const std::string& rel, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

// A whole file as bytes; the test fails (REQUIRE) when it cannot be opened.
std::string read_file(const std::filesystem::path& file);

// The bytes of base64 text (the report's data: URIs, serve's Grad-CAM PNG); '=' padding is skipped.
std::vector<uint8_t> unbase64(const std::string& s);

// What a shell command printed and how it ended.
struct CommandResult {
  int status;          // the exit status (WEXITSTATUS); -1 when a signal ended the command
  std::string output;  // its stdout, and its stderr too with Capture::stdout_and_stderr
};
enum class Capture { stdout_only, stdout_and_stderr };
// Runs `cmd` with /bin/sh and waits for it. The test fails (REQUIRE) when the shell cannot be started.
CommandResult run_command(const std::string& cmd, Capture capture = Capture::stdout_only);

// ---- images ----

// The image a PyTorch reference holds as a u8 tensor [H, W, 3] (tests/torch_cases_image.py, _transforms.py).
Image image_from_tensor(const Tensor& t);

// ---- convolution parameters ----

// A convolution as the kernel tests list it: sizes (kernels/conv2d.h letters), then stride, padding and
// dilation per axis, in the order of Conv2dParams.
struct ConvSpec {
  int64_t N, C, H, W, K, R, S;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  int64_t G = 1;  // groups: the weight is [K, C/G, R, S]
};

// The kernel params of s, with P and Q from conv2d_output_size.
Conv2dParams conv_params(const ConvSpec& s);

}  // namespace nn::test
