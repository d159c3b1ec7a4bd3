#include "visbone/serve/inference_protocol.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "visbone/serve/http_error.h"

namespace visbone::serve {
namespace json = boost::json;

namespace {

[[noreturn]] void bad(const std::string& message) {
  throw HttpError(400, message);
}

json::array shape_json(const Shape& s) {
  return json::array(s.begin(), s.end());
}

bool is_head(const ServedModel& m, const std::string& name) {
  return std::any_of(m.heads.begin(), m.heads.end(), [&](const NamedHead& h) { return h.name == name; });
}

std::string output_names(const ServedModel& m) {
  std::string s;
  for (const auto& n : m.backbone->stage_names()) s += (s.empty() ? "" : ", ") + n;
  for (const auto& h : m.heads) s += ", " + h.name;
  return s;
}

bool binary_flag(const json::object& o, const char* key) {
  if (const auto* p = o.if_contains("parameters"); p && p->is_object())
    if (const auto* b = p->as_object().if_contains(key)) {
      if (!b->is_bool()) bad(std::string("parameters.") + key + ": expected true or false");
      return b->as_bool();
    }
  return false;
}

// A JSON integer as int64, or nothing (not an integer, or an unsigned one above int64's range).
std::optional<std::int64_t> as_int64(const json::value& v) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return static_cast<std::int64_t>(v.as_uint64());
  return std::nullopt;
}

// Row-major values from `data` (flat or nested lists of numbers) into out[0..count).
void read_numbers(const json::value& data, float* out, std::int64_t count, std::int64_t& n) {
  if (data.is_array()) {
    for (const auto& v : data.as_array()) read_numbers(v, out, count, n);
    return;
  }
  if (!data.is_number())
    bad("inputs[0].data: expected numbers (FP32), found " + json::serialize(data).substr(0, 40));
  const double v = data.to_number<double>();
  if (std::abs(v) > std::numeric_limits<float>::max())
    bad("inputs[0].data: " + json::serialize(data) + " is outside FP32's range");
  if (n < count) out[n] = static_cast<float>(v);
  ++n;
}

Shape parse_shape(const json::object& input, const ServedModel& model, const InferLimits& limits) {
  const auto* s = input.if_contains("shape");
  if (!s || !s->is_array()) bad("inputs[0].shape: missing or not a list");
  Shape shape;
  for (const auto& d : s->as_array()) {
    const auto dim = as_int64(d);
    if (!dim) bad("inputs[0].shape: expected integers of at most 2^63 - 1, found " + json::serialize(*s));
    shape.push_back(*dim);
  }
  const std::string found = json::serialize(*s);
  if (shape.size() != 4) bad("inputs[0].shape: expected [N, C, H, W], found " + found);
  if (std::any_of(shape.begin(), shape.end(), [](std::int64_t d) { return d < 1; }))
    bad("inputs[0].shape: every dimension must be at least 1, found " + found);
  if (shape[1] != model.channels)
    bad("inputs[0].shape: the model takes " + std::to_string(model.channels) + " channels, found " + found);
  if (shape[0] > limits.max_batch_size)
    bad("inputs[0].shape: batch of " + std::to_string(shape[0]) + " is over max_batch_size " +
        std::to_string(limits.max_batch_size));
  if (shape[2] > limits.max_pixels / shape[3])
    bad("inputs[0].shape: " + std::to_string(shape[2]) + "x" + std::to_string(shape[3]) +
        " is over max_pixels " + std::to_string(limits.max_pixels));
  return shape;
}

}  // namespace

json::object model_metadata(const ServedModel& m) {
  json::array outputs;
  const auto shapes = m.backbone->output_shape();
  for (const auto& stage : m.outputs)
    outputs.push_back({{"name", stage},
                       {"datatype", "FP32"},
                       {"shape", {-1, shapes.at(stage).channels, -1, -1}},
                       {"parameters", {{"stride", shapes.at(stage).stride}}}});
  for (const auto& h : m.heads) outputs.push_back({{"name", h.name}, {"datatype", "BYTES"}, {"shape", {-1}}});
  const auto names = m.backbone->stage_names();
  const json::array stages(names.begin(), names.end());
  return {{"name", m.name},
          {"versions", {"1"}},
          {"platform", "visbone"},
          {"inputs", {{{"name", kInputName}, {"datatype", "FP32"}, {"shape", {-1, m.channels, -1, -1}}}}},
          {"outputs", outputs},
          {"parameters", {{"stages", stages}}}};
}

json::object model_config(const ServedModel& m, const ServeOptions& options) {
  json::array outputs;
  const auto shapes = m.backbone->output_shape();
  for (const auto& stage : m.outputs)
    outputs.push_back(
        {{"name", stage}, {"data_type", "TYPE_FP32"}, {"dims", {shapes.at(stage).channels, -1, -1}}});
  for (const auto& h : m.heads)
    outputs.push_back({{"name", h.name},
                       {"data_type", "TYPE_STRING"},
                       {"dims", {1}},
                       {"reshape", {{"shape", json::array()}}}});
  json::object config{
      {"name", m.name},
      {"platform", "visbone"},
      {"backend", "visbone"},
      {"max_batch_size", options.max_batch_size},
      {"input",
       {{{"name", kInputName},
         {"data_type", "TYPE_FP32"},
         {"format", "FORMAT_NCHW"},
         {"dims", {m.channels, -1, -1}}}}},
      {"output", std::move(outputs)},
      {"instance_group", {{{"name", m.name}, {"kind", "KIND_CPU"}, {"count", 1}}}},
  };
  if (options.dynamic_batching) {
    json::object batching{{"max_queue_delay_microseconds", options.max_queue_delay_microseconds}};
    if (options.preferred_batch_size > 0) batching["preferred_batch_size"] = {options.preferred_batch_size};
    config["dynamic_batching"] = std::move(batching);
  }
  return config;
}

InferRequest parse_infer_request(std::string_view body, std::optional<std::size_t> header_length,
                                 const ServedModel& model, const InferLimits& limits) {
  if (header_length && *header_length > body.size())
    bad("Inference-Header-Content-Length " + std::to_string(*header_length) + " is larger than the body (" +
        std::to_string(body.size()) + " bytes)");
  const std::string_view header = header_length ? body.substr(0, *header_length) : body;
  std::string_view binary = header_length ? body.substr(*header_length) : std::string_view{};
  boost::system::error_code ec;
  const json::value doc = json::parse(header, ec);
  if (ec) bad("the request body is not valid JSON: " + ec.message());
  if (!doc.is_object()) bad("the request body must be a JSON object with \"inputs\"");
  const json::object& o = doc.as_object();

  InferRequest r;
  if (const auto* id = o.if_contains("id")) {
    if (!id->is_string()) bad("id: expected a string");
    r.id = std::string(id->as_string());
  }
  const auto* inputs = o.if_contains("inputs");
  if (!inputs || !inputs->is_array()) bad("inputs: missing or not a list");
  if (inputs->as_array().size() != 1 || !inputs->as_array()[0].is_object())
    bad("inputs: the model takes exactly one input, '" + std::string(kInputName) + "'");
  const json::object& in = inputs->as_array()[0].as_object();
  const auto* name = in.if_contains("name");
  if (!name || !name->is_string() || name->as_string() != kInputName)
    bad("inputs[0].name: expected '" + std::string(kInputName) + "'");
  const auto* dtype = in.if_contains("datatype");
  if (!dtype || !dtype->is_string()) bad("inputs[0].datatype: missing");
  if (dtype->as_string() != "FP32")
    bad("inputs[0].datatype: the model takes FP32, found " + std::string(dtype->as_string()));
  const Shape shape = parse_shape(in, model, limits);
  const std::int64_t count = shape_numel(shape);
  r.pixels = Tensor::uninitialized(shape);

  std::int64_t binary_size = -1;
  if (const auto* p = in.if_contains("parameters"); p && p->is_object())
    if (const auto* b = p->as_object().if_contains("binary_data_size")) {
      const auto bytes = as_int64(*b);
      if (!bytes || *bytes < 0) bad("inputs[0].parameters.binary_data_size: expected a byte count");
      binary_size = *bytes;
    }
  if (binary_size >= 0) {
    if (in.contains("data")) bad("inputs[0]: give either data or parameters.binary_data_size, not both");
    if (binary_size != count * 4)
      bad("inputs[0].parameters.binary_data_size: shape " + json::serialize(in.at("shape")) + " FP32 needs " +
          std::to_string(count * 4) + " bytes, found " + std::to_string(binary_size));
    if (binary.size() != static_cast<std::size_t>(binary_size))
      bad("binary tensor data: expected " + std::to_string(binary_size) +
          " bytes after the JSON header, found " + std::to_string(binary.size()));
    std::memcpy(r.pixels.data(), binary.data(), binary.size());
  } else {
    if (!binary.empty())
      bad("binary data follows the JSON header but no input has parameters.binary_data_size");
    const auto* data = in.if_contains("data");
    if (!data) bad("inputs[0].data: missing");
    std::int64_t n = 0;
    read_numbers(*data, r.pixels.data(), count, n);
    if (n != count)
      bad("inputs[0].data: shape " + json::serialize(in.at("shape")) + " needs " + std::to_string(count) +
          " values, found " + std::to_string(n));
  }

  const bool all_binary = binary_flag(o, "binary_data_output");
  if (const auto* outs = o.if_contains("outputs")) {
    if (!outs->is_array()) bad("outputs: expected a list");
    for (const auto& v : outs->as_array()) {
      if (!v.is_object() || !v.as_object().contains("name") || !v.as_object().at("name").is_string())
        bad("outputs: each entry needs a \"name\"");
      r.outputs.push_back({std::string(v.as_object().at("name").as_string()),
                           all_binary || binary_flag(v.as_object(), "binary_data")});
    }
  } else {
    for (const auto& s : model.outputs) r.outputs.push_back({s, all_binary});
    for (const auto& h : model.heads) r.outputs.push_back({h.name, all_binary});
  }
  const auto stages = model.backbone->stage_names();
  for (const auto& out : r.outputs) {
    if (is_head(model, out.name)) {
      r.heads = true;
    } else if (std::find(stages.begin(), stages.end(), out.name) != stages.end()) {
      if (std::find(r.stages.begin(), r.stages.end(), out.name) == r.stages.end())
        r.stages.push_back(out.name);
    } else {
      bad("outputs: unknown output '" + out.name + "'; the model has: " + output_names(model));
    }
  }
  return r;
}

EncodedResponse encode_infer_response(const ServedModel& model, const InferRequest& request,
                                      const JobResult& result) {
  json::array outputs;
  std::string binary;
  for (const auto& out : request.outputs) {
    json::object o{{"name", out.name}};
    if (is_head(model, out.name)) {
      std::size_t h = 0;
      while (model.heads[h].name != out.name) ++h;
      const auto& per_image = result.heads.at(h);
      o["datatype"] = "BYTES";
      o["shape"] = {per_image.size()};
      json::array strings;
      std::string bytes;
      for (const auto& r : per_image) {
        const std::string s = json::serialize(r.record);
        const auto n = static_cast<std::uint32_t>(s.size());
        bytes.append(reinterpret_cast<const char*>(&n), 4).append(s);
        strings.push_back(json::string(s));
      }
      if (out.binary) {
        o["parameters"] = {{"binary_data_size", bytes.size()}};
        binary += bytes;
      } else {
        o["data"] = std::move(strings);
      }
    } else {
      const Tensor& t = result.stages.at(out.name);
      o["datatype"] = "FP32";
      o["shape"] = shape_json(t.shape());
      if (out.binary) {
        o["parameters"] = {{"binary_data_size", t.numel() * 4}};
        binary.append(reinterpret_cast<const char*>(t.data()), static_cast<std::size_t>(t.numel()) * 4);
      } else {
        json::array data;
        data.reserve(static_cast<std::size_t>(t.numel()));
        for (const float v : t) data.push_back(static_cast<double>(v));
        o["data"] = std::move(data);
      }
    }
    outputs.push_back(std::move(o));
  }
  json::object doc{{"model_name", model.name}, {"model_version", "1"}, {"outputs", std::move(outputs)}};
  if (!request.id.empty()) doc["id"] = request.id;
  EncodedResponse e{json::serialize(doc), std::nullopt};
  if (!binary.empty()) {
    e.header_length = e.body.size();
    e.body += binary;
  }
  return e;
}

}  // namespace visbone::serve
