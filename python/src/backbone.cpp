// visbone.load_backbone(...) -> Backbone, in transformers' AutoBackbone idiom: stage_names, out_features,
// output_shape(), and backbone(pixel_values) -> {stage: (N, C, H, W) float32, "pooled", "logits"}.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "bindings.h"
#include "numpy_tensor.h"
#include "visbone/api/load_backbone.h"
#include "visbone/core/errors.h"

namespace visbone::python {
namespace {

namespace py = pybind11;

// The precisions BackboneOptions offers.
constexpr const char* kPrecisions = "'f32', 'bf16', 'auto'";

// A list or tuple of arrays (numpy arrays, torch tensors: anything but nested lists and numbers) is a list of
// images; a nested list of numbers stays one (N, C, H, W) batch, as numpy reads it.
bool is_image_list(py::handle obj) {
  if (!py::isinstance<py::list>(obj) && !py::isinstance<py::tuple>(obj)) return false;
  for (py::handle item : obj)
    if (py::isinstance<py::list>(item) || py::isinstance<py::tuple>(item) ||
        py::isinstance<py::float_>(item) || py::isinstance<py::int_>(item))
      return false;
  return true;
}

// {stage: array, "pooled": ..., "logits": ...} of a result, as `request` asked for them (no copies).
py::dict to_dict(ForwardResult result, const ForwardRequest& request) {
  py::dict out;
  for (const auto& s : request.stages) {
    auto it = result.stages.find(s);
    if (it == result.stages.end() || it->second.empty())
      throw ShapeError("the backbone returned no map for stage '" + s + "'");
    out[py::str(s)] = numpy_from_tensor(std::move(it->second));
  }
  if (request.pooled) out["pooled"] = numpy_from_tensor(std::move(result.pooled));
  if (request.logits) out["logits"] = numpy_from_tensor(std::move(result.logits));
  return out;
}

class PyBackbone {
 public:
  explicit PyBackbone(std::unique_ptr<LoadedBackbone> backbone)
      : backbone_(std::move(backbone)), stage_names_(backbone_->stage_names()) {
    if (auto classifier = backbone_->classifier()) {
      labels_ = std::move(classifier->labels);
      has_classifier_ = true;
    }
    const auto selected = backbone_->out_features();
    reaches_last_ = !stage_names_.empty() &&
                    std::find(selected.begin(), selected.end(), stage_names_.back()) != selected.end();
  }

  // pooled / logits: None = when the selection reaches the last stage anyway (then they cost only the final
  // norm, the pool and the classifier), and logits only for a model with a classifier. A list or tuple of
  // arrays is a list of images of any sizes: one dict per image (see the docstring).
  py::object call(py::handle pixel_values, std::optional<bool> pooled, std::optional<bool> logits) {
    ForwardRequest request;
    request.stages = backbone_->out_features();
    request.pooled = pooled.value_or(reaches_last_);
    request.logits = logits.value_or(reaches_last_ && has_classifier_);
    if (is_image_list(pixel_values)) {
      std::vector<Tensor> images;
      std::size_t i = 0;
      for (py::handle item : pixel_values)
        images.push_back(tensor_from_numpy(item, "pixel_values[" + std::to_string(i++) + "]"));
      std::vector<ForwardResult> results;
      {
        py::gil_scoped_release release;
        results = backbone_->forward(images, request);
      }
      py::list out;
      for (auto& r : results) out.append(to_dict(std::move(r), request));
      return out;
    }
    Tensor input = tensor_from_numpy(pixel_values, "pixel_values");
    ForwardResult result;
    {
      py::gil_scoped_release release;
      result = backbone_->forward(input, request);
    }
    return to_dict(std::move(result), request);
  }

  // In stage order (a dict keeps insertion order); with an input size, each stage's exact height and width
  // for it too (LoadedBackbone::output_shape(H, W), no pass runs).
  py::dict output_shape(std::optional<std::int64_t> height, std::optional<std::int64_t> width) const {
    if (height.has_value() != width.has_value())
      throw py::type_error("output_shape: give both height and width (an input size) or neither");
    py::dict out;
    if (height) {
      const auto shapes = backbone_->output_shape(*height, *width);
      for (const auto& name : stage_names_) {
        const ShapeSpec& shape = shapes.at(name);
        out[py::str(name)] = py::dict(py::arg("channels") = shape.channels, py::arg("stride") = shape.stride,
                                      py::arg("height") = shape.height, py::arg("width") = shape.width);
      }
      return out;
    }
    const auto shapes = backbone_->output_shape();
    for (const auto& name : stage_names_) {
      const StageShape& shape = shapes.at(name);
      out[py::str(name)] = py::dict(py::arg("channels") = shape.channels, py::arg("stride") = shape.stride);
    }
    return out;
  }

  const std::vector<std::string>& stage_names() const { return stage_names_; }
  std::vector<std::string> out_features() const { return backbone_->out_features(); }
  const std::vector<int>& out_indices() const { return backbone_->out_indices(); }
  // transformers' BackboneMixin.channels (timm's feature_info.channels()): per selected stage, in order.
  std::vector<int> channels() const {
    const auto shapes = backbone_->output_shape();
    std::vector<int> c;
    for (const auto& name : backbone_->out_features()) c.push_back(shapes.at(name).channels);
    return c;
  }
  int pooled_channels() const { return backbone_->pooled_channels(); }
  int size_divisibility() const { return backbone_->size_divisibility(); }
  std::map<std::string, int> padding_constraints() const { return backbone_->padding_constraints(); }
  std::optional<std::vector<std::string>> labels() const {
    if (!has_classifier_) return std::nullopt;
    return labels_;
  }
  // As load_backbone took it: None for OpenMP's default (every core).
  std::optional<int> threads() const {
    const int t = backbone_->options().threads;
    return t > 0 ? std::optional<int>(t) : std::nullopt;
  }

 private:
  std::unique_ptr<LoadedBackbone> backbone_;
  std::vector<std::string> stage_names_;
  std::vector<std::string> labels_;
  bool has_classifier_ = false;
  bool reaches_last_ = false;
};

std::unique_ptr<PyBackbone> load(const std::filesystem::path& name_or_path,
                                 std::optional<std::vector<std::string>> out_features,
                                 std::optional<std::vector<int>> out_indices, std::optional<int> threads,
                                 const std::string& precision, std::optional<std::string> algorithm) {
  const auto parsed = bit::parse_precision(precision);
  if (!parsed)
    throw py::value_error("load_backbone: precision '" + precision + "' is not supported; supported: " +
                          kPrecisions);
  BackboneOptions options;
  options.precision = *parsed;
  if (algorithm) {
    options.algorithm = bit::parse_conv_algorithm(*algorithm);
    if (!options.algorithm)
      throw py::value_error("load_backbone: algorithm '" + *algorithm +
                            "' is not supported; supported: 'auto', 'direct', 'winograd'");
  }
  options.out_features = std::move(out_features);
  options.out_indices = std::move(out_indices);
  options.threads = threads.value_or(0);
  std::unique_ptr<LoadedBackbone> backbone;
  {
    py::gil_scoped_release release;  // loading reads (or downloads) the weights
    backbone = load_backbone(name_or_path.string(), options);
  }
  return std::make_unique<PyBackbone>(std::move(backbone));
}

}  // namespace

void bind_backbone(py::module_& m) {
  py::class_<PyBackbone>(
      m, "Backbone",
      "A loaded backbone (from visbone.load_backbone). Calls may come from several threads, with the GIL "
      "released; BiT's passes overlap with the threads divided between them (a lone call gets them all), "
      "bit-identical to sequential calls.")
      .def(
          "__call__", &PyBackbone::call, py::arg("pixel_values"), py::kw_only(),
          py::arg("pooled") = py::none(), py::arg("logits") = py::none(),
          "pixel_values: float32 (N, C, H, W), read in place when C-contiguous (else converted once).\n"
          "Returns {stage: (N, C', H', W') float32} for out_features, plus 'pooled' (N, C) and 'logits'\n"
          "(N, num_labels) when the selection reaches the last stage (pooled=/logits= True or False to "
          "choose).\n"
          "pixel_values may also be a list (or tuple) of arrays of different sizes, each (C, H, W) or\n"
          "(1, C, H, W), as a detector feeds them: then a list of such dicts, one per image (each array "
          "with\n"
          "N = 1), equal bit for bit to calling with that image alone. Images of one size run as one batch;\n"
          "sizes are never padded to a common one (BiT's GroupNorm would change every value).")
      .def_property_readonly("stage_names", &PyBackbone::stage_names)
      .def_property_readonly("out_features", &PyBackbone::out_features)
      .def_property_readonly("out_indices", &PyBackbone::out_indices)
      .def_property_readonly(
          "channels", &PyBackbone::channels,
          "channels of each out_features stage, in order (transformers' Backbone.channels)")
      .def_property_readonly("pooled_channels", &PyBackbone::pooled_channels)
      .def_property_readonly(
          "size_divisibility", &PyBackbone::size_divisibility,
          "detectron2's Backbone.size_divisibility: 0 (any size runs; BiT needs no padding)")
      .def_property_readonly("padding_constraints", &PyBackbone::padding_constraints,
                             "detectron2's Backbone.padding_constraints: {} for BiT")
      .def_property_readonly("labels", &PyBackbone::labels, "the classifier's class names by index, or None")
      .def_property_readonly("threads", &PyBackbone::threads)
      .def("output_shape", &PyBackbone::output_shape, py::arg("height") = py::none(),
           py::arg("width") = py::none(),
           "{stage: {'channels': C, 'stride': S}} for every stage, selected or not; with an input size,\n"
           "output_shape(H, W) adds each stage's exact 'height' and 'width' for it (what a call gives, "
           "padding\n"
           "and dilation included; no pass runs). ShapeError for a size the network cannot take.")
      .def("__repr__", [](const PyBackbone& b) {
        return "<visbone.Backbone out_features=" + std::string(py::repr(py::cast(b.out_features()))) +
               " channels=" + std::string(py::repr(py::cast(b.channels()))) + ">";
      });
  m.def("load_backbone", &load, py::arg("name_or_path"), py::arg("out_features") = py::none(),
        py::arg("out_indices") = py::none(), py::arg("threads") = py::none(), py::arg("precision") = "f32",
        py::arg("algorithm") = py::none(),
        "Loads a checkpoint folder, a BiT .npz, a preset (bit-50, R50x1, ...) or a hub id (google/bit-50).\n"
        "out_features / out_indices select stages as in transformers; threads: OpenMP threads per call\n"
        "(None: all cores); precision: 'f32' (exact), 'bf16' (AVX512-BF16/AMX) or 'auto' (bf16 with AMX);\n"
        "algorithm (fp32 3x3 convolutions): 'auto' (Winograd where oneDNN has it), 'direct' or 'winograd'\n"
        "(None: $VISBONE_CONV_ALGORITHM, else auto).");
}

}  // namespace visbone::python
