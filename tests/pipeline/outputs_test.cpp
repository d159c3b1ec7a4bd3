// The pieces outputs are made of: atomic files, the streaming safetensors writer, output names, UTF-8
// cleaning and the predictions read from heads' records.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>

#include "pipeline_test_support.h"
#include "visbone/core/errors.h"
#include "visbone/core/safetensors.h"
#include "visbone/pipeline/atomic_file.h"
#include "visbone/pipeline/predictions.h"
#include "visbone/pipeline/safetensors_stream.h"
#include "visbone/pipeline/sink_outputs.h"

namespace visbone::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

Tensor iota(Shape shape, float start) {
  Tensor t(std::move(shape));
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = start + static_cast<float>(i);
  return t;
}

TEST(AtomicFile, AppearsOnlyOnCommitAndLeavesNothingOtherwise) {
  TempDir d;
  const fs::path p = d.path() / "sub/out.txt";
  {
    AtomicFile f(p);
    f.write("half");
    EXPECT_FALSE(fs::exists(p)) << "visible before commit";
    EXPECT_TRUE(fs::exists(f.temp_path()));
  }
  EXPECT_FALSE(fs::exists(p));
  EXPECT_TRUE(entries(d.path() / "sub").empty()) << "temporary file left behind";
  {
    AtomicFile f(p);
    f.write("whole");
    f.commit();
  }
  EXPECT_EQ(testing::read_file(p), "whole");
  EXPECT_EQ(entries(d.path() / "sub"), (std::vector<std::string>{"out.txt"}));
}

TEST(AtomicFile, TheFirstInAFolderRemovesTempFilesOfDeadProcesses) {
  TempDir d;
  const pid_t pid = ::fork();  // a process that is gone by the time the file is made
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  const fs::path stale = d.write("out/.predictions.jsonl.tmp." + std::to_string(pid) + ".0", "killed run");
  AtomicFile f(d / "out/predictions.jsonl");
  EXPECT_FALSE(fs::exists(stale));
}

TEST(SafetensorsStream, PerInputTensorsReadBackExactly) {
  TempDir d;
  const fs::path p = d.path() / "f.safetensors";
  {
    SafetensorsStream s(p, false);
    s.add("a.png.embedding", iota({4}, 1));
    s.add("b.png.maps.stage2", iota({2, 3, 3}, 10));
    s.set_metadata("format", "pt");
    EXPECT_THROW(s.add("a.png.embedding", iota({4}, 0)), FormatError);
    EXPECT_FALSE(fs::exists(p));
    s.commit();
  }
  const auto f = SafetensorsFile::open(p);
  ASSERT_EQ(f.tensors().size(), 2u);
  const Tensor a = f.load("a.png.embedding"), b = f.load("b.png.maps.stage2");
  EXPECT_EQ(a.shape(), (Shape{4}));
  EXPECT_EQ(b.shape(), (Shape{2, 3, 3}));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(a.data()[i], 1.0f + static_cast<float>(i));
  for (int i = 0; i < 18; ++i) EXPECT_EQ(b.data()[i], 10.0f + static_cast<float>(i));
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(entries(d.path()), (std::vector<std::string>{"f.safetensors"})) << "scratch files left behind";
}

TEST(SafetensorsStream, StackedRowsFormOneTensorPerName) {
  TempDir d;
  const fs::path p = d.path() / "s.safetensors";
  SafetensorsStream s(p, true);
  for (int r = 0; r < 3; ++r) {
    s.add("embedding", iota({2}, static_cast<float>(10 * r)));
    s.add("maps.stage4", iota({1, 2, 2}, static_cast<float>(100 * r)));
  }
  try {
    s.add("embedding", iota({3}, 0));
    FAIL() << "a row of another shape was stacked";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("this input's shape is [3], earlier inputs' is [2]"),
              std::string::npos)
        << e.what();
  }
  s.commit();
  const auto f = SafetensorsFile::open(p);
  const Tensor e = f.load("embedding"), m = f.load("maps.stage4");
  EXPECT_EQ(e.shape(), (Shape{3, 2}));
  EXPECT_EQ(m.shape(), (Shape{3, 1, 2, 2}));
  EXPECT_EQ(e.data()[4], 20.0f);
  EXPECT_EQ(e.data()[5], 21.0f);
  EXPECT_EQ(m.data()[8], 200.0f);
}

TEST(OutputName, MirrorsTheIdButNeverLeavesTheFolder) {
  // The format's extension is appended, so inputs differing only in extension never share an output.
  EXPECT_EQ(output_name("3/digit_0001.png", "png"), fs::path("3/digit_0001.png.png"));
  EXPECT_EQ(output_name("a/b.jpg", "png"), fs::path("a/b.jpg.png"));
  EXPECT_NE(output_name("cat.png", "png"), output_name("cat.jpg", "png"));
  EXPECT_EQ(output_name("/abs/../x.png", "jpg"), fs::path("abs/__/x.png.jpg"));
  EXPECT_EQ(output_name("clip.mp4/frame_000010", "png"), fs::path("clip.mp4/frame_000010.png"));
  EXPECT_EQ(output_name("", "png"), fs::path("input.png"));
}

TEST(ValidUtf8, ReplacesInvalidBytesOnly) {
  EXPECT_EQ(valid_utf8("caf\xC3\xA9.png"), "caf\xC3\xA9.png");
  EXPECT_EQ(valid_utf8("a\xFF"
                       "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(valid_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD") << "overlong encodings are invalid";
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") << "surrogates are invalid";
}

TEST(ReadPredictions, TakesTheRecordsPredictionsAndAddsLogits) {
  HeadResult r;
  r.record["predictions"] = boost::json::array{{{"label", "cat"}, {"score", 0.75}, {"index", 2}},
                                               {{"label", "dog"}, {"score", 0.25}, {"index", 0}}};
  r.tensors.emplace_back("logits", iota({3}, -1));  // -1, 0, 1
  const auto top = read_predictions(r);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].index, 2);
  EXPECT_EQ(top[0].label, "cat");
  EXPECT_FLOAT_EQ(top[0].score, 0.75f);
  EXPECT_FLOAT_EQ(top[0].logit, 1.0f);
  EXPECT_FLOAT_EQ(top[1].logit, -1.0f);
  // The logit is written next to the score, for the JSON Lines record.
  EXPECT_EQ(r.record.at("predictions").as_array()[0].as_object().at("logit").to_number<double>(), 1.0);

  HeadResult maps;
  maps.record["feature_maps"] = boost::json::object{};
  EXPECT_TRUE(read_predictions(maps).empty());
  HeadResult no_logits;
  no_logits.record["predictions"] = boost::json::array{{{"label", "x"}, {"score", 0.9}, {"index", 0}}};
  EXPECT_TRUE(std::isnan(read_predictions(no_logits)[0].logit));
}

}  // namespace
}  // namespace visbone::pipeline
