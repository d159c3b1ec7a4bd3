// Multi-scale features for a detector neck: the stage2, stage3 and stage4 maps of BiT with their channels and
// strides, the way a detectron2/mmdet FPN consumes them.
//
//   feature_pyramid MODEL IMAGE...
//     MODEL   a checkpoint folder, a BiT .npz, a preset (bit-50) or a hub id (google/bit-50)
//     IMAGE   image files; they form one batch
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <visbone/visbone.h>

namespace {

// The checkpoint's own image processor; transformers' BitImageProcessor defaults for checkpoints saved
// without a preprocessor_config.json.
visbone::ImageProcessor processor_for(const std::string& model) {
  try {
    return visbone::ImageProcessor::from_pretrained(model);
  } catch (const visbone::NotFoundError&) {
    std::printf("note: %s has no preprocessor_config.json; using transformers' defaults\n", model.c_str());
    return visbone::ImageProcessor();
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
    return 2;
  }
  try {
    const std::string model = argv[1];
    const std::vector<std::filesystem::path> images(argv + 2, argv + argc);

    visbone::BackboneOptions options;
    options.out_features = {"stage2", "stage3", "stage4"};
    auto backbone = visbone::load_backbone(model, options);
    const auto processor = processor_for(model);

    const visbone::Tensor pixels = processor.process(images);  // (N, 3, H, W), float32
    const auto maps = backbone->forward(pixels);               // stage -> (N, C, H / stride, W / stride)
    const auto shapes = backbone->output_shape();              // stage name -> {channels, stride}

    std::printf("input %s\n", visbone::shape_str(pixels.shape()).c_str());
    for (const std::string& stage : backbone->out_features()) {
      const visbone::Tensor& map = maps.at(stage);
      const visbone::StageShape shape = shapes.at(stage);
      std::printf("%s %s stride %d\n", stage.c_str(), visbone::shape_str(map.shape()).c_str(), shape.stride);
      // What a neck relies on: the declared channels, and one map pixel per `stride` input pixels.
      if (map.dim(1) != shape.channels || map.dim(2) * shape.stride != pixels.dim(2) ||
          map.dim(3) * shape.stride != pixels.dim(3)) {
        std::fprintf(stderr, "error: %s does not match its declared shape\n", stage.c_str());
        return 1;
      }
    }
    return 0;
  } catch (const visbone::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected error: %s\n", e.what());
    return 1;
  }
}
