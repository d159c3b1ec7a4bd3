// Turning images into the pixel values a backbone takes, as transformers' BitImageProcessor does
// (`AutoImageProcessor.from_pretrained(...)(images)`): convert to RGB, resize with Pillow's resampling,
// center-crop, rescale, normalize, stack. Bit-exact with the Pillow-based processor BiT checkpoints were made
// with (see image/image_processor.h for the steps).
//
//   auto processor = visbone::ImageProcessor::from_pretrained("google/bit-50");  // or a checkpoint folder
//   auto either = visbone::ImageProcessor::for_model("google/bit-50");  // its file, or the model's defaults
//   visbone::Tensor one = processor.process(cv::imread("cat.jpg"));               // (1, 3, 224, 224)
//   visbone::Tensor batch = processor.process({"a.png", "b.jpg"});                // (2, 3, 224, 224)
#pragma once

#include <filesystem>
#include <initializer_list>
#include <iostream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "visbone/core/tensor.h"
#include "visbone/hub/hub.h"
#include "visbone/image/decode.h"
#include "visbone/image/image.h"
#include "visbone/image/image_processor.h"

// Declared, not included: programs that never touch a cv::Mat do not compile OpenCV's headers. Those that do
// include <opencv2/core.hpp> (the visbone::visbone target carries its include path).
namespace cv {
class Mat;
}

namespace visbone {

using ImageProcessorConfig = image::ImageProcessorConfig;

// The channel order of a cv::Mat's colour samples. OpenCV's own functions (cv::imread, cv::VideoCapture)
// produce BGR; frames from other libraries are often RGB.
enum class ChannelOrder { bgr, rgb };

// Value type: copies are independent and cheap enough to keep one per thread, though one may be shared.
// Thread-safety: every member is const and keeps no state between calls; any number of threads may call
// process() on one processor at once.
class ImageProcessor {
 public:
  // transformers' BitImageProcessor defaults: shortest edge 224 (bicubic), 224x224 centre crop, CLIP mean/std
  ImageProcessor();
  // ConfigError when a value cannot work (non-positive sizes, a zero std, mean and std of different lengths).
  explicit ImageProcessor(ImageProcessorConfig config);

  // The preprocessor_config.json of a checkpoint folder, of a hub repository id (fetched through the cache
  // with `hub` options), or that file given directly. NotFoundError when there is none (ImageProcessor()
  // gives transformers' defaults for checkpoints saved without one); ConfigError / FormatError for a bad
  // file, naming the key.
  static ImageProcessor from_pretrained(const std::string& name_or_path, const hub::ResolveOptions& hub = {});
  // The processor to use with a model, in one call: its checkpoint's preprocessor_config.json as
  // from_pretrained reads it, else for a timm checkpoint timm's eval transform of the pretrained_cfg in its
  // config.json (with a notice) or, when the model has neither (a folder without the file; a hub repository
  // that answers 404 for it, or whose cache records its absence in .no_exist; a preset without a transformers
  // checkpoint), the defaults that travel with BiT's weights (the BitBackbone's preprocessing_defaults(), as
  // a pipeline takes them: transformers' BitImageProcessor defaults, what ImageProcessor() gives) and a
  // one-line notice on `notice` (nullptr: none). Offline, a hub model whose cache knows nothing of the file
  // is a NotFoundError, as from_pretrained; a bad file is an error too.
  static ImageProcessor for_model(const std::string& name_or_path, const hub::ResolveOptions& hub = {},
                                  std::ostream* notice = &std::cerr);

  const ImageProcessorConfig& config() const { return processor_.config(); }
  // How process(paths) decodes files (EXIF orientation applied, converted to RGB, pixel limit).
  const image::DecodeOptions& decode_options() const { return decode_; }
  // Sets the largest image (in pixels) process(paths) decodes; larger files are rejected from their header
  // (FormatError) before any pixel is decoded. Default: Pillow's decompression-bomb limit (about 179 MP).
  void set_max_pixels(std::int64_t max_pixels);

  // (height, width) of the pixel values for an input of height x width pixels.
  std::pair<int, int> output_size(int height, int width) const {
    return processor_.output_size(height, width);
  }

  // One image in memory -> (1, 3, H, W) float32. Takes 8-bit Mats: CV_8UC1 (gray), CV_8UC2 (gray + alpha),
  // CV_8UC3 (colour in `order`) and CV_8UC4 (colour + alpha); with do_convert_rgb (the default) gray is
  // replicated and alpha dropped, as Pillow's convert("RGB") does. Any row stride works (ROIs, views).
  // ShapeError for an empty Mat, FormatError for another depth (CV_16U, CV_32F, ...) or channel count.
  Tensor process(const cv::Mat& image, ChannelOrder order = ChannelOrder::bgr) const;
  // Several images -> (N, 3, H, W). ShapeError when they do not come out the same size (possible only without
  // a center crop) or when the list is empty.
  Tensor process(std::span<const cv::Mat> images, ChannelOrder order = ChannelOrder::bgr) const;
  // Image files (PNG, JPEG, BMP, TIFF, WebP), decoded as transformers' load_image() decodes them ->
  // (N, 3, H, W). IoError for a file that cannot be read, FormatError for one that does not decode (both
  // name the file), ShapeError as above. Files are decoded one after the other on the calling thread.
  Tensor process(const std::vector<std::filesystem::path>& paths) const;
  // process({"a.png", "b.jpg"}) (without this overload the braces would also fit path's iterator-pair
  // constructor).
  Tensor process(std::initializer_list<std::filesystem::path> paths) const;
  // One file -> (1, 3, H, W).
  Tensor process(const std::filesystem::path& path) const;

  // The underlying processor (uint8 visbone::image::Image in, for code that decodes on its own).
  const image::ImageProcessor& processor() const { return processor_; }

 private:
  image::ImageProcessor processor_;
  image::DecodeOptions decode_;
};

// A cv::Mat as the 8-bit image (RGB / gray / RGBA, interleaved rows) the processor works on; the errors are
// process()'s.
image::Image to_image(const cv::Mat& mat, ChannelOrder order = ChannelOrder::bgr);

}  // namespace visbone
