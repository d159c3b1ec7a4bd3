// C++ exceptions as Python exceptions of the same name and message: visbone.Error (a RuntimeError) is the
// base of IoError, FormatError, ConfigError, ShapeError, NotFoundError and NetworkError, as in core/errors.h;
// subclasses the C++ side has beyond those (hub::HttpError, PluginError, ...) arrive as their core base.
#include "bindings.h"
#include "visbone/core/errors.h"

namespace visbone::python {

void bind_errors(pybind11::module_& m) {
  namespace py = pybind11;
  // pybind11 tries translators newest first, so the base goes first and each subclass is caught as itself.
  const auto& base = py::register_exception<Error>(m, "Error", PyExc_RuntimeError);
  py::register_exception<IoError>(m, "IoError", base);
  py::register_exception<FormatError>(m, "FormatError", base);
  py::register_exception<ConfigError>(m, "ConfigError", base);
  py::register_exception<ShapeError>(m, "ShapeError", base);
  py::register_exception<NotFoundError>(m, "NotFoundError", base);
  py::register_exception<NetworkError>(m, "NetworkError", base);
}

}  // namespace visbone::python
