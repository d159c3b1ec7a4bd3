// visbone::Tensor <-> numpy without copies where the memory allows it.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "visbone/core/tensor.h"

namespace visbone::python {

// A float32 tensor over `obj`'s memory: a C-contiguous, aligned, native float32 numpy array (or an object
// exposing one through the array interface, e.g. a CPU torch tensor) is used as it is, with no copy; anything
// else (float64, non-contiguous, other numeric types, nested lists) is converted once by numpy. The tensor
// holds a reference to the array, so it stays valid as long as any copy of it lives. The memory is only read.
// TypeError (naming `what`) when numpy cannot make float32 numbers of `obj`.
Tensor tensor_from_numpy(pybind11::handle obj, const std::string& what);

// A numpy array owning `tensor`'s storage (through a capsule), with no copy: the storage lives until numpy
// frees the array.
pybind11::array numpy_from_tensor(Tensor tensor);

}  // namespace visbone::python
