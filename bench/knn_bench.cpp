// Exact nearest-neighbour search speed of the `knn` head (issue 19): a random gallery of N unit rows of
// width C, queries searched one at a time and in batches, in queries per second (wall clock, all threads).
//   build/bin/bench_knn [N [C [K]]]     defaults: 100000 rows, 2048 wide, top 5
// Each figure is the median of 5 timed runs after one untimed warm-up run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "visbone/heads/knn_head.h"

using visbone::Tensor;
using visbone::heads::KnnHead;

namespace {

Tensor random_rows(std::int64_t n, std::int64_t c, unsigned seed) {
  Tensor t = Tensor::uninitialized({n, c});
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  for (std::int64_t i = 0; i < n * c; ++i) t.data()[i] = normal(rng);
  return t;
}

// Queries per second searching `total` queries in batches of `batch` (median of 5 runs).
double queries_per_second(const KnnHead& head, const Tensor& queries, std::int64_t batch) {
  const std::int64_t total = queries.dim(0), c = queries.dim(1);
  std::vector<double> rates;
  for (int run = 0; run < 6; ++run) {
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t q = 0; q < total; q += batch) {
      Tensor part = Tensor::uninitialized({batch, c});
      std::copy_n(queries.data() + q * c, batch * c, part.data());
      if (head.search(part).size() != static_cast<std::size_t>(batch)) std::abort();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (run > 0) rates.push_back(static_cast<double>(total) / s);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t n = argc > 1 ? std::atoll(argv[1]) : 100000;
  const std::int64_t c = argc > 2 ? std::atoll(argv[2]) : 2048;
  const int k = argc > 3 ? std::atoi(argv[3]) : 5;
  if (n < 1 || c < 1 || k < 1) {
    std::fprintf(stderr, "usage: bench_knn [N [C [K]]] (all >= 1)\n");
    return 2;
  }
  std::vector<std::string> ids(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = "img" + std::to_string(i);
  const KnnHead head(random_rows(n, c, 1), std::move(ids), k);
  const Tensor queries = random_rows(128, c, 2);
  std::printf("gallery %lld x %lld, k %d\n", static_cast<long long>(n), static_cast<long long>(c), k);
  for (const std::int64_t batch : {1, 8, 64})
    std::printf("batch %3lld: %8.1f queries/s\n", static_cast<long long>(batch),
                queries_per_second(head, queries, batch));
}
