// The parts of the visbone._visbone extension, one file each, put together by module.cpp.
#pragma once

#include <pybind11/pybind11.h>

namespace visbone::python {

// visbone.Error and its subclasses, mirroring core/errors.h; C++ exceptions become them.
void bind_errors(pybind11::module_& m);
// load_backbone and the Backbone class.
void bind_backbone(pybind11::module_& m);
// _ImageProcessor (visbone/image_processor.py builds the public ImageProcessor on it).
void bind_image_processor(pybind11::module_& m);
// _run (visbone.run in __init__.py turns its JSON summary into a dict).
void bind_pipeline(pybind11::module_& m);

}  // namespace visbone::python
