#include "visbone/heads/knn_head.h"

#include <algorithm>
#include <boost/json.hpp>
#include <dnnl.hpp>
#include <numeric>

#include "visbone/core/errors.h"
#include "visbone/core/l2_normalize.h"
#include "visbone/core/safetensors.h"

namespace visbone::heads {

namespace {

const dnnl::engine& cpu() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// (B, C) x (N, C)^T -> (B, N) with oneDNN's matmul; the gallery is read in place as a (C, N) matrix with
// strides (1, C) (format tag ba), so it is never transposed or copied.
Tensor cosine_scores(const Tensor& queries, const Tensor& gallery) {
  using tag = dnnl::memory::format_tag;
  using dt = dnnl::memory::data_type;
  const dnnl::memory::dim b = queries.dim(0), c = queries.dim(1), n = gallery.dim(0);
  const dnnl::memory::desc src({b, c}, dt::f32, tag::ab), weights({c, n}, dt::f32, tag::ba),
      dst({b, n}, dt::f32, tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src, weights, dst), cpu());
  Tensor out = Tensor::uninitialized({b, n});
  dnnl::stream stream(cpu());
  dnnl::matmul(pd).execute(stream, {{DNNL_ARG_SRC, dnnl::memory(src, cpu(), queries.data())},
                                    {DNNL_ARG_WEIGHTS, dnnl::memory(weights, cpu(), gallery.data())},
                                    {DNNL_ARG_DST, dnnl::memory(dst, cpu(), out.data())}});
  stream.wait();
  return out;
}

}  // namespace

KnnHead::KnnHead(Tensor embeddings, std::vector<std::string> ids, int k)
    : gallery_(std::move(embeddings)), ids_(std::move(ids)), k_(k) {
  if (k_ < 1) throw ConfigError("knn head: k is " + std::to_string(k_) + ", expected >= 1");
  if (gallery_.rank() != 2 || gallery_.dim(0) < 1 || gallery_.dim(1) < 1)
    throw ConfigError("knn head: gallery " + shape_str(gallery_.shape()) +
                      ", expected (N, C) with N, C >= 1");
  if (static_cast<std::int64_t>(ids_.size()) != gallery_.dim(0))
    throw ConfigError("knn head: " + std::to_string(ids_.size()) + " ids for " +
                      std::to_string(gallery_.dim(0)) + " gallery rows");
  gallery_ = gallery_.clone();
  l2_normalize_rows(gallery_);
}

std::unique_ptr<KnnHead> KnnHead::from_file(const std::filesystem::path& path, const std::string& tensor,
                                            int k) {
  const auto st = SafetensorsFile::open(path);
  std::string name = tensor;
  if (name.empty()) {
    for (const auto& t : st.tensors())
      if (t.shape.size() == 2) {
        if (!name.empty())
          throw FormatError(path.string() + ": several 2-D tensors (" + name + ", " + t.name +
                            "); say which with tensor:");
        name = t.name;
      }
    if (name.empty()) throw FormatError(path.string() + ": no 2-D (N, C) tensor of gallery embeddings");
  }
  const Tensor e = st.load(name);
  const auto meta = st.metadata().find("ids");
  if (meta == st.metadata().end())
    throw FormatError(path.string() + ": no \"ids\" metadata (a JSON list of the gallery's " +
                      std::to_string(e.dim(0)) + " ids)");
  std::vector<std::string> ids;
  try {
    const boost::json::value list = boost::json::parse(meta->second);
    for (const auto& v : list.as_array()) ids.emplace_back(v.as_string());
  } catch (const std::exception&) {
    throw FormatError(path.string() + ": metadata \"ids\" is not a JSON list of strings");
  }
  try {
    return std::make_unique<KnnHead>(e, std::move(ids), k);
  } catch (const ConfigError& err) {
    throw FormatError(path.string() + ": " + err.what());
  }
}

std::unique_ptr<KnnHead> KnnHead::create(const registry::Params& p, HeadContext& context) {
  const int k = p.get<int>("k", 5);
  if (k < 1) p.fail("k", "is " + std::to_string(k) + ", expected >= 1");
  auto head = from_file(p.path("gallery"), p.get<std::string>("tensor", ""), k);
  const int width = context.backbone.pooled_channels();
  if (head->gallery_.dim(1) != width)
    p.fail("gallery", "holds " + std::to_string(head->gallery_.dim(1)) +
                          "-wide embeddings; the backbone pools " + std::to_string(width) + " channels");
  return head;
}

HeadNeeds KnnHead::needs() const {
  HeadNeeds n;
  n.pooled = true;
  n.pooled_channels = static_cast<int>(gallery_.dim(1));
  return n;
}

std::vector<KnnHead::Neighbours> KnnHead::search(const Tensor& queries) const {
  if (queries.rank() != 2 || queries.dim(1) != gallery_.dim(1))
    throw ShapeError("knn head: queries " + shape_str(queries.shape()) + ", expected (B, " +
                     std::to_string(gallery_.dim(1)) + ")");
  Tensor q = queries.clone();
  l2_normalize_rows(q);
  const Tensor s = cosine_scores(q, gallery_);
  const std::int64_t n = gallery_.dim(0), take = std::min<std::int64_t>(k_, n);
  std::vector<Neighbours> out;
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t b = 0; b < q.dim(0); ++b) {
    const float* row = s.data() + b * n;
    std::iota(order.begin(), order.end(), 0);
    // Score descending; equal scores by id, then by gallery row (the same id listed twice).
    std::partial_sort(order.begin(), order.begin() + take, order.end(), [&](std::int64_t x, std::int64_t y) {
      if (row[x] != row[y]) return row[x] > row[y];
      const auto& a = ids_[static_cast<std::size_t>(x)];
      const auto& b = ids_[static_cast<std::size_t>(y)];
      return a != b ? a < b : x < y;
    });
    Neighbours nb;
    for (std::int64_t i = 0; i < take; ++i) {
      nb.rows.push_back(order[static_cast<std::size_t>(i)]);
      nb.scores.push_back(row[order[static_cast<std::size_t>(i)]]);
    }
    out.push_back(std::move(nb));
  }
  return out;
}

std::vector<HeadResult> KnnHead::run(const ForwardResult& features) const {
  const Tensor& p = features.pooled;
  if (p.empty() || p.dim(0) < 1)
    throw ShapeError("knn head: pooled features " + shape_str(p.shape()) + ", expected (N, C)");
  std::vector<HeadResult> out;
  for (const auto& nb : search(p.view({p.dim(0), p.numel() / p.dim(0)}))) {
    HeadResult r;
    boost::json::array list;
    const auto m = static_cast<std::int64_t>(nb.rows.size());
    Tensor scores({m}), rows({m});
    for (std::int64_t i = 0; i < m; ++i) {
      const auto row = nb.rows[static_cast<std::size_t>(i)];
      list.push_back(
          {{"id", ids_[static_cast<std::size_t>(row)]}, {"score", nb.scores[static_cast<std::size_t>(i)]}});
      scores.data()[i] = nb.scores[static_cast<std::size_t>(i)];
      rows.data()[i] = static_cast<float>(row);
    }
    r.record["neighbors"] = std::move(list);
    r.tensors.emplace_back("scores", scores);
    r.tensors.emplace_back("rows", rows);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace visbone::heads
