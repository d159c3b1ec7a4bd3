#include "visbone/bit/feature_map.h"

namespace visbone::bit {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

FeatureMap FeatureMap::zeros(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
  FeatureMap m{n, c, h, w, {}};
  m.data = Tensor({n, m.blocks(), h, w, kBlock});
  return m;
}

FeatureMap FeatureMap::for_output(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
  if (c % kBlock != 0) return zeros(n, c, h, w);
  FeatureMap m{n, c, h, w, {}};
  m.data = Tensor::uninitialized({n, m.blocks(), h, w, kBlock});
  return m;
}

dnnl::memory::desc FeatureMap::desc() const { return {{n, c, h, w}, dt::f32, tag::nChw16c}; }

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

}  // namespace visbone::bit
