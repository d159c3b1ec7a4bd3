// The pipeline end to end, through the library: the default demo against transformers' digits reference,
// the bit-50 cat against its reference logits, bad inputs among good ones, batching of mixed sizes, every
// sink, a failed run leaving no output, video input and a plugin head.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <set>

#include "pipeline_test_support.h"
#include "visbone/api/register_builtins.h"
#include "support/tensor_compare.h"
#include "support/winograd.h"
#include "visbone/bit/bit_component.h"
#include "visbone/registry/registry.h"
#include "visbone/bit/bit_backbone.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/safetensors.h"
#include "visbone/image/decode.h"
#include "visbone/image/image_processor.h"
#include "visbone/pipeline/config.h"
#include "visbone/pipeline/pipeline.h"
#include "visbone/pipeline/sink_outputs.h"

namespace visbone::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::kData;
using testing::TempDir;

const std::string kDigitsModel = kData + "/models/bit-tiny-digits";

std::vector<boost::json::object> read_jsonl(const fs::path& p) {
  std::vector<boost::json::object> out;
  for (const auto& line : testing::read_lines(p)) out.push_back(boost::json::parse(line).as_object());
  return out;
}

std::string str(const boost::json::value& v) {
  return std::string(v.as_string());
}

const boost::json::array& predictions(const boost::json::object& r,
                                      const std::string& head = "classification") {
  return r.at(head).as_object().at("predictions").as_array();
}

Summary run_config(const fs::path& file, const Overrides& o = {}) {
  auto c = load_config(file);
  apply_overrides(c, o);
  Pipeline p(std::move(c), register_pipeline_builtins);
  return p.run();
}

// The file -> predicted class map of transformers' digits reference.
std::map<std::string, int> digits_reference() {
  std::map<std::string, int> out;
  const auto ref = read_json_file(kData + "/digits/dev_reference.json");
  for (const auto& row : ref.at("rows").as_array())
    out[str(row.at("file"))] = static_cast<int>(row.at("predicted").as_int64());
  return out;
}

TEST(DefaultDemo, MatchesTransformersAndReportsAccuracyFromFolderLabels) {
  TempDir out;
  Overrides o;
  o.output = out.path().string();
  const Summary s = run_config(testing::project_dir() / "configs/default.yaml", o);
  EXPECT_EQ(s.items, 300u);
  EXPECT_EQ(s.failed, 0u);

  const auto ref = digits_reference();
  const auto records = read_jsonl(out.path() / "predictions.jsonl");
  ASSERT_EQ(records.size(), 300u);
  int agree = 0, correct = 0;
  std::string previous;
  for (const auto& r : records) {
    const std::string id = str(r.at("id"));
    EXPECT_LT(previous, id) << "records out of input (sorted folder) order";
    previous = id;
    const std::string file = fs::path(id).filename().string();
    const std::string folder = fs::path(id).parent_path().string();
    EXPECT_EQ(str(r.at("label")), folder);
    const auto& top = predictions(r);
    ASSERT_EQ(top.size(), 3u);
    const std::string predicted = str(top[0].at("label"));
    agree += predicted == std::to_string(ref.at(file));
    correct += predicted == folder;
  }
  std::cout << "[ digits ] predictions equal to transformers' on " << agree << "/300; accuracy " << s.correct
            << "/" << s.labeled << " = " << *s.accuracy() << "\n";
  EXPECT_EQ(agree, 300);
  // The reported accuracy is the share of predictions equal to the folder names...
  EXPECT_EQ(s.labeled, 300u);
  EXPECT_EQ(s.correct, static_cast<std::uint64_t>(correct));
  // ...which, with every prediction equal to the reference's, is the reference's 296/300.
  EXPECT_EQ(s.correct, 296u);

  EXPECT_EQ(testing::read_lines(out.path() / "predictions.csv").size(), 301u);
  // 20 columns x 15 rows of 48-pixel tiles with 12-pixel captions and 2-pixel gaps.
  const cv::Mat sheet = cv::imread((out.path() / "contact_sheet.png").string());
  EXPECT_EQ(sheet.cols, 20 * 50 + 2);
  EXPECT_EQ(sheet.rows, 15 * 62 + 2);
  const auto summary = read_json_file(out.path() / "summary.json").as_object();
  EXPECT_NEAR(summary.at("accuracy").as_double(), static_cast<double>(correct) / 300.0, 1e-12);
}

// `winograd: true` in a pipeline's model really runs Winograd (oneDNN falls back to direct silently): the
// backbone is built by BiT's own factory under another name, which keeps a handle to count its primitives.
TEST(Bit50, WinogradRunsThroughThePipeline) {
  if (!visbone::testing::cpu_has_winograd()) GTEST_SKIP() << visbone::testing::kNoWinograd;
  registry::Registry bits;
  bit::register_components(bits);
  Backbone* built = nullptr;
  registry::Registry app;
  app.add_backbone("bit_counted", "BiT, counted by the test", [&](const registry::Params& p) {
    YAML::Node spec(YAML::NodeType::Map);
    for (const auto& kv : p.node()) {
      (void)p.has(kv.first.Scalar());  // read here, on the caller's behalf
      spec[kv.first.Scalar()] = kv.second;
    }
    spec["type"] = "bit";
    auto b = bits.build_backbone(registry::Params(spec, p.where(), p.base_dir()));
    built = b.get();
    return b;
  });
  for (const bool on : {true, false}) {
    TempDir d;
    const fs::path cfg = d.write("w.yaml", "source: {type: files, paths: [" + kData +
                                               "/preprocess/images/chelsea.png]}\nmodel: {type: bit_counted, "
                                               "checkpoint: " + kData + "/models/bit-50-random-fp16, winograd: " +
                                               (on ? "true" : "false") +
                                               "}\npreprocess: {from: defaults}\nheads: [{type: classification}]\n");
    Pipeline p(load_config(cfg), register_pipeline_builtins, &app);
    ASSERT_EQ(p.run().ok, 1u);
    ASSERT_NE(built, nullptr);
    if (on)
      EXPECT_GT(visbone::testing::winograd_primitives(*built), 0);
    else
      EXPECT_EQ(visbone::testing::winograd_primitives(*built), 0);
  }
}

// With the model's convolutions direct and Winograd (`winograd: true`): the same top-5 and logits.
TEST(Bit50, ClassifiesTheCatWithTheReferenceTop5) {
  for (const std::string model_extra : {"", ", winograd: true"}) {
    TempDir d;
    // The preprocessing of the fixture config `default`, as transformers wrote it.
    const auto pre = read_json_file(kData + "/preprocess/reference.json").at("default").at("config");
    d.write("pre/preprocessor_config.json", boost::json::serialize(pre));
    const fs::path cfg = d.write("bit50.yaml", "source: {type: files, paths: [" + kData +
                                                   "/preprocess/images/chelsea.png]}\n"
                                                   "model: {checkpoint: " +
                                                   kData + "/models/bit-50-random-fp16" + model_extra +
                                                   "}\n"
                                                   "preprocess: {from: pre}\n"
                                                   "heads: [{type: classification, top_k: 5}]\n"
                                                   "sinks: [{type: jsonl, path: out.jsonl}]\n");
    const Summary s = run_config(cfg);
    ASSERT_EQ(s.ok, 1u);

    const auto ref = SafetensorsFile::open(kData + "/models/bit-50-random-fp16/reference.safetensors")
                         .load("chelsea.logits");
    ASSERT_EQ(ref.numel(), 1000);
    // The tolerance is relative to the largest logit, as in every parity check (support/tensor_compare.h).
    double scale = 0;
    for (std::int64_t i = 0; i < ref.numel(); ++i) scale = std::max(scale, std::fabs(double{ref.data()[i]}));
    std::vector<int> order(1000);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + 5, order.end(),
                      [&](int a, int b) { return ref.data()[a] > ref.data()[b]; });
    const auto records = read_jsonl(d.path() / "out.jsonl");
    ASSERT_EQ(records.size(), 1u);
    const auto& top = predictions(records[0]);
    ASSERT_EQ(top.size(), 5u);
    std::cout << "[ bit-50" << model_extra << " ] top-5";
    for (int k = 0; k < 5; ++k) {
      const auto& p = top[static_cast<std::size_t>(k)].as_object();
      const int index = static_cast<int>(p.at("index").as_int64());
      std::cout << " " << index << " (" << p.at("logit").as_double() << " vs "
                << ref.data()[order[static_cast<std::size_t>(k)]] << ")";
      EXPECT_EQ(index, order[static_cast<std::size_t>(k)]) << "rank " << k;
      EXPECT_NEAR(p.at("logit").as_double(), ref.data()[index], visbone::testing::kF32Tolerance * scale);
    }
    std::cout << "\n";
  }
}

TEST(BadInputs, BecomeErrorRecordsInInputOrderAndTheRunGoesOn) {
  TempDir d;
  const std::string good = testing::read_file(kData + "/digits/images/digit_0000.png");
  const std::string other = testing::read_file(kData + "/digits/images/digit_0010.png");
  d.write("in/a_good.png", good);
  d.write("in/b_corrupt.png", "\x89PNG\r\n\x1a\n garbage that is not a PNG at all");
  d.write("in/c_empty.png", "");
  d.write("in/d_good.png", other);
  d.write("in/e_huge.png", testing::png_header_only(100000, 100000));
  d.write("in/f_text.jpg", "just some text, not a JPEG");
  d.write("in/g_good.png", good);
  d.write("in/h_truncated.png", good.substr(0, good.size() / 2));
  d.write("in/i_big.png", testing::png_bytes(40, 40, 7));  // over max_pixels below
  const fs::path cfg =
      d.write("c.yaml", "source: {type: folder, path: in}\nmodel: {checkpoint: " + kDigitsModel +
                            "}\nheads: [{type: classification}]\n"
                            "sinks: [{type: jsonl, path: out.jsonl}, {type: csv, path: out.csv}]\n"
                            "max_pixels: 1000\nbatch_size: 2\n");
  const Summary s = run_config(cfg);
  EXPECT_EQ(s.items, 9u);
  EXPECT_EQ(s.ok, 3u);
  EXPECT_EQ(s.failed, 6u);

  const auto records = read_jsonl(d.path() / "out.jsonl");
  const std::vector<std::string> expected_ids = {"a_good.png", "b_corrupt.png",   "c_empty.png",
                                                 "d_good.png", "e_huge.png",      "f_text.jpg",
                                                 "g_good.png", "h_truncated.png", "i_big.png"};
  ASSERT_EQ(records.size(), expected_ids.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    EXPECT_EQ(str(r.at("id")), expected_ids[i]);
    EXPECT_EQ(r.at("index").to_number<std::uint64_t>(), i);
    const bool is_good = expected_ids[i].find("good") != std::string::npos;
    EXPECT_EQ(r.at("ok").as_bool(), is_good) << expected_ids[i];
    if (is_good) {
      EXPECT_EQ(predictions(r).size(), 5u);
    } else {
      EXPECT_EQ(str(r.at("stage")), "decode");
      EXPECT_NE(str(r.at("error")).find(expected_ids[i]), std::string::npos) << "the error names the file";
      EXPECT_FALSE(r.contains("classification"));
    }
  }
  EXPECT_NE(str(records[4].at("error")).find("pixels"), std::string::npos) << str(records[4].at("error"));
  EXPECT_NE(str(records[8].at("error")).find("1000"), std::string::npos) << str(records[8].at("error"));
  // The good inputs get exactly what a clean run gives them.
  EXPECT_EQ(str(predictions(records[0])[0].at("label")), "0");
  EXPECT_EQ(records[0].at("classification"), records[6].at("classification"));
  // CSV: one row per input, errors in their column.
  const auto csv = testing::read_lines(d.path() / "out.csv");
  ASSERT_EQ(csv.size(), 10u);
  EXPECT_EQ(csv[3].rfind("2,c_empty.png,", 0), 0u) << csv[3];
  EXPECT_NE(csv[3].find("c_empty.png:"), std::string::npos) << csv[3];
}

// in/00.png .. in/{count-1}.png: digits resized to size(n) x size(n) (0: an unreadable file instead).
void write_sized_digits(const TempDir& d, int count, const std::function<int(int)>& size) {
  fs::create_directories(d.path() / "in");
  int n = 0;
  for (const auto& [file, cls] : digits_reference()) {
    if (n == count) break;
    char name[32];
    std::snprintf(name, sizeof name, "in/%02d.png", n);
    if (const int side = size(n++); side == 0) {
      d.write(name, "not a png");
    } else {
      cv::Mat m = cv::imread(kData + "/digits/images/" + file, cv::IMREAD_GRAYSCALE);
      cv::resize(m, m, cv::Size(side, side), 0, 0, cv::INTER_NEAREST);
      cv::imwrite((d.path() / name).string(), m);
    }
  }
}

// 32x32 and 40x40 versions of digits, interleaved, without resize or crop: batches must split by size.
TEST(Batching, MixedSizesGiveTheSameResultsAsOneAtATimeInInputOrder) {
  TempDir d;
  write_sized_digits(d, 19,
                     [](int n) { return (n % 5 == 2 || n % 5 == 3) ? 40 : 32; });  // runs of both sizes
  const std::string base = "source: {type: folder, path: in}\nmodel: {checkpoint: " + kDigitsModel +
                           "}\npreprocess: {do_resize: false, do_center_crop: false}\n"
                           "heads: [{type: classification, top_k: 10}]\n"
                           "concurrency: {decode: 3, preprocess: 3}\n";
  const fs::path batched = d.write("b.yaml", base + "sinks: [{type: jsonl, path: b.jsonl}]\nbatch_size: 4\n");
  const fs::path single = d.write("s.yaml", base + "sinks: [{type: jsonl, path: s.jsonl}]\nbatch_size: 1\n");
  EXPECT_EQ(run_config(batched).ok, 19u);
  EXPECT_EQ(run_config(single).ok, 19u);
  const auto b = read_jsonl(d.path() / "b.jsonl"), s = read_jsonl(d.path() / "s.jsonl");
  ASSERT_EQ(b.size(), 19u);
  ASSERT_EQ(s.size(), 19u);
  for (std::size_t i = 0; i < b.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%02zu.png", i);
    EXPECT_EQ(str(b[i].at("id")), name);
    EXPECT_EQ(b[i].at("width").as_int64(), (i % 5 == 2 || i % 5 == 3) ? 40 : 32);
    const auto& pb = predictions(b[i]);
    const auto& ps = predictions(s[i]);
    for (std::size_t k = 0; k < pb.size(); ++k) {
      EXPECT_EQ(pb[k].at("index"), ps[k].at("index")) << name << " rank " << k;
      EXPECT_EQ(pb[k].at("logit").as_double(), ps[k].at("logit").as_double()) << name << " rank " << k;
    }
  }
}

// select_sources: one pipeline (one model load) run over other inputs gives the files a pipeline made for
// those inputs gives, byte for byte; `visbone fit` runs the images its feature cache lacks this way.
TEST(Pipeline, SelectSourcesRunsOtherInputsWithTheSameModel) {
  TempDir d;
  write_sized_digits(d, 6, [](int) { return 32; });
  const auto yaml = [&](const std::string& source, const std::string& out) {
    return source + "\nmodel: {checkpoint: " + kDigitsModel +
           "}\nheads: [{type: classification, top_k: 3}, {type: embedding}]\n"
           "sinks: [{type: jsonl, path: " +
           out + ".jsonl}, {type: safetensors, path: " + out + ".safetensors}]\n";
  };
  const std::string some = "source: {type: files, paths: [in/01.png, in/04.png]}";
  Pipeline p(load_config(d.write("all.yaml", yaml("source: {type: folder, path: in}", "x"))),
             register_pipeline_builtins);
  EXPECT_EQ(p.run().ok, 6u);
  EXPECT_EQ(testing::read_lines(d.path() / "x.jsonl").size(), 6u);
  p.select_sources(load_config(d.write("some.yaml", yaml(some, "unused"))).sources);
  const Summary again = p.run();
  EXPECT_EQ(again.ok, 2u);
  EXPECT_EQ(run_config(d.write("fresh.yaml", yaml(some, "y"))).ok, 2u);
  for (const char* ext : {".jsonl", ".safetensors"})
    EXPECT_EQ(testing::read_file(d.path() / ("x" + std::string(ext))),
              testing::read_file(d.path() / ("y" + std::string(ext))))
        << ext;
}

// Three sizes interleaved (32, 40, 48, 32, ...) with an unreadable file among them: the batcher groups them
// by size (batcher_test.cpp) and every tensor equals what batch size 1 gives, bit for bit, in input order;
// also with the in-flight limit at its smallest (batch_size), the window the batcher may wait over.
TEST(Batching, InterleavedSizesAreBatchedBySizeAndEqualBatchSizeOne) {
  TempDir d;
  write_sized_digits(d, 23, [](int n) { return n == 9 ? 0 : 32 + 8 * (n % 3); });
  const std::string base = "source: {type: folder, path: in}\nmodel: {checkpoint: " + kDigitsModel +
                           "}\npreprocess: {do_resize: false, do_center_crop: false}\n"
                           "heads:\n  - {type: classification, top_k: 3}\n"
                           "  - {type: feature_maps, out_features: [stage2, stage4]}\n  - {type: embedding}\n"
                           "concurrency: {decode: 3, preprocess: 3}\nfail_on_error: false\n";
  const auto run = [&](const std::string& name, const std::string& batching) {
    const fs::path cfg =
        d.write(name + ".yaml", base + batching + "output_dir: " + name +
                                    "\nsinks:\n  - {type: safetensors, path: t.safetensors}\n"
                                    "  - {type: jsonl, path: r.jsonl, tensors: false}\n");
    const Summary s = run_config(cfg);
    EXPECT_EQ(s.ok, 22u) << name;
    EXPECT_EQ(s.failed, 1u) << name;
    return std::pair{testing::read_file(d / name / "t.safetensors"),
                     testing::read_file(d / name / "r.jsonl")};
  };
  const auto single = run("single", "batch_size: 1\n");
  const auto batched = run("batched", "batch_size: 4\n");
  const auto tight = run("tight", "batch_size: 4\nmax_in_flight: 4\n");
  EXPECT_EQ(batched.first, single.first) << "feature maps and embeddings, bit for bit";
  EXPECT_EQ(tight.first, single.first);
  EXPECT_EQ(batched.second, single.second) << "records (ids, sizes, logits, the failure) in input order";
  EXPECT_EQ(tight.second, single.second);
  const auto records = read_jsonl(d.path() / "batched" / "r.jsonl");
  ASSERT_EQ(records.size(), 23u);
  EXPECT_EQ(records[4].at("width").as_int64(), 40);
  EXPECT_FALSE(records[9].at("ok").as_bool());
}

TEST(Sinks, FeatureMapsEmbeddingsAnnotatedImagesAndHeatMaps) {
  TempDir d;
  const std::vector<std::string> files = {"digit_0000.png", "digit_0010.png", "digit_0011.png",
                                          "digit_0014.png", "digit_0018.png"};
  std::string paths;
  for (const auto& f : files) paths += (paths.empty() ? "" : ", ") + kData + "/digits/images/" + f;
  const fs::path cfg =
      d.write("c.yaml", "source: {type: files, paths: [" + paths +
                            "]}\n"
                            "model: {checkpoint: " +
                            kDigitsModel +
                            "}\n"
                            "heads:\n"
                            "  - {type: classification, top_k: 2}\n"
                            "  - {type: feature_maps, out_features: [stage2, stage4]}\n"
                            "  - {type: embedding, normalize: true}\n"
                            "sinks:\n"
                            "  - {type: safetensors, path: per_input.safetensors}\n"
                            "  - {type: safetensors, path: stacked.safetensors, stack: true}\n"
                            "  - {type: annotated_images, path: annotated}\n"
                            "  - {type: heatmap, path: heat, stage: stage2}\n"
                            "  - {type: jsonl, path: out.jsonl}\n"
                            "output_dir: out\nbatch_size: 2\n");
  EXPECT_EQ(run_config(cfg).ok, 5u);
  const fs::path out = d.path() / "out";

  // What the backbone gives for the first input on its own.
  auto backbone = bit::BitBackbone::from_pretrained(kDigitsModel);
  const image::ImageProcessor processor(
      image::ImageProcessorConfig::from_file(kDigitsModel + "/preprocessor_config.json"));
  const Tensor pixels = processor.preprocess(
      image::read_image(kData + "/digits/images/" + files[0], processor.decode_options()));
  const auto direct = backbone->forward(pixels, {{"stage2", "stage4"}, true, false});

  const auto per = SafetensorsFile::open(out / "per_input.safetensors");
  EXPECT_EQ(per.tensors().size(), files.size() * 3) << "stage2, stage4 and the embedding per input";
  const std::string id0 = kData + "/digits/images/" + files[0];
  const Tensor s2 = per.load(id0 + ".feature_maps.stage2");
  const Shape& want = direct.stages.at("stage2").shape();
  EXPECT_EQ(s2.shape(), Shape(want.begin() + 1, want.end()));
  // Stored as float32 (the sink writes F32), so the float32 budget.
  const TensorInfo* stored = per.find(id0 + ".feature_maps.stage2");
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(stored->dtype, DType::F32);
  EXPECT_TRUE(
      visbone::testing::near(s2.view(want), direct.stages.at("stage2"), visbone::testing::kF32Tolerance));
  const Tensor e = per.load(id0 + ".embedding");
  EXPECT_EQ(e.shape(), (Shape{backbone->pooled_channels()}));
  double norm = 0;
  for (const float v : e) norm += static_cast<double>(v) * v;
  EXPECT_NEAR(norm, 1.0, 1e-5);
  EXPECT_EQ(per.find(id0 + ".classification.logits"), nullptr)
      << "classification heads are left out by default";

  const auto stacked = SafetensorsFile::open(out / "stacked.safetensors");
  const Tensor st4 = stacked.load("feature_maps.stage4");
  EXPECT_EQ(st4.dim(0), 5);
  EXPECT_EQ(stacked.load("embedding").shape(), (Shape{5, backbone->pooled_channels()}));
  const auto ids = boost::json::parse(stacked.metadata().at("ids")).as_array();
  ASSERT_EQ(ids.size(), 5u);
  EXPECT_EQ(str(ids[3]), kData + "/digits/images/" + files[3]);

  for (const auto& f : files) {
    const fs::path rel = output_name(kData + "/digits/images/" + f, "png");
    const cv::Mat a = cv::imread((out / "annotated" / rel).string());
    ASSERT_FALSE(a.empty()) << rel;
    EXPECT_EQ(a.cols, 256) << "8x8 digits are enlarged to min_size";
    const cv::Mat h = cv::imread((out / "heat" / rel).string());
    ASSERT_FALSE(h.empty()) << rel;
    EXPECT_EQ(h.cols, 256) << "the 32x32 model view, enlarged";
  }
  const auto records = read_jsonl(out / "out.jsonl");
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].at("feature_maps").at("feature_maps").at("stage2").as_array().size(), 3u);
  EXPECT_TRUE(records[0].contains("embedding"));
}

// #14: two inputs that differ only in extension give two images in each drawing sink (the output name keeps
// the input's extension), and embeddings and feature maps go to tensors.safetensors when no safetensors sink
// is named (a JSON Lines sink with `tensors: false` leaves their arrays out). summary.json lists outputs as
// objects.
TEST(Outputs, CatPngAndCatJpgGiveTwoImagesAndTensorsGoToABinaryFileByDefault) {
  TempDir d;
  const std::string png = testing::read_file(kData + "/digits/images/digit_0000.png");
  d.write("in/cat.png", png);
  cv::imwrite((d.path() / "in/cat.jpg").string(), cv::imread(kData + "/digits/images/digit_0010.png"));
  const fs::path cfg = d.write(
      "c.yaml", "source: {type: folder, path: in}\nmodel: {checkpoint: " + kDigitsModel +
                    "}\nheads:\n  - {type: classification}\n  - {type: feature_maps, out_features: [stage2]}\n"
                    "  - {type: embedding}\nsinks:\n  - {type: annotated_images, path: annotated}\n"
                    "  - {type: heatmap, path: heat, stage: stage2}\n  - {type: jsonl, path: out.jsonl, tensors: false}\n"
                    "summary: summary.json\noutput_dir: out\n");
  EXPECT_EQ(run_config(cfg).ok, 2u);
  const fs::path out = d.path() / "out";
  for (const char* sink : {"annotated", "heat"}) {
    EXPECT_TRUE(fs::exists(out / sink / "cat.png.png")) << sink;
    EXPECT_TRUE(fs::exists(out / sink / "cat.jpg.png")) << sink;
  }
  const auto tensors = SafetensorsFile::open(out / "tensors.safetensors");
  EXPECT_EQ(tensors.tensors().size(), 4u) << "stage2 and the embedding of each input";
  EXPECT_NE(tensors.find("cat.jpg.embedding"), nullptr);
  EXPECT_NE(tensors.find("cat.png.feature_maps.stage2"), nullptr);
  for (const auto& r : read_jsonl(out / "out.jsonl")) {
    EXPECT_TRUE(r.at("embedding").as_object().empty()) << "no JSON array of the embedding with tensors: false";
    EXPECT_TRUE(r.at("feature_maps").as_object().contains("feature_maps")) << "shapes stay";
  }
  const auto summary = read_json_file((out / "summary.json").string()).as_object();
  const auto& outputs = summary.at("outputs").as_array();
  ASSERT_EQ(outputs.size(), 5u);
  EXPECT_EQ(outputs[0].as_object().at("sink").as_string(), "annotated_images");
  EXPECT_EQ(outputs[0].as_object().at("path").as_string(), (out / "annotated").string());
  EXPECT_EQ(outputs[3].as_object().at("sink").as_string(), "safetensors");
  EXPECT_EQ(outputs[3].as_object().at("path").as_string(), (out / "tensors.safetensors").string());
  EXPECT_EQ(outputs[4].as_object().at("sink").as_string(), "summary");
}

// A JSON Lines sink leaves an embedding's values to the binary sinks by default (#14: no 24 KB JSON array per
// image) and keeps them with `tensors: true`; a named safetensors sink means no default one.
TEST(Outputs, ExplicitSinksForTensorsAreKept) {
  TempDir d;
  const fs::path cfg = d.write(
      "c.yaml", "source: {type: files, paths: [" + kData +
                    "/digits/images/digit_0000.png]}\nmodel: {checkpoint: " + kDigitsModel +
                    "}\nheads: [{type: embedding}]\nsinks:\n"
                    "  - {type: jsonl, path: out.jsonl}\n  - {type: jsonl, path: all.jsonl, tensors: true}\n"
                    "  - {type: safetensors, path: e.safetensors, stack: true}\noutput_dir: out\n");
  EXPECT_EQ(run_config(cfg).ok, 1u);
  const auto records = read_jsonl(d.path() / "out/out.jsonl");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].at("embedding").as_object().empty()) << "no JSON array of the embedding by default";
  const auto all = read_jsonl(d.path() / "out/all.jsonl");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].at("embedding").at("embedding").as_array().size(), 256u);
  EXPECT_TRUE(fs::exists(d.path() / "out/e.safetensors"));
  EXPECT_FALSE(fs::exists(d.path() / "out/tensors.safetensors"));
}

// A sink that fails on an input (stacking maps of two sizes cannot work) misses that input only: the error
// names the sink and the input, and the folder is marked incomplete (the earlier run's _SUCCESS removed).
TEST(Atomicity, ARunWhoseSinkFailsIsMarkedIncomplete) {
  TempDir d;
  d.write("in/a.png", testing::png_bytes(32, 32, 1));
  d.write("in/b.png", testing::png_bytes(40, 40, 2));
  const fs::path cfg =
      d.write("c.yaml", "source: {type: folder, path: in}\nmodel: {checkpoint: " + kDigitsModel +
                            "}\npreprocess: {do_resize: false, do_center_crop: false}\n"
                            "heads: [{type: classification}, {type: feature_maps}]\n"
                            "sinks: [{type: jsonl, path: out.jsonl}, "
                            "{type: safetensors, path: f.safetensors, stack: true}]\n"
                            "output_dir: out\nbatch_size: 1\n");
  d.write("out/_SUCCESS", "");
  const Summary s = run_config(cfg);
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_NE(s.errors[0].find("sinks[1] safetensors: input "), std::string::npos) << s.errors[0];
  EXPECT_FALSE(fs::exists(d.path() / "out/_SUCCESS"));
  EXPECT_EQ(read_jsonl(d.path() / "out/out.jsonl").size(), 2u) << "the other sink goes on";
}

TEST(Video, FramesAreInputsWithFrameIds) {
  TempDir d;
  const fs::path video = d.path() / "clip.avi";
  {
    cv::VideoWriter w(video.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, cv::Size(32, 32));
    const cv::Mat digit = cv::imread(kData + "/digits/images/digit_0000.png");
    cv::Mat frame;
    cv::resize(digit, frame, cv::Size(32, 32), 0, 0, cv::INTER_NEAREST);
    for (int i = 0; i < 7; ++i) w.write(frame);
  }
  const fs::path cfg = d.write(
      "c.yaml", "source: {type: video, path: clip.avi, every: 2}\nmodel: {checkpoint: " + kDigitsModel +
                    "}\nheads: [{type: classification}]\n"
                    "sinks: [{type: jsonl, path: out.jsonl}]\n");
  EXPECT_EQ(run_config(cfg).ok, 4u);
  const auto records = read_jsonl(d.path() / "out.jsonl");
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(str(records[3].at("id")), "clip.avi/frame_000006");
  EXPECT_EQ(str(predictions(records[0])[0].at("label")), "0");
}

TEST(Plugins, APluginHeadFromTheConfigClassifiesAndCountsTowardsAccuracy) {
  TempDir d;
  // Support: two images per class, by the reference's true labels; queries: other images of those classes.
  const auto ref = read_json_file(kData + "/digits/dev_reference.json");
  std::map<int, int> support, queries;
  for (const auto& row : ref.at("rows").as_array()) {
    const int label = static_cast<int>(row.at("label").as_int64());
    const std::string file = str(row.at("file"));
    const std::string bytes = testing::read_file(kData + "/digits/images/" + file);
    if (support[label] < 2) {
      d.write("support/" + std::to_string(label) + "/" + file, bytes);
      ++support[label];
    } else if (queries[label] < 2) {
      d.write("queries/" + std::to_string(label) + "/" + file, bytes);
      ++queries[label];
    }
  }
  const fs::path cfg = d.write(
      "c.yaml",
      "plugins: [" + std::string(VISBONE_PLUGIN_DIR) +
          "/fewshot_head.so]\n"
          "source: {type: folder, path: queries, labels_from_folders: true}\n"
          "model: {checkpoint: " +
          kDigitsModel +
          "}\n"
          "heads: [{type: fewshot_prototype, name: fewshot, support: support, top_k: 2}]\n"
          "sinks: [{type: jsonl, path: out.jsonl}, {type: csv, path: out.csv, head: fewshot, top_k: 2}]\n");
  const Summary s = run_config(cfg);
  EXPECT_EQ(s.ok, 20u);
  EXPECT_EQ(s.labeled, 20u) << "the plugin head's predictions count for accuracy";
  const auto records = read_jsonl(d.path() / "out.jsonl");
  EXPECT_EQ(predictions(records[0], "fewshot").size(), 2u);
  EXPECT_EQ(testing::read_lines(d.path() / "out.csv").front(),
            "index,id,path,label,error,label_1,index_1,score_1,logit_1,label_2,index_2,score_2,logit_2,"
            "content_key");
}

}  // namespace
}  // namespace visbone::pipeline

namespace visbone::pipeline {
namespace {

// The shipped bit-50 configs, run with the local random-weight copy of the google/bit-50 architecture in
// place of the hub checkpoint (tests do not download), on two of the images they name.
class ShippedConfigs : public ::testing::Test {
 protected:
  PipelineConfig load(const std::string& name) {
    auto c = load_config(testing::project_dir() / "configs" / name);
    Overrides o;
    o.input = (d.path() / "in").string();
    o.output = (d.path() / "out").string();
    apply_overrides(c, o);
    c.model.spec["checkpoint"] = kData + "/models/bit-50-random-fp16";
    c.model.spec.remove("preset");
    // The local copy has no preprocessor_config.json; google/bit-50's matches the fixture config `default`.
    c.preprocess.from = (d.path() / "pre").string();
    return c;
  }
  void SetUp() override {
    for (const char* f : {"chelsea.png", "camera_gray.png"})
      d.write(std::string("in/") + f, testing::read_file(kData + "/preprocess/images/" + f));
    const auto pre = read_json_file(kData + "/preprocess/reference.json").at("default").at("config");
    d.write("pre/preprocessor_config.json", boost::json::serialize(pre));
  }
  TempDir d;
};

// Each shipped config parses into a complete pipeline (a source, heads and sinks); the list is spelt out so a
// config added without a test, or one gone missing, fails here.
TEST_F(ShippedConfigs, EveryConfigParses) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(testing::project_dir() / "configs")) {
    if (e.path().extension() != ".yaml") continue;
    SCOPED_TRACE(e.path().string());
    names.insert(e.path().filename().string());
    const auto c = load_config(e.path());
    EXPECT_FALSE(c.sources.empty());
    EXPECT_FALSE(c.heads.empty());
    EXPECT_FALSE(c.sinks.empty());
  }
  EXPECT_EQ(names, (std::set<std::string>{"bit50-classify.yaml", "bit50-features.yaml", "default.yaml"}));
}

TEST_F(ShippedConfigs, Bit50ClassifyWritesTop5AndAnnotatedImages) {
  auto c = load("bit50-classify.yaml");
  EXPECT_EQ(c.model.type, "bit-50") << "the preset names the backbone type";
  Pipeline p(std::move(c), register_pipeline_builtins);
  EXPECT_EQ(p.run().ok, 2u);
  const auto csv = testing::read_lines(d.path() / "out/top5.csv");
  ASSERT_EQ(csv.size(), 3u);
  EXPECT_NE(csv[0].find("label_5"), std::string::npos);
  EXPECT_FALSE(cv::imread((d.path() / "out/annotated/chelsea.png.png").string()).empty());
  EXPECT_EQ(read_jsonl(d.path() / "out/predictions.jsonl").size(), 2u);
}

TEST_F(ShippedConfigs, Bit50FeaturesWritesEveryStageAndStackedEmbeddings) {
  Pipeline p(load("bit50-features.yaml"), register_pipeline_builtins);
  EXPECT_EQ(p.run().ok, 2u);
  const auto f = SafetensorsFile::open(d.path() / "out/features.safetensors");
  EXPECT_EQ(f.load("chelsea.png.feature_maps.stage1").shape(), (Shape{256, 56, 56}));
  EXPECT_EQ(f.load("chelsea.png.feature_maps.stage2").shape(), (Shape{512, 28, 28}));
  EXPECT_EQ(f.load("chelsea.png.feature_maps.stage3").shape(), (Shape{1024, 14, 14}));
  EXPECT_EQ(f.load("camera_gray.png.feature_maps.stage4").shape(), (Shape{2048, 7, 7}));
  const auto e = SafetensorsFile::open(d.path() / "out/embeddings.safetensors");
  EXPECT_EQ(e.load("embedding").shape(), (Shape{2, 2048}));
  EXPECT_EQ(e.metadata().at("ids"), "[\"camera_gray.png\",\"chelsea.png\"]");
  EXPECT_FALSE(cv::imread((d.path() / "out/heatmaps/chelsea.png.png").string()).empty());
}

}  // namespace
}  // namespace visbone::pipeline
