// A batch of feature maps and the shared oneDNN engine. A map is in one of two layouts, both channels in
// blocks of 16 lanes (the padding lanes kept at zero): oneDNN's nChw16c (each block a plane of H x W pixels,
// what the fp32 kernels read) or channels-last nhwc (each pixel's channels together, what oneDNN's AMX
// kernels read; only for maps whose channels fill whole blocks). Code that walks a map addresses a pixel's 16
// lanes with at(), so it serves both. A map holds floats, or bf16 values (the bf16 precision's activations)
// packed two to a float of its storage.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>

#include "visbone/core/tensor.h"

namespace visbone::bit {

constexpr std::int64_t kBlock = 16;

// The process-wide CPU engine.
const dnnl::engine& cpu_engine();

using DataType = dnnl::memory::data_type;

enum class Layout { Blocked, ChannelsLast };

// The layout of a pass's maps: channels-last for bf16 where the CPU has AMX (oneDNN's AMX convolutions read
// and write only that), else blocked. VISBONE_MAP_LAYOUT=blocked|channels_last forces one, for any precision
// (the tests run each layout on any CPU).
Layout pass_layout(bool bf16);

struct FeatureMap {
  std::int64_t n = 0, c = 0, h = 0, w = 0;
  Tensor data;  // n * blocks() * h * w * 16 values: floats, or bf16 pairs in n * blocks() * h * w * 8 floats
  DataType type = DataType::f32;
  Layout layout = Layout::Blocked;

  // A zero-filled map of the given logical (N, C, H, W) size. ChannelsLast is taken only when C fills whole
  // blocks; otherwise the map is Blocked.
  static FeatureMap zeros(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w,
                          DataType type = DataType::f32, Layout layout = Layout::Blocked);
  // For outputs a kernel writes entirely: unset when C fills whole blocks, else zeroed (padding lanes).
  static FeatureMap for_output(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w,
                               DataType type = DataType::f32, Layout layout = Layout::Blocked);
  std::int64_t blocks() const { return (c + kBlock - 1) / kBlock; }
  // Where the 16 lanes of image b, block k, pixel p (y * w + x) start, in elements; a pixel's next lane is
  // the next element. pixel_stride() elements separate a block's consecutive pixels.
  std::int64_t pixel_stride() const { return layout == Layout::Blocked ? kBlock : blocks() * kBlock; }
  std::int64_t at(std::int64_t b, std::int64_t k, std::int64_t p) const {
    return b * blocks() * h * w * kBlock + (layout == Layout::Blocked ? k * h * w * kBlock : k * kBlock) +
           p * pixel_stride();
  }
  Shape shape() const { return {n, c, h, w}; }
  bool is_bf16() const { return type == DataType::bf16; }
  // The storage as its elements (check is_bf16() first).
  const std::uint16_t* bf16_data() const { return reinterpret_cast<const std::uint16_t*>(data.data()); }
  std::uint16_t* bf16_data() { return reinterpret_cast<std::uint16_t*>(data.data()); }
  dnnl::memory::desc desc() const;
  dnnl::memory memory() const;
};

// Reuses activation buffers across forward passes: a buffer handed out returns here when its last Tensor
// goes, so a steady-state pass allocates nothing (and touches no fresh pages). Several passes may draw from
// one pool at once (each through its own PoolScope); every member is thread-safe.
class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  ~BufferPool();
  // An unset buffer for `shape`: a free one of at least its size and less than twice it, else a new one.
  Tensor take(const Shape& shape);
  std::size_t free_bytes() const;
  // Releases the longest-unused free buffers until at most `bytes` are kept: buffers of input sizes no longer
  // seen would otherwise stay for good (a forward pass keeps what it took).
  void trim(std::size_t bytes);

 private:
  friend class PoolScope;
  void give_back(float* block, std::size_t floats);
  // A pass starts: an idle scratch buffer for it (empty when none is idle).
  Tensor begin_pass();
  // A pass ends: its scratch buffer becomes idle, and the free buffers are trimmed to what the pass took
  // times the most passes that ran at once since the pool was last idle (each of them takes as much).
  void end_pass(Tensor scratch, std::size_t taken_bytes);
  mutable std::mutex mutex_;
  std::vector<std::pair<std::size_t, float*>> free_;  // (size in floats, block), oldest returned first
  std::vector<Tensor> scratch_;                       // idle scratch buffers, one per pass that ran at once
  int active_ = 0, peak_ = 0;                         // passes running now / at most since last idle
};

// One forward pass on this thread: while alive, FeatureMap::for_output and scratch_memory on this thread
// draw from `pool`, the scratch buffer is this pass's own, and at the end the pool is trimmed (see
// BufferPool::end_pass). Scopes on other threads may use the same pool at the same time.
class PoolScope {
 public:
  explicit PoolScope(BufferPool& pool);
  ~PoolScope();
  PoolScope(const PoolScope&) = delete;
  PoolScope& operator=(const PoolScope&) = delete;
  // A buffer from the pool, counted as this pass's.
  Tensor take(const Shape& shape);
  // This pass's scratch buffer, grown to at least `floats`: what a primitive needs only while it runs. The
  // primitives of one pass run one at a time, so they all share it.
  Tensor scratch(std::int64_t floats);

 private:
  BufferPool& pool_;
  PoolScope* previous_;
  std::size_t taken_ = 0;  // bytes taken through this scope
  Tensor scratch_;
};

// Scratch memory of at least `bytes` for one primitive execution: the current PoolScope's buffer, or a
// fresh one outside any scope.
Tensor scratch_memory(std::size_t bytes);

dnnl::memory::desc nchw_desc(const Shape& shape);
// Plain (N, C, H, W) float tensor <-> blocked map.
FeatureMap to_blocked(const Tensor& nchw, dnnl::stream& stream);
Tensor to_nchw(const FeatureMap& map, dnnl::stream& stream);
// The map with its values as `type` (the map itself when it already is).
FeatureMap converted(const FeatureMap& map, DataType type, dnnl::stream& stream);

}  // namespace visbone::bit
