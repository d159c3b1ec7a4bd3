// Multinomial logistic regression on frozen features (a linear probe), trained with L-BFGS.
//
// The objective is scikit-learn's LogisticRegression(C=C) with the lbfgs solver, scaled by 1/N as it is
// there:  f(W, b) = (1/N) sum_i -log softmax(W x_i + b)[y_i] + ||W||^2 / (2 C N)
// (the bias is not penalised). It is strictly convex, so with the same C both converge to the same model and
// predictions agree up to the stopping tolerance. Everything is computed in float64, serially, in a fixed
// order: the same inputs give the same bits.
#pragma once

#include <cstdint>
#include <vector>

namespace visbone::transfer {

// Row-major (n, d) features with a class index in [0, num_classes) per row.
struct Dataset {
  std::int64_t n = 0, d = 0;
  std::vector<double> x;  // n * d
  std::vector<int> y;     // n
  int num_classes = 0;
  // The rows `rows` of this dataset (in that order).
  Dataset subset(const std::vector<std::int64_t>& rows) const;
};

struct SolverOptions {
  double c = 1.0;       // inverse L2 strength, as scikit-learn's C (> 0)
  int max_iter = 1000;  // L-BFGS iterations
  // Converged when max_j |grad_j| <= tolerance (scipy's pgtol, on f above). The solver also stops, without
  // claiming convergence, when the gradient has stopped shrinking at float64 precision (20 iterations without
  // a new low).
  double tolerance = 1e-6;
  int history = 10;  // L-BFGS memory (pairs kept)
};

struct LinearModel {
  int num_classes = 0;
  std::int64_t d = 0;
  std::vector<double> weight;  // (num_classes, d) row-major
  std::vector<double> bias;    // num_classes
  int iterations = 0;
  bool converged = false;
  double gradient_norm = 0;  // max |grad| at the end
  double objective = 0;

  std::vector<int> predict(const Dataset& data) const;
  // Fraction of rows whose predicted class is their label.
  double accuracy(const Dataset& data) const;
};

// Trains on `data`. ConfigError for bad options or data (no rows, a label out of range, C <= 0, a NaN
// feature). Not converging within max_iter is not an error: the result says so (converged = false).
LinearModel fit_logistic_regression(const Dataset& data, const SolverOptions& options);

}  // namespace visbone::transfer
