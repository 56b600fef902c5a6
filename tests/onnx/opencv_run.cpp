// An ONNX consumer not written here: OpenCV's DNN module (Debian's libopencv-dnn-dev) loads a file that
// `skinnet export` wrote and runs it. tests/test_export.cpp compares what it prints with `skinnet predict`.
//
//   build/onnx-opencv MODEL.onnx INPUT.bin      prints {"opencv": "4.6.0", "shape": [N, K], "logits": [...]}
//
// INPUT.bin: four little-endian int64 (N, C, H, W), then N*C*H*W float32, the preprocessed images.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: onnx-opencv MODEL.onnx INPUT.bin\n");
    return 2;
  }
  try {
    std::ifstream in(argv[2], std::ios::binary);
    int64_t dims[4];
    if (!in.read(reinterpret_cast<char*>(dims), sizeof dims)) {
      std::fprintf(stderr, "%s: cannot read the shape\n", argv[2]);
      return 1;
    }
    const int sizes[4] = {static_cast<int>(dims[0]), static_cast<int>(dims[1]), static_cast<int>(dims[2]),
                          static_cast<int>(dims[3])};
    cv::Mat blob(4, sizes, CV_32F);
    if (!in.read(reinterpret_cast<char*>(blob.data), static_cast<std::streamsize>(blob.total() * sizeof(float)))) {
      std::fprintf(stderr, "%s: fewer floats than %lldx%lldx%lldx%lld\n", argv[2], static_cast<long long>(dims[0]),
                   static_cast<long long>(dims[1]), static_cast<long long>(dims[2]), static_cast<long long>(dims[3]));
      return 1;
    }
    cv::dnn::Net net = cv::dnn::readNetFromONNX(argv[1]);
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    net.setInput(blob);
    const cv::Mat out = net.forward();
    std::printf("{\"opencv\": \"%s\", \"shape\": [", CV_VERSION);
    for (int d = 0; d < out.dims; ++d) std::printf("%s%d", d ? ", " : "", out.size[d]);
    std::printf("], \"logits\": [");
    const float* p = out.ptr<float>();
    for (size_t i = 0; i < out.total(); ++i) std::printf("%s%.9g", i ? ", " : "", p[i]);
    std::printf("]}\n");
  } catch (const cv::Exception& e) {
    std::fprintf(stderr, "opencv: %s\n", e.what());
    return 1;
  }
  return 0;
}
