// A head of your own, registered in-process: `peak` finds where a stage responds most strongly (the mean over
// channels, its arg-max) and maps that cell back to input pixels with the stage's stride. Registered in the
// default registry, it is built from a spec like any built-in head, its parameters checked the same way.
//
//   custom_head MODEL IMAGE...
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <visbone/visbone.h>

namespace {

class PeakHead final : public visbone::Head {
 public:
  PeakHead(std::string stage, int stride) : stage_(std::move(stage)), stride_(stride) {}

  // Declared up front: make_head checks it against the backbone before any image is run.
  visbone::HeadNeeds needs() const override {
    visbone::HeadNeeds needs;
    needs.stages.push_back({stage_, 0});  // 0: any channel count
    return needs;
  }

  // Heads keep no state between calls, so several threads may run one head at once.
  std::vector<visbone::HeadResult> run(const visbone::ForwardResult& features) const override {
    const visbone::Tensor& map = features.stages.at(stage_);  // (N, C, H, W)
    const std::int64_t n = map.dim(0), c = map.dim(1), h = map.dim(2), w = map.dim(3);
    std::vector<visbone::HeadResult> out(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      std::int64_t best = 0;
      double best_mean = -1e300;
      for (std::int64_t p = 0; p < h * w; ++p) {
        double sum = 0;
        for (std::int64_t k = 0; k < c; ++k) sum += map.data()[(i * c + k) * h * w + p];
        const double mean = sum / static_cast<double>(c);
        if (mean > best_mean) {
          best_mean = mean;
          best = p;
        }
      }
      auto& record = out[static_cast<std::size_t>(i)].record;
      record["cell"] = {best / w, best % w};
      // The centre of the cell in input pixels.
      record["pixel"] = {(best / w) * stride_ + stride_ / 2, (best % w) * stride_ + stride_ / 2};
      record["mean_activation"] = best_mean;
    }
    return out;
  }

 private:
  std::string stage_;
  int stride_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
    return 2;
  }
  try {
    // Register before heads are built (registration is not synchronised; building is).
    visbone::default_registry().add_head("peak", "where a stage responds most strongly, in input pixels",
                                         [](const visbone::registry::Params& params,
                                            visbone::HeadContext& context) -> std::unique_ptr<visbone::Head> {
                                           const auto stage = params.get<std::string>("stage", "stage4");
                                           const auto shapes = context.backbone.output_shape();
                                           if (!shapes.count(stage))
                                             params.fail("stage",
                                                         "'" + stage + "' is not a stage of this backbone");
                                           return std::make_unique<PeakHead>(stage, shapes.at(stage).stride);
                                         });

    auto backbone = visbone::load_backbone(argv[1]);
    auto head = visbone::make_head("{type: peak, stage: stage3}", *backbone);

    // A misspelt parameter is reported with the closest valid one, as for the built-in heads.
    try {
      visbone::make_head("{type: peak, stag: stage3}", *backbone);
    } catch (const visbone::ConfigError& e) {
      std::printf("as expected: %s\n", e.what());
    }

    const std::vector<std::filesystem::path> images(argv + 2, argv + argc);
    const visbone::ImageProcessor processor;
    const auto results = visbone::run_head(*backbone, *head, processor.process(images));
    for (std::size_t i = 0; i < results.size(); ++i)
      std::printf("%s: %s\n", images[i].string().c_str(), boost::json::serialize(results[i].record).c_str());
    return results.size() == images.size() ? 0 : 1;
  } catch (const visbone::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected error: %s\n", e.what());
    return 1;
  }
}
