#include "visbone/bit/bit_model.h"

#include "visbone/bit/max_pool.h"
#include "visbone/core/checkpoint.h"
#include "visbone/core/errors.h"
#include "visbone/core/linear.h"

namespace visbone::bit {
namespace {

using HW = std::pair<std::int64_t, std::int64_t>;

std::string hw_str(std::int64_t n, std::int64_t c, HW hw) {
  return shape_str({n, c, hw.first, hw.second});
}

}  // namespace

BitModel::BitModel(BitConfig config, Checkpoint& ckpt, Precision precision)
    : config_(std::move(config)), bf16_(resolve_precision(precision) == Precision::Bf16), bf16_weights_(bf16_.load()) {
  config_.validate();
  if (ckpt.find("bit.embedder.convolution.weight"))
    prefix_ = "bit.";
  else if (!ckpt.find("embedder.convolution.weight"))
    throw NotFoundError(ckpt.dir().string() +
                        ": no BiT stem weight ('bit.embedder.convolution.weight' or 'embedder.convolution.weight'); "
                        "is this a transformers BiT checkpoint?");

  auto load = [&](const std::string& name, const Shape& shape) {
    Tensor t = ckpt.load(prefix_ + name, shape);
    parameters_ += t.numel();
    return t;
  };
  const int groups = config_.num_groups;
  const Act act = to_act(config_.hidden_act);
  auto norm = [&](const std::string& name, std::int64_t c, Act a) {
    return GroupNormAct(load(name + ".weight", {c}), load(name + ".bias", {c}), groups, a);
  };
  auto conv = [&](const std::string& name, std::int64_t out, std::int64_t in, int k, int stride, int dilation) {
    return WsConv(load(name + ".weight", {out, in, k, k}), stride, dilation, config_.global_padding, bf16_.load());
  };
  const bool preact = config_.layer_type == LayerType::Preactivation;

  stem_conv_ = conv("embedder.convolution", config_.embedding_size, config_.num_channels, 7, 2, 1);
  if (!preact) stem_norm_ = norm("embedder.norm", config_.embedding_size, act);

  // Strides and dilation as transformers' BitEncoder derives them from output_stride.
  int current_stride = 4, dilation = 1;
  std::int64_t prev = config_.embedding_size;
  stage_strides_ = {4};
  for (std::size_t s = 0; s < config_.depths.size(); ++s) {
    const std::int64_t out = config_.stage_channels(static_cast<int>(s) + 1);
    const std::int64_t mid = make_div(static_cast<double>(out) * 0.25);
    int stride = s == 0 ? 1 : 2;
    if (current_stride >= config_.output_stride) {
      dilation *= stride;
      stride = 1;
    }
    current_stride *= stride;
    stage_strides_.push_back(current_stride);
    int first_dilation = (dilation == 1 || dilation == 2) ? 1 : 2;

    std::vector<BitUnit> units;
    for (int l = 0; l < config_.depths[s]; ++l) {
      BitUnit u;
      const std::string name = "encoder.stages." + std::to_string(s) + ".layers." + std::to_string(l);
      u.name = prefix_ + name;
      u.preact = preact;
      const int unit_stride = l == 0 ? stride : 1;
      if (l == 0) {
        u.downsample = conv(name + ".downsample.conv", out, prev, 1, unit_stride, 1);
        if (!preact) u.downsample_norm = norm(name + ".downsample.norm", out, Act::None);
      }
      if (preact) {
        // transformers does not pass the dilation to the 3x3 conv of preactivation units; timm does.
        const int conv2_dilation = config_.semantics == Semantics::Timm ? first_dilation : 1;
        u.norm1 = norm(name + ".norm1", prev, act);
        u.conv1 = conv(name + ".conv1", mid, prev, 1, 1, 1);
        u.norm2 = norm(name + ".norm2", mid, act);
        u.conv2 = conv(name + ".conv2", mid, mid, 3, unit_stride, conv2_dilation);
        u.norm3 = norm(name + ".norm3", mid, act);
        u.conv3 = conv(name + ".conv3", out, mid, 1, 1, 1);
      } else {
        u.conv1 = conv(name + ".conv1", mid, prev, 1, 1, 1);
        u.norm1 = norm(name + ".norm1", mid, act);
        u.conv2 = conv(name + ".conv2", mid, mid, 3, unit_stride, first_dilation);
        u.norm2 = norm(name + ".norm2", mid, act);
        u.conv3 = conv(name + ".conv3", out, mid, 1, 1, 1);
        // norm3 has no activation of its own; the activation follows the residual add, fused here.
        u.norm3 = norm(name + ".norm3", out, act);
      }
      units.push_back(std::move(u));
      prev = out;
      first_dilation = dilation;
    }
    stages_.push_back(std::move(units));
  }

  if (preact) {
    // transformers builds this norm over hidden_sizes[-1] channels; the model makes stage_channels(N),
    // which differ when width_factor != 1 (then transformers cannot run the model at all).
    const auto* w = ckpt.find(prefix_ + "norm.weight");
    if (w && w->shape != Shape{prev})
      throw ShapeError(ckpt.dir().string() + ": tensor '" + prefix_ + "norm.weight' has shape " + shape_str(w->shape) +
                       " but the last stage builds " + std::to_string(prev) + " channels (width_factor " +
                       std::to_string(config_.width_factor) + "), expected [" + std::to_string(prev) + "]");
    final_norm_ = norm("norm", prev, act);
  }
  if (ckpt.find("classifier.1.weight")) {
    const auto labels = static_cast<std::int64_t>(config_.num_labels());
    classifier_w_ = ckpt.load("classifier.1.weight", {labels, prev});
    classifier_b_ = ckpt.load("classifier.1.bias", {labels});
    parameters_ += classifier_w_.numel() + classifier_b_.numel();
  }
  ckpt.check_complete();
}

std::vector<WsConv*> BitModel::convolutions() {
  std::vector<WsConv*> convs{&stem_conv_};
  for (auto& stage : stages_)
    for (auto& u : stage) {
      if (u.downsample) convs.push_back(&*u.downsample);
      for (WsConv* c : {&u.conv1, &u.conv2, &u.conv3}) convs.push_back(c);
    }
  return convs;
}

void BitModel::set_algorithm(ConvAlgorithm a) {
  std::unique_lock lock(mutex_);
  for (WsConv* c : convolutions()) c->set_algorithm(a);
  algorithm_ = a;
}

int BitModel::sum_over_convolutions(int (WsConv::*count)() const) {
  std::unique_lock lock(mutex_);
  int n = 0;
  for (const WsConv* c : convolutions()) n += (c->*count)();
  return n;
}

int BitModel::winograd_primitives() { return sum_over_convolutions(&WsConv::winograd_primitives); }
int BitModel::column_primitives() { return sum_over_convolutions(&WsConv::column_primitives); }
int BitModel::reference_primitives() { return sum_over_convolutions(&WsConv::reference_primitives); }

void BitModel::set_primitive_cache(int shapes) {
  std::unique_lock lock(mutex_);
  for (WsConv* c : convolutions()) c->set_cache_limit(shapes);
  primitive_cache_ = shapes;
}

int BitModel::primitives() { return sum_over_convolutions(&WsConv::primitives); }

void BitModel::warmup(const std::vector<Shape>& shapes) {
  for (const Shape& shape : shapes) check_input(shape);
  BitRequest all;
  all.last_hidden_state = true;  // every layer runs
  for (const Shape& shape : shapes) forward(Tensor(shape), all);
}

void BitModel::set_precision(Precision p) {
  const bool bf16 = resolve_precision(p) == Precision::Bf16;
  std::unique_lock lock(mutex_);
  if (!bf16 && bf16_weights_)
    throw ConfigError("precision f32 asked of a model that has run in bf16 (its fp32 weights were released); "
                      "load the model again for f32");
  bf16_ = bf16;
}

std::map<std::string, StageShape> BitModel::output_shape() const {
  std::map<std::string, StageShape> shapes;
  const auto names = stage_names();
  for (std::size_t i = 0; i < names.size(); ++i)
    shapes[names[i]] = {config_.stage_channels(static_cast<int>(i)), stage_strides_[i]};
  if (config_.semantics == Semantics::Timm) shapes[kStemConv] = {config_.embedding_size, 2};
  return shapes;
}

namespace {

// Shapes through the stem: (after the conv, the static pad, the pool's pads, the pool's output).
struct StemPlan {
  HW conv;
  bool static_pad;
  Pad1d pool_h, pool_w;
  HW out;
};

StemPlan plan_stem(const BitConfig& c, const WsConv& conv, HW in) {
  StemPlan p{};
  p.conv = conv.out_size(in.first, in.second, "bit.embedder.convolution");
  p.static_pad = c.global_padding != Padding::Same;
  const std::int64_t extra = p.static_pad ? 2 : 0;
  auto pool_pad = [&](std::int64_t size) {
    Pad1d d = c.embedding_dynamic_padding ? conv_padding(Padding::Same, 3, 2, 1, size + extra) : Pad1d{};
    return d;
  };
  p.pool_h = pool_pad(p.conv.first);
  p.pool_w = pool_pad(p.conv.second);
  const std::int64_t e = p.static_pad ? 1 : 0;
  p.out = {conv_out_size(p.conv.first, {p.pool_h.before + static_cast<int>(e), p.pool_h.after + static_cast<int>(e)}, 3, 2, 1),
           conv_out_size(p.conv.second, {p.pool_w.before + static_cast<int>(e), p.pool_w.after + static_cast<int>(e)}, 3, 2, 1)};
  if (p.out.first < 1 || p.out.second < 1)
    throw ShapeError("bit.embedder.pooler: input of " + std::to_string(in.first) + "x" + std::to_string(in.second) +
                     " is too small for the stem");
  return p;
}

// A unit's output (H, W), checking that the residual branch and the shortcut agree.
HW plan_unit(const BitUnit& u, std::int64_t n, HW in) {
  HW shortcut = u.downsample ? u.downsample->out_size(in.first, in.second, u.name + ".downsample.conv") : in;
  HW h = u.conv1.out_size(in.first, in.second, u.name + ".conv1");
  h = u.conv2.out_size(h.first, h.second, u.name + ".conv2");
  h = u.conv3.out_size(h.first, h.second, u.name + ".conv3");
  if (h != shortcut)
    throw ShapeError(u.name + ": the residual branch gives " + hw_str(n, u.conv3.out_channels(), h) +
                     " but the shortcut gives " + hw_str(n, u.conv3.out_channels(), shortcut) +
                     "; they cannot be added (global_padding VALID does not fit this input size)");
  return h;
}

// `act` is the type of the convolutions' inputs and outputs (bf16 or f32), the residual stream's too. Each
// preactivation unit adds to that stream (in fp32, by the last convolution's sum), so in bf16 it is rounded
// once per unit; measured against keeping it fp32 on bit-50 (16 units): pooled cosine 0.99872 -> 0.99863
// (the emulation of bf16's cost, which keeps it fp32: 0.99867), and 10-12% less time per pass, as the
// stream is the largest map each unit reads and writes.
FeatureMap run_unit(BitUnit& u, FeatureMap x, DataType act, dnnl::stream& s) {
  auto fresh = [&](const WsConv& conv, const FeatureMap& in, DataType type) {
    const auto [oh, ow] = conv.out_size(in.h, in.w, u.name);
    return FeatureMap::for_output(in.n, conv.out_channels(), oh, ow, type, in.layout);
  };
  if (u.preact) {
    auto p = FeatureMap::for_output(x.n, x.c, x.h, x.w, act, x.layout);
    u.norm1.run(x, p);
    FeatureMap out;
    if (u.downsample) {
      out = fresh(*u.downsample, p, act);
      u.downsample->run(p.memory(), out, false, s);
    } else {
      out = converted(x, act, s);  // identity shortcut: accumulate into x's own storage
    }
    auto h1 = fresh(u.conv1, p, act);
    u.conv1.run(p.memory(), h1, false, s);
    u.norm2.run(h1, h1);
    auto h2 = fresh(u.conv2, h1, act);
    u.conv2.run(h1.memory(), h2, false, s);
    u.norm3.run(h2, h2);
    u.conv3.run(h2.memory(), out, true, s);
    return out;
  }
  // Bottleneck units: the output feeds the next conv1 directly, so it is stored as the convolutions' type.
  FeatureMap shortcut = x;
  if (u.downsample) {
    shortcut = fresh(*u.downsample, x, act);
    u.downsample->run(x.memory(), shortcut, false, s);
    u.downsample_norm->run(shortcut, shortcut);
  }
  auto h1 = fresh(u.conv1, x, act);
  u.conv1.run(x.memory(), h1, false, s);
  u.norm1.run(h1, h1);
  auto h2 = fresh(u.conv2, h1, act);
  u.conv2.run(h1.memory(), h2, false, s);
  u.norm2.run(h2, h2);
  auto h3 = fresh(u.conv3, h2, act);
  u.conv3.run(h2.memory(), h3, false, s);
  u.norm3.run(h3, h3, &shortcut);
  return h3;
}

}  // namespace

void BitModel::check_input(const Shape& shape) const {
  if (shape.size() != 4)
    throw ShapeError("pixel_values must be (batch, channels, height, width), got " + shape_str(shape));
  if (shape[1] != config_.num_channels)
    throw ShapeError("pixel_values " + shape_str(shape) + " has " + std::to_string(shape[1]) +
                     " channels, the model expects num_channels = " + std::to_string(config_.num_channels));
  if (shape[0] < 1) throw ShapeError("pixel_values " + shape_str(shape) + " is an empty batch");
  HW hw = plan_stem(config_, stem_conv_, {shape[2], shape[3]}).out;
  for (const auto& stage : stages_)
    for (const auto& u : stage) hw = plan_unit(u, shape[0], hw);
}

std::map<std::string, ShapeSpec> BitModel::output_shape(std::int64_t height, std::int64_t width) const {
  check_input({1, config_.num_channels, height, width});
  const auto shapes = output_shape();
  std::map<std::string, ShapeSpec> specs;
  auto put = [&](const std::string& name, HW hw) {
    const StageShape& s = shapes.at(name);
    specs[name] = {s.channels, s.stride, hw.first, hw.second};
  };
  const StemPlan stem = plan_stem(config_, stem_conv_, {height, width});
  if (shapes.count(kStemConv)) put(kStemConv, stem.conv);
  const auto names = stage_names();
  HW hw = stem.out;
  put(names[0], hw);
  for (std::size_t s = 0; s < stages_.size(); ++s) {
    for (const auto& u : stages_[s]) hw = plan_unit(u, 1, hw);
    put(names[s + 1], hw);
  }
  return specs;
}

BitResult BitModel::forward(const Tensor& pixels, const BitRequest& req) {
  // Passes share the model (its settings change only under the unique lock); what a pass changes is its own
  // (PoolScope) or locked where it lives (each convolution's primitive cache).
  std::shared_lock lock(mutex_);
  const PoolScope pool(*pool_);
  check_input(pixels.shape());
  if (req.logits && !has_classifier())
    throw NotFoundError("logits requested but the checkpoint has no classifier (classifier.1.weight)");
  const int last = static_cast<int>(stages_.size());
  int deepest = -1;
  for (int i : req.stages) {
    if (i < 0 || i > last) throw NotFoundError("stage index " + std::to_string(i) + " out of range");
    deepest = std::max(deepest, i);
  }
  const bool head = req.last_hidden_state || req.pooled || req.logits;
  if (head) deepest = last;

  BitResult result;
  dnnl::stream s(cpu_engine());
  const std::int64_t n = pixels.dim(0);
  auto want = [&](int i) { return std::find(req.stages.begin(), req.stages.end(), i) != req.stages.end(); };

  // Stem: conv, zero pad (unless SAME), GroupNorm+act (bottleneck models), max pool.
  const StemPlan plan = plan_stem(config_, stem_conv_, {pixels.dim(2), pixels.dim(3)});
  const DataType act = bf16_ ? DataType::bf16 : DataType::f32;
  if (bf16_) bf16_weights_ = true;
  auto x = FeatureMap::for_output(n, config_.embedding_size, plan.conv.first, plan.conv.second, act,
                                  pass_layout(bf16_));
  dnnl::memory in(nchw_desc(pixels.shape()), cpu_engine(), pixels.data());
  Tensor pixels_bf16;  // the input rounded to bf16 for a bf16 stem convolution
  if (bf16_) {
    pixels_bf16 = Tensor::uninitialized({(pixels.numel() + 1) / 2});
    dnnl::memory rounded({pixels.shape(), DataType::bf16, dnnl::memory::format_tag::nchw}, cpu_engine(),
                         pixels_bf16.data());
    dnnl::reorder(in, rounded).execute(s, in, rounded);
    s.wait();
    in = rounded;
  }
  stem_conv_.run(in, x, false, s);
  if (req.stem_conv) result.stem_conv = to_nchw(x, s);
  Pad1d ph = plan.pool_h, pw = plan.pool_w;
  if (plan.static_pad) {
    if (stem_norm_) {
      x = zero_pad(x, {1, 1}, {1, 1});  // the GroupNorm statistics include the padded zeros
    } else {
      ph = {ph.before + 1, ph.after + 1};
      pw = {pw.before + 1, pw.after + 1};
    }
  }
  if (stem_norm_) stem_norm_->run(x, x);
  x = zero_pad_max_pool(x, ph, pw, 3, 2);
  if (want(0)) result.stages[0] = to_nchw(x, s);

  for (int st = 1; st <= deepest; ++st) {
    for (auto& u : stages_[static_cast<std::size_t>(st - 1)]) x = run_unit(u, std::move(x), act, s);
    if (want(st)) result.stages[st] = to_nchw(x, s);
  }
  if (!head) return result;

  if (final_norm_) {
    auto normed = FeatureMap::for_output(x.n, x.c, x.h, x.w, DataType::f32,
                                         x.layout);  // pooling and the classifier read fp32
    final_norm_->run(x, normed);
    x = std::move(normed);
  } else {
    x = converted(x, DataType::f32, s);
  }
  if (req.last_hidden_state) result.last_hidden_state = to_nchw(x, s);
  // Global average pool and classifier, summed in double (vectorised across lanes and channels).
  Tensor pooled({n, x.c, 1, 1});
  const std::int64_t hw = x.h * x.w;
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t blk = 0; blk < x.blocks(); ++blk) {
      const float* p = x.data.data() + x.at(b, blk, 0);
      const std::int64_t step = x.pixel_stride();
      double acc[kBlock] = {};
      for (std::int64_t i = 0; i < hw; ++i)
#pragma omp simd
        for (int l = 0; l < kBlock; ++l) acc[l] += p[i * step + l];
      for (std::int64_t c = blk * kBlock; c < std::min(x.c, (blk + 1) * kBlock); ++c)
        pooled.data()[b * x.c + c] = static_cast<float>(acc[c - blk * kBlock] / static_cast<double>(hw));
    }
  if (req.pooled) result.pooled = pooled;
  if (req.logits) result.logits = linear(pooled, classifier_w_, classifier_b_);
  return result;
}

}  // namespace visbone::bit
