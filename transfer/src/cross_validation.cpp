#include "visbone/transfer/cross_validation.h"

#include <random>
#include <string>

#include "visbone/core/errors.h"

namespace visbone::transfer {

std::vector<int> stratified_folds(const std::vector<int>& labels, int num_classes, int folds,
                                  std::uint64_t seed) {
  if (folds < 2) throw ConfigError("fit: folds is " + std::to_string(folds) + ", expected >= 2");
  if (labels.size() < static_cast<std::size_t>(folds))
    throw ConfigError("fit: " + std::to_string(labels.size()) + " training images for " +
                      std::to_string(folds) + " folds; give at least one image per fold or fewer folds");
  std::mt19937_64 rng(seed);
  std::vector<int> fold(labels.size(), 0);
  int next = 0;
  for (int c = 0; c < num_classes; ++c) {
    std::vector<std::size_t> rows;
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == c) rows.push_back(i);
    // Own Fisher-Yates (std::shuffle's and the distributions' algorithms are the library's choice).
    for (std::size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[rng() % i]);
    for (std::size_t r : rows) fold[r] = next, next = (next + 1) % folds;
  }
  return fold;
}

CvResult cross_validate(const Dataset& data, const std::vector<double>& cs, int folds, std::uint64_t seed,
                        const SolverOptions& base) {
  if (cs.empty()) throw ConfigError("fit: C is an empty list; give at least one value");
  CvResult result;
  if (cs.size() == 1) {
    result.scores.push_back({cs[0], 0.0});
    result.best_c = cs[0];
    return result;
  }
  const std::vector<int> fold = stratified_folds(data.y, data.num_classes, folds, seed);
  for (double c : cs) {
    SolverOptions o = base;
    o.c = c;
    double sum = 0;
    for (int f = 0; f < folds; ++f) {
      std::vector<std::int64_t> train, held_out;
      for (std::size_t i = 0; i < fold.size(); ++i)
        (fold[i] == f ? held_out : train).push_back(static_cast<std::int64_t>(i));
      sum += fit_logistic_regression(data.subset(train), o).accuracy(data.subset(held_out));
    }
    result.scores.push_back({c, sum / folds});
  }
  result.best_c = result.scores[0].c;
  double best = result.scores[0].accuracy;
  for (const auto& s : result.scores)
    if (s.accuracy > best || (s.accuracy == best && s.c < result.best_c))
      best = s.accuracy, result.best_c = s.c;
  return result;
}

}  // namespace visbone::transfer
