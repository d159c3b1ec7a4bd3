#include "visbone/image/timm_preprocessing.h"

#include <boost/json.hpp>
#include <cmath>

#include "visbone/core/errors.h"
#include "visbone/core/json.h"

namespace visbone::image {
namespace {

[[noreturn]] void bad(const std::string& where, const std::string& key, const std::string& expected,
                      const boost::json::value& found) {
  throw ConfigError(where + ": pretrained_cfg." + key + ": expected " + expected + ", found " +
                    boost::json::serialize(found));
}

double number(const boost::json::value& v, const std::string& where, const std::string& key) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  bad(where, key, "a number", v);
}

boost::json::array numbers(const boost::json::value& v, std::size_t n, const std::string& where,
                           const std::string& key) {
  if (!v.is_array() || v.get_array().size() != n)
    bad(where, key, "a list of " + std::to_string(n) + " numbers", v);
  boost::json::array out;
  for (const auto& e : v.get_array()) out.push_back(number(e, where, key));
  return out;
}

// timm's str_to_interp_mode names -> PIL's resample codes.
int pil_code(const boost::json::value& v, const std::string& where) {
  static const std::pair<const char*, int> kModes[] = {{"nearest", 0}, {"lanczos", 1}, {"bilinear", 2},
                                                       {"bicubic", 3}, {"box", 4},     {"hamming", 5}};
  if (v.is_string())
    for (const auto& [name, code] : kModes)
      if (v.get_string() == name) return code;
  bad(where, "interpolation", "nearest, lanczos, bilinear, bicubic, box or hamming", v);
}

}  // namespace

boost::json::object timm_processor_settings(const boost::json::value& cfg, const std::string& where) {
  if (!cfg.is_object())
    throw ConfigError(where + ": pretrained_cfg: expected an object, found " + json_kind(cfg));
  const auto& o = cfg.get_object();
  const auto get = [&](const char* key) -> const boost::json::value* {
    const auto* v = o.if_contains(key);
    return v && !v->is_null() ? v : nullptr;
  };
  std::int64_t height = 224, width = 224, channels = 3;
  if (const auto* v = get("input_size")) {
    const auto size = numbers(*v, 3, where, "input_size");
    const auto whole = [&](const boost::json::value& e) {
      const double d = e.as_double();
      if (d != std::floor(d) || d < 1 || d > 65536)
        bad(where, "input_size", "[channels, height, width] of positive integers", *v);
      return static_cast<std::int64_t>(d);
    };
    channels = whole(size[0]);
    height = whole(size[1]);
    width = whole(size[2]);
  }
  double crop_pct = 0.875;  // timm's DEFAULT_CROP_PCT
  if (const auto* v = get("crop_pct")) {
    crop_pct = number(*v, where, "crop_pct");
    if (!(crop_pct > 0.0) || !std::isfinite(crop_pct)) bad(where, "crop_pct", "a positive number", *v);
  }
  std::string mode = "center";
  if (const auto* v = get("crop_mode")) {
    if (!v->is_string()) bad(where, "crop_mode", "center, squash or border", *v);
    mode = std::string(v->get_string());
    if (mode == "border")
      throw ConfigError(where +
                        ": pretrained_cfg.crop_mode: 'border' (resize the longer side and pad) is not "
                        "supported; give the preprocessing inline (preprocess: {...})");
    if (mode != "center" && mode != "squash") bad(where, "crop_mode", "center, squash or border", *v);
  }
  boost::json::array mean{0.485, 0.456, 0.406}, std{0.229, 0.224, 0.225};  // IMAGENET_DEFAULT_MEAN / STD
  if (channels != 3) {
    mean = boost::json::array(static_cast<std::size_t>(channels), 0.5);
    std = boost::json::array(static_cast<std::size_t>(channels), 0.5);
  }
  if (const auto* v = get("mean")) mean = numbers(*v, static_cast<std::size_t>(channels), where, "mean");
  if (const auto* v = get("std")) std = numbers(*v, static_cast<std::size_t>(channels), where, "std");

  // math.floor(size / crop_pct), per side.
  const auto scaled = [&](std::int64_t s) {
    return static_cast<std::int64_t>(std::floor(static_cast<double>(s) / crop_pct));
  };
  boost::json::object size;
  if (mode == "squash") {
    size["height"] = scaled(height);
    size["width"] = scaled(width);
  } else {
    if (height != width)
      throw ConfigError(where + ": pretrained_cfg.input_size: a non-square size (" + std::to_string(height) +
                        "x" + std::to_string(width) +
                        ") with crop_mode center (timm's ResizeKeepRatio) is not supported; give the "
                        "preprocessing inline (preprocess: {...})");
    size["shortest_edge"] = scaled(height);
  }
  boost::json::object out;
  out["do_convert_rgb"] = channels == 3;
  out["do_resize"] = true;
  out["size"] = size;
  out["resample"] =
      pil_code(get("interpolation") ? *get("interpolation") : boost::json::value("bicubic"), where);
  out["do_center_crop"] = true;
  out["crop_size"] = {{"height", height}, {"width", width}};
  out["do_rescale"] = true;
  out["rescale_factor"] = 1.0 / 255.0;
  out["do_normalize"] = true;
  out["image_mean"] = mean;
  out["image_std"] = std;
  return out;
}

}  // namespace visbone::image
