#include "visbone/api/image_processor.h"

#include <algorithm>
#include <cstring>
#include <iostream>
#include <optional>
#include <system_error>

#include <opencv2/core.hpp>

#include "visbone/bit/bit_backbone.h"
#include "visbone/bit/bit_presets.h"
#include "visbone/core/errors.h"
#include "visbone/core/model_name.h"
#include "visbone/hub/hub.h"
#include "visbone/image/model_processor.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;

std::string mat_type_name(const cv::Mat& mat) {
  static const char* const kDepths[] = {"8U", "8S", "16U", "16S", "32S", "32F", "64F", "16F"};
  const int depth = mat.depth();
  const std::string d = depth >= 0 && depth < 8 ? kDepths[depth] : "depth " + std::to_string(depth);
  return "CV_" + d + "C" + std::to_string(mat.channels());
}

// Where preprocessor_config.json is for a name load_backbone would also accept: the file, or the folder
// that should hold it; `why_none` is set instead when the model cannot have one (a preset of .npz weights).
fs::path config_location(const std::string& name, hub::ResolveOptions options, std::string& why_none) {
  options.with_processor_config = true;
  ModelNameRules rules;
  rules.presets = bit::bit_preset_hub_ids();
  rules.expected = "a file or folder, a preset or a hub repository id";
  ResolvedModel m;
  try {
    m = hub::resolve_model_name(name, rules, options);
  } catch (const ModelNotFoundError& e) {
    throw ModelNotFoundError(std::string("ImageProcessor: ") + e.what());
  }
  if (m.path.empty())
    why_none = "preset '" + name +
               "' has no transformers checkpoint on the hub to read preprocessor_config.json from";
  return m.path;
}

// The preprocessor_config.json of a model, or nullopt with `why_none` saying why there is none.
// `folder` is set to the model's folder when it has one.
std::optional<fs::path> config_file(const std::string& name, const hub::ResolveOptions& options,
                                    std::string& why_none, fs::path* folder = nullptr) {
  const fs::path path = config_location(name, options, why_none);
  if (!why_none.empty()) return std::nullopt;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return path;
  if (folder) *folder = path;
  const fs::path file = path / "preprocessor_config.json";
  if (fs::is_regular_file(file, ec)) return file;
  why_none = file.string() + " does not exist: the checkpoint was saved without an image processor";
  return std::nullopt;
}

}  // namespace

ImageProcessor::ImageProcessor() : ImageProcessor(ImageProcessorConfig{}) {}

ImageProcessor::ImageProcessor(ImageProcessorConfig config)
    : processor_(std::move(config)), decode_(processor_.decode_options()) {}

ImageProcessor ImageProcessor::from_pretrained(const std::string& name_or_path,
                                               const hub::ResolveOptions& hub) {
  std::string why_none;
  const auto file = config_file(name_or_path, hub, why_none);
  if (!file)
    throw NotFoundError(why_none +
                        "; use ImageProcessor::for_model() or ImageProcessor() for transformers' "
                        "BitImageProcessor defaults, or give the settings as an ImageProcessorConfig");
  return ImageProcessor(ImageProcessorConfig::from_file(*file));
}

ImageProcessor ImageProcessor::for_model(const std::string& name_or_path, const hub::ResolveOptions& hub,
                                         std::ostream* notice) {
  std::string why_none;
  fs::path folder;
  const auto file = config_file(name_or_path, hub, why_none, &folder);
  if (file) return ImageProcessor(ImageProcessorConfig::from_file(*file));
  if (!folder.empty())
    if (const auto timm = image::model_processor_settings(folder)) {
      if (notice) *notice << "note: " << why_none << "; using timm's eval transform of its pretrained_cfg\n";
      return ImageProcessor(image::processor_config(*timm));
    }
  // The defaults that travel with the weights, as a pipeline takes them (Backbone::preprocessing_defaults):
  // every model load_backbone names is a BiT backbone.
  const PreprocessingDefaults defaults = bit::bit_preprocessing_defaults();
  if (notice) *notice << "note: " << why_none << "; using " << defaults.origin << "\n";
  return ImageProcessor(image::processor_config(image::backbone_processor_settings(defaults)));
}

void ImageProcessor::set_max_pixels(std::int64_t max_pixels) {
  if (max_pixels <= 0)
    throw ConfigError("max_pixels is " + std::to_string(max_pixels) + ", expected a positive pixel count");
  decode_.max_pixels = max_pixels;
}

image::Image to_image(const cv::Mat& mat, ChannelOrder order) {
  if (mat.empty()) throw ShapeError("image: the cv::Mat is empty");
  if (mat.dims != 2)
    throw ShapeError("image: a cv::Mat of " + std::to_string(mat.dims) + " dimensions, expected 2");
  const int channels = mat.channels();
  if (mat.depth() != CV_8U || channels < 1 || channels > 4)
    throw FormatError("image: a cv::Mat of type " + mat_type_name(mat) +
                      ", expected 8-bit samples: CV_8UC1, CV_8UC2, CV_8UC3 or CV_8UC4 (convert with "
                      "Mat::convertTo first)");
  image::Image out(mat.cols, mat.rows, channels);
  const bool swap = order == ChannelOrder::bgr && channels >= 3;
  for (int y = 0; y < mat.rows; ++y) {
    const std::uint8_t* src = mat.ptr<std::uint8_t>(y);
    std::uint8_t* dst = out.row(y);
    if (!swap) {
      std::memcpy(dst, src, out.stride());
      continue;
    }
    for (int x = 0; x < mat.cols; ++x, src += channels, dst += channels) {
      dst[0] = src[2];
      dst[1] = src[1];
      dst[2] = src[0];
      if (channels == 4) dst[3] = src[3];
    }
  }
  return out;
}

Tensor ImageProcessor::process(const cv::Mat& image, ChannelOrder order) const {
  return processor_.preprocess(to_image(image, order));
}

Tensor ImageProcessor::process(std::span<const cv::Mat> images, ChannelOrder order) const {
  if (images.empty()) throw ShapeError("image processor: no images to process (an empty batch)");
  std::vector<image::Image> converted;
  converted.reserve(images.size());
  for (std::size_t i = 0; i < images.size(); ++i) {
    try {
      converted.push_back(to_image(images[i], order));
    } catch (const ShapeError& e) {
      throw ShapeError("images[" + std::to_string(i) + "]: " + e.what());
    } catch (const FormatError& e) {
      throw FormatError("images[" + std::to_string(i) + "]: " + e.what());
    }
  }
  return processor_.preprocess(converted);
}

Tensor ImageProcessor::process(const std::vector<std::filesystem::path>& paths) const {
  if (paths.empty()) throw ShapeError("image processor: no images to process (an empty list of paths)");
  std::vector<image::Image> images;
  images.reserve(paths.size());
  for (const auto& p : paths) images.push_back(image::read_image(p, decode_));
  return processor_.preprocess(images);
}

Tensor ImageProcessor::process(std::initializer_list<std::filesystem::path> paths) const {
  return process(std::vector<std::filesystem::path>(paths));
}

Tensor ImageProcessor::process(const std::filesystem::path& path) const {
  return process(std::vector<std::filesystem::path>{path});
}

}  // namespace visbone
