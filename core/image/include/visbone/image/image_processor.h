// The equivalent of transformers' BitImageProcessorPil (the processor BiT checkpoints were made with):
// convert to RGB, resize with Pillow's resampling, center-crop (zero padding when the crop is larger),
// rescale, normalize, and stack into a float32 NCHW batch. Driven by the keys of preprocessor_config.json,
// given as a file, as JSON, as YAML or set in code; defaults are transformers'.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "visbone/core/tensor.h"
#include "visbone/image/decode.h"
#include "visbone/image/image.h"
#include "visbone/image/resample.h"

namespace YAML {
class Node;
}

namespace visbone::image {

// transformers' SizeDict for `size`: {shortest_edge}, {shortest_edge, longest_edge} or {height, width}.
struct ResizeSize {
  std::optional<std::int64_t> shortest_edge = 224;
  std::optional<std::int64_t> longest_edge;
  std::optional<std::int64_t> height;
  std::optional<std::int64_t> width;
};

// Where a centre crop starts when the size minus the crop is odd (and how a larger crop is padded):
// transformers' center_crop floors (H - crop) / 2 and pads ceil((crop - H) / 2) before; torchvision's
// CenterCrop (timm's eval transform) rounds (H - crop) / 2 half to even and pads floor((crop - H) / 2).
enum class CropAlign { transformers, torchvision };

struct ImageProcessorConfig {
  // Largest image the processor will produce or pad to: the decompression-bomb limit applies to outputs too,
  // so a config cannot make a small input allocate gigabytes.
  static constexpr std::int64_t kMaxOutputPixels = kDefaultMaxPixels;

  bool do_convert_rgb = true;
  bool do_resize = true;
  ResizeSize size;
  Resample resample = Resample::bicubic;
  bool do_center_crop = true;
  std::int64_t crop_height = 224;
  std::int64_t crop_width = 224;
  CropAlign crop_align = CropAlign::transformers;  // not a preprocessor_config.json key
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  std::vector<double> image_mean{0.48145466, 0.4578275, 0.40821073};  // OPENAI_CLIP_MEAN
  std::vector<double> image_std{0.26862954, 0.26130258, 0.27577711};  // OPENAI_CLIP_STD

  // Reads the keys transformers writes (unknown keys such as image_processor_type are ignored). `size` and
  // `crop_size` may also be a single integer (shortest edge / square crop) or [height, width] as older
  // configs have them. Throws ConfigError naming `where` and the key for a wrong type or value.
  static ImageProcessorConfig from_json(const boost::json::value& json, const std::string& where);
  // Reads preprocessor_config.json (IoError if unreadable, FormatError if not JSON, ConfigError as above).
  static ImageProcessorConfig from_file(const std::filesystem::path& path);
  // The same keys in a YAML mapping; errors give `where` with the line and column of the offending value.
  static ImageProcessorConfig from_yaml(const YAML::Node& node, const std::string& where);

  // Throws ConfigError naming `where` when a value cannot work (non-positive sizes, mean/std lengths that
  // differ, a zero std, ...).
  void validate(const std::string& where) const;

  // The settings as the preprocessor_config.json keys transformers writes (its to_dict(), without
  // image_processor_type), which from_json reads back to the same settings; crop_align, which no key says, is
  // left out.
  boost::json::object to_json() const;
};

// Memory preprocessing one image may take unless the processor is given another limit.
inline constexpr std::uint64_t kDefaultMaxPreprocessBytes = std::uint64_t{1} << 30;

class ImageProcessor {
 public:
  // Validates the config (ConfigError). Preprocessing one image may allocate at most max_bytes_per_image
  // (see preprocess_bytes), so that no config can make a small image take gigabytes.
  explicit ImageProcessor(ImageProcessorConfig config,
                          std::uint64_t max_bytes_per_image = kDefaultMaxPreprocessBytes);

  const ImageProcessorConfig& config() const { return config_; }
  std::uint64_t max_bytes_per_image() const { return max_bytes_per_image_; }
  // The bytes preprocessing an image of this size allocates, at most: the RGB conversion, the resampling
  // coefficients and passes, the crop and the float32 pixel values. ShapeError as resized_size.
  std::uint64_t preprocess_bytes(int height, int width, int channels) const;
  // How image files are decoded: as transformers' load_image() loads a path or URL (what a processor given
  // file names does): EXIF orientation applied and converted to RGB, whatever do_convert_rgb says.
  DecodeOptions decode_options() const;

  // Height and width after do_resize for an input of this size (transformers' get_resize_output_image_size /
  // get_size_with_aspect_ratio, including their truncations and Python's round-half-even).
  std::pair<int, int> resized_size(int height, int width) const;
  // Height and width of the pixel values for an input of this size.
  std::pair<int, int> output_size(int height, int width) const;

  // Convert (do_convert_rgb: an image in memory with 1, 2 or 4 channels is taken as Pillow's L, LA or RGBA
  // and converted as convert("RGB") does), resize and center crop: the uint8 image that rescale and
  // normalize turn into pixel values. ShapeError when preprocess_bytes is over max_bytes_per_image.
  Image resize_and_crop(const Image& image) const;
  // Rescale and normalize `image` (the output of resize_and_crop) into C*H*W floats at `out`, with numpy's
  // float32 arithmetic: float32(u8 * rescale_factor as float64), then (x - mean) / std in float32.
  void normalize_into(const Image& image, float* out) const;

  // One image -> (1, C, H, W).
  Tensor preprocess(const Image& image) const;
  // A batch -> (N, C, H, W). Throws ShapeError when the images do not come out the same size (possible only
  // without a center crop) or when a channel count does not match image_mean.
  Tensor preprocess(std::span<const Image> images) const;

 private:
  ImageProcessorConfig config_;
  std::uint64_t max_bytes_per_image_;
  // Per channel, the pixel value of each uint8 level: exact and cheaper than computing per pixel.
  std::vector<std::vector<float>> lut_;
};

}  // namespace visbone::image
