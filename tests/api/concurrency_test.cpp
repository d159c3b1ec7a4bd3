// The documented rule for LoadedBackbone::forward: any number of threads may call it on one backbone and each
// call gives what a call made alone gives; passes of a reentrant backbone (BiT) overlap, up to `threads` at
// once with the threads divided between them, and other backbones' passes run one at a time.
#include <omp.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "api_test_support.h"
#include "visbone/bit/bit_backbone.h"
#include "visbone/bit/precision.h"
#include "visbone/visbone.h"

namespace visbone {
namespace {

using namespace api_test;

// `threads` threads each run every input `rounds` times on `bb` (thread t starting at input t), all at once;
// every result must equal `expected` (the sequential pass of that input) bit for bit. Every result is kept
// until the end: a pass must not reuse the memory of a result handed out earlier.
void expect_threads_get_the_sequential_results(LoadedBackbone& bb, const std::vector<Tensor>& inputs,
                                               const std::vector<std::map<std::string, Tensor>>& expected,
                                               int threads, int rounds, const std::string& what) {
  const std::size_t n = inputs.size();
  std::vector<std::vector<std::map<std::string, Tensor>>> got(static_cast<std::size_t>(threads));
  std::vector<std::string> errors(static_cast<std::size_t>(threads));
  std::vector<std::thread> running;
  for (std::size_t t = 0; t < got.size(); ++t)
    running.emplace_back([&, t] {
      try {
        for (int r = 0; r < rounds; ++r)
          for (std::size_t i = 0; i < n; ++i) got[t].push_back(bb.forward(inputs[(i + t) % n]));
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  for (auto& th : running) th.join();
  for (std::size_t t = 0; t < got.size(); ++t) {
    ASSERT_EQ(errors[t], "") << what << " thread " << t;
    ASSERT_EQ(got[t].size(), static_cast<std::size_t>(rounds) * n);
    for (std::size_t k = 0; k < got[t].size(); ++k) {
      const auto& want = expected[(k % n + t) % n];
      ASSERT_EQ(got[t][k].size(), want.size());
      for (const auto& [stage, map] : want)
        EXPECT_TRUE(identical(got[t][k].at(stage), map))
            << what << " thread " << t << " pass " << k << " " << stage;
    }
  }
}

TEST(Concurrency, ThreadsSharingABackboneGetTheSequentialResults) {
  BackboneOptions o;
  o.out_features = {"stage2", "stage3", "stage4"};
  o.final_norm = true;
  auto bb = load_backbone(kTiny.string(), o);

  // Distinct inputs (two sizes, so the per-shape primitive cache is exercised from several threads too).
  std::vector<Tensor> inputs;
  for (int i = 0; i < 6; ++i)
    inputs.push_back(random_batch({1 + i % 2, 3, i % 3 == 0 ? 64 : 96, 64}, 100u + i));
  std::vector<std::map<std::string, Tensor>> expected;
  for (const auto& in : inputs) expected.push_back(bb->forward(in));
  expect_threads_get_the_sequential_results(*bb, inputs, expected, 4, 3, "tiny-preact");
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

// BiT's passes overlap and divide the threads (3 callers on 2 threads: passes of 2 and 1 threads, whose
// primitives are made per thread count); every result equals the sequential pass's and
// a pass made with one thread alone, bit for bit (bit-50 at batch 1 and 2), whatever the algorithm: oneDNN's
// Winograd, whose sums over a batch depend on the thread count, runs one image at a time.
TEST(Concurrency, BitPassesOverlapAndEqualSequentialAndOneThreadPasses) {
  struct Case {
    bit::ConvAlgorithm algorithm;
    bit::Precision precision;
  };
  std::vector<Case> cases{{bit::ConvAlgorithm::Direct, bit::Precision::F32},
                          {bit::ConvAlgorithm::Winograd, bit::Precision::F32},
                          {bit::ConvAlgorithm::Auto, bit::Precision::F32}};
  if (bit::cpu_has_bf16()) cases.push_back({bit::ConvAlgorithm::Auto, bit::Precision::Bf16});
  for (const auto& c : cases) {
    const std::string what = bit::to_string(c.algorithm) + " " + bit::to_string(c.precision);
    BackboneOptions o;
    o.out_features = {"stage1", "stage3", "stage4"};
    o.algorithm = c.algorithm;
    o.precision = c.precision;
    o.threads = 2;
    auto bb = load_backbone(kBit50.string(), o);
    EXPECT_TRUE(bb->inner().reentrant()) << what;
    o.threads = 1;
    auto single = load_backbone(kBit50.string(), o);
    std::vector<Tensor> inputs;
    for (int i = 0; i < 4; ++i) inputs.push_back(random_batch({1 + i % 2, 3, i < 2 ? 96 : 64, 96}, 300u + i));
    std::vector<std::map<std::string, Tensor>> expected;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      expected.push_back(bb->forward(inputs[i]));
      const auto one_thread = single->forward(inputs[i]);
      for (const auto& [stage, map] : expected[i])
        EXPECT_TRUE(identical(one_thread.at(stage), map)) << what << " input " << i << " " << stage;
    }
    expect_threads_get_the_sequential_results(*bb, inputs, expected, 3, 2, what);
  }
}

// oneDNN fixes a primitive's team size when it is made, so a pass given fewer threads needs primitives of its
// own: each convolution keeps one per input shape and thread count, and both give the same bits.
TEST(Concurrency, ConvolutionPrimitivesAreMadePerThreadCount) {
  auto bb = load_backbone(kTiny.string(), {.out_features = std::vector<std::string>{"stage4"}});
  auto& model = dynamic_cast<bit::BitBackbone&>(bb->inner()).model();
  const Tensor x = random_batch({2, 3, 64, 64}, 9);
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  const Tensor one = bb->forward(x).at("stage4");
  const int per_count = model.primitives();
  ASSERT_GT(per_count, 10);  // one per convolution
  omp_set_num_threads(2);
  const Tensor two = bb->forward(x).at("stage4");
  EXPECT_EQ(model.primitives(), 2 * per_count);
  omp_set_num_threads(1);
  bb->forward(x);
  EXPECT_EQ(model.primitives(), 2 * per_count);  // found again, not made again
  omp_set_num_threads(before);
  EXPECT_TRUE(identical(one, two));
}

// A backbone that records how many forward calls overlap and the OpenMP setting each call sees. Reentrant
// when asked; with a gate of n, each pass waits (up to 20 s) until n passes are inside at once, so passes
// that cannot overlap fail the test rather than pass it by chance.
class ProbeBackbone final : public Backbone {
 public:
  explicit ProbeBackbone(bool reentrant = false, int gate = 0) : reentrant_(reentrant), gate_(gate) {}
  bool reentrant() const override { return reentrant_; }
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
    int most = max_inside.load();
    while (now > most && !max_inside.compare_exchange_weak(most, now)) {
    }
    omp_threads_seen = omp_get_max_threads();
    {
      const std::lock_guard lock(mutex);
      seen.push_back(omp_get_max_threads());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    // A hang guard, not a bound on speed: passes that can overlap meet at the gate at once; passes that
    // cannot would wait forever, and after 20 s they go on and max_inside, not the clock, fails the test.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (gate_ > 0 && max_inside.load() < gate_ && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    --inside;
    ForwardResult r;
    r.stages["stage1"] = Tensor({batch.dim(0), 8, batch.dim(2) / 4, batch.dim(3) / 4});
    return r;
  }
  std::atomic<int> inside{0}, max_inside{0}, omp_threads_seen{0};
  std::mutex mutex;
  std::vector<int> seen;  // omp_get_max_threads() of each pass, in the order they started

 private:
  bool reentrant_;
  int gate_;
};

// `callers` threads (each with its own OpenMP setting of 3, which the calls must leave alone) make `calls`
// forward calls each on `bb`, all at once.
void call_from_threads(LoadedBackbone& bb, int callers, int calls) {
  std::vector<std::thread> running;
  for (int t = 0; t < callers; ++t)
    running.emplace_back([&] {
      omp_set_num_threads(3);
      for (int i = 0; i < calls; ++i)
        EXPECT_EQ(bb.forward(Tensor({1, 3, 16, 16})).at("stage1").shape(), (Shape{1, 8, 4, 4}));
      EXPECT_EQ(omp_get_max_threads(), 3);
    });
  for (auto& th : running) th.join();
}

TEST(Concurrency, ForwardCallsOnOneBackboneRunOneAtATime) {
  auto probe = std::make_unique<ProbeBackbone>();
  ProbeBackbone& p = *probe;
  LoadedBackbone bb(std::move(probe), {.threads = 2});
  call_from_threads(bb, 4, 5);
  EXPECT_EQ(p.max_inside.load(), 1);
  EXPECT_EQ(p.omp_threads_seen.load(), 2);
}

// A reentrant backbone's passes overlap: three held inside at once get 4, 2 and 1 of threads = 4
// (max(1, T / (k + 1)) with k passes already running).
TEST(Concurrency, ReentrantPassesOverlapAndDivideTheThreads) {
  auto probe = std::make_unique<ProbeBackbone>(/*reentrant=*/true, /*gate=*/3);
  ProbeBackbone& p = *probe;
  LoadedBackbone bb(std::move(probe), {.threads = 4});
  call_from_threads(bb, 3, 1);
  EXPECT_EQ(p.max_inside.load(), 3);
  std::sort(p.seen.begin(), p.seen.end());  // in the order they reached the probe, which may differ
  EXPECT_EQ(p.seen, (std::vector<int>{1, 2, 4}));
}

// At most `threads` passes at once (each gets at least one thread); the others wait for a slot.
TEST(Concurrency, ReentrantPassesAreCappedAtTheThreads) {
  auto probe = std::make_unique<ProbeBackbone>(/*reentrant=*/true);
  ProbeBackbone& p = *probe;
  LoadedBackbone bb(std::move(probe), {.threads = 2});
  call_from_threads(bb, 6, 5);
  EXPECT_LE(p.max_inside.load(), 2);
  EXPECT_EQ(p.seen.size(), 30u);
  for (int n : p.seen) EXPECT_TRUE(n == 1 || n == 2) << n;
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
