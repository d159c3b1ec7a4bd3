// `visbone preprocess` as a script uses it: one tensor per image named by its file name, equal to what the
// library computes; bad images reported and skipped with exit status 1; usage errors exit with 2.
#include <gtest/gtest.h>

#include "support/support.h"
#include "test_files.h"
#include "visbone/core/safetensors.h"
#include "visbone/image/decode.h"
#include "visbone/image/image_processor.h"

namespace visbone::image {
namespace {

// stdout and stderr together in `out`, as a shell's 2>&1 would.
::visbone::testing::RunResult run(const std::string& args) {
  auto r = ::visbone::testing::run_visbone_line(args);
  r.out = r.all();
  return r;
}

const std::string kData = VISBONE_TEST_DATA;

void expect_equal(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  for (std::int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data()[i], b.data()[i]) << "element " << i;
}

TEST(PreprocessCli, WritesOneTensorPerImageKeyedByFileName) {
  testing::TempDir dir;
  const std::string out = (dir.path() / "pixels.safetensors").string();
  const std::string model = kData + "/models/bit-tiny-digits";
  const std::string a = kData + "/digits/images/digit_0000.png", b = kData + "/digits/images/digit_0010.png";
  const auto r = run("preprocess --config " + model + " --output " + out + " " + a + " " + b);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto file = SafetensorsFile::open(out);
  ASSERT_EQ(file.tensors().size(), 2u);
  const ImageProcessor processor(ImageProcessorConfig::from_file(model + "/preprocessor_config.json"));
  for (const auto& path : {a, b}) {
    const std::string name = std::filesystem::path(path).filename().string();
    SCOPED_TRACE(name);
    const Tensor t = file.load(name);
    EXPECT_EQ(t.shape(), (Shape{1, 3, 32, 32}));
    expect_equal(t, processor.preprocess(read_image(path, processor.decode_options())));
  }
}

TEST(PreprocessCli, DefaultConfigIsTransformersDefaults) {
  testing::TempDir dir;
  const std::string out = (dir.path() / "p.safetensors").string();
  const std::string img = kData + "/preprocess/images/chelsea.png";
  const auto r = run("preprocess --output " + out + " " + img);
  ASSERT_EQ(r.status, 0) << r.out;
  const ImageProcessor defaults{ImageProcessorConfig{}};
  expect_equal(SafetensorsFile::open(out).load("chelsea.png"), defaults.preprocess(read_image(img)));
}

TEST(PreprocessCli, BadImagesAreReportedAndSkipped) {
  testing::TempDir dir;
  const auto empty = dir.write("empty.png", std::string_view());
  const std::string out = (dir.path() / "p.safetensors").string();
  const std::string good = kData + "/digits/images/digit_0000.png";
  auto r = run("preprocess --output " + out + " " + empty.string() + " " + good);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find(empty.string() + ": empty file"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 image(s) failed"), std::string::npos) << r.out;
  EXPECT_NE(SafetensorsFile::open(out).find("digit_0000.png"), nullptr);
  EXPECT_EQ(SafetensorsFile::open(out).find("empty.png"), nullptr);

  // Nothing decodable: nothing written.
  const std::string none = (dir.path() / "none.safetensors").string();
  r = run("preprocess --output " + none + " " + empty.string());
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_FALSE(std::filesystem::exists(none));
}

TEST(PreprocessCli, UsageErrorsExitWith2) {
  testing::TempDir dir;
  const std::string good = kData + "/digits/images/digit_0000.png";
  EXPECT_EQ(run("preprocess " + good).status, 2);                                  // no --output
  EXPECT_EQ(run("preprocess --output " + (dir.path() / "x").string()).status, 2);  // no images
  const auto r = run("preprocess --output " + (dir.path() / "x").string() + " " + good + " " + good);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("two images are named 'digit_0000.png'"), std::string::npos) << r.out;
  const auto bad_cfg =
      dir.write("bad.json", R"({"resample":9})");
  const auto c = run("preprocess --config " + bad_cfg.string() + " --output " + (dir.path() / "x").string() +
                     " " + good);
  EXPECT_EQ(c.status, 2);
  EXPECT_NE(c.out.find("resample 9 is not a PIL filter"), std::string::npos) << c.out;
}

}  // namespace
}  // namespace visbone::image
