// _ImageProcessor: the C++ ImageProcessor over numpy arrays and file paths. visbone/image_processor.py turns
// PIL images and path-likes into these before calling process().
#include <pybind11/numpy.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>
#include <opencv2/core.hpp>
#include <variant>

#include "bindings.h"
#include "numpy_tensor.h"
#include "visbone/api/image_processor.h"
#include "visbone/core/errors.h"
#include "visbone/core/json_writer.h"

namespace visbone::python {
namespace {

namespace py = pybind11;
using u8_array = py::array_t<std::uint8_t, py::array::c_style>;

// An (H, W) or (H, W, C) uint8 array as a cv::Mat header over its memory (RGB order, as numpy images from
// PIL, imageio or matplotlib are).
cv::Mat mat_of(const u8_array& a, const std::string& where) {
  if (a.ndim() != 2 && a.ndim() != 3)
    throw ShapeError(where + ": an array of " + std::to_string(a.ndim()) +
                     " dimensions, expected (H, W) or (H, W, C) uint8");
  const int channels = a.ndim() == 3 ? static_cast<int>(a.shape(2)) : 1;
  if (channels < 1 || channels > 4)
    throw ShapeError(where + ": " + std::to_string(channels) + " channels, expected 1 to 4 (gray, gray + alpha, "
                     "RGB, RGBA)");
  if (a.shape(0) == 0 || a.shape(1) == 0) throw ShapeError(where + ": an empty image");
  return cv::Mat(static_cast<int>(a.shape(0)), static_cast<int>(a.shape(1)), CV_8UC(channels),
                 const_cast<std::uint8_t*>(a.data()));
}

// Items are file paths (str) or uint8 arrays; arrays of another dtype are a FormatError, as a cv::Mat of
// another depth is for the C++ processor.
py::array process(const ImageProcessor& processor, const py::list& items) {
  if (items.empty()) throw ShapeError("image processor: no images to process (an empty batch)");
  std::vector<std::variant<std::filesystem::path, cv::Mat>> inputs;
  std::vector<u8_array> keep;  // the arrays the Mats point into
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string where = "images[" + std::to_string(i) + "]";
    const py::handle item = items[i];
    if (py::isinstance<py::str>(item)) {
      inputs.emplace_back(item.cast<std::filesystem::path>());
    } else if (py::isinstance<py::array>(item)) {
      const auto array = py::reinterpret_borrow<py::array>(item);
      if (!py::isinstance<py::array_t<std::uint8_t>>(array))
        throw FormatError(where + ": an array of dtype " + std::string(py::str(array.dtype())) +
                          ", expected uint8 pixels (HWC)");
      keep.push_back(u8_array::ensure(array));
      inputs.emplace_back(mat_of(keep.back(), where));
    } else {
      throw py::type_error(where + ": a " + std::string(py::str(py::type::handle_of(item).attr("__name__"))) +
                           ", expected a uint8 numpy array, a PIL image or a path");
    }
  }
  Tensor pixels;
  {
    py::gil_scoped_release release;
    std::vector<image::Image> images;
    images.reserve(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (const auto* path = std::get_if<std::filesystem::path>(&inputs[i])) {
        images.push_back(image::read_image(*path, processor.decode_options()));
        continue;
      }
      try {
        images.push_back(to_image(std::get<cv::Mat>(inputs[i]), ChannelOrder::rgb));
      } catch (const FormatError& e) {
        throw FormatError("images[" + std::to_string(i) + "]: " + e.what());
      }
    }
    pixels = processor.processor().preprocess(images);
  }
  return numpy_from_tensor(std::move(pixels));
}

}  // namespace

void bind_image_processor(py::module_& m) {
  py::class_<ImageProcessor>(m, "_ImageProcessor")
      .def(py::init<>())
      .def_static(
          "from_pretrained",
          [](const std::filesystem::path& name_or_path) {
            py::gil_scoped_release release;  // may download preprocessor_config.json
            return ImageProcessor::from_pretrained(name_or_path.string());
          },
          py::arg("name_or_path"))
      .def("process", &process, py::arg("images"))
      .def("output_size", &ImageProcessor::output_size, py::arg("height"), py::arg("width"))
      .def("set_max_pixels", &ImageProcessor::set_max_pixels, py::arg("max_pixels"))
      .def("to_json", [](const ImageProcessor& p) { return to_json_text(p.config().to_json()); });
}

}  // namespace visbone::python
