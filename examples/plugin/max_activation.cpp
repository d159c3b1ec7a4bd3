// A head plugin: the largest activation of one stage, per image (`type: max_activation`, `stage: stage4`).
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "visbone/core/head.h"
#include "visbone/registry/plugin_api.h"

namespace {

class MaxActivationHead final : public visbone::Head {
 public:
  explicit MaxActivationHead(std::string stage) : stage_(std::move(stage)) {}
  // Declared up front: the registry checks it against the backbone's output_shape() when the head is built.
  visbone::HeadNeeds needs() const override { return {{{stage_, 0}}}; }
  std::vector<visbone::HeadResult> run(const visbone::ForwardResult& f) const override {
    const visbone::Tensor& m = f.stages.at(stage_);  // (N, C, H, W)
    std::vector<visbone::HeadResult> out;
    const std::int64_t per = m.numel() / m.dim(0);
    for (std::int64_t b = 0; b < m.dim(0); ++b)
      out.push_back({{{"max", *std::max_element(m.data() + b * per, m.data() + (b + 1) * per)}}, {}});
    return out;
  }

 private:
  std::string stage_;
};

std::unique_ptr<visbone::Head> make(const visbone::registry::Params& p, visbone::HeadContext&) {
  return std::make_unique<MaxActivationHead>(p.get<std::string>("stage", "stage4"));
}

void register_components(visbone::registry::ComponentRegistrar& r) {
  r.add_head("max_activation", "the largest activation of one stage, per image", make);
}

}  // namespace

VISBONE_PLUGIN("max_activation", "1.0", "an example head built out of tree", register_components)
