// Classifying an image: the checkpoint's classifier (BitForImageClassification's head) as visbone's
// `classification` head, its top-5 labels with softmax scores, as transformers' image-classification
// pipeline prints them.
//
//   classify MODEL IMAGE
#include <cstdio>
#include <exception>
#include <string>

#include <visbone/visbone.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL IMAGE\n", argv[0]);
    return 2;
  }
  try {
    const std::string model = argv[1];
    auto backbone = visbone::load_backbone(model);
    if (!backbone->classifier()) {
      std::fprintf(stderr, "error: %s has no classifier (it is not an image-classification checkpoint)\n",
                   argv[1]);
      return 1;
    }
    auto head = visbone::make_head("{type: classification, top_k: 5}", *backbone);

    visbone::ImageProcessor processor;  // transformers' defaults unless the checkpoint has its own
    try {
      processor = visbone::ImageProcessor::from_pretrained(model);
    } catch (const visbone::NotFoundError&) {
    }
    const cv::Mat image = cv::imread(argv[2], cv::IMREAD_COLOR);  // BGR, as OpenCV reads
    if (image.empty()) {
      std::fprintf(stderr, "error: cannot read %s\n", argv[2]);
      return 1;
    }
    const visbone::Tensor pixels = processor.process(image, visbone::ChannelOrder::bgr);

    const auto results = visbone::run_head(*backbone, *head, pixels);  // one per image
    std::printf("%s:\n", argv[2]);
    int rank = 0;
    for (const auto& p : results.at(0).record.at("predictions").as_array()) {
      std::printf("%d. %-30s %.4f (class %lld)\n", ++rank, std::string(p.at("label").as_string()).c_str(),
                  p.at("score").to_number<double>(),
                  static_cast<long long>(p.at("index").to_number<std::int64_t>()));
    }
    return rank == 5 ? 0 : 1;
  } catch (const visbone::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected error: %s\n", e.what());
    return 1;
  }
}
