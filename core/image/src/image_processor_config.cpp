// ImageProcessorConfig: transformers' preprocessor_config.json (or a pipeline's `preprocess:` block) read,
// checked and written back, with errors naming the file (and line) and key. The processing itself is in
// image_processor.cpp.
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <map>

#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/image/image_processor.h"
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
    if (size.height && size.height.value() * size.width.value() > ImageProcessorConfig::kMaxOutputPixels)
      throw ConfigError(where + ": size " + std::to_string(*size.height) + "x" + std::to_string(*size.width) +
                        " has more than " + std::to_string(ImageProcessorConfig::kMaxOutputPixels) +
                        " pixels");
  }
  if (do_center_crop && crop_height * crop_width > ImageProcessorConfig::kMaxOutputPixels)
    throw ConfigError(where + ": crop_size " + std::to_string(crop_height) + "x" +
                      std::to_string(crop_width) + " has more than " +
                      std::to_string(ImageProcessorConfig::kMaxOutputPixels) + " pixels");
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

}  // namespace visbone::image
