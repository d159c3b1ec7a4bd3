// BitImageProcessorPil, step by step as transformers 5 runs it (image_processing_backends.PilBackend):
// resize -> center_crop -> rescale -> normalize, each on one image, with numpy/Pillow's types at every step.
// The config (reading and checking it) is in image_processor_config.cpp.
#include "visbone/image/image_processor.h"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

#include <cmath>
#include <limits>

#include "visbone/core/errors.h"

namespace visbone::image {
namespace {

// Pillow's convert("RGB") for L (gray replicated), LA (alpha dropped) and RGBA (alpha dropped, not
// composited).
Image to_rgb(const Image& src) {
  Image out(src.width(), src.height(), 3);
  const int c = src.channels();
  for (int y = 0; y < src.height(); ++y) {
    const std::uint8_t* in = src.row(y);
    std::uint8_t* o = out.row(y);
    for (int x = 0; x < src.width(); ++x, in += c, o += 3) {
      const bool gray = c < 3;
      o[0] = in[0];
      o[1] = gray ? in[0] : in[1];
      o[2] = gray ? in[0] : in[2];
    }
  }
  return out;
}

std::int64_t floor_div2(std::int64_t v) {
  return v >= 0 ? v / 2 : -((-v + 1) / 2);
}

// The first source row (column) of a centre crop; negative: that many zero rows (columns) before the image.
std::int64_t crop_start(std::int64_t size, std::int64_t crop, CropAlign align) {
  const std::int64_t d = size - crop;
  if (align == CropAlign::transformers || d == 0) return floor_div2(d);
  if (d < 0) return -((-d) / 2);
  return d / 2 + (d % 2 == 1 && (d / 2) % 2 == 1 ? 1 : 0);  // Python's round(d / 2.0): half to even
}

}  // namespace

ImageProcessor::ImageProcessor(ImageProcessorConfig config, std::uint64_t max_bytes_per_image)
    : config_(std::move(config)), max_bytes_per_image_(max_bytes_per_image) {
  config_.validate("image processor config");
  // A single mean/std value applies to every channel, as a scalar does in transformers' normalize().
  const std::size_t n = config_.do_normalize ? config_.image_mean.size() : 1;
  const std::size_t channels = n == 1 ? 4 : n;
  lut_.assign(channels, std::vector<float>(256));
  for (std::size_t c = 0; c < channels; ++c) {
    const std::size_t i = n == 1 ? 0 : c;
    for (int v = 0; v < 256; ++v) {
      // rescale(): image.astype(float64) * scale, then astype(float32); without rescale, normalize() casts
      // the uint8 image to float32. normalize(): float32 image, mean and std cast to float32.
      float x = config_.do_rescale ? static_cast<float>(static_cast<double>(v) * config_.rescale_factor)
                                   : static_cast<float>(v);
      if (config_.do_normalize)
        x = (x - static_cast<float>(config_.image_mean[i])) / static_cast<float>(config_.image_std[i]);
      lut_[c][static_cast<std::size_t>(v)] = x;
    }
  }
}

DecodeOptions ImageProcessor::decode_options() const {
  // load_image() ends with convert("RGB") unconditionally; do_convert_rgb only matters for images the
  // processor receives already decoded.
  return DecodeOptions{};
}

std::pair<int, int> ImageProcessor::resized_size(int height, int width) const {
  if (!config_.do_resize) return {height, width};
  const ResizeSize& s = config_.size;
  std::int64_t oh, ow;
  if (s.shortest_edge && s.longest_edge) {
    // get_size_with_aspect_ratio((height, width), shortest_edge, longest_edge)
    std::int64_t size = *s.shortest_edge;
    const double max_size = static_cast<double>(*s.longest_edge);
    const double min_original = static_cast<double>(std::min(height, width));
    const double max_original = static_cast<double>(std::max(height, width));
    std::optional<double> raw_size;
    if (max_original / min_original * static_cast<double>(size) > max_size) {
      raw_size = max_size * min_original / max_original;
      size = static_cast<std::int64_t>(std::nearbyint(*raw_size));  // Python round(): half to even
    }
    if ((height <= width && height == size) || (width <= height && width == size)) {
      oh = height;
      ow = width;
    } else if (width < height) {
      ow = size;
      oh = raw_size ? static_cast<std::int64_t>(*raw_size * height / width)
                    : static_cast<std::int64_t>(static_cast<double>(size * height) / width);
    } else {
      oh = size;
      ow = raw_size ? static_cast<std::int64_t>(*raw_size * width / height)
                    : static_cast<std::int64_t>(static_cast<double>(size * width) / height);
    }
  } else if (s.shortest_edge) {
    // get_resize_output_image_size(default_to_square=False): the short side becomes `size`, the long side
    // int(size * long / short) (Python true division of the exact product, then truncation).
    const std::int64_t size = *s.shortest_edge;
    const bool portrait = width <= height;
    const std::int64_t shorter = portrait ? width : height;
    const std::int64_t longer = portrait ? height : width;
    const auto new_long =
        static_cast<std::int64_t>(static_cast<double>(size * longer) / static_cast<double>(shorter));
    oh = portrait ? new_long : size;
    ow = portrait ? size : new_long;
  } else {
    oh = *s.height;
    ow = *s.width;
  }
  if (oh <= 0 || ow <= 0 || oh * ow > ImageProcessorConfig::kMaxOutputPixels ||
      oh > std::numeric_limits<int>::max() || ow > std::numeric_limits<int>::max())
    throw ShapeError("resizing a " + std::to_string(width) + "x" + std::to_string(height) +
                     " image with this size setting gives " + std::to_string(ow) + "x" + std::to_string(oh) +
                     ", expected a positive size of at most " +
                     std::to_string(ImageProcessorConfig::kMaxOutputPixels) + " pixels");
  return {static_cast<int>(oh), static_cast<int>(ow)};
}

std::pair<int, int> ImageProcessor::output_size(int height, int width) const {
  if (config_.do_center_crop)
    return {static_cast<int>(config_.crop_height), static_cast<int>(config_.crop_width)};
  return resized_size(height, width);
}

std::uint64_t ImageProcessor::preprocess_bytes(int height, int width, int channels) const {
  // In double: the sizes multiply past 64 bits only for limits no one sets, and the result is a bound.
  const int out_channels = config_.do_convert_rgb && channels != 3 ? 3 : channels;
  const double c = out_channels;
  double bytes = 0;
  if (out_channels != channels) bytes += static_cast<double>(width) * height * 3;
  double h = height, w = width;
  if (config_.do_resize) {
    const auto [rh, rw] = resized_size(height, width);
    if (rh != height || rw != width) {
      if (config_.resample == Resample::nearest) {
        bytes += (static_cast<double>(rw) + rh) * sizeof(int);
      } else {
        // Resampling weights: per output index 2 * ceil(support * scale) + 1 taps; support <= 3 (lanczos).
        const auto coefficients = [](double in, double out) {
          return out * ((2 * std::ceil(3.0 * std::max(1.0, in / out)) + 1) * sizeof(std::int32_t) +
                        2 * sizeof(int));
        };
        bytes += coefficients(height, rh);
        if (rw != width) bytes += coefficients(width, rw) + static_cast<double>(rw) * height * c;
      }
      bytes += static_cast<double>(rw) * rh * c;
    }
    h = rh;
    w = rw;
  }
  if (config_.do_center_crop) {
    h = static_cast<double>(config_.crop_height);
    w = static_cast<double>(config_.crop_width);
    bytes += h * w * c;
  }
  bytes += h * w * c * sizeof(float);
  return bytes >= 1.8e19 ? std::numeric_limits<std::uint64_t>::max() : static_cast<std::uint64_t>(bytes);
}

Image ImageProcessor::resize_and_crop(const Image& image) const {
  if (image.empty()) throw ShapeError("cannot preprocess an empty image");
  if (const auto needed = preprocess_bytes(image.height(), image.width(), image.channels());
      needed > max_bytes_per_image_)
    throw ShapeError("preprocessing a " + std::to_string(image.width()) + "x" +
                     std::to_string(image.height()) + " image with this config takes up to " +
                     std::to_string(needed) + " bytes of memory, more than the limit of " +
                     std::to_string(max_bytes_per_image_) +
                     " per image (ImageProcessor's max_bytes_per_image)");
  Image converted;
  const Image* current = &image;
  if (config_.do_convert_rgb && image.channels() != 3) {
    converted = to_rgb(image);
    current = &converted;
  }
  Image resized;
  if (config_.do_resize) {
    const auto [h, w] = resized_size(current->height(), current->width());
    resized = resize(*current, w, h, config_.resample);
    current = &resized;
  }
  if (!config_.do_center_crop) return *current;

  // A crop larger than the image is padded with zeros (see CropAlign for how many before it); every output
  // pixel lands at source + top/left.
  const int ch = static_cast<int>(config_.crop_height), cw = static_cast<int>(config_.crop_width);
  const Image& src = *current;
  const std::int64_t top = crop_start(src.height(), ch, config_.crop_align);
  const std::int64_t left = crop_start(src.width(), cw, config_.crop_align);
  Image out(cw, ch, src.channels());
  const std::int64_t x0 = std::max<std::int64_t>(0, -left);
  const std::int64_t x1 = std::min<std::int64_t>(cw, src.width() - left);
  const auto c = static_cast<std::size_t>(src.channels());
  for (int y = 0; y < ch; ++y) {
    const std::int64_t sy = y + top;
    if (sy < 0 || sy >= src.height() || x0 >= x1) continue;
    std::copy_n(src.row(static_cast<int>(sy)) + static_cast<std::size_t>(x0 + left) * c,
                static_cast<std::size_t>(x1 - x0) * c, out.row(y) + static_cast<std::size_t>(x0) * c);
  }
  return out;
}

void ImageProcessor::normalize_into(const Image& image, float* out) const {
  const int channels = image.channels();
  if (config_.do_normalize && config_.image_mean.size() != 1 &&
      config_.image_mean.size() != static_cast<std::size_t>(channels))
    throw ShapeError("image has " + std::to_string(channels) + " channel(s) but image_mean/image_std have " +
                     std::to_string(config_.image_mean.size()) + " values");
  const int h = image.height(), w = image.width();
  const std::size_t plane = static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  tbb::parallel_for(tbb::blocked_range<int>(0, h, std::max(1, 8192 / std::max(1, w))),
                    [&](const tbb::blocked_range<int>& r) {
                      for (int y = r.begin(); y < r.end(); ++y) {
                        const std::uint8_t* in = image.row(y);
                        for (int c = 0; c < channels; ++c) {
                          const float* lut = lut_[static_cast<std::size_t>(c)].data();
                          float* o = out + static_cast<std::size_t>(c) * plane +
                                     static_cast<std::size_t>(y) * static_cast<std::size_t>(w);
                          for (int x = 0; x < w; ++x)
                            o[x] = lut[in[static_cast<std::size_t>(x) * static_cast<std::size_t>(channels) +
                                          static_cast<std::size_t>(c)]];
                        }
                      }
                    });
}

Tensor ImageProcessor::preprocess(const Image& image) const {
  return preprocess(std::span<const Image>(&image, 1));
}

Tensor ImageProcessor::preprocess(std::span<const Image> images) const {
  if (images.empty()) throw ShapeError("cannot preprocess an empty batch");
  std::vector<Image> prepared;
  prepared.reserve(images.size());
  for (const Image& img : images) prepared.push_back(resize_and_crop(img));
  const Image& first = prepared.front();
  for (std::size_t i = 1; i < prepared.size(); ++i) {
    const Image& p = prepared[i];
    if (p.width() != first.width() || p.height() != first.height() || p.channels() != first.channels())
      throw ShapeError("image " + std::to_string(i) + " preprocesses to " + std::to_string(p.channels()) +
                       "x" + std::to_string(p.height()) + "x" + std::to_string(p.width()) +
                       " but image 0 to " + std::to_string(first.channels()) + "x" +
                       std::to_string(first.height()) + "x" + std::to_string(first.width()) +
                       "; a batch needs one size (enable do_center_crop or size {height, width})");
  }
  Tensor out({static_cast<std::int64_t>(prepared.size()), first.channels(), first.height(), first.width()});
  const std::size_t per_image = first.stride() * static_cast<std::size_t>(first.height());
  for (std::size_t i = 0; i < prepared.size(); ++i) normalize_into(prepared[i], out.data() + i * per_image);
  return out;
}

}  // namespace visbone::image
