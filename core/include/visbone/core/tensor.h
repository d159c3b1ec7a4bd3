// A float32 tensor (row-major, NCHW for images) with shared, 64-byte aligned storage. Copies and views share
// the storage, like torch tensors; clone() makes an independent copy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace visbone {

using Shape = std::vector<std::int64_t>;

// "[2, 3, 64, 64]"
std::string shape_str(const Shape& shape);
// Product of the dims; throws ShapeError on a negative dim or on overflow.
std::int64_t shape_numel(const Shape& shape);

// Raw 64-byte aligned storage for `floats` floats (at least one). Blocks of 1 MiB and more are mapped
// straight from the OS, zero-filled, and unmapped when freed, so the resident size follows what is alive
// (large weights freed at load time do not linger as heap fragments; under AddressSanitizer they come from
// the heap too, where overflows are caught); smaller ones come from the heap,
// uninitialised. Throws std::bad_alloc.
float* allocate_floats(std::size_t floats);
void free_floats(float* p, std::size_t floats);

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor of the given shape.
  explicit Tensor(Shape shape);
  // Storage left unset, for outputs that a kernel fills entirely (saves a pass over memory).
  static Tensor uninitialized(Shape shape);
  // A tensor over storage someone else manages (e.g. a buffer pool whose deleter takes the memory back);
  // `storage` must hold at least shape_numel(shape) floats, 64-byte aligned.
  Tensor(std::shared_ptr<float[]> storage, Shape shape);

  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  std::int64_t dim(int i) const { return shape_.at(static_cast<std::size_t>(i < 0 ? i + rank() : i)); }
  std::int64_t numel() const { return numel_; }
  bool empty() const { return storage_ == nullptr; }

  float* data() const { return data_; }
  float* begin() const { return data_; }
  float* end() const { return data_ + numel_; }

  // Same storage, another shape with the same number of elements (throws ShapeError otherwise).
  Tensor view(Shape shape) const;
  // Rows [begin, end) of dim 0, sharing storage.
  Tensor slice(std::int64_t begin, std::int64_t end) const;
  // An independent copy.
  Tensor clone() const;

 private:
  std::shared_ptr<float[]> storage_;
  float* data_ = nullptr;
  Shape shape_;
  std::int64_t numel_ = 0;
};

}  // namespace visbone
