// Image files on arbitrary bytes: header probing (PNG, JPEG, BMP, TIFF, WebP, EXIF/XMP orientation),
// decoding through OpenCV, and BitImageProcessor's preprocessing of whatever decodes. The decode options
// vary with the input so every combination is exercised.
#include "fuzz_support.h"
#include "visbone/image/decode.h"
#include "visbone/image/image_processor.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::string_view kName = "fuzz-image";
  // Small sizes: the same resize and crop code as 224, at a fraction of the cost per input.
  static const visbone::image::ImageProcessor processor(
      [] {
        visbone::image::ImageProcessorConfig c;
        c.size.shortest_edge = 12;
        c.crop_height = 10;
        c.crop_width = 10;
        return c;
      }(),
      8 << 20);
  visbone::image::DecodeOptions options;
  // Small enough that a fuzzed header cannot make one run slow; the limit itself is what is under test.
  options.max_pixels = 1 << 16;
  options.max_bytes = 1 << 20;
  options.convert_rgb = size % 2 == 0;
  options.apply_exif_orientation = size % 3 != 0;
  visbone::image::Image image;
  try {
    const auto info = visbone::image::probe_image({data, size}, std::string(kName));
    image = visbone::image::decode_image({data, size}, std::string(kName), options);
    const bool swapped = info.orientation >= 5 && options.apply_exif_orientation;
    if (image.width() != (swapped ? info.height : info.width) ||
        image.height() != (swapped ? info.width : info.height))
      visbone::fuzz::finding("decoded size differs from the header's");
  } catch (const visbone::Error& e) {
    visbone::fuzz::expect_named(e, kName);
    return 0;
  }
  try {
    processor.preprocess(image);
  } catch (const visbone::ShapeError&) {
    // Channels the processor cannot take (one without convert_rgb), or a long thin image whose resize to
    // the short side would take more than the processor's memory limit.
  }
  return 0;
}
