// The probe's solver, the CV folds and the prototype head on small known problems.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "support/support.h"
#include "visbone/core/errors.h"
#include "visbone/transfer/cross_validation.h"
#include "visbone/transfer/logistic_regression.h"
#include "visbone/transfer/prototypes.h"

namespace visbone {
namespace {

using ::testing::HasSubstr;

// k noisy clusters in d dimensions, `per` points each (fixed seed).
transfer::Dataset clusters(int k, int d, int per, double noise, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  transfer::Dataset s;
  s.n = k * per, s.d = d, s.num_classes = k;
  std::vector<double> centres(static_cast<std::size_t>(k * d));
  for (auto& c : centres) c = 2 * g(rng);
  for (int c = 0; c < k; ++c)
    for (int i = 0; i < per; ++i) {
      for (int j = 0; j < d; ++j)
        s.x.push_back(centres[static_cast<std::size_t>(c * d + j)] + noise * g(rng));
      s.y.push_back(c);
    }
  return s;
}

// The gradient of (1/N) sum CE + ||W||^2 / (2 C N), computed here independently of the solver.
double max_gradient(const transfer::LinearModel& m, const transfer::Dataset& s, double c) {
  std::vector<double> g(m.weight.size() + m.bias.size(), 0.0);
  for (std::int64_t i = 0; i < s.n; ++i) {
    std::vector<double> z(static_cast<std::size_t>(m.num_classes));
    double zmax = -INFINITY, sum = 0;
    for (int k = 0; k < m.num_classes; ++k) {
      z[k] = m.bias[k];
      for (std::int64_t j = 0; j < s.d; ++j) z[k] += m.weight[k * s.d + j] * s.x[i * s.d + j];
      zmax = std::max(zmax, z[k]);
    }
    for (double v : z) sum += std::exp(v - zmax);
    for (int k = 0; k < m.num_classes; ++k) {
      const double r = (std::exp(z[k] - zmax) / sum - (s.y[i] == k)) / static_cast<double>(s.n);
      for (std::int64_t j = 0; j < s.d; ++j) g[k * s.d + j] += r * s.x[i * s.d + j];
      g[m.weight.size() + k] += r;
    }
  }
  double worst = 0;
  for (std::size_t j = 0; j < g.size(); ++j) {
    if (j < m.weight.size()) g[j] += m.weight[j] / (c * static_cast<double>(s.n));
    if (std::isnan(g[j])) return g[j];  // std::max would drop it; every EXPECT_LE on NaN fails
    worst = std::max(worst, std::abs(g[j]));
  }
  return worst;
}

// The check above must not pass a model whose gradient is NaN anywhere (only the last class's weight here).
TEST(Probe, MaxGradientOfANaNModelIsNaN) {
  const auto s = clusters(3, 4, 5, 1.0);
  transfer::LinearModel m;
  m.num_classes = 3, m.d = 4;
  m.weight.assign(12, 0.0), m.bias.assign(3, 0.0);
  EXPECT_FALSE(std::isnan(max_gradient(m, s, 1.0)));
  m.weight.back() = std::nan("");
  EXPECT_TRUE(std::isnan(max_gradient(m, s, 1.0)));
}

TEST(Probe, ReachesTheOptimumOfTheRegularisedObjective) {
  const auto s = clusters(4, 6, 25, 2.0);
  for (double c : {0.01, 1.0, 100.0}) {
    transfer::SolverOptions o;
    o.c = c;
    o.tolerance = 1e-8;
    const auto m = transfer::fit_logistic_regression(s, o);
    EXPECT_TRUE(m.converged) << "C=" << c;
    EXPECT_LE(max_gradient(m, s, c), 1e-8) << "C=" << c;
  }
}

TEST(Probe, StrongerPenaltyGivesSmallerWeights) {
  const auto s = clusters(3, 5, 20, 1.0);
  transfer::SolverOptions weak, strong;
  weak.c = 10, strong.c = 0.01;
  const auto a = transfer::fit_logistic_regression(s, weak), b = transfer::fit_logistic_regression(s, strong);
  double na = 0, nb = 0;
  for (double v : a.weight) na += v * v;
  for (double v : b.weight) nb += v * v;
  EXPECT_LT(nb, na / 10);
}

TEST(Probe, SeparatesClustersAndIsDeterministic) {
  const auto s = clusters(5, 8, 20, 0.3);
  const auto a = transfer::fit_logistic_regression(s, {});
  const auto b = transfer::fit_logistic_regression(s, {});
  EXPECT_EQ(a.accuracy(s), 1.0);
  EXPECT_EQ(a.weight, b.weight);
  EXPECT_EQ(a.bias, b.bias);
}

TEST(Probe, StopsAtMaxIterAndSaysSo) {
  transfer::SolverOptions o;
  o.max_iter = 2;
  o.tolerance = 1e-12;
  const auto m = transfer::fit_logistic_regression(clusters(3, 4, 10, 1.0), o);
  EXPECT_FALSE(m.converged);
  EXPECT_EQ(m.iterations, 2);
}

TEST(Probe, RejectsBadInput) {
  auto s = clusters(2, 3, 5, 1.0);
  transfer::SolverOptions o;
  o.c = 0;
  EXPECT_THAT(testing::message_of([&] { transfer::fit_logistic_regression(s, o); }), HasSubstr("C is 0"));
  auto bad = s;
  bad.y[3] = 7;
  EXPECT_THAT(testing::message_of([&] { transfer::fit_logistic_regression(bad, {}); }), HasSubstr("label 7"));
  bad = s;
  bad.x[4] = NAN;
  EXPECT_THAT(testing::message_of([&] { transfer::fit_logistic_regression(bad, {}); }),
              HasSubstr("not finite"));
}

TEST(CrossValidation, FoldsAreStratifiedAndFollowTheSeed) {
  std::vector<int> labels;
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 10; ++i) labels.push_back(c);
  const auto f = transfer::stratified_folds(labels, 3, 5, 7);
  EXPECT_EQ(f, transfer::stratified_folds(labels, 3, 5, 7));
  EXPECT_NE(f, transfer::stratified_folds(labels, 3, 5, 8));
  for (int fold = 0; fold < 5; ++fold)
    for (int c = 0; c < 3; ++c)
      EXPECT_EQ(std::count_if(
                    labels.begin(), labels.end(),
                    [&, i = 0](int l) mutable { return l == c && f[static_cast<std::size_t>(i++)] == fold; }),
                2);
  EXPECT_THAT(testing::message_of([&] {
                transfer::stratified_folds({0, 1}, 2, 5, 0);
              }),
              HasSubstr("2 training images for 5 folds"));
}

TEST(CrossValidation, PicksTheCandidateWithTheBestHeldOutAccuracy) {
  // Overlapping clusters with many noise dimensions: a tiny C underfits, so it cannot be chosen.
  const auto s = clusters(3, 20, 20, 3.0, 5);
  const auto cv = transfer::cross_validate(s, {1e-6, 1.0}, 4, 0, {});
  ASSERT_EQ(cv.scores.size(), 2u);
  EXPECT_GT(cv.scores[1].accuracy, cv.scores[0].accuracy);
  EXPECT_EQ(cv.best_c, 1.0);
  EXPECT_EQ(transfer::cross_validate(s, {3.0}, 4, 0, {}).best_c, 3.0);
}

TEST(Prototypes, NearestClassMeanByCosine) {
  transfer::Dataset s;
  s.d = 2, s.num_classes = 2, s.n = 4;
  s.x = {1, 0, 10, 1, 0, 1, 1, 10};  // class 0 near the x axis, class 1 near y, at very different lengths
  s.y = {0, 0, 1, 1};
  const auto m = transfer::fit_prototypes(s);
  EXPECT_EQ(m.accuracy(s), 1.0);
  EXPECT_NEAR(m.weight[0] * m.weight[0] + m.weight[1] * m.weight[1], 1.0, 1e-12);
  transfer::Dataset q = s;
  q.n = 1, q.x = {100, 90}, q.y = {0};  // 42 degrees: closer to class 0's prototype
  EXPECT_EQ(m.predict(q)[0], 0);
  s.num_classes = 3;
  EXPECT_THAT(testing::message_of([&] { transfer::fit_prototypes(s); }),
              HasSubstr("class 2 has no training image"));
}

}  // namespace
}  // namespace visbone
