// skinnet summary: the layer table of an architecture (output shapes, parameters, FLOPs).
#include <cstdio>

#include "layers/summary.h"
#include "models/network.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"
#include "tools/skinnet/model_source.h"

namespace nn {

Flags summary_flags() {
  Flags flags("summary", "Prints each layer of an architecture with its output shape, parameters and FLOPs.");
  flags.add("arch", "resnet50", fmt::format("architecture: {}", fmt::join(model_archs(), ", ")))
      .add("num-classes", "1000", "outputs of the classifier")
      .add("flavour", "", "keras: Keras' version of inception_v3 / inception_resnet_v2 (batch norm without scale)")
      .add("aux-logits", "true", "inception_v3: with the auxiliary classifier (torchvision's default)")
      .add("input-size", "auto", "input height and width (auto: 299 for the Inceptions, else 224)")
      .add("batch-size", "1", "images in the input");
  return flags;
}

int summary_main(int argc, char** argv) {
  Flags flags = summary_flags();
  if (!flags.parse(argc, argv)) return 0;
  NN_USAGE_CHECK(flags.positional().empty(), "unexpected argument '{}'", flags.positional()[0]);
  check_arch_flag(flags.str("arch"));
  NN_USAGE_CHECK(flags.integer("num-classes") > 0, "--num-classes must be positive");
  const std::string arch = flags.str("arch");
  NN_USAGE_CHECK(flags.str("aux-logits") == "true" || flags.str("aux-logits") == "false",
                 "--aux-logits must be true or false, got '{}'", flags.str("aux-logits"));
  auto model = make_model(arch, {.num_classes = flags.integer("num-classes"),
                                 .init = false,
                                 .flavour = flags.str("flavour"),
                                 .aux_logits = flags.str("aux-logits") == "true"});
  const int64_t size = flags.str("input-size") == "auto" ? model_input_size(arch) : flags.integer("input-size");
  const int64_t batch = flags.integer("batch-size");
  NN_USAGE_CHECK(size > 0 && batch > 0, "--input-size and --batch-size must be positive");
  std::printf("%s\n%s", flags.str("arch").c_str(), summarize(*model, {batch, 3, size, size}).table().c_str());
  return 0;
}

}  // namespace nn
