// A weight-standardized convolution (BiT's StdConv2d) on oneDNN. The standardization is folded into the
// weights once, at construction; primitives and reordered weights are cached per input layout and size.
// How each one runs (ConvAlgorithm below): oneDNN's direct kernel, its Winograd one (3x3 stride 1) or a 1x1
// kernel over the input's im2col (columns.h; strided, 256 channels or more); below AVX-512 in the layout
// oneDNN's kernels there read, reordered in and out.
#pragma once

#include <cstddef>
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

// Where a convolution's window lies: kernel, stride, dilation and padding per axis.
struct Window {
  int kernel = 1, stride = 1, dilation = 1;
  Pad1d pad_h, pad_w;
};

// transformers' get_padding_value + DynamicPad2d for one axis of size `in`: the default (PyTorch-style
// symmetric), TF-style SAME (static when stride 1 and the dilated kernel is odd, else dynamic and possibly
// asymmetric), or VALID (none).
Pad1d conv_padding(Padding mode, int kernel, int stride, int dilation, std::int64_t in);
// Output size of a padded convolution / pooling window; 0 or less means the input is too small.
std::int64_t conv_out_size(std::int64_t in, Pad1d pad, int kernel, int stride, int dilation);

// How the fp32 convolutions are computed. Direct: oneDNN's direct algorithm everywhere. Auto, the default,
// uses two transformed ones where they are faster, each an exact convolution (within the parity suite's 1e-4)
// and each chosen by a fixed rule, not a timing at run time, so every process computes a shape the same way:
// - 3x3 stride 1: oneDNN's Winograd (fewer multiplications, more memory for the weights) wherever oneDNN has
//   it for the shape and CPU: measured per shape (bench/layers_bench.cpp's BM_Conv) it took 0.39-0.88x
//   direct's time at every R50 stride-1 3x3 shape, 224 and 448, batch 1 and 8, on an AVX-512 AMD EPYC.
// - strided convolutions (kernel > 1) of 256 input channels or more: im2col ("columns", columns.h) and
//   oneDNN's 1x1 kernel, where one image's columns take at most kMaxColumnBytes; measured on the same machine
//   0.68-0.96x direct's time for R50's 512-channel 3x3 stride-2 shape and 0.70-1.0x for the 256-channel one
//   (224 and 448, batch 1 and 8); at 128 channels it is slower (1.02-1.2x) and is not used.
// Both run one image at a time (a primitive made for batch 1), so an image's bits depend neither on its batch
// nor on the thread count, as with direct. Winograd forces Winograd for the 3x3 stride-1 ones (the same as
// auto today); the strided ones then run as under auto.
enum class ConvAlgorithm { Auto, Direct, Winograd };
std::string to_string(ConvAlgorithm a);
// What the algorithm computes, for content keys and manifests (numerics): changes whenever a rule changes, so
// outputs made under an older rule are not taken for this one's.
std::string describe(ConvAlgorithm a);
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
// The most one image's columns may take for the columns algorithm (larger inputs run direct).
inline constexpr std::size_t kMaxColumnBytes = std::size_t{16} << 20;
// The fewest input channels for which a strided convolution runs on columns under auto.
inline constexpr int kMinColumnChannels = 256;

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
  // How many of them run on columns (im2col and a 1x1 primitive).
  int column_primitives() const;
  // How many run oneDNN's reference kernel (slow: no JIT kernel of this CPU takes the shape or layout).
  int reference_primitives() const;
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
    // The columns algorithm: a 1x1 primitive whose input (src_in) is one image's columns, gathered with
    // `window` into the scratch buffer before the primitive's own scratchpad.
    bool columns = false;
    Window window;
    // The layouts the primitive reads and writes; where they differ from the maps' (below AVX-512), the
    // reorders in and out (to_dst: the residual, for accumulate).
    dnnl::memory::desc src_in, dst_in;
    std::optional<dnnl::reorder> to_src, to_dst, from_dst;
    bool reference = false;  // oneDNN's reference kernel (no JIT kernel takes the shape on this CPU)
  };
  // The primitive for this input, output and the calling thread's OpenMP thread count, made on first use.
  // `per_image`: for one image of a batch, which runs image by image only on Winograd or columns; where it
  // would be direct (oneDNN has no Winograd for the shape on this CPU) nothing is made and nullptr comes back,
  // then and on every later call for that shape, so the batch's own primitive is the only one held.
  std::shared_ptr<const Cached> prepare(const dnnl::memory::desc& src, const dnnl::memory::desc& dst,
                                        bool accumulate, bool per_image = false);
  // Whether the algorithm and this convolution's shape allow Winograd for inputs of `src_type`.
  bool winograd_candidate(dnnl::memory::data_type src_type) const;
  // Whether this convolution runs on columns for an input of `src` (one image or a batch).
  bool columns_candidate(const dnnl::memory::desc& src) const;
  // How many cached primitives `counted` says yes to.
  int count(bool (*counted)(const Cached&)) const;
  // One primitive run, its scratchpad from the pass's scratch buffer; returns when dst is written.
  static void execute(const Cached& c, dnnl::memory src, dnnl::memory dst, dnnl::stream& stream);

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
  std::vector<dnnl::memory::desc> direct_only_;       // one-image inputs prepare(per_image) said nullptr for
};

}  // namespace visbone::bit
