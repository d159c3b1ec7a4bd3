#include "visbone/bit/feature_map.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <utility>

#include "visbone/bit/precision.h"
#include "visbone/core/errors.h"

namespace visbone::bit {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

// oneDNN keeps the primitives made in the process in a cache of its own (1024 by default), beside the ones
// each convolution keeps (its LRU of primitive_cache input shapes). There, the primitives a convolution has
// evicted lived on for hundreds of new input sizes, scattered through the heap among the activations' blocks,
// and the heap fragmented: RSS grew 21 MiB from 100 to 400 new sizes on tiny-preact (3.5 with this bound).
// The convolutions hold their own primitives, so oneDNN's cache only needs to serve the reorders each pass
// makes again (a handful per input shape). The user's DNNL_PRIMITIVE_CACHE_CAPACITY /
// ONEDNN_PRIMITIVE_CACHE_CAPACITY still decide.
constexpr int kOneDnnPrimitiveCache = 64;

void bound_onednn_primitive_cache() {
  if (std::getenv("DNNL_PRIMITIVE_CACHE_CAPACITY") || std::getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY")) return;
  dnnl::set_primitive_cache_capacity(kOneDnnPrimitiveCache);
}

}  // namespace

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine = [] {
    bound_onednn_primitive_cache();
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return engine;
}

Layout pass_layout(bool bf16) {
  static const std::optional<Layout> forced = []() -> std::optional<Layout> {
    const char* v = std::getenv("VISBONE_MAP_LAYOUT");
    if (!v) return std::nullopt;
    if (std::string_view(v) == "blocked") return Layout::Blocked;
    if (std::string_view(v) == "channels_last") return Layout::ChannelsLast;
    throw ConfigError("VISBONE_MAP_LAYOUT is '" + std::string(v) + "', expected blocked or channels_last");
  }();
  if (forced) return *forced;
  return bf16 && cpu_has_amx() ? Layout::ChannelsLast : Layout::Blocked;
}

namespace {
// Floats of storage per 16-channel pixel.
std::int64_t lane_floats(DataType type) { return type == DataType::bf16 ? kBlock / 2 : kBlock; }

// The layout a map of C channels takes when `wanted` is asked for.
Layout layout_for(std::int64_t c, Layout wanted) {
  return c % kBlock == 0 ? wanted : Layout::Blocked;
}

}  // namespace

FeatureMap FeatureMap::zeros(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, DataType type,
                             Layout layout) {
  FeatureMap m{n, c, h, w, {}, type, layout_for(c, layout)};
  m.data = Tensor({n, m.blocks(), h, w, lane_floats(type)});
  return m;
}

namespace {
thread_local PoolScope* current_scope = nullptr;
}  // namespace

BufferPool::~BufferPool() {
  for (auto& [floats, block] : free_) free_floats(block, floats);
}

Tensor BufferPool::take(const Shape& shape) {
  const auto wanted = static_cast<std::size_t>(std::max<std::int64_t>(shape_numel(shape), 1));
  float* block = nullptr;
  std::size_t floats = wanted;
  {
    std::lock_guard lock(mutex_);
    // The smallest free buffer that fits and wastes less than half of itself (a batch of 12 runs in a batch
    // of 16's buffers, so batches of changing size, as a server's, reuse rather than map fresh pages); among
    // equals the most recently returned, whose pages are most likely still resident.
    auto best = free_.rend();
    for (auto it = free_.rbegin(); it != free_.rend(); ++it)
      if (it->first >= wanted && it->first < 2 * wanted && (best == free_.rend() || it->first < best->first))
        best = it;
    if (best != free_.rend()) {
      floats = best->first;
      block = best->second;
      free_.erase(std::next(best).base());
    }
  }
  if (!block) block = allocate_floats(floats);
  // The deleter keeps the pool alive until every buffer it handed out has come back, at its own size.
  std::shared_ptr<float[]> storage(block, [pool = shared_from_this(), floats](float* p) { pool->give_back(p, floats); });
  return Tensor(std::move(storage), shape);
}

void BufferPool::give_back(float* block, std::size_t floats) {
  std::lock_guard lock(mutex_);
  free_.emplace_back(floats, block);
}

void BufferPool::trim(std::size_t bytes) {
  std::vector<std::pair<std::size_t, float*>> released;
  {
    std::lock_guard lock(mutex_);
    std::size_t total = 0;
    for (const auto& [floats, block] : free_) total += floats * sizeof(float);
    auto keep = free_.begin();
    while (total > bytes && keep != free_.end()) total -= (keep++)->first * sizeof(float);
    released.assign(free_.begin(), keep);
    free_.erase(free_.begin(), keep);
  }
  for (auto& [floats, block] : released) free_floats(block, floats);
}

std::size_t BufferPool::free_bytes() const {
  std::lock_guard lock(mutex_);
  std::size_t total = 0;
  for (const auto& [floats, block] : free_) total += floats * sizeof(float);
  return total;
}

Tensor BufferPool::begin_pass() {
  std::lock_guard lock(mutex_);
  peak_ = std::max(peak_, ++active_);
  if (scratch_.empty()) return {};
  Tensor t = std::move(scratch_.back());
  scratch_.pop_back();
  return t;
}

void BufferPool::end_pass(Tensor scratch, std::size_t taken_bytes) {
  std::size_t keep = 0;
  {
    std::lock_guard lock(mutex_);
    if (!scratch.empty()) scratch_.push_back(std::move(scratch));
    keep = taken_bytes * static_cast<std::size_t>(peak_);
    if (--active_ == 0) peak_ = 0;
  }
  trim(keep);
}

PoolScope::PoolScope(BufferPool& pool) : pool_(pool), previous_(current_scope), scratch_(pool.begin_pass()) {
  current_scope = this;
}

PoolScope::~PoolScope() {
  current_scope = previous_;
  // Buffers of sizes no longer seen go: free buffers up to what this pass took in all stay (that covers this
  // size's own and a few recent others', so alternating sizes still reuse).
  pool_.end_pass(std::move(scratch_), taken_);
}

Tensor PoolScope::take(const Shape& shape) {
  taken_ += static_cast<std::size_t>(std::max<std::int64_t>(shape_numel(shape), 1)) * sizeof(float);
  return pool_.take(shape);
}

Tensor PoolScope::scratch(std::int64_t floats) {
  if (scratch_.numel() < floats) scratch_ = Tensor::uninitialized({floats});
  return scratch_;
}

Tensor scratch_memory(std::size_t bytes) {
  const auto floats = static_cast<std::int64_t>((bytes + sizeof(float) - 1) / sizeof(float));
  return current_scope ? current_scope->scratch(floats) : Tensor::uninitialized({floats});
}

FeatureMap FeatureMap::for_output(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w,
                                  DataType type, Layout layout) {
  FeatureMap m{n, c, h, w, {}, type, layout_for(c, layout)};
  const Shape shape{n, m.blocks(), h, w, lane_floats(type)};
  if (c % kBlock != 0) {
    // Padding lanes must read as zero; partial blocks only occur in small models.
    m.data = Tensor(shape);
  } else {
    m.data = current_scope ? current_scope->take(shape) : Tensor::uninitialized(shape);
  }
  return m;
}

dnnl::memory::desc FeatureMap::desc() const {
  return {{n, c, h, w}, type, layout == Layout::Blocked ? tag::nChw16c : tag::nhwc};
}

dnnl::memory FeatureMap::memory() const { return {desc(), cpu_engine(), data.data()}; }

dnnl::memory::desc nchw_desc(const Shape& shape) { return {shape, dt::f32, tag::nchw}; }

FeatureMap to_blocked(const Tensor& nchw, dnnl::stream& stream) {
  auto m = FeatureMap::zeros(nchw.dim(0), nchw.dim(1), nchw.dim(2), nchw.dim(3));
  dnnl::memory src(nchw_desc(nchw.shape()), cpu_engine(), nchw.data());
  auto dst = m.memory();
  dnnl::reorder(src, dst).execute(stream, src, dst);
  stream.wait();
  return m;
}

Tensor to_nchw(const FeatureMap& map, dnnl::stream& stream) {
  Tensor out(map.shape());
  auto src = map.memory();
  dnnl::memory dst(nchw_desc(out.shape()), cpu_engine(), out.data());
  dnnl::reorder(src, dst).execute(stream, src, dst);
  stream.wait();
  return out;
}

FeatureMap converted(const FeatureMap& map, DataType type, dnnl::stream& stream) {
  if (map.type == type) return map;
  auto out = FeatureMap::for_output(map.n, map.c, map.h, map.w, type, map.layout);
  auto src = map.memory();
  auto dst = out.memory();
  dnnl::reorder(src, dst).execute(stream, src, dst);
  stream.wait();
  return out;
}

}  // namespace visbone::bit
