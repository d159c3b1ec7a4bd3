// visbone._visbone: the extension the `visbone` package imports its C++ parts from.
#include "bindings.h"
#include "visbone/version.h"

PYBIND11_MODULE(_visbone, m) {
  m.doc() = "visbone's C++ library (the public names are re-exported by the visbone package)";
  m.attr("__version__") = std::string(visbone::kVersion);
  visbone::python::bind_errors(m);
  visbone::python::bind_backbone(m);
  visbone::python::bind_image_processor(m);
  visbone::python::bind_pipeline(m);
}
