// Any input size, measured (issue 15); not a test, numbers for the README and reports:
//   bench_any_size rss MODEL [SIZES [CACHE [MAX]]]  RSS after 10, 100, ... SIZES random input sizes 33..MAX
//                                           (default 1000; primitive_cache CACHE, 0: the library default)
//   bench_any_size mixed MODEL               16 detector-like images (shorter side 600-800, longer <= 1333):
//                                           forward(images) against one image at a time, and equality
//   bench_any_size mix MODEL [IMAGES [ROUNDS]]  a detectron2-like mix scaled down (shorter side 224..320,
//                                           longer <= 448): forward(images) against one at a time, images/s
//                                           in interleaved rounds
//   bench_any_size independence MODEL [H [W [ALGORITHM [PRECISION]]]]  one image at batch 1, 3, 8 and 1 or
//                                           2 threads: max relative difference of every stage against batch
//                                           1, 1 thread, and of each pass against the same pass run again
#include <malloc.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <random>
#include <string>

#include "visbone/core/process_memory.h"
#include "visbone/visbone.h"

using namespace visbone;

namespace {

// What glibc's malloc holds: heap obtained from the system (all arenas), of it free, and mapped blocks (MiB).
std::string malloc_mib() {
  const struct mallinfo2 m = mallinfo2();
  const auto mib = [](std::size_t b) { return std::to_string(static_cast<double>(b) / (1 << 20)); };
  return "heap " + mib(m.arena) + " free " + mib(m.fordblks) + " mmapped " + mib(m.hblkhd);
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

// max |a - b| / max |b|; 0 means the same values (the bits, for finite floats); NaN if either holds NaN/Inf.
double max_rel(const Tensor& a, const Tensor& b) {
  double diff = 0, scale = 0;
  for (std::int64_t i = 0; i < b.numel(); ++i) {
    if (!std::isfinite(a.data()[i]) || !std::isfinite(b.data()[i])) return std::nan("");
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
  std::cout << "0  " << current_rss_mib() << "\n";
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1; i <= sizes; ++i) {
    bb->forward(noise({1, bb->input_channels(), side(rng), side(rng)}, static_cast<unsigned>(i)));
    if (std::getenv("BENCH_TRIM")) malloc_trim(0);
    if (i == 10 || i == 100 || i == 200 || i == 400 || i == 1000 || i == sizes)
      std::cout << i << "  " << current_rss_mib() << "  (malloc: " << malloc_mib() << ")" << std::endl;
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

// A detectron2-like mix scaled down (shorter side 224..320 as ResizeShortestEdge's multi-scale choices,
// COCO-like aspect ratios, longer side <= 448): IMAGES images through forward(images) (same-size groups as
// batches) against one at a time, in interleaved rounds (ABBA), after one untimed pass of each built every
// primitive (primitive_cache 64 holds them all: groups of n images are other shapes than single images).
int mix(const std::string& model, int count, int rounds) {
  auto bb = load_backbone(
      model, {.out_features = std::vector<std::string>{"stage2", "stage3", "stage4"}, .primitive_cache = 64});
  std::mt19937 rng(18);
  const std::vector<std::int64_t> shorter{224, 256, 288, 320};
  // Landscape width / height, COCO-like (mostly 4:3); a quarter of the images are turned to portrait.
  const std::vector<double> aspects{4.0 / 3, 4.0 / 3, 4.0 / 3, 3.0 / 2, 1.0, 16.0 / 9};
  std::vector<Tensor> images;
  std::map<Shape, int> groups;
  for (int i = 0; i < count; ++i) {
    const std::int64_t s = shorter[rng() % shorter.size()];
    const std::int64_t l =
        std::min<std::int64_t>(448, std::llround(static_cast<double>(s) * aspects[rng() % aspects.size()]));
    Shape shape = rng() % 4 == 0 ? Shape{3, l, s} : Shape{3, s, l};
    ++groups[shape];
    images.push_back(noise(std::move(shape), static_cast<unsigned>(i)));
  }
  std::cout << count << " images, " << groups.size() << " sizes; images per size:";
  for (const auto& [shape, n] : groups) std::cout << " " << n;
  std::cout << "\n";
  const auto alone = [&] {
    for (const auto& im : images) bb->forward(im.view({1, im.dim(0), im.dim(1), im.dim(2)}));
  };
  const auto grouped = [&] { bb->forward(images); };
  alone();
  grouped();
  std::vector<double> a, g, ratio;
  for (int r = 0; r < rounds; ++r) {
    // ABBA: one at a time, forward(images), forward(images), one at a time; each the mean of its two runs.
    double ta = 0, tg = 0;
    for (const bool one : {true, false, false, true}) {
      const auto t0 = std::chrono::steady_clock::now();
      one ? alone() : grouped();
      (one ? ta : tg) += ms_since(t0) / 2;
    }
    a.push_back(ta);
    g.push_back(tg);
    ratio.push_back(ta / tg);
    std::cout << "round " << r << ": one at a time " << ta << " ms, forward(images) " << tg << " ms\n";
  }
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::cout << "median: one at a time " << count * 1000.0 / median(a) << " images/s, forward(images) "
            << count * 1000.0 / median(g) << " images/s; per-round speed-up median " << median(ratio)
            << "x\n";
  return 0;
}

// The worst max_rel over the stages of image 0 (NaN wins, as in every comparison here).
double worst_stage(const std::map<std::string, Tensor>& out, const std::map<std::string, Tensor>& ref,
                   std::string* where) {
  double worst = 0;
  for (const auto& s : kAll) {
    const double d = max_rel(out.at(s).slice(0, 1), ref.at(s).slice(0, 1));
    if (std::isnan(d) || d > worst) worst = d, *where = s;
    if (std::isnan(d)) break;
  }
  return worst;
}

int independence(const std::string& model, std::int64_t height, std::int64_t width,
                 const std::string& algorithm, const std::string& precision) {
  const Tensor batch8 = noise({8, 3, height, width}, 5);
  std::map<std::string, Tensor> reference;
  std::cout << height << "x" << width << " algorithm " << algorithm << " precision " << precision << "\n"
            << "batch threads  max_rel vs batch 1, 1 thread (worst stage)  max_rel vs the same pass again\n";
  for (int threads : {1, 2}) {
    auto bb = load_backbone(model, {.out_features = kAll,
                                    .threads = threads,
                                    .algorithm = bit::parse_conv_algorithm(algorithm).value(),
                                    .precision = bit::parse_precision(precision).value()});
    for (std::int64_t n : {1, 3, 8}) {
      const auto out = bb->forward(batch8.slice(0, n)), again = bb->forward(batch8.slice(0, n));
      if (reference.empty()) reference = out;
      std::string where = "-", where_again = "-";
      const double worst = worst_stage(out, reference, &where);
      const double repeat = worst_stage(again, out, &where_again);
      std::cout << n << " " << threads << "  " << worst << " (" << (worst == 0 ? "bit-identical" : where)
                << ")  " << repeat << " (" << (repeat == 0 ? "bit-identical" : where_again) << ")\n";
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
  if (mode == "mix")
    return mix(argv[2], argc > 3 ? std::stoi(argv[3]) : 16, argc > 4 ? std::stoi(argv[4]) : 5);
  if (mode == "independence") {
    const std::int64_t h = argc > 3 ? std::stoll(argv[3]) : 224, w = argc > 4 ? std::stoll(argv[4]) : h;
    return independence(argv[2], h, w, argc > 5 ? argv[5] : "auto", argc > 6 ? argv[6] : "f32");
  }
  std::cerr << "usage: bench_any_size rss MODEL [SIZES [CACHE [MAX]]] | mixed MODEL | mix MODEL [IMAGES "
               "[ROUNDS]] | "
               "independence MODEL [H [W [ALGORITHM [PRECISION]]]]\n";
  return 2;
}
