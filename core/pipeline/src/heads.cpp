#include <algorithm>
#include <cmath>
#include <numeric>

#include "visbone/core/errors.h"
#include "visbone/core/stage_selection.h"
#include "visbone/pipeline/head.h"

namespace visbone::pipeline {

namespace {

// Row i of a batch tensor without its batch dimension, sharing storage.
Tensor row(const Tensor& t, std::int64_t i) {
  Shape s(t.shape().begin() + 1, t.shape().end());
  return t.slice(i, i + 1).view(s);
}

boost::json::array shape_json(const Shape& s) {
  boost::json::array a;
  for (const auto d : s) a.push_back(d);
  return a;
}

class ClassificationHead : public Head {
 public:
  ClassificationHead(const HeadConfig& c, const ModelInfo& info)
      : Head(c.name, c.type), k_(c.top_k), id2label_(info.id2label) {}

  void require(ForwardRequest& r) const override { r.logits = true; }

  std::vector<HeadOutput> run(const ForwardResult& result, std::int64_t n) const override {
    const Tensor& logits = result.logits;
    if (logits.rank() != 2 || logits.dim(0) != n)
      throw ShapeError("head '" + name() + "': logits have shape " + shape_str(logits.shape()) + ", expected [" +
                       std::to_string(n) + ", num_labels]");
    const int classes = static_cast<int>(logits.dim(1));
    std::vector<HeadOutput> out(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      HeadOutput& o = out[static_cast<std::size_t>(i)];
      o.head = name();
      o.top_k = top_k(logits.data() + i * classes, classes, k_, id2label_);
      boost::json::array list;
      for (const auto& t : o.top_k)
        list.push_back({{"index", t.index}, {"label", t.label}, {"score", t.score}, {"logit", t.logit}});
      o.record["top_k"] = std::move(list);
      o.tensors.emplace_back("logits", row(logits, i));
    }
    return out;
  }

  std::vector<std::string> tensor_names() const override { return {"logits"}; }

 private:
  int k_;
  std::map<int, std::string> id2label_;
};

class FeatureMapsHead : public Head {
 public:
  FeatureMapsHead(const HeadConfig& c, std::vector<std::string> stages) : Head(c.name, c.type), stages_(std::move(stages)) {}

  void require(ForwardRequest& r) const override {
    for (const auto& s : stages_)
      if (std::find(r.stages.begin(), r.stages.end(), s) == r.stages.end()) r.stages.push_back(s);
  }

  std::vector<HeadOutput> run(const ForwardResult& result, std::int64_t n) const override {
    std::vector<HeadOutput> out(static_cast<std::size_t>(n));
    boost::json::object shapes;
    for (const auto& s : stages_) {
      const auto it = result.stages.find(s);
      if (it == result.stages.end()) throw NotFoundError("head '" + name() + "': the backbone did not return " + s);
      shapes[s] = shape_json(Shape(it->second.shape().begin() + 1, it->second.shape().end()));
    }
    for (std::int64_t i = 0; i < n; ++i) {
      HeadOutput& o = out[static_cast<std::size_t>(i)];
      o.head = name();
      o.record["shapes"] = shapes;
      for (const auto& s : stages_) o.tensors.emplace_back(s, row(result.stages.at(s), i));
    }
    return out;
  }

  std::vector<std::string> tensor_names() const override { return stages_; }

 private:
  std::vector<std::string> stages_;
};

class EmbeddingHead : public Head {
 public:
  EmbeddingHead(const HeadConfig& c) : Head(c.name, c.type), normalize_(c.normalize) {}

  void require(ForwardRequest& r) const override { r.pooled = true; }

  std::vector<HeadOutput> run(const ForwardResult& result, std::int64_t n) const override {
    const Tensor& pooled = result.pooled;
    if (pooled.rank() != 2 || pooled.dim(0) != n)
      throw ShapeError("head '" + name() + "': pooled features have shape " + shape_str(pooled.shape()) +
                       ", expected [" + std::to_string(n) + ", C]");
    std::vector<HeadOutput> out(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      HeadOutput& o = out[static_cast<std::size_t>(i)];
      o.head = name();
      Tensor v = row(pooled, i);
      double sq = 0;
      for (const float x : v) sq += static_cast<double>(x) * x;
      const double norm = std::sqrt(sq);
      if (normalize_) {
        v = v.clone();
        // torch.nn.functional.normalize's eps keeps an all-zero vector at zero instead of NaN.
        const double scale = 1.0 / std::max(norm, 1e-12);
        for (float& x : v) x = static_cast<float>(x * scale);
      }
      o.record["dim"] = v.numel();
      o.record["norm"] = norm;
      o.tensors.emplace_back(name(), std::move(v));
    }
    return out;
  }

  std::vector<std::string> tensor_names() const override { return {name()}; }

 private:
  bool normalize_;
};

}  // namespace

std::vector<TopK> top_k(const float* logits, int n, int k, const std::map<int, std::string>& id2label) {
  k = std::min(k, n);
  double max = -INFINITY;
  for (int i = 0; i < n; ++i) max = std::max(max, static_cast<double>(logits[i]));
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  std::vector<int> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  std::vector<TopK> out;
  for (int j = 0; j < k; ++j) {
    const int i = order[static_cast<std::size_t>(j)];
    const auto it = id2label.find(i);
    out.push_back({i, it != id2label.end() ? it->second : "LABEL_" + std::to_string(i),
                   static_cast<float>(std::exp(static_cast<double>(logits[i]) - max) / sum), logits[i]});
  }
  return out;
}

std::unique_ptr<Head> make_head(const HeadConfig& c, const std::string& context, const Backbone& backbone,
                                const ModelInfo& info) {
  const std::string where = c.place.str() + ": " + context + " (" + std::string(to_string(c.type)) + ")";
  switch (c.type) {
    case HeadType::classification:
      if (!info.has_classifier)
        throw ConfigError(where + ": the model has no classifier weights (classifier.1.weight), so it cannot "
                                  "classify; use a BitForImageClassification checkpoint or a feature_maps/embedding head");
      return std::make_unique<ClassificationHead>(c, info);
    case HeadType::feature_maps: {
      std::vector<std::string> stages = backbone.out_features();
      if (c.out_features || c.out_indices) {
        try {
          stages = resolve_stage_selection(backbone.stage_names(), c.out_features, c.out_indices).out_features;
        } catch (const ConfigError& e) {
          throw ConfigError(where + ": " + e.what());
        }
      }
      return std::make_unique<FeatureMapsHead>(c, std::move(stages));
    }
    case HeadType::embedding:
      return std::make_unique<EmbeddingHead>(c);
  }
  throw ConfigError(where + ": unknown head type");
}

}  // namespace visbone::pipeline
