#include "visbone/bit/ws_conv.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <omp.h>
#include <optional>
#include <unordered_map>
#include <string_view>

#include "visbone/bit/bf16.h"
#include "visbone/bit/columns.h"
#include "visbone/core/errors.h"

namespace visbone::bit {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

Pad1d conv_padding(Padding mode, int kernel, int stride, int dilation, std::int64_t in) {
  const int span = dilation * (kernel - 1);
  switch (mode) {
    case Padding::Valid:
      return {0, 0};
    case Padding::Default: {
      const int p = ((stride - 1) + span) / 2;
      return {p, p};
    }
    case Padding::Same: {
      if (stride == 1 && span % 2 == 0) return {span / 2, span / 2};
      const std::int64_t out = (in + stride - 1) / stride;
      const auto total = static_cast<int>(std::max<std::int64_t>((out - 1) * stride + span + 1 - in, 0));
      return {total / 2, total - total / 2};
    }
  }
  return {0, 0};
}

std::int64_t conv_out_size(std::int64_t in, Pad1d pad, int kernel, int stride, int dilation) {
  const std::int64_t span = static_cast<std::int64_t>(dilation) * (kernel - 1) + 1;
  const std::int64_t padded = in + pad.before + pad.after;
  if (padded < span) return 0;
  return (padded - span) / stride + 1;
}

Tensor standardize_weight(const Tensor& w, double eps) {
  Tensor out(w.shape());
  const std::int64_t o = w.dim(0), per = o ? w.numel() / o : 0;
  for (std::int64_t i = 0; i < o; ++i) {
    const float* src = w.data() + i * per;
    double mean = 0.0;
    for (std::int64_t j = 0; j < per; ++j) mean += src[j];
    mean /= static_cast<double>(per);
    double var = 0.0;
    for (std::int64_t j = 0; j < per; ++j) var += (src[j] - mean) * (src[j] - mean);
    var /= static_cast<double>(per);
    const double inv = 1.0 / std::sqrt(var + eps);
    float* dst = out.data() + i * per;
    for (std::int64_t j = 0; j < per; ++j) dst[j] = static_cast<float>((src[j] - mean) * inv);
  }
  return out;
}

WsConv::WsConv(const Tensor& weight, int stride, int dilation, Padding padding, bool bf16, double eps)
    : out_(static_cast<int>(weight.dim(0))),
      in_(static_cast<int>(weight.dim(1))),
      k_(static_cast<int>(weight.dim(2))),
      stride_(stride),
      dilation_(dilation),
      padding_(padding),
      weight_(standardize_weight(weight, eps)) {
  if (!bf16) return;
  Tensor packed = Tensor::uninitialized({(weight_.numel() + 1) / 2});
  auto* b = reinterpret_cast<bf16_t*>(packed.data());
  for (std::int64_t i = 0; i < weight_.numel(); ++i) b[i] = to_bf16(weight_.data()[i]);
  weight_ = packed;
  weight_type_ = dt::bf16;
}

std::pair<std::int64_t, std::int64_t> WsConv::out_size(std::int64_t h, std::int64_t w, const std::string& name) const {
  const auto oh = conv_out_size(h, conv_padding(padding_, k_, stride_, dilation_, h), k_, stride_, dilation_);
  const auto ow = conv_out_size(w, conv_padding(padding_, k_, stride_, dilation_, w), k_, stride_, dilation_);
  if (oh < 1 || ow < 1)
    throw ShapeError(name + ": input of " + std::to_string(h) + "x" + std::to_string(w) + " is too small for a " +
                     std::to_string(k_) + "x" + std::to_string(k_) + " convolution with stride " +
                     std::to_string(stride_));
  return {oh, ow};
}

std::string to_string(ConvAlgorithm a) {
  switch (a) {
    case ConvAlgorithm::Auto: return "auto";
    case ConvAlgorithm::Direct: return "direct";
    case ConvAlgorithm::Winograd: return "winograd";
  }
  return "auto";
}

std::string describe(ConvAlgorithm a) {
  const std::string columns = "strided columns from " + std::to_string(kMinColumnChannels) + " channels";
  switch (a) {
    case ConvAlgorithm::Auto: return "auto (3x3 Winograd, " + columns + ")";
    case ConvAlgorithm::Direct: return "direct";
    case ConvAlgorithm::Winograd: return "winograd (3x3 Winograd, " + columns + ")";
  }
  return to_string(a);
}

std::optional<ConvAlgorithm> parse_conv_algorithm(const std::string& text) {
  for (const auto a : {ConvAlgorithm::Auto, ConvAlgorithm::Direct, ConvAlgorithm::Winograd})
    if (text == to_string(a)) return a;
  return std::nullopt;
}

ConvAlgorithm default_conv_algorithm() {
  static const ConvAlgorithm a = [] {
    const char* v = std::getenv("VISBONE_WINOGRAD");
    if (v && std::string_view(v) == "1") return ConvAlgorithm::Winograd;
    if (v && std::string_view(v) == "0") return ConvAlgorithm::Direct;
    const char* a = std::getenv("VISBONE_CONV_ALGORITHM");
    if (!a) return ConvAlgorithm::Auto;
    if (const auto parsed = parse_conv_algorithm(a)) return *parsed;
    throw ConfigError("VISBONE_CONV_ALGORITHM is '" + std::string(a) + "', expected auto, direct or winograd");
  }();
  return a;
}

int default_primitive_cache() {
  static const int n = [] {
    const char* v = std::getenv("VISBONE_PRIMITIVE_CACHE");
    if (!v) return kDefaultPrimitiveCache;
    char* end = nullptr;
    const long parsed = std::strtol(v, &end, 10);
    if (end == v || *end != '\0' || parsed < 1 || parsed > 1000000)
      throw ConfigError("VISBONE_PRIMITIVE_CACHE is '" + std::string(v) + "', expected a number of input shapes >= 1");
    return static_cast<int>(parsed);
  }();
  return n;
}

bool winograd_enabled() { return default_conv_algorithm() == ConvAlgorithm::Winograd; }

namespace {
// Whether oneDNN chose its reference kernel (plain C++, no JIT) for a primitive.
bool is_reference(const dnnl::convolution_forward::primitive_desc& pd) {
  return std::string_view(pd.impl_info_str()).substr(0, 3) == "ref";
}
}  // namespace

std::shared_ptr<const WsConv::Cached> WsConv::prepare(const dnnl::memory::desc& src, const dnnl::memory::desc& dst,
                                                      bool accumulate, bool per_image) {
  const int threads = omp_get_max_threads();
  const std::lock_guard lock(*mutex_);
  if (per_image && std::find(direct_only_.begin(), direct_only_.end(), src) != direct_only_.end()) return nullptr;
  for (auto it = cache_.begin(); it != cache_.end(); ++it)
    if ((*it)->src == src && (*it)->dst == dst && (*it)->accumulate == accumulate && (*it)->threads == threads) {
      std::rotate(cache_.begin(), it, it + 1);  // most recently used first
      if (per_image && !cache_.front()->winograd && !cache_.front()->columns) return nullptr;
      return cache_.front();
    }

  const auto dims = src.dims();
  const Pad1d ph = conv_padding(padding_, k_, stride_, dilation_, dims[2]);
  const Pad1d pw = conv_padding(padding_, k_, stride_, dilation_, dims[3]);
  // bf16 inputs take bf16 weights (accumulated in fp32 by oneDNN); the layout is the primitive's choice.
  const dt wtype = src.data_type();
  const dnnl::memory::desc wdesc({out_, in_, k_, k_}, wtype, tag::any);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // from the pass's scratch buffer
  if (accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  auto make = [&](dnnl::algorithm alg, const dnnl::memory::desc& s, const dnnl::memory::desc& d) {
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, alg, s, wdesc, d,
                                               {stride_, stride_}, {dilation_ - 1, dilation_ - 1},
                                               {ph.before, pw.before}, {ph.after, pw.after});
    return dnnl::convolution_forward::primitive_desc(desc, attr, cpu_engine());
  };
  // Columns: a 1x1 convolution over one image's im2col, (1, K*K*I, OH, OW) blocked.
  std::optional<dnnl::convolution_forward::primitive_desc> on_columns;
  if (dims[0] == 1 && columns_candidate(src)) {  // a batch runs one image at a time (run)
    const auto out = dst.dims();
    const std::int64_t taps = static_cast<std::int64_t>(k_) * k_;
    const dt type = src.data_type();
    const dnnl::memory::desc columns({1, taps * in_, out[2], out[3]}, type,
                                     type == dt::bf16 ? tag::nhwc : tag::nChw16c);
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, columns,
        dnnl::memory::desc({out_, taps * in_, 1, 1}, type, tag::any), dst, {1, 1}, {0, 0}, {0, 0});
    on_columns.emplace(desc, attr, cpu_engine());
  }
  // Winograd: fewer multiplications for fp32 3x3 stride-1 convolutions, where oneDNN supports them.
  std::optional<dnnl::convolution_forward::primitive_desc> wino;
  if (winograd_candidate(wtype)) {
    try {
      wino = make(dnnl::algorithm::convolution_winograd, src, dst);
    } catch (const dnnl::error&) {
      wino.reset();  // not available for this shape or CPU: the direct algorithm serves
    }
  }
  if (per_image && !wino && !on_columns) {
    direct_only_.insert(direct_only_.begin(), src);
    if (static_cast<int>(direct_only_.size()) > cache_limit_) direct_only_.pop_back();
    return nullptr;
  }
  auto direct = make(dnnl::algorithm::convolution_direct, src, dst);
  // Below AVX-512 (AVX2: 8-channel blocks) oneDNN's fast kernels do not read 16-channel blocked maps and it falls
  // back to its reference kernel, about 100x slower; there the convolution runs in the layouts it prefers,
  // its input (and for the residual add its output) reordered in and its output reordered back.
  std::optional<dnnl::reorder> to_src, to_dst, from_dst;
  // oneDNN 2.6's AMX kernel for 3x3 stride-2 convolutions over channels-last bf16 maps (brgconv) gives
  // results that change from call to call with 2+ threads at some sizes (bit-50 at 224x192 and 224x160: stage
  // 4, up to 16% relative). They run as columns and AMX's 1x1 kernel, which is deterministic
  // (columns_candidate); where columns cannot (algorithm direct, or columns over kMaxColumnBytes), on the
  // blocked layout's AVX512-BF16 kernel, their input and output reordered (deterministic, about 1.4x slower
  // for the whole bf16 pass).
  const bool amx_strided = !on_columns && k_ == 3 && stride_ > 1 &&
                           src == dnnl::memory::desc(dims, dt::bf16, tag::nhwc) &&
                           dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core_amx;
  if (!wino && !on_columns && (is_reference(direct) || amx_strided)) {
    const tag t = amx_strided ? tag::nChw16c : tag::any;
    auto any = make(dnnl::algorithm::convolution_direct, dnnl::memory::desc(dims, src.data_type(), t),
                    dnnl::memory::desc(dst.dims(), dst.data_type(), t));
    if (!is_reference(any)) {
      direct = any;
      if (any.src_desc() != src) to_src = dnnl::reorder({cpu_engine(), src, cpu_engine(), any.src_desc()});
      if (any.dst_desc() != dst) {
        from_dst = dnnl::reorder({cpu_engine(), any.dst_desc(), cpu_engine(), dst});
        if (accumulate) to_dst = dnnl::reorder({cpu_engine(), dst, cpu_engine(), any.dst_desc()});
      }
    }
  }
  const auto& pd = wino ? *wino : on_columns ? *on_columns : direct;

  dnnl::stream s(cpu_engine());
  auto reorder = [&](dnnl::memory from, dnnl::memory to) {
    dnnl::reorder(from, to).execute(s, from, to);
    s.wait();
  };
  // Weight buffers are ours (Tensor storage) rather than oneDNN's, so large ones are mapped from the OS
  // and the temporary copies below leave nothing behind in the heap.
  auto allocate = [](const dnnl::memory::desc& d) {
    Tensor t = Tensor::uninitialized({static_cast<std::int64_t>((d.get_size() + 3) / 4)});
    return Weights{t, dnnl::memory(d, cpu_engine(), t.data())};
  };
  const dt stored = base_.storage.data() ? base_.memory.get_desc().data_type() : weight_type_;
  if (stored == dt::bf16 && wtype == dt::f32)
    throw ConfigError("a convolution whose weights were converted to bf16 cannot run in f32 (the fp32 weights are "
                      "gone); load the model again for precision f32");
  if (!base_.storage.data()) {
    // The first primitive: the standardized weights move into the direct algorithm's layout and type (bf16
    // for a bf16 model, which then never holds fp32 weights), which every later layout (another shape's,
    // Winograd's) is reordered from; the plain copy is released.
    base_ = allocate(direct.weights_desc());
    const dnnl::memory::desc standardized({out_, in_, k_, k_}, weight_type_, tag::oihw);
    reorder(dnnl::memory(standardized, cpu_engine(), weight_.data()), base_.memory);
    weight_ = Tensor();
  }
  const dnnl::memory::desc oihw({out_, in_, k_, k_}, base_.memory.get_desc().data_type(), tag::oihw);
  Weights weights = base_;
  if (pd.weights_desc() != base_.memory.get_desc()) {
    weights = {};
    for (const auto& c : cache_)
      if (c->weights.memory.get_desc() == pd.weights_desc()) weights = c->weights;
    if (!weights.storage.data()) {
      // Through a plain copy: oneDNN reorders into Winograd's layout only from a plain one (and converts
      // fp32 to bf16 on the way, for a model switched to bf16 after an f32 pass).
      Weights plain =
          allocate(on_columns ? dnnl::memory::desc({out_, in_, k_, k_}, dt::f32, tag::oihw) : oihw);
      reorder(base_.memory, plain.memory);
      if (on_columns) {  // permuted in fp32 (bf16 weights convert exactly), reordered to the primitive's type
        Weights permuted = allocate(dnnl::memory::desc({out_, k_ * k_ * in_, 1, 1}, dt::f32, tag::oihw));
        weights_to_columns(plain.storage.data(), out_, in_, k_, permuted.storage.data());
        plain = permuted;
      }
      weights = allocate(pd.weights_desc());
      reorder(plain.memory, weights.memory);
    }
  }
  // The least recently used go (their weight layouts with them, unless another primitive shares them).
  while (static_cast<int>(cache_.size()) >= cache_limit_) cache_.pop_back();
  cache_.insert(cache_.begin(),
                std::make_shared<const Cached>(Cached{src, dst, accumulate, threads, dnnl::convolution_forward(pd),
                                                      weights, pd.scratchpad_desc(), wino.has_value(), on_columns.has_value(),
                                                      Window{k_, stride_, dilation_, ph, pw}, pd.src_desc(),
                                                      pd.dst_desc(), to_src, to_dst, from_dst, is_reference(pd)}));
  return cache_.front();
}

int WsConv::count(bool (*counted)(const Cached&)) const {
  const std::lock_guard lock(*mutex_);
  return static_cast<int>(std::count_if(cache_.begin(), cache_.end(), [&](const auto& c) { return counted(*c); }));
}

int WsConv::winograd_primitives() const {
  return count([](const Cached& c) { return c.winograd; });
}

int WsConv::column_primitives() const {
  return count([](const Cached& c) { return c.columns; });
}

int WsConv::reference_primitives() const {
  return count([](const Cached& c) { return c.reference; });
}

int WsConv::primitives() const {
  const std::lock_guard lock(*mutex_);
  return static_cast<int>(cache_.size());
}

void WsConv::set_cache_limit(int shapes) {
  if (shapes < 1)
    throw ConfigError("primitive_cache is " + std::to_string(shapes) + ", expected a number of input shapes >= 1");
  const std::lock_guard lock(*mutex_);
  cache_limit_ = shapes;
  if (static_cast<int>(cache_.size()) > shapes) cache_.resize(static_cast<std::size_t>(shapes));
  if (static_cast<int>(direct_only_.size()) > shapes) direct_only_.resize(static_cast<std::size_t>(shapes));
}

void WsConv::set_algorithm(ConvAlgorithm a) {
  const std::lock_guard lock(*mutex_);
  if (a == algorithm_) return;
  algorithm_ = a;
  cache_.clear();  // primitives are made again; the weights' direct layout (base_) stays
  direct_only_.clear();
}

namespace {

// The same layout for the first image alone, when the batch is the outermost dimension (every map here): one
// image is then a contiguous slice, `bytes` long, of the batch's memory. Nothing otherwise.
std::optional<dnnl::memory::desc> one_image(const dnnl::memory::desc& batch, std::size_t& bytes) {
  dnnl_memory_desc_t d = batch.data;
  if (d.format_kind != dnnl_blocked || d.ndims != 4 || d.offset0 != 0 || d.dims[0] < 1) return std::nullopt;
  d.dims[0] = d.padded_dims[0] = 1;
  const dnnl::memory::desc one(d);
  bytes = one.get_size();
  if (bytes * static_cast<std::size_t>(batch.dims()[0]) != batch.get_size() ||
      static_cast<std::size_t>(d.format_desc.blocking.strides[0]) * dnnl::memory::data_type_size(batch.data_type()) != bytes)
    return std::nullopt;
  return one;
}

}  // namespace

void WsConv::run(const dnnl::memory& src, FeatureMap& dst, bool accumulate, dnnl::stream& stream) {
  auto dmem = dst.memory();
  // A Winograd primitive is run once per image: oneDNN's Winograd groups the tiles of a batch's images into
  // its sums, so an image's bits would depend on its batch; alone, they depend on neither the batch nor the
  // thread count (tests/bit/conv_algorithm_test.cpp), and an image alone costs what it does in a batch.
  // Columns too, so that they take one image's room.
  std::size_t src_bytes = 0, dst_bytes = 0;
  const auto batch = src.get_desc().dims()[0];
  if (batch > 1 && (winograd_candidate(src.get_desc().data_type()) || columns_candidate(src.get_desc()))) {
    const auto src1 = one_image(src.get_desc(), src_bytes), dst1 = one_image(dmem.get_desc(), dst_bytes);
    if (src1 && dst1) {
      if (const auto cached = prepare(*src1, *dst1, accumulate, /*per_image=*/true)) {
        auto* s = static_cast<char*>(src.get_data_handle());
        auto* d = static_cast<char*>(dmem.get_data_handle());
        for (std::int64_t i = 0; i < batch; ++i)
          execute(*cached, dnnl::memory(*src1, cpu_engine(), s + i * src_bytes),
                  dnnl::memory(*dst1, cpu_engine(), d + i * dst_bytes), stream);
        return;
      }
    }
  }
  execute(*prepare(src.get_desc(), dmem.get_desc(), accumulate), src, dmem, stream);
}

bool WsConv::winograd_candidate(dnnl::memory::data_type src_type) const {
  return algorithm_ != ConvAlgorithm::Direct && src_type == dt::f32 && k_ == 3 && stride_ == 1 && dilation_ == 1;
}

bool WsConv::columns_candidate(const dnnl::memory::desc& src) const {
  // Measured on AVX-512, where oneDNN's 1x1 kernel reads the 16-channel blocks the columns are written in.
  if (algorithm_ == ConvAlgorithm::Direct || k_ == 1 || stride_ == 1) return false;
  const auto dims = src.dims();
  // bf16 over channels-last maps on AMX: AMX's own kernel for these convolutions is not deterministic (see
  // prepare), its 1x1 kernel over the columns is, and fast.
  const bool amx = src == dnnl::memory::desc(dims, dt::bf16, tag::nhwc) &&
                   dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core_amx;
  if (!amx && (in_ < kMinColumnChannels || in_ % kBlock != 0 ||
               dnnl::get_effective_cpu_isa() < dnnl::cpu_isa::avx512_core ||
               src != dnnl::memory::desc(dims, dt::f32, tag::nChw16c)))
    return false;
  const Pad1d ph = conv_padding(padding_, k_, stride_, dilation_, dims[2]);
  const Pad1d pw = conv_padding(padding_, k_, stride_, dilation_, dims[3]);
  const auto oh = conv_out_size(dims[2], ph, k_, stride_, dilation_), ow = conv_out_size(dims[3], pw, k_, stride_, dilation_);
  const auto bytes =
      static_cast<std::size_t>(k_) * k_ * in_ * oh * ow * dnnl::memory::data_type_size(src.data_type());
  return oh > 0 && ow > 0 && bytes <= kMaxColumnBytes;
}

void WsConv::execute(const Cached& c, dnnl::memory src, dnnl::memory dst, dnnl::stream& stream) {
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, c.weights.memory}, {DNNL_ARG_DST, dst}};
  // The scratch buffer holds, each 64-byte aligned: the columns or the reordered input (when any), the
  // reordered output (when any), then the primitive's scratchpad.
  auto aligned = [](std::size_t bytes) { return (bytes + 63) / 64 * 64; };
  const std::size_t input = c.columns || c.to_src ? aligned(c.src_in.get_size()) : 0;
  const std::size_t output = c.from_dst ? aligned(c.dst_in.get_size()) : 0;
  const std::size_t scratchpad = c.scratchpad.get_size();
  Tensor scratch;
  if (input + output + scratchpad > 0) scratch = scratch_memory(input + output + scratchpad);
  auto* base = reinterpret_cast<char*>(scratch.data());
  if (c.columns) {
    const auto in = src.get_desc().dims(), out = dst.get_desc().dims();
    if (c.src_in.data_type() == dt::bf16)
      gather_columns_nhwc(static_cast<const std::uint16_t*>(src.get_data_handle()), in[1], in[2], in[3],
                          c.window, out[2], out[3], reinterpret_cast<std::uint16_t*>(base));
    else
      gather_columns(static_cast<const float*>(src.get_data_handle()), in[1], in[2], in[3], c.window, out[2],
                     out[3], reinterpret_cast<float*>(base));
    args[DNNL_ARG_SRC] = dnnl::memory(c.src_in, cpu_engine(), base);
  } else if (c.to_src) {
    args[DNNL_ARG_SRC] = dnnl::memory(c.src_in, cpu_engine(), base);
    c.to_src->execute(stream, src, args[DNNL_ARG_SRC]);
  }
  if (c.from_dst) {
    args[DNNL_ARG_DST] = dnnl::memory(c.dst_in, cpu_engine(), base + input);
    if (c.to_dst) c.to_dst->execute(stream, dst, args[DNNL_ARG_DST]);  // the residual the sum adds to
  }
  if (scratchpad > 0) args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(c.scratchpad, cpu_engine(), base + input + output));
  c.prim.execute(stream, args);
  if (c.from_dst) c.from_dst->execute(stream, args[DNNL_ARG_DST], dst);
  stream.wait();  // the pass's scratch buffer is shared by its primitives: nothing may use it after this returns
}

}  // namespace visbone::bit
