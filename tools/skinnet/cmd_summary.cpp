// skinnet summary: the layer table of an architecture (output shapes, parameters, FLOPs).
#include <cstdio>

#include "layers/summary.h"
#include "models/network.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"

namespace nn {

int summary_main(int argc, char** argv) {
  Flags flags("summary", "Prints each layer of an architecture with its output shape, parameters and FLOPs.");
  flags.add("arch", "resnet50", fmt::format("architecture: {}", fmt::join(model_archs(), ", ")))
      .add("num-classes", "1000", "outputs of the classifier")
      .add("input", "224", "input height and width")
      .add("batch", "1", "images in the input");
  if (!flags.parse(argc, argv)) return 0;
  NN_CHECK(flags.positional().empty(), "skinnet summary: unexpected argument '{}'", flags.positional()[0]);
  auto model = make_model(flags.str("arch"), {.num_classes = flags.integer("num-classes")});
  const int64_t size = flags.integer("input"), batch = flags.integer("batch");
  NN_CHECK(size > 0 && batch > 0, "skinnet summary: --input and --batch must be positive");
  std::printf("%s\n%s", flags.str("arch").c_str(), summarize(*model, {batch, 3, size, size}).table().c_str());
  return 0;
}

}  // namespace nn
