#include "visbone/core/tensor.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include <sys/mman.h>

#include "visbone/core/asan.h"
#include "visbone/core/errors.h"

namespace visbone {
namespace {

constexpr std::align_val_t kAlignment{64};
// Under AddressSanitizer every block comes from the heap, where overflows are caught.
#if defined(VISBONE_ASAN)
constexpr std::size_t kMapBytes = SIZE_MAX;
#else
constexpr std::size_t kMapBytes = std::size_t{1} << 20;
#endif

#if defined(VISBONE_ASAN)
// The sanitizer's allocator aligns without waste, and catches a write one byte past the block.
float* heap_block(std::size_t bytes) { return static_cast<float*>(::operator new[](bytes, kAlignment)); }
void free_heap_block(float* p) { ::operator delete[](p, kAlignment); }
#else
// A 64-byte aligned block from plain malloc, the pointer malloc gave stored just before it. Not aligned_alloc:
// glibc serves it by over-asking (size + alignment + a header), so a freed block is too small for the next
// request of the same size, and a pipeline that allocates one tensor per input grew the heap by about the
// tensor's size per input (RSS 96 -> 161 MiB from 1,000 to 10,000 tiny inputs); a malloc'd block of the same
// size is reused.
constexpr std::size_t kSlack = static_cast<std::size_t>(kAlignment) + sizeof(void*);
float* heap_block(std::size_t bytes) {
  void* raw = std::malloc(bytes + kSlack);
  if (!raw) throw std::bad_alloc();
  const auto at = (reinterpret_cast<std::uintptr_t>(raw) + kSlack) & ~(static_cast<std::uintptr_t>(kAlignment) - 1);
  reinterpret_cast<void**>(at)[-1] = raw;
  return reinterpret_cast<float*>(at);
}
void free_heap_block(float* p) { std::free(reinterpret_cast<void**>(p)[-1]); }
#endif

std::size_t bytes_of(std::size_t floats) {
  return std::max<std::size_t>(floats, 1) * sizeof(float);
}
bool mapped(std::size_t bytes) {
  return bytes >= kMapBytes;
}

// Storage for a tensor of `shape`; out of memory is a ShapeError naming the shape and its size.
std::shared_ptr<float[]> allocate(const Shape& shape, std::int64_t numel, bool zero) {
  const auto floats = static_cast<std::size_t>(numel);
  float* raw = nullptr;
  try {
    raw = allocate_floats(floats);
  } catch (const std::bad_alloc&) {
    char size[32];
    std::snprintf(size, sizeof size, "%.1f MiB", static_cast<double>(bytes_of(floats)) / (1 << 20));
    throw ShapeError("tensor of shape " + shape_str(shape) + " (" + size + ") cannot be allocated: out of memory");
  }
  if (zero && !mapped(bytes_of(floats))) std::memset(raw, 0, bytes_of(floats));  // mapped memory is zero
  return std::shared_ptr<float[]>(raw, [floats](float* p) { free_floats(p, floats); });
}

}  // namespace

float* allocate_floats(std::size_t floats) {
  const std::size_t bytes = bytes_of(floats);
  if (!mapped(bytes)) return heap_block(bytes);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<float*>(p);
}

void free_floats(float* p, std::size_t floats) {
  if (!p) return;
  const std::size_t bytes = bytes_of(floats);
  if (!mapped(bytes))
    free_heap_block(p);
  else
    munmap(p, bytes);
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::int64_t shape_numel(const Shape& shape) {
  for (const auto d : shape)
    if (d < 0) throw ShapeError("negative dimension in shape " + shape_str(shape));
  // A zero anywhere makes the product zero, whatever overflow the other dims would cause in order.
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  std::int64_t n = 1;
  for (const auto d : shape) {
    if (d != 0 && n > std::numeric_limits<std::int64_t>::max() / d)
      throw ShapeError("shape " + shape_str(shape) + " has too many elements");
    n *= d;
  }
  return n;
}

Tensor::Tensor(Shape shape) : shape_(std::move(shape)), numel_(shape_numel(shape_)) {
  if (numel_ > (std::numeric_limits<std::int64_t>::max() / 8))
    throw ShapeError("tensor of shape " + shape_str(shape_) + " is too large to allocate");
  storage_ = allocate(shape_, numel_, true);
  data_ = storage_.get();
}

Tensor::Tensor(std::shared_ptr<float[]> storage, Shape shape)
    : storage_(std::move(storage)), data_(storage_.get()), shape_(std::move(shape)), numel_(shape_numel(shape_)) {}

Tensor Tensor::uninitialized(Shape shape) {
  Tensor t;
  t.shape_ = std::move(shape);
  t.numel_ = shape_numel(t.shape_);
  if (t.numel_ > (std::numeric_limits<std::int64_t>::max() / 8))
    throw ShapeError("tensor of shape " + shape_str(t.shape_) + " is too large to allocate");
  t.storage_ = allocate(t.shape_, t.numel_, false);
  t.data_ = t.storage_.get();
  return t;
}

Tensor Tensor::view(Shape shape) const {
  if (shape_numel(shape) != numel_)
    throw ShapeError("cannot view a tensor of shape " + shape_str(shape_) + " as " + shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::slice(std::int64_t begin, std::int64_t end) const {
  if (rank() == 0 || begin < 0 || end < begin || end > shape_[0])
    throw ShapeError("slice [" + std::to_string(begin) + ", " + std::to_string(end) + ") out of range for shape " +
                     shape_str(shape_));
  const std::int64_t row = shape_[0] == 0 ? 0 : numel_ / shape_[0];
  Tensor t = *this;
  t.shape_[0] = end - begin;
  t.numel_ = row * (end - begin);
  t.data_ = data_ + row * begin;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(shape_);
  if (numel_) std::memcpy(t.data_, data_, static_cast<std::size_t>(numel_) * sizeof(float));
  return t;
}

}  // namespace visbone
