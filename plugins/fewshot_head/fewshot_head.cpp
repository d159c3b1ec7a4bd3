// The few-shot prototype head (plugin `fewshot_head`, head `fewshot_prototype`): BiT's headline use, a new
// classifier from a handful of labelled images per class without training. Each support image is embedded
// by the backbone (pooled features, L2-normalised); a class's prototype is the normalised mean of its
// embeddings; a new image gets the class whose prototype is most cosine-similar to its embedding.
//
//   {type: fewshot_prototype, support: support/, shots: 5, top_k: 3}
//
// `support` holds one folder per class, named by its label, with the images inside (ImageFolder layout);
// `shots` takes the first N images of each class by file name (0: all).
#include <algorithm>
#include <filesystem>
#include <numeric>
#include <set>

#include "visbone/core/errors.h"
#include "visbone/core/head.h"
#include "visbone/core/l2_normalize.h"
#include "visbone/registry/plugin_api.h"

namespace {

namespace fs = std::filesystem;
using visbone::ConfigError;
using visbone::ForwardResult;
using visbone::HeadContext;
using visbone::HeadNeeds;
using visbone::HeadResult;
using visbone::ShapeError;
using visbone::Tensor;
using visbone::registry::Params;

const std::set<std::string> kImageExtensions{".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// (N, C) or (N, C, 1, 1) pooled features -> (N, C) rows of unit length.
Tensor normalized_rows(const Tensor& pooled) {
  if (pooled.empty() || (pooled.rank() != 2 && pooled.rank() != 4))
    throw ShapeError("fewshot_prototype: pooled features " + visbone::shape_str(pooled.shape()) +
                     ", expected (N, C)");
  Tensor rows = pooled.clone().view({pooled.dim(0), pooled.numel() / pooled.dim(0)});
  visbone::l2_normalize_rows(rows);
  return rows;
}

class PrototypeHead final : public visbone::Head {
 public:
  PrototypeHead(std::vector<std::string> labels, Tensor prototypes, int top_k)
      : labels_(std::move(labels)), prototypes_(std::move(prototypes)), top_k_(top_k) {}

  HeadNeeds needs() const override {
    HeadNeeds n;
    n.pooled = true;
    n.pooled_channels = static_cast<int>(prototypes_.dim(1));
    return n;
  }

  std::vector<HeadResult> run(const ForwardResult& features) const override {
    const Tensor q = normalized_rows(features.pooled);
    const std::int64_t k = prototypes_.dim(0), c = prototypes_.dim(1);
    if (q.dim(1) != c)
      throw ShapeError("fewshot_prototype: pooled features have " + std::to_string(q.dim(1)) +
                       " channels, the prototypes " + std::to_string(c));
    std::vector<HeadResult> out;
    for (std::int64_t b = 0; b < q.dim(0); ++b) {
      Tensor sim({k});
      for (std::int64_t j = 0; j < k; ++j) {
        double acc = 0;
        for (std::int64_t i = 0; i < c; ++i)
          acc += static_cast<double>(q.data()[b * c + i]) * prototypes_.data()[j * c + i];
        sim.data()[j] = static_cast<float>(acc);
      }
      std::vector<int> order(static_cast<std::size_t>(k));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int x, int y) { return sim.data()[x] > sim.data()[y]; });
      HeadResult r;
      boost::json::array preds;
      for (int i = 0; i < std::min<std::int64_t>(top_k_, k); ++i) {
        const int j = order[static_cast<std::size_t>(i)];
        preds.push_back(
            {{"label", labels_[static_cast<std::size_t>(j)]}, {"score", sim.data()[j]}, {"index", j}});
      }
      r.record["label"] = labels_[static_cast<std::size_t>(order.front())];
      r.record["score"] = sim.data()[order.front()];
      r.record["predictions"] = std::move(preds);
      r.tensors.emplace_back("similarities", sim);
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  std::vector<std::string> labels_;
  Tensor prototypes_;  // (classes, C), unit rows
  int top_k_;
};

std::unique_ptr<visbone::Head> make_prototype_head(const Params& p, HeadContext& context) {
  const fs::path support = p.path("support");
  const int shots = p.get<int>("shots", 0);
  const int top_k = p.get<int>("top_k", 5);
  const int batch_size = p.get<int>("batch_size", 16);
  if (shots < 0) p.fail("shots", "is " + std::to_string(shots) + ", expected the images per class (0: all)");
  if (top_k < 1) p.fail("top_k", "is " + std::to_string(top_k) + ", expected >= 1");
  if (batch_size < 1) p.fail("batch_size", "is " + std::to_string(batch_size) + ", expected >= 1");
  std::error_code ec;
  if (!fs::is_directory(support, ec))
    p.fail("support",
           "'" + support.string() + "' is not a folder (expected one subfolder of images per class)");
  if (!context.load_images)
    p.fail("support", "cannot be embedded: the host gave no image loader (HeadContext::load_images)");

  std::vector<std::string> labels;
  std::vector<std::vector<fs::path>> images;
  std::vector<fs::path> classes;
  for (const auto& e : fs::directory_iterator(support))
    if (e.is_directory()) classes.push_back(e.path());
  std::sort(classes.begin(), classes.end());
  for (const auto& dir : classes) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && kImageExtensions.count(lower(e.path().extension().string())))
        files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (files.empty()) p.fail("support", "class folder '" + dir.string() + "' has no images");
    if (shots > 0 && static_cast<int>(files.size()) > shots) files.resize(static_cast<std::size_t>(shots));
    labels.push_back(dir.filename().string());
    images.push_back(std::move(files));
  }
  if (labels.size() < 2)
    p.fail("support", "'" + support.string() + "' has " + std::to_string(labels.size()) +
                          " class folders; a classifier needs at least 2");

  visbone::ForwardRequest request;
  request.pooled = true;
  Tensor prototypes;
  for (std::size_t k = 0; k < labels.size(); ++k) {
    std::vector<double> sum;
    for (std::size_t start = 0; start < images[k].size(); start += static_cast<std::size_t>(batch_size)) {
      const std::vector<fs::path> chunk(
          images[k].begin() + static_cast<std::ptrdiff_t>(start),
          images[k].begin() + static_cast<std::ptrdiff_t>(
                                  std::min(images[k].size(), start + static_cast<std::size_t>(batch_size))));
      const Tensor e = normalized_rows(context.backbone.forward(context.load_images(chunk), request).pooled);
      const std::int64_t c = e.dim(1);
      if (sum.empty()) sum.assign(static_cast<std::size_t>(c), 0.0);
      for (std::int64_t b = 0; b < e.dim(0); ++b)
        for (std::int64_t i = 0; i < c; ++i) sum[static_cast<std::size_t>(i)] += e.data()[b * c + i];
    }
    if (prototypes.empty())
      prototypes = Tensor({static_cast<std::int64_t>(labels.size()), static_cast<std::int64_t>(sum.size())});
    const std::int64_t c = prototypes.dim(1);
    for (std::int64_t i = 0; i < c; ++i)
      prototypes.data()[static_cast<std::int64_t>(k) * c + i] =
          static_cast<float>(sum[static_cast<std::size_t>(i)]);
  }
  // The mean direction of a class: normalising the sum is the same as normalising the mean.
  prototypes = normalized_rows(prototypes);
  return std::make_unique<PrototypeHead>(std::move(labels), std::move(prototypes), top_k);
}

void register_components(visbone::registry::ComponentRegistrar& r) {
  r.add_head(
      "fewshot_prototype",
      "few-shot classifier: cosine similarity to class prototypes embedded from support/<label>/ images",
      make_prototype_head);
}

}  // namespace

VISBONE_PLUGIN("fewshot_head", "1.0", "few-shot prototype head (classes from a handful of labelled images)",
               register_components)
