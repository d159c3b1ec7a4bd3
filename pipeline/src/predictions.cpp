#include <cmath>

#include "visbone/pipeline/predictions.h"

namespace visbone::pipeline {

std::vector<TopK> read_predictions(HeadResult& result) {
  std::vector<TopK> out;
  auto* preds = result.record.if_contains("predictions");
  if (!preds || !preds->is_array()) return out;
  const Tensor* logits = nullptr;
  for (const auto& [name, t] : result.tensors)
    if (name == "logits" && t.rank() == 1) logits = &t;
  for (auto& v : preds->as_array()) {
    if (!v.is_object()) continue;
    auto& o = v.as_object();
    TopK k;
    if (const auto* i = o.if_contains("index"); i && i->is_int64()) k.index = static_cast<int>(i->as_int64());
    if (const auto* l = o.if_contains("label"); l && l->is_string()) k.label = std::string(l->as_string());
    if (const auto* s = o.if_contains("score"); s && s->is_number())
      k.score = static_cast<float>(s->to_number<double>());
    if (logits && k.index >= 0 && k.index < logits->numel()) {
      k.logit = logits->data()[k.index];
      // The record is what JSON Lines writes: the logit belongs next to the score it came with.
      if (!o.contains("logit")) o["logit"] = k.logit;
    } else if (const auto* g = o.if_contains("logit"); g && g->is_number()) {
      k.logit = static_cast<float>(g->to_number<double>());
    }
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace visbone::pipeline
