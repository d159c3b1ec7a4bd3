// Choosing the L2 strength of a linear probe by stratified k-fold cross-validation on the training set.
#pragma once

#include <cstdint>
#include <vector>

#include "visbone/transfer/logistic_regression.h"

namespace visbone::transfer {

// Fold index (0..folds-1) of each row: within each class the rows are shuffled (Fisher-Yates driven by a
// std::mt19937_64 seeded with `seed`, so the folds are the same on every platform) and dealt round-robin,
// continuing from where the previous class stopped, so every fold gets a near-equal share of each class.
// ConfigError when folds < 2 or there are fewer rows than folds.
std::vector<int> stratified_folds(const std::vector<int>& labels, int num_classes, int folds,
                                  std::uint64_t seed);

struct CvScore {
  double c = 0;
  double accuracy = 0;  // mean validation accuracy over the folds
};

struct CvResult {
  std::vector<CvScore> scores;  // one per candidate, in the order given
  double best_c = 0;            // highest mean accuracy; ties go to the smaller C (the stronger penalty)
};

// Trains on k-1 folds and scores on the held-out one for every candidate C (`base` gives the other solver
// settings). A single candidate is returned as best without any training.
CvResult cross_validate(const Dataset& data, const std::vector<double>& cs, int folds, std::uint64_t seed,
                        const SolverOptions& base);

}  // namespace visbone::transfer
