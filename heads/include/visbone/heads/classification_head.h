// `classification`: a linear classifier over the pooled features, as transformers' *ForImageClassification
// and its image-classification pipeline: logits = pooled @ W^T + b, scores by function_to_apply (softmax by
// default), the top_k labels by id2label.
//
//   {type: classification}                                  # the backbone checkpoint's own classifier
//   {type: classification, weights: linear_probe.safetensors, labels: classes.txt, top_k: 3}
//
// `weights` is a safetensors file or a checkpoint folder holding a (K, C) or (K, C, 1, 1) weight and a bias
// under transformers' (classifier.1.*, classifier.*), timm's (head.fc.*, fc.*, head.*) or plain (weight,
// bias) names. `labels` is a list, or a file (config.json id2label, .json list, text one per line); by
// default the checkpoint's id2label, else LABEL_i.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "visbone/core/backbone.h"
#include "visbone/core/head.h"
#include "visbone/registry/params.h"

namespace visbone::heads {

// transformers' ClassificationFunction: what turns logits into scores.
enum class ScoreFunction { softmax, sigmoid, none };
std::string_view to_string(ScoreFunction f);

struct Prediction {
  int index = 0;
  std::string label;
  float score = 0;  // after the score function
  float logit = 0;
};

class ClassificationHead final : public Head {
 public:
  // ShapeError when weight is not (K, C), bias not (K) or labels not K names (empty labels: LABEL_i).
  // ConfigError for top_k < 1; a top_k above K keeps all K (as transformers' pipeline does).
  ClassificationHead(LinearClassifier classifier, int top_k = 5,
                     ScoreFunction function = ScoreFunction::softmax);

  // The registry factory: params weights, labels, top_k, function_to_apply.
  static std::unique_ptr<ClassificationHead> create(const registry::Params& params, HeadContext& context);
  // A classifier from a safetensors file or a checkpoint folder (labels from its config.json's id2label).
  // NotFoundError listing the names looked for when there is none.
  static LinearClassifier load_classifier(const std::filesystem::path& file_or_dir);

  int num_labels() const { return static_cast<int>(classifier_.weight.dim(0)); }
  int channels() const { return static_cast<int>(classifier_.weight.dim(1)); }
  const std::vector<std::string>& labels() const { return classifier_.labels; }
  int top_k() const { return top_k_; }
  ScoreFunction function() const { return function_; }

  HeadNeeds needs() const override;
  // kind "classification", its top_k and labels.
  HeadDescription describe() const override { return {"classification", top_k_, classifier_.labels, {}}; }
  // (N, C) pooled features -> (N, K) logits, accumulated in double. ShapeError for another channel count.
  Tensor logits(const Tensor& pooled) const;
  // The score function applied to each row.
  Tensor scores(const Tensor& logits) const;
  // The k best of one row, best first; ties keep the lower index first.
  std::vector<Prediction> top(const float* scores, const float* logits, int k) const;
  // Per input: record {"predictions": [{"label", "score", "index"}, ...]}, tensors logits (K) and scores (K).
  std::vector<HeadResult> run(const ForwardResult& features) const override;

 private:
  LinearClassifier classifier_;
  int top_k_;
  ScoreFunction function_;
};

}  // namespace visbone::heads
