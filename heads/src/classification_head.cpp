#include "visbone/heads/classification_head.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "visbone/core/checkpoint.h"
#include "visbone/core/errors.h"
#include "visbone/core/linear.h"
#include "visbone/core/safetensors.h"
#include "visbone/heads/labels.h"

namespace visbone::heads {
namespace {

namespace fs = std::filesystem;

// Where classification layers live, by library: transformers BiT/ResNet (classifier.1), transformers ViT and
// most others (classifier), timm (head.fc, fc, head), and a bare nn.Linear state dict.
constexpr const char* kPrefixes[] = {"classifier.1.", "classifier.", "head.fc.", "fc.", "head.", ""};

std::string looked_for() {
  std::string s;
  for (const char* p : kPrefixes) s += (s.empty() ? "" : ", ") + std::string(p) + "weight";
  return s;
}

// (K, C, 1, 1) 1x1-conv heads (timm) are the same linear map.
Tensor as_linear(const Tensor& w, const std::string& where) {
  if (w.rank() == 2) return w;
  if (w.rank() == 4 && w.dim(2) == 1 && w.dim(3) == 1) return w.view({w.dim(0), w.dim(1)});
  throw ShapeError(where + " has shape " + shape_str(w.shape()) +
                   ", expected (num_labels, channels) or (num_labels, "
                   "channels, 1, 1)");
}

// Finds the classification layer by its names, through `find` (does a tensor exist) and `load`.
template <typename Find, typename Load>
LinearClassifier find_classifier(const std::string& source, Find find, Load load) {
  for (const char* prefix : kPrefixes) {
    const std::string w = std::string(prefix) + "weight", b = std::string(prefix) + "bias";
    if (!find(w)) continue;
    LinearClassifier c;
    c.weight = as_linear(load(w), source + ": tensor '" + w + "'");
    // A Linear(bias=False) has no bias: zeros are the same map.
    c.bias = find(b) ? load(b) : Tensor({c.weight.dim(0)});
    if (c.bias.shape() != Shape{c.weight.dim(0)})
      throw ShapeError(source + ": tensor '" + b + "' has shape " + shape_str(c.bias.shape()) +
                       ", expected [" + std::to_string(c.weight.dim(0)) + "] to match '" + w + "' " +
                       shape_str(c.weight.shape()));
    return c;
  }
  throw NotFoundError(source + ": no classification layer; looked for " + looked_for());
}

ScoreFunction parse_function(const registry::Params& p) {
  const auto s = p.get<std::string>("function_to_apply", "softmax");
  if (s == "softmax") return ScoreFunction::softmax;
  if (s == "sigmoid") return ScoreFunction::sigmoid;
  if (s == "none") return ScoreFunction::none;
  p.fail("function_to_apply", "is '" + s + "', expected softmax, sigmoid or none");
}

}  // namespace

std::string_view to_string(ScoreFunction f) {
  switch (f) {
    case ScoreFunction::softmax:
      return "softmax";
    case ScoreFunction::sigmoid:
      return "sigmoid";
    case ScoreFunction::none:
      return "none";
  }
  return "?";
}

ClassificationHead::ClassificationHead(LinearClassifier classifier, int top_k, ScoreFunction function)
    : classifier_(std::move(classifier)), top_k_(top_k), function_(function) {
  const auto& w = classifier_.weight;
  if (w.rank() != 2 || w.dim(0) < 1 || w.dim(1) < 1)
    throw ShapeError("classification head: weight has shape " + shape_str(w.shape()) +
                     ", expected (num_labels, channels)");
  if (classifier_.bias.shape() != Shape{w.dim(0)})
    throw ShapeError("classification head: bias has shape " + shape_str(classifier_.bias.shape()) +
                     ", expected [" + std::to_string(w.dim(0)) + "] for weight " + shape_str(w.shape()));
  if (classifier_.labels.empty()) classifier_.labels = default_labels(static_cast<int>(w.dim(0)));
  if (static_cast<std::int64_t>(classifier_.labels.size()) != w.dim(0))
    throw ShapeError("classification head: " + std::to_string(classifier_.labels.size()) + " labels for " +
                     std::to_string(w.dim(0)) + " classes (weight " + shape_str(w.shape()) + ")");
  if (top_k_ < 1)
    throw ConfigError("classification head: top_k is " + std::to_string(top_k_) + ", expected >= 1");
  top_k_ = std::min(top_k_, num_labels());
}

LinearClassifier ClassificationHead::load_classifier(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    auto ckpt = Checkpoint::open(path);
    auto c = find_classifier(
        path.string(), [&](const std::string& n) { return ckpt.find(n) != nullptr; },
        [&](const std::string& n) { return ckpt.load(n, ckpt.find(n)->shape); });
    if (const auto* id2label =
            ckpt.config().is_object() ? ckpt.config().as_object().if_contains("id2label") : nullptr)
      c.labels = labels_from_id2label(*id2label, (path / "config.json").string());
    return c;
  }
  const auto file = SafetensorsFile::open(path);
  return find_classifier(
      path.string(), [&](const std::string& n) { return file.find(n) != nullptr; },
      [&](const std::string& n) { return file.load(n); });
}

std::unique_ptr<ClassificationHead> ClassificationHead::create(const registry::Params& p,
                                                               HeadContext& context) {
  LinearClassifier c;
  if (p.has("weights")) {
    c = load_classifier(p.path("weights"));
  } else if (auto own = context.backbone.classifier()) {
    c = std::move(*own);
  } else {
    p.fail("weights",
           "is required: the backbone's checkpoint has no classifier; give a safetensors file or a "
           "checkpoint folder with one");
  }
  if (p.has("labels")) {
    if (p.node()["labels"].IsSequence())
      c.labels = p.get<std::vector<std::string>>("labels");
    else
      c.labels = read_labels(p.path("labels"));
    if (static_cast<std::int64_t>(c.labels.size()) != c.weight.dim(0))
      p.fail("labels", "has " + std::to_string(c.labels.size()) + " names, the classifier has " +
                           std::to_string(c.weight.dim(0)) + " classes");
  }
  const int k = p.get<int>("top_k", 5);
  if (k < 1) p.fail("top_k", "is " + std::to_string(k) + ", expected >= 1");
  return std::make_unique<ClassificationHead>(std::move(c), k, parse_function(p));
}

HeadNeeds ClassificationHead::needs() const {
  HeadNeeds n;
  n.pooled = true;
  n.pooled_channels = channels();
  return n;
}

Tensor ClassificationHead::logits(const Tensor& pooled) const {
  const std::int64_t n = pooled.empty() ? 0 : pooled.dim(0), ch = channels();
  if (pooled.empty() || pooled.numel() != n * ch || (pooled.rank() != 2 && pooled.rank() != 4))
    throw ShapeError("classification head: pooled features " + shape_str(pooled.shape()) + ", expected (N, " +
                     std::to_string(ch) + ")");
  return linear(pooled, classifier_.weight, classifier_.bias);
}

Tensor ClassificationHead::scores(const Tensor& logits) const {
  Tensor out = logits.clone();
  const std::int64_t k = logits.dim(1);
  for (std::int64_t b = 0; b < logits.dim(0); ++b) {
    float* row = out.data() + b * k;
    if (function_ == ScoreFunction::softmax) {
      // In double and shifted by the maximum: large logits neither overflow nor swamp the small ones.
      const double m = *std::max_element(row, row + k);
      double sum = 0;
      for (std::int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(row[j]) - m);
      for (std::int64_t j = 0; j < k; ++j)
        row[j] = static_cast<float>(std::exp(static_cast<double>(row[j]) - m) / sum);
    } else if (function_ == ScoreFunction::sigmoid) {
      for (std::int64_t j = 0; j < k; ++j)
        row[j] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(row[j]))));
    }
  }
  return out;
}

std::vector<Prediction> ClassificationHead::top(const float* scores, const float* logits, int k) const {
  std::vector<int> order(static_cast<std::size_t>(num_labels()));
  std::iota(order.begin(), order.end(), 0);
  k = std::clamp(k, 0, num_labels());
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int a, int b) { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b); });
  std::vector<Prediction> out;
  for (int i = 0; i < k; ++i) {
    const int j = order[static_cast<std::size_t>(i)];
    out.push_back({j, classifier_.labels[static_cast<std::size_t>(j)], scores[j], logits[j]});
  }
  return out;
}

std::vector<HeadResult> ClassificationHead::run(const ForwardResult& features) const {
  const Tensor l = logits(features.pooled);
  const Tensor s = scores(l);
  const std::int64_t k = num_labels();
  std::vector<HeadResult> out;
  for (std::int64_t b = 0; b < l.dim(0); ++b) {
    HeadResult r;
    boost::json::array preds;
    for (const auto& p : top(s.data() + b * k, l.data() + b * k, top_k_))
      preds.push_back({{"label", p.label}, {"score", p.score}, {"index", p.index}});
    r.record["predictions"] = std::move(preds);
    r.tensors.emplace_back("logits", l.slice(b, b + 1).view({k}));
    r.tensors.emplace_back("scores", s.slice(b, b + 1).view({k}));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace visbone::heads
