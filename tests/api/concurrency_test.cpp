// The documented rule for LoadedBackbone::forward: any number of threads may call it on one backbone; the
// calls run one at a time and each gives what a call made alone gives.
#include <omp.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "api_test_support.h"
#include "visbone/visbone.h"

namespace visbone {
namespace {

using namespace api_test;

TEST(Concurrency, ThreadsSharingABackboneGetTheSequentialResults) {
  BackboneOptions o;
  o.out_features = {"stage2", "stage3", "stage4"};
  o.final_norm = true;
  auto bb = load_backbone(kTiny.string(), o);

  // Distinct inputs (two sizes, so the per-shape primitive cache is exercised from several threads too).
  constexpr int kInputs = 6;
  std::vector<Tensor> inputs;
  for (int i = 0; i < kInputs; ++i)
    inputs.push_back(random_batch({1 + i % 2, 3, i % 3 == 0 ? 64 : 96, 64}, 100u + i));
  std::vector<std::map<std::string, Tensor>> expected;
  for (const auto& in : inputs) expected.push_back(bb->forward(in));

  constexpr int kThreads = 4, kRounds = 3;
  // Every result is kept until the end: a pass must not reuse the memory of a result handed out earlier.
  std::vector<std::vector<std::map<std::string, Tensor>>> got(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      try {
        for (int r = 0; r < kRounds; ++r)
          for (int i = 0; i < kInputs; ++i) got[t].push_back(bb->forward(inputs[(i + t) % kInputs]));
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  for (auto& th : threads) th.join();

  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(errors[t], "") << "thread " << t;
    ASSERT_EQ(got[t].size(), static_cast<std::size_t>(kRounds * kInputs));
    for (int r = 0; r < kRounds; ++r)
      for (int i = 0; i < kInputs; ++i) {
        const auto& result = got[t][static_cast<std::size_t>(r * kInputs + i)];
        const auto& want = expected[static_cast<std::size_t>((i + t) % kInputs)];
        ASSERT_EQ(result.size(), want.size());
        for (const auto& [stage, map] : want)
          EXPECT_TRUE(identical(result.at(stage), map))
              << "thread " << t << " round " << r << " input " << i << " " << stage;
      }
  }
}

TEST(Concurrency, HeadsOnSeveralThreadsShareOneBackbone) {
  auto bb = load_backbone(kTiny.string());
  auto head = make_head("{type: classification, top_k: 3}", *bb);
  const Tensor batch = random_batch({2, 3, 64, 64}, 200);
  const auto expected = run_head(*bb, *head, batch);
  std::vector<std::vector<HeadResult>> got(3);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] { got[t] = run_head(*bb, *head, batch); });
  for (auto& th : threads) th.join();
  for (const auto& g : got) {
    ASSERT_EQ(g.size(), expected.size());
    for (std::size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i].record, expected[i].record);
  }
}

// A backbone that records how many forward calls overlap and the OpenMP setting each call sees.
class ProbeBackbone final : public Backbone {
 public:
  std::vector<std::string> stage_names() const override { return {"stem", "stage1"}; }
  std::vector<std::string> out_features() const override { return {"stage1"}; }
  using Backbone::output_shape;  // output_shape(H, W) stays visible
  std::map<std::string, StageShape> output_shape() const override {
    return {{"stem", {4, 2}}, {"stage1", {8, 4}}};
  }
  int pooled_channels() const override { return 8; }
  int input_channels() const override { return 3; }
  ForwardResult forward(const Tensor& batch, const ForwardRequest&) override {
    const int now = ++inside;
    int seen = max_inside.load();
    while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
    }
    omp_threads_seen = omp_get_max_threads();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    --inside;
    ForwardResult r;
    r.stages["stage1"] = Tensor({batch.dim(0), 8, batch.dim(2) / 4, batch.dim(3) / 4});
    return r;
  }
  std::atomic<int> inside{0}, max_inside{0}, omp_threads_seen{0};
};

TEST(Concurrency, ForwardCallsOnOneBackboneRunOneAtATime) {
  auto probe = std::make_unique<ProbeBackbone>();
  ProbeBackbone& p = *probe;
  BackboneOptions o;
  o.threads = 2;
  LoadedBackbone bb(std::move(probe), o);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i)
        EXPECT_EQ(bb.forward(Tensor({1, 3, 16, 16})).at("stage1").shape(), (Shape{1, 8, 4, 4}));
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(p.max_inside.load(), 1);
  EXPECT_EQ(p.omp_threads_seen.load(), 2);
}

TEST(Concurrency, WrappingAnyBackboneResolvesItsSelection) {
  BackboneOptions o;
  o.out_indices = {0, 1};
  LoadedBackbone bb(std::make_unique<ProbeBackbone>(), o);
  EXPECT_EQ(bb.out_features(), (std::vector<std::string>{"stem", "stage1"}));
  EXPECT_THROW(LoadedBackbone(nullptr, {}), ConfigError);
  o.out_indices = {3};
  EXPECT_THROW(LoadedBackbone(std::make_unique<ProbeBackbone>(), o), ConfigError);
}

}  // namespace
}  // namespace visbone
