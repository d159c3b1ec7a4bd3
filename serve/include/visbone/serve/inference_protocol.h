// The Open Inference Protocol v2 (KServe / Triton REST) for a served model: its metadata, and `infer`
// requests and responses with JSON tensors or the binary tensor extension (a JSON header of
// Inference-Header-Content-Length bytes followed by the raw tensors, little-endian, in input/output order).
//
// The model takes one input, `pixel_values` FP32 [N, C, H, W] (the processor's output). Outputs: any stage
// of the backbone by name (default: its out_features), each FP32 [N, C', H', W']; and per head a BYTES [N]
// tensor holding each image's JSON record (top-k labels, embedding, ...).
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "visbone/core/tensor.h"
#include "visbone/serve/batcher.h"
#include "visbone/serve/served_model.h"

namespace visbone::serve {

inline constexpr const char* kInputName = "pixel_values";

struct InferRequest {
  std::string id;
  Tensor pixels;
  struct Output {
    std::string name;
    bool binary = false;
  };
  std::vector<Output> outputs;
  std::vector<std::string> stages;  // the outputs that are stages
  bool heads = false;               // some output is a head's
};

struct InferLimits {
  std::int64_t max_pixels = 0;  // H x W of the input
  int max_batch_size = 0;       // N
};

boost::json::object model_metadata(const ServedModel& model);

// Triton's model configuration extension (GET /v2/models/NAME/config, what perf_analyzer and Triton's clients
// read for the batch limit): model_config.proto's ModelConfig as JSON, dims without the batch dimension
// (-1: any size), the heads' records TYPE_STRING with one element per image, the batcher's settings.
boost::json::object model_config(const ServedModel& model, const ServeOptions& options);

// HttpError 400 naming the field for malformed JSON, a missing or extra input, a datatype other than FP32, a
// shape that does not fit the model or the data, binary sizes that do not add up, or an unknown output.
// `header_length` is Inference-Header-Content-Length when the request carries binary tensors.
InferRequest parse_infer_request(std::string_view body, std::optional<std::size_t> header_length,
                                 const ServedModel& model, const InferLimits& limits);

struct EncodedResponse {
  std::string body;
  std::optional<std::size_t> header_length;  // set when binary tensors follow the JSON
};
EncodedResponse encode_infer_response(const ServedModel& model, const InferRequest& request,
                                      const JobResult& result);

}  // namespace visbone::serve
