// A weight-standardized convolution (BiT's StdConv2d) on oneDNN. The standardization is folded into the
// weights once, at construction; primitives and reordered weights are cached per input layout and size.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "visbone/bit/bit_config.h"
#include "visbone/bit/feature_map.h"
#include "visbone/core/tensor.h"

namespace visbone::bit {

// Padding of one spatial axis: zeros before and after.
struct Pad1d {
  int before = 0, after = 0;
};

// transformers' get_padding_value + DynamicPad2d for one axis of size `in`: the default (PyTorch-style
// symmetric), TF-style SAME (static when stride 1 and the dilated kernel is odd, else dynamic and possibly
// asymmetric), or VALID (none).
Pad1d conv_padding(Padding mode, int kernel, int stride, int dilation, std::int64_t in);
// Output size of a padded convolution / pooling window; 0 or less means the input is too small.
std::int64_t conv_out_size(std::int64_t in, Pad1d pad, int kernel, int stride, int dilation);

// How an fp32 3x3 stride-1 convolution is computed: oneDNN's direct algorithm or its Winograd one (fewer
// multiplications; as exact on the parity fixtures, more memory for the weights). Winograd runs one image at
// a time (a primitive made for batch 1), so an image's bits depend neither on its batch nor on the thread
// count, as with direct. Auto, the default, is Winograd wherever oneDNN has it for the shape and CPU: measured
// per shape (bench/layers_bench.cpp's BM_Conv) it took 0.39-0.88x direct's time at every R50 stride-1 3x3
// shape, 224 and 448, batch 1 and 8, on an AVX-512 AMD EPYC. It is a fixed rule, not a timing at run time, so
// every process computes a shape the same way. Winograd forces it (the same today); other convolutions are
// always direct.
enum class ConvAlgorithm { Auto, Direct, Winograd };
std::string to_string(ConvAlgorithm a);
// "auto", "direct" or "winograd"; nothing for any other text.
std::optional<ConvAlgorithm> parse_conv_algorithm(const std::string& text);
// The process default, read once: VISBONE_WINOGRAD=1 -> Winograd, VISBONE_WINOGRAD=0 -> Direct, else
// VISBONE_CONV_ALGORITHM (auto|direct|winograd; ConfigError for anything else), else Auto.
// A model can be set either way (BitModel::set_algorithm, the backbone's `algorithm` option).
ConvAlgorithm default_conv_algorithm();
// Whether VISBONE_WINOGRAD=1 forces Winograd.
bool winograd_enabled();
// How many input shapes a convolution keeps primitives (and weights in their layouts) for, least recently
// used dropped first (a shape run with another thread count is another entry): VISBONE_PRIMITIVE_CACHE when
// set to a positive number, else kDefaultPrimitiveCache. Without a bound every new input size (detectors
// resize each image) adds a primitive to all the model's convolutions and memory grows with the number of
// sizes seen.
inline constexpr int kDefaultPrimitiveCache = 16;
int default_primitive_cache();

// (w - mean) / sqrt(var + eps) per output channel, biased variance, computed in double.
Tensor standardize_weight(const Tensor& oihw, double eps);

class WsConv {
 public:
  WsConv() = default;
  // `weight` is (O, I, K, K) as stored in the checkpoint; it is standardized here. `bf16`: the standardized
  // weights are kept only as bf16 (half the memory from the start; the convolution then runs bf16 only).
  WsConv(const Tensor& weight, int stride, int dilation, Padding padding, bool bf16 = false, double eps = 1e-8);

  int out_channels() const { return out_; }
  int in_channels() const { return in_; }
  int kernel() const { return k_; }
  int stride() const { return stride_; }
  int dilation() const { return dilation_; }
  // Output (H, W) for an input of (H, W); throws ShapeError naming `name` when the input is too small.
  std::pair<std::int64_t, std::int64_t> out_size(std::int64_t h, std::int64_t w, const std::string& name) const;

  // dst (allocated with out_size) = conv(src), or dst += conv(src) when `accumulate` (the residual add,
  // done as oneDNN's sum post-op). `src` is a blocked map or, for the stem, a plain NCHW memory. Returns
  // when dst is written. A bf16 `src` runs the convolution on bf16 weights (dst f32 or bf16); once a
  // convolution has made its weights bf16 it cannot run f32 again (ConfigError).
  void run(const dnnl::memory& src, FeatureMap& dst, bool accumulate, dnnl::stream& stream);
  // How a 3x3 stride-1 fp32 conv is computed (Winograd only where oneDNN has it for the shape and CPU).
  void set_algorithm(ConvAlgorithm a);
  // How many of the primitives made so far (one per input shape) run oneDNN's Winograd algorithm: oneDNN
  // falls back to the direct one silently where it has no Winograd for the shape or CPU.
  int winograd_primitives() const;
  // How many input shapes this convolution keeps primitives for (>= 1; least recently used dropped first).
  void set_cache_limit(int shapes);
  // Primitives held now (one per input shape and thread count seen, up to the limit).
  int primitives() const;

 private:
  // Weights in one layout: a oneDNN memory over our own storage.
  struct Weights {
    Tensor storage;
    dnnl::memory memory;
  };
  struct Cached {
    dnnl::memory::desc src, dst;
    bool accumulate;
    int threads;  // the OpenMP threads it was made for: oneDNN fixes a primitive's team size when making it
    dnnl::convolution_forward prim;
    Weights weights;  // in the primitive's preferred layout (shared by primitives that prefer the same)
    dnnl::memory::desc scratchpad;  // what it needs while running (taken from scratch_memory)
    bool winograd = false;          // made with dnnl::algorithm::convolution_winograd
  };
  // The primitive for this input, output and the calling thread's OpenMP thread count, made on first use.
  std::shared_ptr<const Cached> prepare(const dnnl::memory::desc& src, const dnnl::memory::desc& dst,
                                        bool accumulate);
  // Whether the algorithm and this convolution's shape allow Winograd for inputs of `src_type`.
  bool winograd_candidate(dnnl::memory::data_type src_type) const;
  // One primitive run, its scratchpad from the pass's scratch buffer; returns when dst is written.
  static void execute(const Cached& c, const dnnl::memory& src, const dnnl::memory& dst, dnnl::stream& stream);

  int out_ = 0, in_ = 0, k_ = 0, stride_ = 1, dilation_ = 1;
  ConvAlgorithm algorithm_ = default_conv_algorithm();
  Padding padding_ = Padding::Default;
  Tensor weight_;      // standardized, OIHW; released once the first primitive has its weights
  dnnl::memory::data_type weight_type_ = dnnl::memory::data_type::f32;  // of weight_ (bf16: two per float)
  Weights base_;       // the weights in the direct algorithm's layout, the source of every other layout
  int cache_limit_ = default_primitive_cache();
  // Passes run at once on one model: the cache, base_ and weight_ change under this lock, and a pass holds
  // its primitive (shared) while it runs, so an eviction meanwhile does not pull it away.
  std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
  std::vector<std::shared_ptr<const Cached>> cache_;  // most recently used first
};

}  // namespace visbone::bit
