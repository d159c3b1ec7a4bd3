// `feature_maps`: the selected stages' maps, for the necks and dense heads of detectors and segmenters (what
// transformers' BitBackbone returns). With norm: true the backbone's last stage comes after the final norm,
// as timm's forward_intermediates(norm=True) gives it.
//
//   {type: feature_maps}                                    # the backbone's out_features
//   {type: feature_maps, out_features: [stage2, stage3, stage4], norm: true}
//   {type: feature_maps, out_indices: [-2, -1], channels: [1024, 2048]}
//   {type: feature_maps, layout: nhwc}                      # (H, W, C) per image, timm's output_fmt NHWC
//
// `channels` states what a consumer was built for (one count per stage); the head is rejected when the
// backbone's stages differ.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "visbone/core/head.h"
#include "visbone/heads/layout.h"
#include "visbone/registry/params.h"

namespace visbone::heads {

class FeatureMapsHead final : public Head {
 public:
  // `stages` in output order; `channels` one per stage (0: any); `normed_stage` is the stage taken after the
  // final norm ("" for none; it must be one of `stages` and the backbone's last stage).
  // `layout`: the per-image tensors of run() as (C, H, W) (nchw) or (H, W, C) (nhwc).
  FeatureMapsHead(std::vector<std::string> stages, std::vector<int> channels, std::string normed_stage = "",
                  Layout layout = Layout::Nchw);

  // The registry factory: params out_features, out_indices (transformers' semantics), norm, channels, layout.
  static std::unique_ptr<FeatureMapsHead> create(const registry::Params& params, HeadContext& context);

  const std::vector<std::string>& stages() const { return stages_; }
  const std::string& normed_stage() const { return normed_stage_; }

  HeadNeeds needs() const override;
  // kind "feature_maps", its stages.
  HeadDescription describe() const override { return {"feature_maps", 0, {}, stages_}; }
  // The (N, C, H, W) maps of a batch, in stages() order.
  std::vector<Tensor> feature_maps(const ForwardResult& features) const;
  // Per input: tensors stage -> (C, H, W) (or (H, W, C) with layout nhwc); record {"feature_maps": {stage:
  // its shape}}.
  std::vector<HeadResult> run(const ForwardResult& features) const override;

 private:
  std::vector<std::string> stages_;
  std::vector<int> channels_;
  std::string normed_stage_;
  Layout layout_ = Layout::Nchw;
};

}  // namespace visbone::heads
