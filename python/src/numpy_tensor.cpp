#include "numpy_tensor.h"

#include <memory>
#include <vector>

namespace visbone::python {

namespace py = pybind11;

Tensor tensor_from_numpy(py::handle obj, const std::string& what) {
  // PyArray_FromAny returns `obj` itself (one more reference) when it already has every requested property,
  // and converts exactly once otherwise. ALIGNED matters for arrays over byte buffers at odd offsets.
  using api = py::detail::npy_api;
  constexpr int flags = api::NPY_ARRAY_ENSUREARRAY_ | api::NPY_ARRAY_C_CONTIGUOUS_ | api::NPY_ARRAY_ALIGNED_ |
                        api::NPY_ARRAY_FORCECAST_;
  PyObject* raw = api::get().PyArray_FromAny_(obj.ptr(), py::dtype::of<float>().release().ptr(), 0, 0, flags,
                                              nullptr);
  if (!raw) {
    PyErr_Clear();
    throw py::type_error(what + ": expected a float32 (N, C, H, W) array, got " +
                         std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  }
  auto array = py::reinterpret_steal<py::array>(raw);
  Shape shape(array.shape(), array.shape() + array.ndim());
  // The array is only read (forward passes never write their input), so read-only arrays work too. numpy
  // aligns to 16 bytes, not to the 64 of the library's own buffers: the input is read through a oneDNN
  // memory descriptor (which takes any float-aligned pointer), as Tensor::slice() views are. The deleter
  // drops the array reference, taking the GIL: the last copy of the tensor may go anywhere.
  auto* data = const_cast<float*>(static_cast<const float*>(array.data()));
  std::shared_ptr<float[]> storage(data, [owner = array.release().ptr()](float*) {
    py::gil_scoped_acquire gil;
    Py_DECREF(owner);
  });
  return Tensor(std::move(storage), std::move(shape));
}

py::array numpy_from_tensor(Tensor tensor) {
  auto owner = std::make_unique<Tensor>(std::move(tensor));
  const Tensor& t = *owner;
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  std::vector<py::ssize_t> strides(shape.size(), static_cast<py::ssize_t>(sizeof(float)));
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i)
    strides[static_cast<std::size_t>(i)] = strides[static_cast<std::size_t>(i) + 1] * shape[static_cast<std::size_t>(i) + 1];
  float* data = t.data();
  py::capsule base(owner.get(), [](void* p) { delete static_cast<Tensor*>(p); });
  owner.release();  // the capsule deletes it from here on
  return py::array(py::dtype::of<float>(), std::move(shape), std::move(strides), data, base);
}

}  // namespace visbone::python
