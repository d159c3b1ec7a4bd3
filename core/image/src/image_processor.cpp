// BitImageProcessorPil, step by step as transformers 5 runs it (image_processing_backends.PilBackend):
// resize -> center_crop -> rescale -> normalize, each on one image, with numpy/Pillow's types at every step.
#include "visbone/image/image_processor.h"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <map>

#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/yaml/yaml_scalars.h"

namespace visbone::image {
namespace {

// Where a key was found, for error messages ("cfg.json: key 'size.height'" or "p.yaml:4:7: key ...").
using Locator = std::function<std::string(const std::string& key)>;

[[noreturn]] void bad(const Locator& at, const std::string& key, const std::string& expected,
                      const boost::json::value& found) {
  throw ConfigError(at(key) + ": expected " + expected + ", found " + json_kind(found) + " " +
                    boost::json::serialize(found));
}

bool is_null(const boost::json::value* v) {
  return v == nullptr || v->is_null();
}

std::optional<double> as_number(const boost::json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

std::int64_t to_int(const boost::json::value& v, const Locator& at, const std::string& key) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return static_cast<std::int64_t>(v.get_uint64());
  // 224.0 is still an integer; transformers would pass it on as one.
  if (v.is_double() && std::isfinite(v.get_double()) && std::trunc(v.get_double()) == v.get_double() &&
      std::fabs(v.get_double()) < 9.0e15)
    return static_cast<std::int64_t>(v.get_double());
  bad(at, key, "an integer", v);
}

void read_bool(const boost::json::object& o, const char* key, bool& out, const Locator& at) {
  const auto* v = o.if_contains(key);
  if (is_null(v)) return;  // null means "the processor's default", as in transformers
  if (!v->is_bool()) bad(at, key, "true or false", *v);
  out = v->get_bool();
}

std::vector<double> read_numbers(const boost::json::value& v, const Locator& at, const std::string& key) {
  if (auto n = as_number(v)) return {*n};
  if (!v.is_array()) bad(at, key, "a number or a list of numbers", v);
  std::vector<double> out;
  for (const auto& e : v.get_array()) {
    const auto n = as_number(e);
    if (!n) bad(at, key, "a list of numbers", v);
    out.push_back(*n);
  }
  return out;
}

// transformers' get_size_dict(size, default_to_square=False) for `size`.
ResizeSize read_size(const boost::json::value& v, const Locator& at) {
  ResizeSize s;
  s.shortest_edge.reset();
  if (v.is_int64() || v.is_uint64() || v.is_double()) {
    s.shortest_edge = to_int(v, at, "size");
    return s;
  }
  if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.size() != 2) bad(at, "size", "an integer, [height, width] or an object", v);
    s.height = to_int(a[0], at, "size");
    s.width = to_int(a[1], at, "size");
    return s;
  }
  if (!v.is_object()) bad(at, "size", "an integer, [height, width] or an object", v);
  const auto& o = v.get_object();
  for (const auto& kv : o) {
    const std::string k(kv.key());
    const std::string path = "size." + k;
    if (kv.value().is_null()) continue;
    if (k == "shortest_edge") {
      s.shortest_edge = to_int(kv.value(), at, path);
    } else if (k == "longest_edge") {
      s.longest_edge = to_int(kv.value(), at, path);
    } else if (k == "height") {
      s.height = to_int(kv.value(), at, path);
    } else if (k == "width") {
      s.width = to_int(kv.value(), at, path);
    } else {
      throw ConfigError(at("size") + ": unsupported key '" + k +
                        "'; expected {shortest_edge}, {shortest_edge, longest_edge} or {height, width}");
    }
  }
  const bool hw = s.height || s.width;
  const bool edges = s.shortest_edge || s.longest_edge;
  if ((hw && edges) || (hw && !(s.height && s.width)) || (!hw && !s.shortest_edge))
    throw ConfigError(at("size") + ": got " + boost::json::serialize(v) +
                      "; expected {shortest_edge}, {shortest_edge, longest_edge} or {height, width}");
  return s;
}

// get_size_dict(crop_size, param_name="crop_size"): an integer is a square.
std::pair<std::int64_t, std::int64_t> read_crop(const boost::json::value& v, const Locator& at) {
  if (v.is_int64() || v.is_uint64() || v.is_double()) {
    const auto n = to_int(v, at, "crop_size");
    return {n, n};
  }
  if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.size() != 2) bad(at, "crop_size", "an integer, [height, width] or {height, width}", v);
    return {to_int(a[0], at, "crop_size"), to_int(a[1], at, "crop_size")};
  }
  if (!v.is_object()) bad(at, "crop_size", "an integer, [height, width] or {height, width}", v);
  const auto& o = v.get_object();
  const auto* h = o.if_contains("height");
  const auto* w = o.if_contains("width");
  if (is_null(h) || is_null(w) || o.size() != 2)
    throw ConfigError(at("crop_size") + ": got " + boost::json::serialize(v) + "; expected {height, width}");
  return {to_int(*h, at, "crop_size.height"), to_int(*w, at, "crop_size.width")};
}

ImageProcessorConfig parse_config(const boost::json::value& json, const std::string& where,
                                  const Locator& at) {
  if (!json.is_object())
    throw ConfigError(where + ": expected an object of image processor settings, found " + json_kind(json));
  const auto& o = json.get_object();
  ImageProcessorConfig c;
  read_bool(o, "do_convert_rgb", c.do_convert_rgb, at);
  read_bool(o, "do_resize", c.do_resize, at);
  read_bool(o, "do_center_crop", c.do_center_crop, at);
  read_bool(o, "do_rescale", c.do_rescale, at);
  read_bool(o, "do_normalize", c.do_normalize, at);
  if (const auto* v = o.if_contains("size"); !is_null(v)) c.size = read_size(*v, at);
  if (const auto* v = o.if_contains("crop_size"); !is_null(v)) {
    const auto [h, w] = read_crop(*v, at);
    c.crop_height = h;
    c.crop_width = w;
  }
  if (const auto* v = o.if_contains("resample"); !is_null(v))
    c.resample = resample_from_pil(to_int(*v, at, "resample"), at("resample"));
  if (const auto* v = o.if_contains("rescale_factor"); !is_null(v)) {
    const auto n = as_number(*v);
    if (!n) bad(at, "rescale_factor", "a number", *v);
    c.rescale_factor = *n;
  }
  if (const auto* v = o.if_contains("image_mean"); !is_null(v))
    c.image_mean = read_numbers(*v, at, "image_mean");
  if (const auto* v = o.if_contains("image_std"); !is_null(v))
    c.image_std = read_numbers(*v, at, "image_std");
  c.validate(where);
  return c;
}

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

// Largest image the processor will produce or pad to: the decompression-bomb limit applies to outputs too,
// so a config cannot make a small input allocate gigabytes.
constexpr std::int64_t kMaxOutputPixels = kDefaultMaxPixels;

}  // namespace

ImageProcessorConfig ImageProcessorConfig::from_json(const boost::json::value& json,
                                                     const std::string& where) {
  return parse_config(json, where, [&](const std::string& key) { return where + ": key '" + key + "'"; });
}

boost::json::object ImageProcessorConfig::to_json() const {
  boost::json::object resize;
  if (size.height) {
    resize["height"] = *size.height;
    resize["width"] = size.width.value_or(0);
  } else {
    if (size.shortest_edge) resize["shortest_edge"] = *size.shortest_edge;
    if (size.longest_edge) resize["longest_edge"] = *size.longest_edge;
  }
  const auto numbers = [](const std::vector<double>& v) { return boost::json::array(v.begin(), v.end()); };
  return {{"crop_size", {{"height", crop_height}, {"width", crop_width}}},
          {"do_center_crop", do_center_crop},
          {"do_convert_rgb", do_convert_rgb},
          {"do_normalize", do_normalize},
          {"do_rescale", do_rescale},
          {"do_resize", do_resize},
          {"image_mean", numbers(image_mean)},
          {"image_std", numbers(image_std)},
          {"resample", static_cast<int>(resample)},
          {"rescale_factor", rescale_factor},
          {"size", std::move(resize)}};
}

ImageProcessorConfig ImageProcessorConfig::from_file(const std::filesystem::path& path) {
  return from_json(read_json_file(path), path.string());
}

ImageProcessorConfig ImageProcessorConfig::from_yaml(const YAML::Node& node, const std::string& where) {
  if (!node.IsMap()) {
    const auto m = node.Mark();
    throw ConfigError(where + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
                      ": expected a mapping of image processor settings");
  }
  std::map<std::string, YAML::Mark> marks;
  const boost::json::value json = yaml::yaml_to_json(node, where, &marks);
  return parse_config(json, where, [&](const std::string& key) {
    const auto it = marks.find(key);
    if (it == marks.end() || it->second.line < 0) return where + ": key '" + key + "'";
    return where + ":" + std::to_string(it->second.line + 1) + ":" + std::to_string(it->second.column + 1) +
           ": key '" + key + "'";
  });
}

void ImageProcessorConfig::validate(const std::string& where) const {
  const auto positive = [&](std::optional<std::int64_t> v, const char* key) {
    if (v && (*v <= 0 || *v > (1 << 20)))
      throw ConfigError(where + ": " + key + " is " + std::to_string(*v) + ", expected 1 to 1048576");
  };
  positive(size.shortest_edge, "size.shortest_edge");
  positive(size.longest_edge, "size.longest_edge");
  positive(size.height, "size.height");
  positive(size.width, "size.width");
  positive(crop_height, "crop_size.height");
  positive(crop_width, "crop_size.width");
  if (do_resize) {
    if (size.height.has_value() != size.width.has_value() || (!size.height && !size.shortest_edge))
      throw ConfigError(where +
                        ": size needs {shortest_edge}, {shortest_edge, longest_edge} or {height, width}");
    if (size.longest_edge && !size.shortest_edge)
      throw ConfigError(where + ": size.longest_edge needs size.shortest_edge");
    if (size.height && size.height.value() * size.width.value() > kMaxOutputPixels)
      throw ConfigError(where + ": size " + std::to_string(*size.height) + "x" + std::to_string(*size.width) +
                        " has more than " + std::to_string(kMaxOutputPixels) + " pixels");
  }
  if (do_center_crop && crop_height * crop_width > kMaxOutputPixels)
    throw ConfigError(where + ": crop_size " + std::to_string(crop_height) + "x" +
                      std::to_string(crop_width) + " has more than " + std::to_string(kMaxOutputPixels) +
                      " pixels");
  if (do_rescale && !std::isfinite(rescale_factor))
    throw ConfigError(where + ": rescale_factor must be a finite number");
  if (do_normalize) {
    if (image_mean.empty() || image_std.empty())
      throw ConfigError(where + ": image_mean and image_std need at least one value");
    if (image_mean.size() != image_std.size())
      throw ConfigError(where + ": image_mean has " + std::to_string(image_mean.size()) +
                        " values but image_std has " + std::to_string(image_std.size()));
    for (std::size_t i = 0; i < image_std.size(); ++i) {
      if (!std::isfinite(image_mean[i]) || !std::isfinite(image_std[i]) || image_std[i] == 0.0)
        throw ConfigError(where + ": image_mean/image_std value " + std::to_string(i) +
                          " must be finite and image_std non-zero");
    }
  }
}

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
  if (oh <= 0 || ow <= 0 || oh * ow > kMaxOutputPixels || oh > std::numeric_limits<int>::max() ||
      ow > std::numeric_limits<int>::max())
    throw ShapeError("resizing a " + std::to_string(width) + "x" + std::to_string(height) +
                     " image with this size setting gives " + std::to_string(ow) + "x" + std::to_string(oh) +
                     ", expected a positive size of at most " + std::to_string(kMaxOutputPixels) + " pixels");
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
