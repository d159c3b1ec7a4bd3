#include "visbone/transfer/logistic_regression.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <string>

#include "visbone/core/errors.h"

namespace visbone::transfer {
namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}

// Parameters are packed as [W (k x d) row-major, b (k)].
struct Objective {
  const Dataset& data;
  double l2;  // 1 / (C N)

  // f and its gradient at `p`.
  double operator()(const std::vector<double>& p, std::vector<double>& grad) const {
    const int k = data.num_classes;
    const std::int64_t d = data.d;
    const double inv_n = 1.0 / static_cast<double>(data.n);
    std::fill(grad.begin(), grad.end(), 0.0);
    std::vector<double> z(static_cast<std::size_t>(k));
    double loss = 0;
    for (std::int64_t i = 0; i < data.n; ++i) {
      const double* x = data.x.data() + i * d;
      double zmax = -INFINITY;
      for (int c = 0; c < k; ++c) {
        const double* w = p.data() + c * d;
        double s = p[static_cast<std::size_t>(k * d + c)];
        for (std::int64_t j = 0; j < d; ++j) s += w[j] * x[j];
        z[static_cast<std::size_t>(c)] = s;
        zmax = std::max(zmax, s);
      }
      double sum = 0;
      for (int c = 0; c < k; ++c) sum += std::exp(z[static_cast<std::size_t>(c)] - zmax);
      const double log_sum = zmax + std::log(sum);
      const int yi = data.y[static_cast<std::size_t>(i)];
      loss += log_sum - z[static_cast<std::size_t>(yi)];
      for (int c = 0; c < k; ++c) {
        // d loss_i / d z_c = softmax_c - [c == y_i]
        const double g = (std::exp(z[static_cast<std::size_t>(c)] - log_sum) - (c == yi ? 1.0 : 0.0)) * inv_n;
        double* gw = grad.data() + c * d;
        for (std::int64_t j = 0; j < d; ++j) gw[j] += g * x[j];
        grad[static_cast<std::size_t>(k * d + c)] += g;
      }
    }
    double penalty = 0;
    for (std::int64_t j = 0; j < k * d; ++j) {
      penalty += p[static_cast<std::size_t>(j)] * p[static_cast<std::size_t>(j)];
      grad[static_cast<std::size_t>(j)] += l2 * p[static_cast<std::size_t>(j)];
    }
    return loss * inv_n + 0.5 * l2 * penalty;
  }
};

void check(const Dataset& data, const SolverOptions& o) {
  if (!(o.c > 0) || !std::isfinite(o.c))
    throw ConfigError("fit: C is " + std::to_string(o.c) + ", expected > 0");
  if (o.max_iter < 1) throw ConfigError("fit: max_iter is " + std::to_string(o.max_iter) + ", expected >= 1");
  if (!(o.tolerance > 0))
    throw ConfigError("fit: tolerance is " + std::to_string(o.tolerance) + ", expected > 0");
  if (o.history < 1) throw ConfigError("fit: history is " + std::to_string(o.history) + ", expected >= 1");
  if (data.n < 1 || data.d < 1 || data.num_classes < 2)
    throw ConfigError("fit: " + std::to_string(data.n) + " examples of " + std::to_string(data.d) +
                      " features in " + std::to_string(data.num_classes) +
                      " classes; expected at least one example and two classes");
  if (data.x.size() != static_cast<std::size_t>(data.n * data.d) ||
      data.y.size() != static_cast<std::size_t>(data.n))
    throw ConfigError("fit: the feature matrix and labels do not match the dataset's size");
  for (int v : data.y)
    if (v < 0 || v >= data.num_classes)
      throw ConfigError("fit: label " + std::to_string(v) + " outside 0.." +
                        std::to_string(data.num_classes - 1));
  for (double v : data.x)
    if (!std::isfinite(v)) throw ConfigError("fit: a feature is not finite");
}

}  // namespace

Dataset Dataset::subset(const std::vector<std::int64_t>& rows) const {
  Dataset s;
  s.n = static_cast<std::int64_t>(rows.size());
  s.d = d;
  s.num_classes = num_classes;
  s.x.reserve(static_cast<std::size_t>(s.n * d));
  for (std::int64_t r : rows) {
    s.x.insert(s.x.end(), x.begin() + r * d, x.begin() + (r + 1) * d);
    s.y.push_back(y[static_cast<std::size_t>(r)]);
  }
  return s;
}

LinearModel fit_logistic_regression(const Dataset& data, const SolverOptions& o) {
  check(data, o);
  const Objective f{data, 1.0 / (o.c * static_cast<double>(data.n))};
  const std::size_t size = static_cast<std::size_t>(data.num_classes * (data.d + 1));
  std::vector<double> p(size, 0.0), g(size), p_new(size), g_new(size), dir(size);
  double fx = f(p, g);
  std::deque<std::vector<double>> s_hist, y_hist;
  std::deque<double> rho_hist;
  LinearModel m;
  int it = 0, stalled = 0;
  for (; it < o.max_iter && max_abs(g) > o.tolerance; ++it) {
    // Two-loop recursion: dir = -H g.
    dir = g;
    std::vector<double> alpha(s_hist.size());
    for (std::size_t h = s_hist.size(); h-- > 0;) {
      alpha[h] = rho_hist[h] * dot(s_hist[h], dir);
      for (std::size_t j = 0; j < size; ++j) dir[j] -= alpha[h] * y_hist[h][j];
    }
    const double gamma = s_hist.empty()
                             ? 1.0 / std::max(1.0, std::sqrt(dot(g, g)))
                             : dot(s_hist.back(), y_hist.back()) / dot(y_hist.back(), y_hist.back());
    for (double& v : dir) v *= gamma;
    for (std::size_t h = 0; h < s_hist.size(); ++h) {
      const double beta = rho_hist[h] * dot(y_hist[h], dir);
      for (std::size_t j = 0; j < size; ++j) dir[j] += (alpha[h] - beta) * s_hist[h][j];
    }
    for (double& v : dir) v = -v;
    double slope = dot(g, dir);
    if (slope >= 0) {  // not a descent direction (numerical trouble): restart from steepest descent
      s_hist.clear(), y_hist.clear(), rho_hist.clear();
      for (std::size_t j = 0; j < size; ++j) dir[j] = -g[j];
      slope = -dot(g, g);
    }
    // Backtracking line search with the Armijo condition; the unit step is what L-BFGS usually takes.
    double step = 1.0, f_new = 0;
    bool found = false;
    for (int ls = 0; ls < 30; ++ls, step *= 0.5) {
      for (std::size_t j = 0; j < size; ++j) p_new[j] = p[j] + step * dir[j];
      f_new = f(p_new, g_new);
      if (std::isfinite(f_new) && f_new <= fx + 1e-4 * step * slope) {
        found = true;
        break;
      }
    }
    if (!found) break;  // no decrease possible at float64 precision: as good as it gets
    std::vector<double> s(size), y(size);
    for (std::size_t j = 0; j < size; ++j) s[j] = p_new[j] - p[j], y[j] = g_new[j] - g[j];
    const double sy = dot(s, y);
    if (sy > 1e-12 * std::sqrt(dot(s, s) * dot(y, y))) {  // keep the curvature pair only when it is positive
      s_hist.push_back(std::move(s));
      y_hist.push_back(std::move(y));
      rho_hist.push_back(1.0 / sy);
      if (static_cast<int>(s_hist.size()) > o.history)
        s_hist.pop_front(), y_hist.pop_front(), rho_hist.pop_front();
    }
    p.swap(p_new);
    g.swap(g_new);
    // At float64's limit the steps only chase rounding noise (the gradient stops shrinking near 3e-9 on the
    // digits features): stop after 20 steps in a row that lower f by less than 64 eps relative (scipy's
    // L-BFGS-B stops at the first; waiting lets the gradient reach its floor).
    const double scale = std::max({std::abs(fx), std::abs(f_new), 1.0});
    stalled = fx - f_new <= 64 * std::numeric_limits<double>::epsilon() * scale ? stalled + 1 : 0;
    fx = f_new;
    if (stalled == 20) {
      ++it;
      break;
    }
  }
  m.num_classes = data.num_classes;
  m.d = data.d;
  m.weight.assign(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(data.num_classes * data.d));
  m.bias.assign(p.begin() + static_cast<std::ptrdiff_t>(data.num_classes * data.d), p.end());
  m.iterations = it;
  m.gradient_norm = max_abs(g);
  m.converged = m.gradient_norm <= o.tolerance;
  m.objective = fx;
  return m;
}

std::vector<int> LinearModel::predict(const Dataset& data) const {
  if (data.d != d)
    throw ShapeError("probe: features have " + std::to_string(data.d) + " channels, the model " +
                     std::to_string(d));
  std::vector<int> out;
  for (std::int64_t i = 0; i < data.n; ++i) {
    const double* x = data.x.data() + i * d;
    int best = 0;
    double best_z = -INFINITY;
    for (int c = 0; c < num_classes; ++c) {
      double z = bias[static_cast<std::size_t>(c)];
      for (std::int64_t j = 0; j < d; ++j) z += weight[static_cast<std::size_t>(c * d + j)] * x[j];
      if (z > best_z) best_z = z, best = c;  // ties: the lowest class index, as numpy's argmax
    }
    out.push_back(best);
  }
  return out;
}

double LinearModel::accuracy(const Dataset& data) const {
  if (data.n == 0) return 0;
  const auto pred = predict(data);
  std::int64_t ok = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) ok += pred[i] == data.y[i];
  return static_cast<double>(ok) / static_cast<double>(data.n);
}

}  // namespace visbone::transfer
