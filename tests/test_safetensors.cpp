// safetensors: round trip, metadata, zero-copy reads, and rejection of malformed or truncated files.
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/check.h"
#include "tests/support.h"

namespace nn::test {

namespace {

// A path in a fresh folder, removed with the folder (and the writer's .tmp sibling in it) at scope exit.
struct TempFile {
  TempDir dir;
  std::string path;
  explicit TempFile(const std::string& name) : dir("safetensors"), path(dir / (name + ".safetensors")) {}
};

// Writes a file with an arbitrary header (as text) followed by `data_bytes` zero bytes.
void write_raw(const std::string& path, const std::string& header, size_t data_bytes, int64_t claimed_len = -1) {
  std::ofstream f(path, std::ios::binary);
  const uint64_t len = claimed_len >= 0 ? static_cast<uint64_t>(claimed_len) : header.size();
  for (int i = 0; i < 8; ++i) f.put(static_cast<char>(len >> (8 * i)));
  f << header;
  f << std::string(data_bytes, '\0');
}

void expect_open_error(const std::string& path, std::initializer_list<std::string> parts) {
  try {
    SafetensorsFile::open(path);
    FAIL_CHECK("opening " << path << " did not fail");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK_MESSAGE(m.find(path) != std::string::npos, "message does not name the file: " << m);
    for (const auto& p : parts) CHECK_MESSAGE(m.find(p) != std::string::npos, "message \"" << m << "\" lacks \"" << p << "\"");
  }
}

}  // namespace

TEST_SUITE("weights") {
  TEST_CASE("safetensors: round trip of every dtype, views and metadata") {
    TempFile file("roundtrip");
    Tensor a = arange(12).reshape({3, 4}).transpose(0, 1);  // non-contiguous: written in row-major order
    Tensor b = from_vector<double>({1.5, -2.25}, {2});
    Tensor c = from_vector<int64_t>({7, -8, 9}, {3, 1});
    Tensor d = from_vector<uint8_t>({0, 255}, {2});
    Tensor e = zeros({0, 5});
    save_safetensors(file.path, {{"layer.a", a}, {"b", b}, {"c", c}, {"d", d}, {"empty", e}},
                     {{"source", "test"}, {"mean", "[0.485, 0.456, 0.406]"}});
    const SafetensorsFile f = SafetensorsFile::open(file.path);
    CHECK(f.names() == std::vector<std::string>{"layer.a", "b", "c", "d", "empty"});
    CHECK(f.metadata().at("source") == "test");
    CHECK(f.metadata().at("mean") == "[0.485, 0.456, 0.406]");
    Tensor a2 = f.get("layer.a");
    CHECK(a2.shape() == Shape{4, 3});
    CHECK(a2.to_vector<float>() == a.contiguous().to_vector<float>());
    CHECK(f.get("b").to_vector<double>() == b.to_vector<double>());
    CHECK(f.get("c").to_vector<int64_t>() == c.to_vector<int64_t>());
    CHECK(f.get("c").shape() == Shape{3, 1});
    CHECK(f.get("d").to_vector<uint8_t>() == d.to_vector<uint8_t>());
    CHECK(f.get("empty").shape() == Shape{0, 5});
    CHECK(a2.name() == "layer.a");
    CHECK_THROWS_WITH_AS(f.get("missing"), doctest::Contains("no tensor named 'missing'"), Error);
  }

  TEST_CASE("safetensors: tensors are views of the mapped file, writable without touching the file") {
    TempFile file("zerocopy");
    save_safetensors(file.path, {{"w", full({1024}, 3.0)}});
    Tensor w;
    {
      const SafetensorsFile f = SafetensorsFile::open(file.path);
      w = f.get("w");
    }  // the mapping outlives the SafetensorsFile while a tensor uses it
    CHECK(w.storage()->nbytes() == 4096);
    w.fill_(5.0);  // copy-on-write: changes the tensor, not the file
    CHECK(w.to_vector<float>()[0] == 5.0f);
    CHECK(SafetensorsFile::open(file.path).get("w").to_vector<float>()[0] == 3.0f);
  }
}

TEST_SUITE("errors") {
  TEST_CASE("safetensors: missing, short, truncated and malformed files are rejected with the reason") {
    TempFile file("bad");
    expect_open_error("/nonexistent/x.safetensors", {"cannot open"});
    write_raw(file.path, "", 0, 0);
    std::ofstream(file.path, std::ios::binary | std::ios::trunc) << "abc";
    expect_open_error(file.path, {"not a safetensors file", "3 bytes"});
    write_raw(file.path, "{}", 0, 1000);
    expect_open_error(file.path, {"header length 1000"});
    write_raw(file.path, "{\"a\": [1,", 0);
    expect_open_error(file.path, {"not valid JSON"});
    const std::string ok = R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})";
    write_raw(file.path, ok, 20);  // 4 bytes short
    expect_open_error(file.path, {"'a'", "outside the 20 data bytes"});
    write_raw(file.path, R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4);
    expect_open_error(file.path, {"'a'", "F16"});
    write_raw(file.path, R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", 20);
    expect_open_error(file.path, {"'a'", "needs 24 bytes", "give 20"});
    write_raw(file.path, R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8);
    expect_open_error(file.path, {"'a'", "shape entry -2"});
    write_raw(file.path, R"({"a":{"dtype":"F32","shape":[2]}})", 8);
    expect_open_error(file.path, {"'a'", "data_offsets"});
    write_raw(file.path,
              R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
              12);
    expect_open_error(file.path, {"overlaps"});
    write_raw(file.path, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12);
    expect_open_error(file.path, {"hole"});
    write_raw(file.path, ok, 32);  // 8 stray bytes after the last tensor
    expect_open_error(file.path, {"8 bytes of data follow"});
    write_raw(file.path, R"([1, 2])", 0);
    expect_open_error(file.path, {"not a JSON object"});
    write_raw(file.path, R"({"__metadata__":{"k":3}})", 0);
    expect_open_error(file.path, {"__metadata__", "'k'"});
  }
}

}  // namespace nn::test
