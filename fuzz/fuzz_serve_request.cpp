// The server's readers of request bodies on arbitrary bytes (serve/inference_protocol.h, serve/upload.h): an
// Open Inference Protocol v2 infer body with JSON tensors, the same with the binary tensor extension (a JSON
// header of Inference-Header-Content-Length bytes, then raw tensors), and an image upload (raw bytes or
// multipart/form-data). The first byte picks the reader: 0 JSON, 1 binary (header length from the next two
// bytes, little-endian), 2 multipart (the boundary is the text up to the first newline). A body may be
// refused only with an HttpError 400 and a message; what is accepted must be a tensor the model takes.
#include <algorithm>

#include "fuzz_support.h"
#include "visbone/serve/config.h"
#include "visbone/serve/http_error.h"
#include "visbone/serve/inference_protocol.h"
#include "visbone/serve/served_model.h"
#include "visbone/serve/upload.h"

namespace {

// The bundled digits model with its classification head, built as `visbone serve` builds it.
const visbone::serve::ServedModel& model() {
  static const auto m = [] {
    const std::string file = VISBONE_FUZZ_DATA_DIR "/serve.yaml";
    const auto config = visbone::serve::parse_serve_config(
        "model: {type: bit, checkpoint: models/bit-tiny-digits}\nheads: [{type: classification, top_k: 2}]\n",
        file);
    return visbone::serve::build_model(config.models.at(0), config.file, config.base_dir);
  }();
  return *m;
}

void check_accepted(const visbone::serve::InferRequest& r, const visbone::serve::InferLimits& limits) {
  const auto& s = r.pixels.shape();
  if (s.size() != 4 || s[0] < 1 || s[0] > limits.max_batch_size || s[1] != model().channels ||
      s[2] * s[3] > limits.max_pixels)
    visbone::fuzz::finding("accepted an input of shape " + visbone::shape_str(s));
  const auto stages = model().backbone->stage_names();
  for (const auto& stage : r.stages)
    if (std::find(stages.begin(), stages.end(), stage) == stages.end())
      visbone::fuzz::finding("accepted an unknown stage '" + stage + "'");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::string_view text = visbone::fuzz::as_text(data, size);
  visbone::serve::InferLimits limits;
  limits.max_pixels = 64 * 64;
  limits.max_batch_size = 4;
  try {
    switch (data[0] % 3) {
      case 0:
        check_accepted(visbone::serve::parse_infer_request(text.substr(1), std::nullopt, model(), limits),
                       limits);
        break;
      case 1:
        check_accepted(visbone::serve::parse_infer_request(
                           text.substr(3), data[1] | (std::size_t{data[2]} << 8), model(), limits),
                       limits);
        break;
      default: {
        const std::string_view rest = text.substr(1);
        const auto newline = std::min(rest.find('\n'), rest.size());
        const std::string type = "multipart/form-data; boundary=" + std::string(rest.substr(0, newline));
        const std::string_view body = rest.substr(std::min(newline + 1, rest.size()));
        const std::string_view image = visbone::serve::upload_bytes(type, body);
        if (image.empty() || image.data() < body.data() ||
            image.data() + image.size() > body.data() + body.size())
          visbone::fuzz::finding("the upload's image is not a non-empty part of the body");
      }
    }
  } catch (const visbone::serve::HttpError& e) {
    if (e.status() != 400 || std::string_view(e.what()).empty())
      visbone::fuzz::finding("refused with status " + std::to_string(e.status()) + ": '" + e.what() + "'");
  }
  return 0;
}
