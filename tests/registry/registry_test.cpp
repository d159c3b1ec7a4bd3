// The registry: components by `type`, duplicates named with both origins, unknown names with what is
// registered and the closest match, parameters checked, head needs checked against the backbone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/support.h"

#include "visbone/core/errors.h"
#include "visbone/heads/components.h"
#include "visbone/registry/registry.h"

namespace visbone::registry {
namespace {

using ::testing::HasSubstr;

// A backbone with fixed shapes: stem 8@2, s1 16@4, s2 32@8; pooled 32.
class FakeBackbone final : public Backbone {
 public:
  std::vector<std::string> stage_names() const override { return {"stem", "s1", "s2"}; }
  std::vector<std::string> out_features() const override { return {"s2"}; }
  using Backbone::output_shape;  // output_shape(H, W) stays visible
  std::map<std::string, StageShape> output_shape() const override {
    return {{"stem", {8, 2}}, {"s1", {16, 4}}, {"s2", {32, 8}}};
  }
  int pooled_channels() const override { return 32; }
  int input_channels() const override { return 3; }
  ForwardResult forward(const Tensor& batch, const ForwardRequest& request) override {
    ForwardResult r;
    for (const auto& s : request.stages)
      r.stages[s] = Tensor({batch.dim(0), output_shape().at(s).channels, 2, 2});
    if (request.pooled) r.pooled = Tensor({batch.dim(0), 32});
    return r;
  }
};

class NeedsHead final : public Head {
 public:
  explicit NeedsHead(HeadNeeds n) : needs_(std::move(n)) {}
  HeadNeeds needs() const override { return needs_; }
  std::vector<HeadResult> run(const ForwardResult&) const override { return {}; }

 private:
  HeadNeeds needs_;
};

class VectorSource final : public Source {
 public:
  explicit VectorSource(int n) : left_(n) {}
  std::optional<SourceItem> next() override {
    if (left_ == 0) return std::nullopt;
    --left_;
    SourceItem item;
    item.id = "item" + std::to_string(left_);
    item.bytes = {1, 2, 3};
    return item;
  }

 private:
  int left_;
};

class CountingSink final : public Sink {
 public:
  void write(const Item&) override { ++written; }
  void finish() override {}
  std::string describe() const override { return "count"; }
  int written = 0;
};

using visbone::testing::message_of;

Registry& with_builtins(Registry& r) {
  heads::register_components(r);
  r.add_backbone("fake", "a fake backbone", [](const Params&) { return std::make_unique<FakeBackbone>(); });
  return r;
}

TEST(Registry, BuildsEveryKindByType) {
  Registry r;
  with_builtins(r);
  r.add_source("vector", "n items",
               [](const Params& p, const SourceContext&) { return std::make_unique<VectorSource>(p.get<int>("n")); });
  r.add_sink("count", "counts records",
             [](const Params&, const SinkContext&) { return std::make_unique<CountingSink>(); });
  auto backbone = r.build_backbone(Params::parse("type: fake", "cfg"));
  EXPECT_EQ(backbone->pooled_channels(), 32);
  HeadContext ctx{*backbone, {}};
  auto head = r.build_head(Params::parse("type: embedding\nnormalize: true", "cfg"), ctx);
  EXPECT_TRUE(head->needs().pooled);
  auto source = r.build_source(Params::parse("type: vector\nn: 2", "cfg"));
  EXPECT_TRUE(source->next().has_value());
  EXPECT_TRUE(source->next().has_value());
  EXPECT_FALSE(source->next().has_value());
  auto sink = r.build_sink(Params::parse("type: count", "cfg"), SinkContext{});
  sink->write({});
  EXPECT_EQ(static_cast<CountingSink&>(*sink).written, 1);
}

TEST(Registry, DuplicateRegistrationNamesBothOrigins) {
  Registry r;
  with_builtins(r);
  const auto msg = message_of([&] {
    r.add_head("embedding", "again", [](const Params&, HeadContext&) { return std::unique_ptr<Head>(); });
  });
  EXPECT_THAT(msg, HasSubstr("head 'embedding' is registered twice: first by built-in, again by built-in"));
  EXPECT_THROW(heads::register_components(r), DuplicateComponentError);

  // Through a registrar with another origin (what plugins get), committed all-or-nothing.
  Staging staging("plugin /opt/x.so");
  staging.add_head("fresh", "new", [](const Params&, HeadContext&) { return std::unique_ptr<Head>(); });
  staging.add_head("classification", "clash",
                   [](const Params&, HeadContext&) { return std::unique_ptr<Head>(); });
  EXPECT_THAT(
      message_of([&] { staging.commit(r); }),
      HasSubstr("head 'classification' is registered twice: first by built-in, again by plugin /opt/x.so"));
  EXPECT_FALSE(r.contains(ComponentKind::head, "fresh"));
  // The same name for different kinds is no clash.
  EXPECT_NO_THROW(
      r.add_sink("embedding", "a sink", [](const Params&, const SinkContext&) { return std::make_unique<CountingSink>(); }));
}

TEST(Registry, UnknownNameListsRegisteredAndClosestMatch) {
  Registry r;
  with_builtins(r);
  auto backbone = r.build_backbone(Params::parse("type: fake", "cfg"));
  HeadContext ctx{*backbone, {}};
  const auto msg = message_of([&] { r.build_head(Params::parse("type: clasification", "pipe.yaml"), ctx); });
  EXPECT_THAT(msg, HasSubstr("pipe.yaml:1:7: type: no head named 'clasification'"));
  EXPECT_THAT(msg, HasSubstr("closest match: 'classification'"));
  EXPECT_THAT(msg, HasSubstr("registered heads: classification, embedding, feature_maps"));
  EXPECT_THROW(r.build_head(Params::parse("type: clasification", "pipe.yaml"), ctx), NotFoundError);
  EXPECT_THAT(message_of([&] { r.build_backbone(Params::parse("type: fakke", "cfg")); }),
              HasSubstr("closest match: 'fake'"));
  EXPECT_THAT(message_of([&] { r.build_sink(Params::parse("type: jsonl", "cfg"), SinkContext{}); }),
              HasSubstr("registered sinks: (none)"));
  EXPECT_THAT(message_of([&] { r.build_backbone(Params::parse("name: x", "cfg")); }),
              HasSubstr("type: is required"));
}

TEST(Registry, UnknownParameterIsRejectedWithTheClosestOne) {
  Registry r;
  with_builtins(r);
  auto backbone = r.build_backbone(Params::parse("type: fake", "cfg"));
  HeadContext ctx{*backbone, {}};
  const auto msg =
      message_of([&] { r.build_head(Params::parse("type: embedding\nnormalise: true", "p.yaml"), ctx); });
  EXPECT_THAT(msg, HasSubstr("unknown parameter 'normalise' for head 'embedding'"));
  EXPECT_THAT(msg, HasSubstr("closest match: 'normalize'"));
  EXPECT_THAT(message_of([&] { r.build_backbone(Params::parse("type: fake\nsize: 3", "p.yaml")); }),
              HasSubstr("it takes no parameters"));
}

TEST(Registry, HeadWhoseNeedsTheBackboneCannotMeetIsRejectedWithBothShapes) {
  Registry r;
  with_builtins(r);
  auto needs = std::make_shared<HeadNeeds>();
  r.add_head("needy", "declares fixed needs",
             [needs](const Params&, HeadContext&) { return std::make_unique<NeedsHead>(*needs); });
  auto backbone = r.build_backbone(Params::parse("type: fake", "cfg"));
  HeadContext ctx{*backbone, {}};
  const auto build = [&] { r.build_head(Params::parse("type: needy", "p.yaml"), ctx); };

  needs->stages = {{"s3", 0}};
  auto msg = message_of(build);
  EXPECT_THAT(msg, HasSubstr("head 'needy' cannot be fed by this backbone: it needs stage 's3'"));
  EXPECT_THAT(msg, HasSubstr("The head needs s3 (any channels)"));
  EXPECT_THAT(msg,
              HasSubstr("the backbone gives stem (8 channels, stride 2), s1 (16 channels, stride 4), s2 (32 "
                        "channels, stride 8), pooled (32 channels); did you mean 's1'?"));
  EXPECT_THROW(build(), ConfigError);  // a stage the backbone lacks is a config mistake (exit status 2)

  needs->stages = {{"s1", 24}};
  EXPECT_THAT(message_of(build), HasSubstr("stage 's1' has 16 channels, the head expects 24"));
  needs->stages = {{"s1", 16}};
  needs->pooled = true;
  needs->pooled_channels = 2048;
  EXPECT_THAT(message_of(build), HasSubstr("the pooled features have 32 channels, the head expects 2048"));
  needs->pooled_channels = 32;
  needs->last_hidden_state = true;
  needs->last_hidden_state_channels = 64;
  EXPECT_THAT(message_of(build), HasSubstr("the last stage 's2' has 32 channels, the head expects 64"));
  needs->last_hidden_state_channels = 32;
  EXPECT_NO_THROW(build());
}

TEST(Registry, ListsEveryComponentWithDescriptionAndOrigin) {
  Registry r;
  with_builtins(r);
  const auto all = r.list();
  ASSERT_EQ(all.size(), 5u);  // fake + the built-in heads
  EXPECT_EQ(all[0].kind, ComponentKind::backbone);
  EXPECT_EQ(all[0].name, "fake");
  EXPECT_EQ(all[1].name, "classification");
  EXPECT_EQ(all[1].origin, "built-in");
  EXPECT_FALSE(all[1].description.empty());
}

TEST(Registry, RejectsEmptyNamesAndMissingFactories) {
  Registry r;
  EXPECT_THROW(r.add_head("", "x", [](const Params&, HeadContext&) { return std::unique_ptr<Head>(); }),
               ConfigError);
  EXPECT_THROW(r.add_backbone("x", "x", nullptr), ConfigError);
}

TEST(Registry, FactoryErrorsKeepTheirTypeAndNameTheComponent) {
  Registry r;
  r.add_backbone("broken", "throws", [](const Params&) -> std::unique_ptr<Backbone> {
    throw NotFoundError("/models/x: config.json missing");
  });
  r.add_backbone("empty", "returns nothing", [](const Params&) { return std::unique_ptr<Backbone>(); });
  const auto msg = message_of([&] { r.build_backbone(Params::parse("type: broken", "p.yaml")); });
  EXPECT_THAT(msg, HasSubstr("p.yaml: backbone 'broken': /models/x: config.json missing"));
  EXPECT_THROW(r.build_backbone(Params::parse("type: broken", "p.yaml")), NotFoundError);
  EXPECT_THAT(message_of([&] { r.build_backbone(Params::parse("type: empty", "p.yaml")); }),
              HasSubstr("returned no backbone"));
}

}  // namespace
}  // namespace visbone::registry
