// The `embedding_index` sink writes a gallery that the `knn` head loads: the embedding head's rows in input
// order (equal to a stacked safetensors sink's), the inputs' ids; each input then finds itself (score 1).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "pipeline_test_support.h"
#include "visbone/api/register_builtins.h"
#include "visbone/core/safetensors.h"
#include "visbone/heads/knn_head.h"
#include "visbone/pipeline/config.h"
#include "visbone/pipeline/pipeline.h"

namespace visbone::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::kData;
using testing::TempDir;

const std::string kModel = kData + "/models/bit-tiny-digits";

std::string config(const std::string& files, const std::string& sinks) {
  return "source: {type: files, paths: [" + files + "]}\nmodel: {checkpoint: " + kModel +
         "}\nheads: [{type: classification}, {type: embedding, name: emb}]\nsinks:\n" + sinks +
         "output_dir: out\nbatch_size: 3\n";
}

TEST(EmbeddingIndex, WritesTheGalleryTheKnnHeadLoads) {
  TempDir d;
  std::vector<std::string> ids;
  std::string files;
  for (const char* name : {"0000", "0010", "0011", "0014", "0018", "0022", "0027"}) {
    ids.push_back(kData + "/digits/images/digit_" + name + ".png");
    files += (files.empty() ? "" : ", ") + ids.back();
  }
  const auto cfg = d.write("c.yaml", config(files,
                                            "  - {type: embedding_index, path: gallery.safetensors}\n"
                                            "  - {type: safetensors, path: stacked.safetensors, stack: true}\n"));
  Pipeline p(load_config(cfg), register_pipeline_builtins);
  EXPECT_EQ(p.run().ok, 7u);

  const auto gallery = SafetensorsFile::open(d.path() / "out/gallery.safetensors");
  const Tensor e = gallery.load("embeddings");
  const Tensor want = SafetensorsFile::open(d.path() / "out/stacked.safetensors").load("emb.embedding");
  ASSERT_EQ(e.shape(), want.shape());
  ASSERT_EQ(e.dim(0), 7);
  for (std::int64_t i = 0; i < e.numel(); ++i) ASSERT_EQ(e.data()[i], want.data()[i]) << i;
  std::vector<std::string> got;
  const boost::json::value list = boost::json::parse(gallery.metadata().at("ids"));
  for (const auto& v : list.as_array())
    got.emplace_back(v.as_string());
  EXPECT_EQ(got, ids);

  const auto knn = heads::KnnHead::from_file(d.path() / "out/gallery.safetensors", "", 1);
  ForwardResult f;
  f.pooled = e.clone();
  const auto results = knn->run(f);
  ASSERT_EQ(results.size(), 7u);
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& top = results[i].record.at("neighbors").as_array().at(0).as_object();
    EXPECT_NEAR(top.at("score").to_number<double>(), 1.0, 1e-6) << i;
    // The top row is the input itself or an exact duplicate of it (ties go to the smaller id).
    const auto row = static_cast<std::int64_t>(results[i].tensors[1].second.data()[0]);
    const std::int64_t c = e.dim(1);
    for (std::int64_t j = 0; j < c; ++j)
      ASSERT_EQ(e.data()[row * c + j], e.data()[static_cast<std::int64_t>(i) * c + j]) << i;
  }
}

TEST(EmbeddingIndex, NeedsAnEmbeddingHead) {
  TempDir d;
  const std::string one = kData + "/digits/images/digit_0000.png";
  const auto named = d.write("n.yaml", config(one, "  - {type: embedding_index, path: g.safetensors, "
                                                   "head: classification}\n"));
  const std::string m = visbone::testing::message_of([&] { Pipeline p(load_config(named), register_pipeline_builtins); });
  EXPECT_NE(m.find("'classification' is a classification head; embedding_index needs an embedding head"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("n.yaml"), std::string::npos) << m;
}

}  // namespace
}  // namespace visbone::pipeline
