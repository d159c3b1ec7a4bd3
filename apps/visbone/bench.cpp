// `visbone bench MODEL --size S --batch B --threads T --runs N --warmup W [--json]`: times the forward pass
// (backbone + pooling + classifier) on a fixed random input. The contract of shared/bench/compare.sh: with
// --json the last stdout line is one JSON object with at least `median_ms`. --new-size-cost also times the
// first pass at sizes not seen before (what a detector's every new image size pays to build its convolution
// primitives): at each of 5 new sizes, the first pass minus the median of 3 more at that size; it prints the
// median of these 5 differences in ms and their range (one sample per size once came out negative on a busy
// machine).
#include <omp.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <vector>

#include "args.h"
#include "model_arg.h"
#include "visbone/bit/ws_conv.h"
#include "visbone/core/errors.h"
#include "visbone/core/json_writer.h"
#include "visbone/core/omp_threads.h"
#include "visbone/core/process_memory.h"

namespace visbone::app {
namespace {

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int bench(const Args& args) {
  po::options_description opts("visbone bench MODEL [options]");
  opts.add_options()("help,h", "show this help")("model", po::value<std::string>(),
                                                 "checkpoint folder or hub id")(
      "size", po::value<int>()->default_value(224), "input height and width")(
      "batch", po::value<int>()->default_value(1), "batch size")(
      "threads", po::value<int>()->default_value(0), "threads (0: all cores)")(
      "runs", po::value<int>()->default_value(20), "timed runs")(
      "warmup", po::value<int>()->default_value(3), "untimed runs first")("json", "print one JSON object")(
      "algorithm", po::value<std::string>(),
      "fp32 convolutions: auto (the default: Winograd for 3x3 stride 1, columns for strided ones from 256 "
      "channels), direct or winograd")("winograd",
                                       "the same as --algorithm winograd (or VISBONE_WINOGRAD=1)")(
      "precision", po::value<std::string>()->default_value("f32"), kPrecisionHelp)(
      "new-size-cost",
      "also time the first pass at 5 new sizes (primitives built) against the next 3 at each size");
  po::positional_options_description pos;
  pos.add("model", 1);
  const auto parsed = parse_command(args, opts, pos, {{"model", "MODEL"}});
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const int size = vm["size"].as<int>(), batch = vm["batch"].as<int>(), runs = vm["runs"].as<int>(),
            warmup = vm["warmup"].as<int>(), threads = vm["threads"].as<int>();
  if (size < 1 || batch < 1 || runs < 1 || warmup < 0 || threads < 0)
    throw ConfigError("visbone bench: --size, --batch and --runs must be positive, --warmup and --threads >= 0");
  const OmpThreadsScope omp_threads(threads);  // for the whole command: loading, warm-up and the timed runs

  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  bit::BitBackboneOptions options;
  bit::ConvAlgorithm algorithm = vm.count("winograd") ? bit::ConvAlgorithm::Winograd : bit::default_conv_algorithm();
  if (vm.count("algorithm")) {
    const auto text = vm["algorithm"].as<std::string>();
    const auto parsed = bit::parse_conv_algorithm(text);
    if (!parsed) throw ConfigError("visbone bench: --algorithm is '" + text + "', expected auto, direct or winograd");
    algorithm = *parsed;
  }
  options.algorithm = algorithm;
  options.precision = precision_option(vm);
  const auto backbone = bit::BitBackbone::from_pretrained(resolve_model_arg(vm["model"].as<std::string>()), options);
  auto& model = backbone->model();
  const auto& c = model.config();
  Tensor input({batch, c.num_channels, size, size});
  std::mt19937 rng(0);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (float& v : input) v = dist(rng);
  bit::BitRequest req;
  req.pooled = true;
  req.logits = model.has_classifier();
  model.forward(input, req);
  const double first_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();

  for (int i = 1; i < warmup; ++i) model.forward(input, req);
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto s = clock::now();
    model.forward(input, req);
    times.push_back(std::chrono::duration<double, std::milli>(clock::now() - s).count());
  }
  std::sort(times.begin(), times.end());
  const double median = median_of(times);
  // New sizes: height and width a little off the timed size, each new to the model. Per size, the first pass
  // against the median of the next kRepeats at that size; the median and range of those differences.
  constexpr int kNewSizes = 5, kRepeats = 3;
  std::vector<double> new_first, new_repeat, new_cost;
  if (vm.count("new-size-cost")) {
    for (int i = 1; i <= kNewSizes; ++i) {
      Tensor other({batch, c.num_channels, size + 8 * i, size + 8 * i + 4});
      std::fill(other.begin(), other.end(), 0.5f);
      std::vector<double> at_size;
      for (int k = 0; k <= kRepeats; ++k) {
        const auto s = clock::now();
        model.forward(other, req);
        at_size.push_back(std::chrono::duration<double, std::milli>(clock::now() - s).count());
      }
      new_first.push_back(at_size.front());
      new_repeat.push_back(median_of({at_size.begin() + 1, at_size.end()}));
      new_cost.push_back(new_first.back() - new_repeat.back());
    }
  }
  const double rss_mib = peak_rss_mib();

  boost::json::object out{{"median_ms", median},
                          {"min_ms", times.front()},
                          {"max_ms", times.back()},
                          {"ms_per_image", median / batch},
                          {"images_per_s", 1000.0 * batch / median},
                          {"load_to_first_result_ms", first_ms},
                          {"peak_rss_mib", rss_mib},
                          {"size", size},
                          {"batch", batch},
                          {"threads", threads > 0 ? threads : omp_get_max_threads()},
                          {"runs", runs},
                          {"warmup", warmup},
                          {"winograd", algorithm == bit::ConvAlgorithm::Winograd},
                          {"algorithm", bit::to_string(algorithm)},
                          {"winograd_convolutions", model.winograd_primitives()},
                          {"column_convolutions", model.column_primitives()},
                          {"precision", bit::to_string(model.precision())}};
  if (!new_cost.empty()) {
    out["new_size_cost_ms"] = median_of(new_cost);
    out["new_size_cost_min_ms"] = *std::min_element(new_cost.begin(), new_cost.end());
    out["new_size_cost_max_ms"] = *std::max_element(new_cost.begin(), new_cost.end());
    out["new_size_first_ms"] = median_of(new_first);    // the first pass at a new size (median over sizes)
    out["new_size_second_ms"] = median_of(new_repeat);  // the passes after it at that size (median)
    out["new_sizes"] = kNewSizes;
  }
  if (vm.count("json")) {
    std::cout << to_json_text(out) << "\n";
  } else {
    std::cout << "size " << size << " batch " << batch << ": median " << median << " ms/batch (min " << times.front()
              << ", max " << times.back() << "), " << 1000.0 * batch / median << " images/s, peak RSS " << rss_mib
              << " MiB, load to first result " << first_ms << " ms\n";
    if (!new_cost.empty())
      std::cout << "new size cost: " << median_of(new_cost) << " ms (median over " << kNewSizes
                << " new sizes of the first pass minus the median of the next " << kRepeats << "; range "
                << *std::min_element(new_cost.begin(), new_cost.end()) << " to "
                << *std::max_element(new_cost.begin(), new_cost.end()) << " ms)\n";
  }
  return 0;
}

}  // namespace visbone::app
