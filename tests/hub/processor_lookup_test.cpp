// preprocessor_config.json is fetched only by what preprocesses: resolving a model asks the hub for config.json
// and the weights alone; ImageProcessor::for_model asks for the processor file and, on a 404, uses the model's
// defaults with a notice (from_pretrained insists on the file).
#include <gtest/gtest.h>

#include <sstream>

#include "hub_test_support.h"
#include "visbone/api/image_processor.h"
#include "visbone/core/errors.h"
#include "visbone/hub/hub.h"

namespace visbone::hub {
namespace {

namespace fs = std::filesystem;

class ProcessorLookup : public ::testing::Test {
 protected:
  ResolveOptions options(const test::FakeHub& hub) const { return test::fake_hub_options(hub, cache_dir); }
  test::TempDir tmp;
  test::HubEnvironment env{tmp.path() / "hf_home"};
  fs::path cache_dir = tmp.path() / "hub";
};

TEST_F(ProcessorLookup, ResolvingAModelDoesNotAskForTheProcessorFile) {
  test::FakeHub hub;
  const fs::path folder = resolve_model("visbone-test/bit-tiny-digits", options(hub));
  EXPECT_TRUE(fs::exists(folder / "model.safetensors"));
  EXPECT_FALSE(fs::exists(folder / "preprocessor_config.json"));
  EXPECT_EQ(hub.count("HEAD", "preprocessor_config.json"), 0);
  // What preprocesses asks for it, and gets the repository's.
  std::ostringstream notice;
  const auto p = ImageProcessor::for_model("visbone-test/bit-tiny-digits", options(hub), &notice);
  EXPECT_EQ(hub.count("HEAD", "preprocessor_config.json"), 1);
  EXPECT_EQ(p.config().crop_width, ImageProcessorConfig::from_file(test::kModels / "bit-tiny-digits" /
                                                                   "preprocessor_config.json").crop_width);
  EXPECT_EQ(notice.str(), "");
}

TEST_F(ProcessorLookup, A404GivesTheModelsDefaultsWithANotice) {
  test::FakeHub hub;
  std::ostringstream notice;
  const auto p = ImageProcessor::for_model("visbone-test/tiny-preact", options(hub), &notice);
  EXPECT_EQ(p.config().crop_width, ImageProcessorConfig{}.crop_width);
  EXPECT_NE(notice.str().find("does not exist"), std::string::npos) << notice.str();
  EXPECT_THROW(ImageProcessor::from_pretrained("visbone-test/tiny-preact", options(hub)), NotFoundError);
  // The 404 is remembered (.no_exist): offline, the same answer without the hub.
  ResolveOptions offline = options(hub);
  offline.offline = true;
  EXPECT_EQ(ImageProcessor::for_model("visbone-test/tiny-preact", offline, nullptr).config().crop_width,
            ImageProcessorConfig{}.crop_width);
}

}  // namespace
}  // namespace visbone::hub
