// The few-shot prototype plugin on BiT's headline use: class prototypes from 5 labelled digit images per
// class (support/<label>/ folders), then cosine-similarity classification of the other digit images, with the
// bundled digits model as backbone. Chance is 10%; the figure is printed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/support.h"
#include <unistd.h>

#include <iostream>
#include <map>

#include "visbone/bit/bit_component.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/heads/components.h"
#include "visbone/image/decode.h"
#include "visbone/image/image_processor.h"
#include "visbone/registry/plugin_loader.h"

namespace visbone {
namespace {

namespace fs = std::filesystem;
using registry::Params;
using ::testing::HasSubstr;

const fs::path kData = VISBONE_TEST_DATA;
const fs::path kModel = kData / "models" / "bit-tiny-digits";

using visbone::testing::message_of;

// The host's image pipeline for the model: its preprocessor_config.json, as a pipeline would build it.
std::function<Tensor(const std::vector<fs::path>&)> image_loader(const fs::path& model) {
  auto processor = std::make_shared<image::ImageProcessor>(
      image::ImageProcessorConfig::from_file(model / "preprocessor_config.json"));
  return [processor](const std::vector<fs::path>& files) {
    std::vector<image::Image> images;
    for (const auto& f : files) images.push_back(image::read_image(f, processor->decode_options()));
    return processor->preprocess(images);
  };
}

struct Digits {
  std::vector<std::pair<fs::path, std::string>> support, queries;  // (file, label)
};

// Labels from dev_reference.json; the first `shots` files of each digit (by name) are the support set.
Digits split_digits(int shots) {
  const auto ref = read_json_file(kData / "digits" / "dev_reference.json").as_object();
  std::map<std::string, std::vector<fs::path>> by_label;
  for (const auto& row : ref.at("rows").as_array()) {
    const auto& r = row.as_object();
    by_label[std::to_string(r.at("label").as_int64())].push_back(kData / "digits" / "images" /
                                                                 std::string(r.at("file").as_string()));
  }
  Digits d;
  for (auto& [label, files] : by_label) {
    std::sort(files.begin(), files.end());
    for (std::size_t i = 0; i < files.size(); ++i)
      (static_cast<int>(i) < shots ? d.support : d.queries).emplace_back(files[i], label);
  }
  return d;
}

class FewShot : public ::testing::Test {
 protected:
  void SetUp() override {
    bit::register_components(registry_);
    heads::register_components(registry_);
    registry::load_plugin(registry_, FEWSHOT_PLUGIN);
    backbone_ =
        registry_.build_backbone(Params::parse("type: bit\ncheckpoint: " + kModel.string(), "test.yaml"));
    dir_ = fs::temp_directory_path() / ("visbone_fewshot_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // support/<label>/<file>, as a user would lay out a handful of examples per class.
  fs::path make_support(const std::vector<std::pair<fs::path, std::string>>& files) {
    const auto root = dir_ / "support";
    for (const auto& [file, label] : files) {
      fs::create_directories(root / label);
      fs::copy_file(file, root / label / file.filename());
    }
    return root;
  }

  registry::Registry registry_;
  std::unique_ptr<Backbone> backbone_;
  fs::path dir_;
};

TEST_F(FewShot, FivePerClassClassifiesTheOtherDigitsFarAboveChance) {
  const auto digits = split_digits(5);
  ASSERT_EQ(digits.support.size(), 50u);
  ASSERT_EQ(digits.queries.size(), 250u);
  const auto support = make_support(digits.support);
  HeadContext ctx{*backbone_, image_loader(kModel)};
  auto head = registry_.build_head(
      Params::parse("type: fewshot_prototype\nsupport: " + support.string() + "\nshots: 5\ntop_k: 3",
                    "test.yaml"),
      ctx);
  EXPECT_EQ(head->needs().pooled_channels, backbone_->pooled_channels());

  int correct = 0, total = 0;
  const std::size_t batch = 25;
  for (std::size_t start = 0; start < digits.queries.size(); start += batch) {
    std::vector<fs::path> files;
    for (std::size_t i = start; i < std::min(digits.queries.size(), start + batch); ++i)
      files.push_back(digits.queries[i].first);
    const auto results = head->run(backbone_->forward(ctx.load_images(files), head->needs().request()));
    ASSERT_EQ(results.size(), files.size());
    for (std::size_t i = 0; i < files.size(); ++i) {
      const auto& rec = results[i].record;
      ASSERT_EQ(rec.at("predictions").as_array().size(), 3u);
      EXPECT_EQ(rec.at("label"), rec.at("predictions").as_array()[0].as_object().at("label"));
      EXPECT_EQ(results[i].tensors.at(0).second.numel(), 10);
      correct += rec.at("label").as_string() == digits.queries[start + i].second;
      ++total;
    }
  }
  const double accuracy = static_cast<double>(correct) / total;
  std::cout << "[ few-shot ] 5-shot prototypes (bit-tiny-digits): " << correct << "/" << total << " = "
            << accuracy << " accuracy (chance 0.1)\n";
  EXPECT_GT(accuracy, 0.9);
}

TEST_F(FewShot, ShotsLimitTheSupportImagesPerClass) {
  // Two classes with 3 images each, but shots: 1 takes only the first of each: the prototype is that image's
  // embedding, so it classifies itself with similarity 1.
  const auto digits = split_digits(3);
  std::vector<std::pair<fs::path, std::string>> two;
  for (const auto& s : digits.support)
    if (s.second == "0" || s.second == "1") two.push_back(s);
  const auto support = make_support(two);
  HeadContext ctx{*backbone_, image_loader(kModel)};
  auto head = registry_.build_head(
      Params::parse("type: fewshot_prototype\nsupport: " + support.string() + "\nshots: 1", "t.yaml"), ctx);
  const auto first_zero = two[0].first;  // sorted: the first "0" file
  const auto r = head->run(backbone_->forward(ctx.load_images({first_zero}), head->needs().request()));
  EXPECT_EQ(r[0].record.at("label").as_string(), "0");
  EXPECT_NEAR(r[0].record.at("score").as_double(), 1.0, 1e-5);
  EXPECT_EQ(r[0].record.at("predictions").as_array().size(), 2u);  // top_k 5 capped at 2 classes
}

TEST_F(FewShot, BadSupportSetsAreReportedWhenBuilt) {
  HeadContext ctx{*backbone_, image_loader(kModel)};
  const auto build = [&](const std::string& extra) {
    registry_.build_head(Params::parse("type: fewshot_prototype\n" + extra, "t.yaml"), ctx);
  };
  EXPECT_THAT(message_of([&] { build("support: /no/such/dir"); }), HasSubstr("is not a folder"));
  EXPECT_THAT(message_of([&] { build(""); }), HasSubstr("support: is required"));
  fs::create_directories(dir_ / "one" / "7");
  fs::copy_file(kData / "digits" / "images" / "digit_0000.png", dir_ / "one" / "7" / "a.png");
  EXPECT_THAT(message_of([&] { build("support: " + (dir_ / "one").string()); }),
              HasSubstr("has 1 class folders; a classifier needs at least 2"));
  fs::create_directories(dir_ / "one" / "empty");
  EXPECT_THAT(message_of([&] { build("support: " + (dir_ / "one").string()); }), HasSubstr("has no images"));
  HeadContext no_loader{*backbone_, {}};
  EXPECT_THAT(message_of([&] {
                registry_.build_head(
                    Params::parse("type: fewshot_prototype\nsupport: " + (dir_ / "one").string(), "t.yaml"),
                    no_loader);
              }),
              HasSubstr("the host gave no image loader"));
  EXPECT_THAT(message_of([&] { build("support: " + dir_.string() + "\nshots: -1"); }),
              HasSubstr("shots: is -1"));
}

}  // namespace
}  // namespace visbone
