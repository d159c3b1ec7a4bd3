// _run: a YAML pipeline run to the end with the GIL released; returns the summary as JSON text.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <boost/json.hpp>
#include <filesystem>
#include <optional>

#include "bindings.h"
#include "visbone/api/pipeline.h"

namespace visbone::python {

void bind_pipeline(pybind11::module_& m) {
  namespace py = pybind11;
  m.def(
      "_run",
      [](const std::filesystem::path& config, std::optional<std::string> input, std::optional<std::string> output) {
        pipeline::Overrides overrides;
        overrides.input = std::move(input);
        overrides.output = std::move(output);
        py::gil_scoped_release release;
        return boost::json::serialize(load_pipeline(config, overrides)->run().json());
      },
      py::arg("config_path"), py::arg("input") = py::none(), py::arg("output") = py::none());
}

}  // namespace visbone::python
