// The knn head: exact top-k by cosine, equal to numpy's (tests/heads/knn_reference.py), ties ordered by id
// (then gallery row); gallery files as the stacked safetensors sink writes them; bad galleries.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/support.h"
#include "visbone/core/errors.h"
#include "visbone/core/safetensors.h"
#include "visbone/heads/knn_head.h"

namespace visbone {
namespace {

using ::testing::HasSubstr;
const std::string kData = VISBONE_TEST_DATA;

TEST(KnnHead, TopKEqualsNumpy) {
  const auto ref = boost::json::parse(testing::read_file(kData + "/knn/reference.json")).as_object();
  const int k = static_cast<int>(ref.at("k").as_int64());
  const auto head = heads::KnnHead::from_file(kData + "/digits/features.safetensors", "", k);
  ASSERT_EQ(head->size(), 300);
  for (const auto& qv : ref.at("queries").as_array()) {
    const auto& q = qv.as_object();
    const Tensor all =
        SafetensorsFile::open(kData + "/digits/" + std::string(q.at("file").as_string())).load("embedding");
    const auto row = q.at("row").as_int64();
    ForwardResult f;
    f.pooled = all.slice(row, row + 1).clone();
    const auto results = head->run(f);
    ASSERT_EQ(results.size(), 1u);
    const auto& got = results[0].record.at("neighbors").as_array();
    ASSERT_EQ(got.size(), static_cast<std::size_t>(k));
    for (int i = 0; i < k; ++i) {
      EXPECT_EQ(got[i].at("id").as_string(), q.at("ids").at(i).as_string())
          << q.at("file") << " row " << row << " rank " << i;
      EXPECT_NEAR(got[i].at("score").to_number<double>(), q.at("scores").at(i).as_double(), 1e-5);
      EXPECT_EQ(results[0].tensors[1].second.data()[i], static_cast<float>(q.at("rows").at(i).as_int64()));
    }
  }
}

TEST(KnnHead, TiesGoToTheSmallerIdAndKIsCappedByTheGallery) {
  Tensor g({5, 4});
  const float rows[5][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {2, 0, 0, 0}, {0, 0, 1, 0}, {3, 0, 0, 0}};
  for (int r = 0; r < 5; ++r)
    for (int c = 0; c < 4; ++c) g.data()[r * 4 + c] = rows[r][c];
  heads::KnnHead head(g, {"a", "b", "c", "d", "e"}, 9);
  Tensor q({2, 4});
  const float qs[8] = {5, 0, 0, 0, 0, 0, 1, 0};
  std::copy(qs, qs + 8, q.data());
  const auto nb = head.search(q);
  ASSERT_EQ(nb.size(), 2u);
  EXPECT_EQ(nb[0].rows, (std::vector<std::int64_t>{0, 2, 4, 1, 3}));
  EXPECT_EQ(nb[0].scores, (std::vector<float>{1, 1, 1, 0, 0}));
  EXPECT_EQ(nb[1].rows, (std::vector<std::int64_t>{3, 0, 1, 2, 4}));
}

TEST(KnnHead, TiesAreOrderedById) {
  Tensor g({4, 2});
  const float rows[8] = {1, 0, 2, 0, 3, 0, 0, 1};
  std::copy(rows, rows + 8, g.data());
  // Rows 0-2 tie for the query; by id: "a" (row 2), "b" (rows 0 and 1, listed twice: earlier row first).
  heads::KnnHead head(g, {"b", "b", "a", "c"}, 3);
  Tensor q({1, 2});
  q.data()[0] = 7;
  q.data()[1] = 0;
  const auto nb = head.search(q);
  ASSERT_EQ(nb.size(), 1u);
  EXPECT_EQ(nb[0].rows, (std::vector<std::int64_t>{2, 0, 1}));
}

TEST(KnnHead, BadGalleriesAreNamed) {
  testing::TempDir dir;
  Tensor e({3, 2});
  write_safetensors(dir / "noids.safetensors", {{"embedding", e}});
  EXPECT_THAT(testing::message_of([&] { heads::KnnHead::from_file(dir / "noids.safetensors", "", 2); }),
              HasSubstr("no \"ids\" metadata"));
  write_safetensors(dir / "few.safetensors", {{"embedding", e}}, {{"ids", R"(["a","b"])"}});
  EXPECT_THAT(testing::message_of([&] { heads::KnnHead::from_file(dir / "few.safetensors", "", 2); }),
              HasSubstr("2 ids for 3 gallery rows"));
  write_safetensors(dir / "two.safetensors", {{"x", e}, {"y", e}}, {{"ids", R"(["a","b","c"])"}});
  EXPECT_THAT(testing::message_of([&] { heads::KnnHead::from_file(dir / "two.safetensors", "", 2); }),
              HasSubstr("several 2-D tensors"));
  EXPECT_EQ(heads::KnnHead::from_file(dir / "two.safetensors", "y", 2)->size(), 3);
  EXPECT_THAT(testing::message_of([&] { heads::KnnHead::from_file(dir / "two.safetensors", "y", 0); }),
              HasSubstr("k is 0"));
}

}  // namespace
}  // namespace visbone
