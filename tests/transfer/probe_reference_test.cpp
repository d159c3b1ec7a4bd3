// visbone's probe and prototype head against scikit-learn / numpy on the same digits features (the numbers
// in tests/data/digits/fit_reference.json come from sklearn_reference.py; the split is built the same way).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "support/support.h"
#include "visbone/core/safetensors.h"
#include "visbone/hub/sha256.h"
#include "visbone/transfer/logistic_regression.h"
#include "visbone/transfer/prototypes.h"

namespace visbone {
namespace {

namespace json = boost::json;
const std::string kDigits = std::string(VISBONE_TEST_DATA) + "/digits/";

struct Split {
  transfer::Dataset all;
  std::map<int, std::vector<std::int64_t>> train;  // shots -> rows
  std::vector<std::int64_t> test;
};

// Per class (folder), files in name order: the first k train the k-shot head, the 11th on are the test set.
Split load_split(const std::string& file, int test_from) {
  const auto st = SafetensorsFile::open(kDigits + file);
  const Tensor x = st.load("embedding");
  const auto ids = json::parse(st.metadata().at("ids")).as_array();
  Split s;
  std::set<std::string> class_set;
  for (const auto& id : ids)
    class_set.insert(std::string(id.as_string()).substr(0, std::string(id.as_string()).find('/')));
  const std::vector<std::string> classes(class_set.begin(), class_set.end());
  std::map<std::string, std::vector<std::pair<std::string, std::int64_t>>> by_class;
  s.all.n = x.dim(0);
  s.all.d = x.dim(1);
  s.all.num_classes = static_cast<int>(classes.size());
  s.all.x.assign(x.begin(), x.end());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::string id(ids[i].as_string());
    const std::string c = id.substr(0, id.find('/'));
    s.all.y.push_back(static_cast<int>(std::find(classes.begin(), classes.end(), c) - classes.begin()));
    by_class[c].emplace_back(id.substr(id.rfind('/') + 1), static_cast<std::int64_t>(i));
  }
  for (auto& [c, files] : by_class) std::sort(files.begin(), files.end());
  for (int k : {1, 5, 10})
    for (const auto& c : classes)
      for (int j = 0; j < k; ++j) s.train[k].push_back(by_class[c][static_cast<std::size_t>(j)].second);
  for (const auto& c : classes)
    for (std::size_t j = static_cast<std::size_t>(test_from); j < by_class[c].size(); ++j)
      s.test.push_back(by_class[c][j].second);
  return s;
}

void compare_with_sklearn(const std::string& set) {
  const auto ref = json::parse(testing::read_file(kDigits + "fit_reference.json")).as_object();
  const auto& r = ref.at("sets").at(set).as_object();
  const std::string file(r.at("file").as_string());
  // The reference was made from exactly these bytes.
  ASSERT_EQ(hub::sha256_file_hex(kDigits + file), r.at("features_sha256").as_string());
  const Split s = load_split(file, static_cast<int>(ref.at("test_from").as_int64()));
  const transfer::Dataset test = s.all.subset(s.test);
  std::printf(
      "%s (%zu test images), accuracy %%: shots | prototype (numpy) | visbone | probe C: visbone / sklearn\n",
      set.c_str(), s.test.size());
  for (const auto& row_value : r.at("rows").as_array()) {
    const auto& row = row_value.as_object();
    const int k = static_cast<int>(row.at("shots").as_int64());
    const transfer::Dataset train = s.all.subset(s.train.at(k));
    ASSERT_EQ(train.n, row.at("train").as_int64());
    ASSERT_EQ(test.n, row.at("test").as_int64());
    const double proto = transfer::fit_prototypes(train).accuracy(test);
    EXPECT_NEAR(proto, row.at("prototype_accuracy").as_double(), 1e-9) << k << " shots";
    std::printf("%5d | %6.1f | %6.1f |", k, 100 * row.at("prototype_accuracy").as_double(), 100 * proto);
    for (const auto& p : row.at("probe").as_array()) {
      transfer::SolverOptions o;
      o.c = p.at("C").as_double();
      o.tolerance = 1e-8;
      o.max_iter = 20000;
      const auto model = transfer::fit_logistic_regression(train, o);
      EXPECT_TRUE(model.converged) << k << " shots, C=" << o.c << ": max |gradient| " << model.gradient_norm;
      const double acc = model.accuracy(test), sk = p.at("accuracy").as_double();
      EXPECT_LE(std::abs(acc - sk), 0.005)
          << k << " shots, C=" << o.c << ": visbone " << acc << ", scikit-learn " << sk;
      std::printf("  C=%g: %.1f / %.1f", o.c, 100 * acc, 100 * sk);
    }
    std::printf("\n");
  }
}

TEST(ProbeReference, DigitsModelFeaturesMatchScikitLearn) {
  compare_with_sklearn("bit-tiny-digits");
}
TEST(ProbeReference, RandomModelFeaturesMatchScikitLearn) {
  compare_with_sklearn("tiny-preact-random");
}

}  // namespace
}  // namespace visbone
