#include "visbone/transfer/prototypes.h"

#include <algorithm>
#include <string>

#include "visbone/core/errors.h"
#include "visbone/core/l2_normalize.h"

namespace visbone::transfer {
LinearModel fit_prototypes(const Dataset& data) {
  LinearModel m;
  m.num_classes = data.num_classes;
  m.d = data.d;
  m.weight.assign(static_cast<std::size_t>(data.num_classes * data.d), 0.0);
  m.bias.assign(static_cast<std::size_t>(data.num_classes), 0.0);
  std::vector<std::int64_t> count(static_cast<std::size_t>(data.num_classes), 0);
  std::vector<double> row(static_cast<std::size_t>(data.d));
  for (std::int64_t i = 0; i < data.n; ++i) {
    std::copy(data.x.begin() + i * data.d, data.x.begin() + (i + 1) * data.d, row.begin());
    l2_normalize(row.data(), data.d);
    const int c = data.y[static_cast<std::size_t>(i)];
    ++count[static_cast<std::size_t>(c)];
    for (std::int64_t j = 0; j < data.d; ++j)
      m.weight[static_cast<std::size_t>(c * data.d + j)] += row[static_cast<std::size_t>(j)];
  }
  for (int c = 0; c < data.num_classes; ++c) {
    if (count[static_cast<std::size_t>(c)] == 0)
      throw ConfigError("fit: class " + std::to_string(c) + " has no training image, so no prototype");
    l2_normalize(m.weight.data() + c * data.d, data.d);
  }
  m.converged = true;
  return m;
}

}  // namespace visbone::transfer
