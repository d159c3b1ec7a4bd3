// The flow graph's nodes on their own (pipeline/src/graph_stages.h): what each does to the items it is given,
// and that a component's failure becomes the items' error record or a run error naming it, never an
// exception.
#include "graph_stages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <stdexcept>

#include "visbone/core/errors.h"

namespace visbone::pipeline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

WorkPtr work(std::uint64_t seq, std::string id) {
  auto w = std::make_shared<Work>();
  w->item.seq = seq;
  w->item.id = id;
  w->item.path = "/in/" + id;
  return w;
}

// An item with (1, 1, 1, 2) pixels {v, v + 0.5}.
WorkPtr with_pixels(std::uint64_t seq, std::string id, float v) {
  auto w = work(seq, std::move(id));
  w->item.pixels = Tensor({1, 1, 1, 2});
  w->item.pixels.data()[0] = v;
  w->item.pixels.data()[1] = v + 0.5f;
  return w;
}

BatchPtr batch(std::vector<WorkPtr> items) {
  auto b = std::make_shared<Batch>();
  b->items = std::move(items);
  return b;
}

// Gives 3 items, the third one handed-over bytes; or throws after `throw_after` items.
class ListSource final : public Source {
 public:
  explicit ListSource(int throw_after = -1) : throw_after_(throw_after) {}
  std::optional<SourceItem> next() override {
    if (n_ == throw_after_) throw std::runtime_error("disk went away");
    if (n_ == 3) return std::nullopt;
    SourceItem s;
    s.id = "img" + std::to_string(n_);
    s.path = "/in/" + s.id;
    if (n_ == 2) s.bytes = {1, 2, 3};
    ++n_;
    return s;
  }

 private:
  int n_ = 0, throw_after_;
};

TEST(SourceReader, NumbersItemsFromTheShardsFirstThenSendsOneEndMarker) {
  ListSource source;
  RunErrors errors;
  Timers timers;
  SourceReader read(source, "model", 10, errors, timers);
  std::vector<std::uint64_t> seqs;
  std::vector<std::string> ids;
  WorkPtr w;
  while ((w = read()) && !w->item.end) {
    seqs.push_back(w->item.seq);
    ids.push_back(w->item.id);
  }
  ASSERT_TRUE(w);
  EXPECT_EQ(w->item.seq, 13u);
  EXPECT_FALSE(read());  // after the end marker: nothing
  EXPECT_THAT(seqs, ElementsAre(10u, 11u, 12u));
  EXPECT_THAT(ids, ElementsAre("img0", "img1", "img2"));
  EXPECT_TRUE(errors.take().empty());
}

TEST(SourceReader, ASourceThatThrowsEndsTheInputWithARecordAndARunError) {
  ListSource source(2);
  RunErrors errors;
  Timers timers;
  SourceReader read(source, "model", 0, errors, timers);
  EXPECT_EQ(read()->item.id, "img0");
  EXPECT_EQ(read()->item.id, "img1");
  const WorkPtr failed = read();
  EXPECT_EQ(failed->item.id, "img1 (next)");
  EXPECT_EQ(failed->item.error_stage, "source");
  EXPECT_EQ(failed->item.error, "std::runtime_error: disk went away (after input img1)");
  EXPECT_TRUE(read()->item.end);
  EXPECT_FALSE(read());
  EXPECT_THAT(errors.take(), ElementsAre("std::runtime_error: disk went away (after input img1)"));
}

TEST(Decoder, DecodesHandedOverBytesAndRecordsWhatIsNotAnImage) {
  Timers timers;
  const Decoder decode("model", image::DecodeOptions{}, timers);
  cv::Mat gray(3, 5, CV_8UC1, cv::Scalar(7));
  std::vector<std::uint8_t> png;
  ASSERT_TRUE(cv::imencode(".png", gray, png));
  auto good = work(0, "a.png");
  good->item.bytes = png;
  decode(good);
  EXPECT_FALSE(good->item.failed()) << good->item.error;
  EXPECT_TRUE(good->item.decoded);
  EXPECT_EQ(good->item.width, 5);
  EXPECT_EQ(good->item.height, 3);
  EXPECT_TRUE(good->item.bytes.empty());

  auto bad = work(1, "b.png");
  bad->item.bytes = {'n', 'o', 't'};
  decode(bad);
  EXPECT_EQ(bad->item.error_stage, "decode");
  EXPECT_THAT(bad->item.error, HasSubstr("b.png"));

  auto earlier = work(2, "c.png");
  earlier->item.fail("source", "gone");
  decode(earlier);
  EXPECT_EQ(earlier->item.error_stage, "source");  // an item that failed before is passed on as it is
}

// Records the batch it was given; throws when asked to.
class RecordingBackbone final : public Backbone {
 public:
  std::vector<std::string> stage_names() const override { return {"s"}; }
  std::vector<std::string> out_features() const override { return {"s"}; }
  using Backbone::output_shape;
  std::map<std::string, StageShape> output_shape() const override { return {{"s", {1, 1}}}; }
  int pooled_channels() const override { return 1; }
  int input_channels() const override { return 1; }
  ForwardResult forward(const Tensor& input, const ForwardRequest&) override {
    if (fail) throw std::runtime_error("out of weights");
    seen = input.shape();
    values.assign(input.data(), input.data() + input.numel());
    ForwardResult r;
    r.pooled = Tensor({input.dim(0), 1});
    return r;
  }
  bool fail = false;
  Shape seen;
  std::vector<float> values;
};

TEST(BackboneStage, StacksTheItemsThatHaveNotFailedInOrderAndMakesTheJoin) {
  RecordingBackbone backbone;
  Timers timers;
  const BackboneStage stage(backbone, ForwardRequest{}, 0, "", {"cls", "emb"}, timers);
  auto failed = with_pixels(1, "b", 9);
  failed->item.fail("decode", "broken");
  auto b = stage(batch({with_pixels(0, "a", 1), failed, with_pixels(2, "c", 3)}));
  EXPECT_EQ(backbone.seen, (Shape{2, 1, 1, 2}));
  EXPECT_THAT(backbone.values, ElementsAre(1.0f, 1.5f, 3.0f, 3.5f));
  ASSERT_EQ(b->good.size(), 2u);
  EXPECT_EQ(b->good[0]->item.id, "a");
  EXPECT_EQ(b->good[1]->item.id, "c");
  EXPECT_EQ(b->good[0]->item.pixels.numel(), 0);  // released once stacked
  EXPECT_EQ(b->result.pooled.dim(0), 2);
  ASSERT_TRUE(b->heads);
  EXPECT_FALSE(b->heads->put(0, std::vector<HeadResult>(2)));  // the join waits for both heads
  EXPECT_TRUE(b->heads->put(1, std::vector<HeadResult>(2)));
}

TEST(BackboneStage, ABackboneThatThrowsFailsItsItemsNamedByThePlugin) {
  RecordingBackbone backbone;
  backbone.fail = true;
  Timers timers;
  const BackboneStage stage(backbone, ForwardRequest{}, 0, "tiny (plugin libtiny.so): ", {"cls"}, timers);
  auto b = stage(batch({with_pixels(0, "a", 1), with_pixels(1, "b", 2)}));
  EXPECT_TRUE(b->good.empty());
  for (const auto& w : b->items) {
    EXPECT_EQ(w->item.error_stage, "backbone");
    EXPECT_EQ(w->item.error, w->item.path + ": tiny (plugin libtiny.so): std::runtime_error: out of weights");
  }
  ASSERT_TRUE(b->heads);
  EXPECT_TRUE(b->heads->put(0, {}));  // a join over no items: each head reports nothing
}

TEST(BackboneStage, ABatchWithNoGoodItemDoesNotRunTheBackbone) {
  RecordingBackbone backbone;
  Timers timers;
  const BackboneStage stage(backbone, ForwardRequest{}, 0, "", {"cls"}, timers);
  auto only = with_pixels(0, "a", 1);
  only->item.fail("decode", "broken");
  auto b = stage(batch({only}));
  EXPECT_TRUE(backbone.seen.empty());
  EXPECT_TRUE(b->good.empty());
  EXPECT_EQ(only->item.error_stage, "decode");
  ASSERT_TRUE(b->heads);
}

// One result per item, {"predictions": [{label: LABEL}]}; or throws.
class LabelHead final : public Head {
 public:
  explicit LabelHead(std::string label, bool fail = false) : label_(std::move(label)), fail_(fail) {}
  HeadNeeds needs() const override { return {}; }
  std::vector<HeadResult> run(const ForwardResult& f) const override {
    if (fail_) throw std::runtime_error("no classes");
    std::vector<HeadResult> out(static_cast<std::size_t>(f.pooled.dim(0)));
    for (auto& r : out)
      r.record = {{"predictions", boost::json::array{boost::json::object{{"index", 0}, {"label", label_}}}}};
    return out;
  }

 private:
  std::string label_;
  bool fail_;
};

// A batch through the backbone stage with two good items and one that failed, ready for the heads.
BatchPtr backbone_done(RecordingBackbone& backbone, Timers& timers, std::vector<std::string> heads) {
  const BackboneStage stage(backbone, ForwardRequest{}, 0, "", std::move(heads), timers);
  auto failed = with_pixels(1, "b", 9);
  failed->item.fail("decode", "broken");
  return stage(batch({with_pixels(0, "a", 1), failed, with_pixels(2, "c", 3)}));
}

TEST(HeadStage, HeadResultsGiveEveryItemEachHeadsResultInConfigOrder) {
  RecordingBackbone backbone;
  Timers timers;
  auto b = backbone_done(backbone, timers, {"first", "second"});
  const LabelHead cat("cat"), dog("dog");
  // The second head reports first, as parallel heads may.
  EXPECT_FALSE(HeadStage(dog, 1, timers)(b));
  EXPECT_TRUE(HeadStage(cat, 0, timers)(b));
  const auto items = HeadResults({"", ""}, 3)(b);
  ASSERT_EQ(items.size(), 3u);  // every item of the batch, failed ones included, in order
  EXPECT_EQ(items[1]->item.error_stage, "decode");
  for (const std::size_t i : {0u, 2u}) {
    const Item& it = items[i]->item;
    ASSERT_EQ(it.top_k.size(), 2u);
    EXPECT_EQ(it.top_k[0].front().label, "cat");
    EXPECT_EQ(it.top_k[1].front().label, "dog");
    EXPECT_EQ(it.heads.size(), 2u);
  }
  for (const auto& w : items) EXPECT_EQ(w->pending.load(), 3);
  EXPECT_FALSE(b->heads);  // released
}

TEST(HeadStage, AHeadThatThrowsFailsTheBatchsItemsNamingTheHead) {
  RecordingBackbone backbone;
  Timers timers;
  auto b = backbone_done(backbone, timers, {"first", "second"});
  const LabelHead cat("cat"), broken("x", true);
  EXPECT_FALSE(HeadStage(broken, 1, timers)(b));
  EXPECT_TRUE(HeadStage(cat, 0, timers)(b));
  const auto items = HeadResults({"", "knn (plugin libknn.so): "}, 1)(b);
  for (const std::size_t i : {0u, 2u}) {
    EXPECT_EQ(items[i]->item.error_stage, "head second");
    EXPECT_EQ(items[i]->item.error,
              items[i]->item.path + ": knn (plugin libknn.so): std::runtime_error: no classes");
    EXPECT_TRUE(items[i]->item.top_k.empty());
  }
}

class ThrowingSink final : public Sink {
 public:
  void write(const Item& item) override {
    if (item.id == "bad") throw IoError("disk full");
    written.push_back(item.id);
  }
  void finish() override {}
  std::string describe() const override { return "throwing"; }
  std::vector<std::string> written;
};

TEST(SinkWriter, ASinkThatThrowsMissesThatInputOnlyAndTheRunErrorNamesBoth) {
  ThrowingSink sink;
  RunErrors errors;
  Timers timers;
  const SinkWriter write(sink, "sinks[1] csv", errors, timers);
  const auto good = work(0, "good");
  const auto bad = work(1, "bad");
  const auto later = work(2, "later");
  EXPECT_EQ(write(good), good);
  EXPECT_EQ(write(bad), bad);  // passed on to the other sinks and the tally
  EXPECT_EQ(write(later), later);
  EXPECT_THAT(sink.written, ElementsAre("good", "later"));
  EXPECT_FALSE(bad->item.failed());  // the input's own record is not this sink's to change
  EXPECT_THAT(errors.take(), ElementsAre("sinks[1] csv: input bad (/in/bad): disk full"));
}

// An item done with `label` as its true label and `predicted` as the first head's top-1 (none: no
// predictions).
WorkPtr finished(std::uint64_t seq, std::optional<std::string> label, std::optional<std::string> predicted) {
  std::string n = std::to_string(seq);
  auto w = work(seq, "i" + n);
  w->item.content_key = "key" + n;
  w->item.label = std::move(label);
  w->item.top_k.emplace_back();  // a head without predictions comes first
  if (predicted) w->item.top_k.push_back({TopK{0, *predicted}});
  return w;
}

TEST(RunTally, CountsAccuracyFromTheFirstHeadWithPredictionsAndReportsProgress) {
  const std::set<std::string> classes = {"cat", "dog"};
  std::vector<std::string> reported;
  RunTally tally(
      classes, true, Clock::now(), [&](const Progress& p) { reported.push_back(p.id + "/" + p.error); }, 5);
  auto failed = finished(2, "cat", "cat");
  failed->item.fail("decode", "broken");
  for (auto w : {finished(0, "cat", "cat"), finished(1, "dog", "cat"), failed, finished(3, "cow", "dog"),
                 finished(4, "cat", std::nullopt)})
    tally(w);
  EXPECT_EQ(tally.progress.done, 5u);
  EXPECT_EQ(tally.progress.failed, 1u);
  EXPECT_EQ(tally.progress.total, 5u);
  EXPECT_EQ(tally.labeled, 3u);  // not the failed one, not the one without predictions
  EXPECT_EQ(tally.correct, 1u);
  EXPECT_THAT(tally.unknown_labels, ElementsAre("cow"));
  EXPECT_THAT(tally.shard_ids, ElementsAre("i0", "i1", "i2", "i3", "i4"));
  EXPECT_THAT(tally.shard_keys, ElementsAre("key0", "key1", "key2", "key3", "key4"));
  EXPECT_THAT(reported, ElementsAre("i0/", "i1/", "i2/broken", "i3/", "i4/"));
}

}  // namespace
}  // namespace visbone::pipeline
