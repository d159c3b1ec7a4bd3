// `visbone preprocess [--config preprocessor_config.json] --output OUT.safetensors IMAGE...`: decodes each
// image and runs it through the BitImageProcessor equivalent, writing one (1, C, H, W) float32 tensor per
// image, named by the image's file name (so `visbone forward --key NAME` can take it). A bad image is
// reported and skipped; the others are still written and the exit status is 1.
#include <filesystem>
#include <iostream>
#include <set>

#include "args.h"
#include "visbone/core/errors.h"
#include "visbone/core/safetensors.h"
#include "visbone/image/decode.h"
#include "visbone/image/image_processor.h"

namespace visbone::app {

int preprocess(const Args& args) {
  po::options_description opts("visbone preprocess [--config CONFIG] --output OUT.safetensors IMAGE...");
  opts.add_options()("help,h", "show this help")("config", po::value<std::string>(),
                                                 "preprocessor_config.json, or a model folder holding one "
                                                 "(default: transformers' BitImageProcessor defaults)")(
      "output", po::value<std::string>(), "safetensors file to write")(
      "max-pixels", po::value<std::int64_t>()->default_value(image::kDefaultMaxPixels),
      "reject images with more pixels than this, from their header")(
      "image", po::value<std::vector<std::string>>(), "image files (PNG, JPEG, BMP, TIFF, WebP)");
  po::positional_options_description pos;
  pos.add("image", -1);
  const auto parsed = parse_command(args, opts, pos, {{"output", "--output"}, {"image", "IMAGE..."}});
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;

  image::ImageProcessorConfig config;
  if (vm.count("config")) {
    std::filesystem::path path = vm["config"].as<std::string>();
    if (std::filesystem::is_directory(path)) path /= "preprocessor_config.json";
    config = image::ImageProcessorConfig::from_file(path);
  }
  const image::ImageProcessor processor(config);
  image::DecodeOptions decode = processor.decode_options();
  decode.max_pixels = vm["max-pixels"].as<std::int64_t>();
  if (decode.max_pixels <= 0) throw ConfigError("visbone preprocess: --max-pixels must be positive");

  // Names must be unique in the output; two inputs with one file name would overwrite each other.
  std::set<std::string> names;
  for (const auto& file : vm["image"].as<std::vector<std::string>>()) {
    const std::string name = std::filesystem::path(file).filename().string();
    if (!names.insert(name).second)
      throw ConfigError("visbone preprocess: two images are named '" + name +
                        "'; tensors are keyed by file name");
  }

  std::vector<std::pair<std::string, Tensor>> tensors;
  int failed = 0;
  for (const auto& file : vm["image"].as<std::vector<std::string>>()) {
    try {
      const image::Image img = image::read_image(file, decode);
      tensors.emplace_back(std::filesystem::path(file).filename().string(), processor.preprocess(img));
    } catch (const Error& e) {
      std::cerr << "error: " << e.what() << "\n";
      ++failed;
    }
  }
  if (tensors.empty()) {
    std::cerr << "visbone preprocess: no image could be processed; nothing written\n";
    return 1;
  }
  write_safetensors(vm["output"].as<std::string>(), tensors);
  std::cerr << "wrote " << tensors.size() << " tensor(s) to " << vm["output"].as<std::string>();
  if (failed) std::cerr << "; " << failed << " image(s) failed";
  std::cerr << "\n";
  return failed ? 1 : 0;
}

}  // namespace visbone::app
