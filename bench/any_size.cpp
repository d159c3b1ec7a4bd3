// Any input size, measured (issue 15); not a test, numbers for the README and reports:
//   bench_any_size rss MODEL [SIZES [CACHE [MAX]]]  RSS after 10, 100, ... SIZES random input sizes 33..MAX
//                                           (default 1000; primitive_cache CACHE, 0: the library default)
//   bench_any_size mixed MODEL               16 detector-like images (shorter side 600-800, longer <= 1333):
//                                           forward(images) against one image at a time, and equality
//   bench_any_size independence MODEL SIZE   one image at batch 1, 3, 8 and 1 or 2 threads: max relative
//                                           difference of every stage against batch 1, 1 thread
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include "visbone/visbone.h"

using namespace visbone;

namespace {

double rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

Tensor noise(Shape shape, unsigned seed) {
  Tensor t(std::move(shape));
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (float& v : t) v = dist(rng);
  return t;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// max |a - b| / max |b|; 0 means the same values (the bits, for finite floats).
double max_rel(const Tensor& a, const Tensor& b) {
  double diff = 0, scale = 0;
  for (std::int64_t i = 0; i < b.numel(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a.data()[i] - b.data()[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b.data()[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

const std::vector<std::string> kAll{"stem", "stage1", "stage2", "stage3", "stage4"};

int rss(const std::string& model, int sizes, int cache, std::int64_t max_side) {
  BackboneOptions o{.out_features = kAll};
  if (cache > 0) o.primitive_cache = cache;
  auto bb = load_backbone(model, o);
  std::mt19937 rng(15);
  std::uniform_int_distribution<std::int64_t> side(33, max_side);
  std::cout << "sizes  rss_mib  (primitive_cache " << (cache > 0 ? std::to_string(cache) : "default")  << ", sides 33.." << max_side << ")\n";
  std::cout << "0  " << rss_mib() << "\n";
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i <= sizes; ++i) {
    bb->forward(noise({1, bb->input_channels(), side(rng), side(rng)}, static_cast<unsigned>(i)));
    if (i == 10 || i == 100 || i == 1000 || i == sizes) std::cout << i << "  " << rss_mib() << "\n";
  }
  std::cout << "ms per new size: " << ms_since(t0) / sizes << "\n";
  return 0;
}

int mixed(const std::string& model) {
  auto bb = load_backbone(model, {.out_features = std::vector<std::string>{"stage2", "stage3", "stage4"}});
  std::mt19937 rng(16);
  std::uniform_int_distribution<std::int64_t> shorter(600, 800);
  std::uniform_real_distribution<double> aspect(1.0, 1.8);
  std::vector<Tensor> images;
  for (int i = 0; i < 16; ++i) {
    const std::int64_t s = shorter(rng), l = std::min<std::int64_t>(1333, std::llround(s * aspect(rng)));
    // A few detector batches repeat sizes (the same camera, the same aspect): every fourth image reuses one.
    images.push_back(i % 4 == 3 ? noise(images[static_cast<std::size_t>(i - 1)].shape(), i)
                                : noise(i % 2 ? Shape{3, s, l} : Shape{3, l, s}, static_cast<unsigned>(i)));
  }
  std::vector<Shape> shapes;
  for (const auto& im : images) shapes.push_back({1, im.dim(0), im.dim(1), im.dim(2)});
  auto t0 = std::chrono::steady_clock::now();
  bb->warmup(shapes);
  std::cout << "warmup of the sizes alone: " << ms_since(t0) << " ms\n";
  std::vector<std::map<std::string, Tensor>> alone;
  t0 = std::chrono::steady_clock::now();
  for (const auto& im : images) alone.push_back(bb->forward(im.view({1, im.dim(0), im.dim(1), im.dim(2)})));
  const double one_at_a_time = ms_since(t0);
  t0 = std::chrono::steady_clock::now();
  const auto together = bb->forward(images);
  const double grouped = ms_since(t0);
  double worst = 0;
  for (std::size_t i = 0; i < images.size(); ++i)
    for (const auto& [name, map] : alone[i]) worst = std::max(worst, max_rel(together[i].at(name), map));
  std::cout << "16 images: one at a time " << one_at_a_time << " ms, forward(images) " << grouped
            << " ms, max rel difference " << worst << "\n";
  return 0;
}

int independence(const std::string& model, std::int64_t size) {
  const Tensor batch8 = noise({8, 3, size, size}, 5);
  std::map<std::string, Tensor> reference;
  std::cout << "batch threads  max_rel over stages (vs batch 1, 1 thread)\n";
  for (int threads : {1, 2}) {
    auto bb = load_backbone(model, {.out_features = kAll, .threads = threads});
    for (std::int64_t n : {1, 3, 8}) {
      const auto out = bb->forward(batch8.slice(0, n));
      double worst = 0;
      for (const auto& s : kAll) {
        const Tensor first = out.at(s).slice(0, 1);
        if (!reference.count(s)) reference[s] = first;
        worst = std::max(worst, max_rel(first, reference[s]));
      }
      std::cout << n << " " << threads << "  " << worst << (worst == 0 ? " (bit-identical)" : "") << "\n";
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 2 ? argv[1] : "";
  if (mode == "rss")
    return rss(argv[2], argc > 3 ? std::stoi(argv[3]) : 1000, argc > 4 ? std::stoi(argv[4]) : 0,
               argc > 5 ? std::stoll(argv[5]) : 1000);
  if (mode == "mixed") return mixed(argv[2]);
  if (mode == "independence") return independence(argv[2], argc > 3 ? std::stoi(argv[3]) : 224);
  std::cerr << "usage: bench_any_size rss MODEL [SIZES [CACHE [MAX]]] | mixed MODEL | independence MODEL [SIZE]\n";
  return 2;
}
