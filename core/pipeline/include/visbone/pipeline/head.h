// The pipeline's view of a head: what it needs from the backbone's forward pass, and what it makes of one
// batch's outputs, per input. Heads are built from the backbone's output_shape() and stage names, and every
// need is checked when the pipeline is built, never mid-stream.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "visbone/core/backbone.h"
#include "visbone/pipeline/config.h"
#include "visbone/pipeline/item.h"

namespace visbone::pipeline {

// What the heads may know about the model besides the Backbone contract.
struct ModelInfo {
  std::map<int, std::string> id2label;  // class names by index (the checkpoint's config)
  bool has_classifier = false;          // the checkpoint has classifier weights (logits can be computed)
};

class Head {
 public:
  virtual ~Head() = default;
  const std::string& name() const { return name_; }
  HeadType type() const { return type_; }
  // Adds what this head needs to the batch's forward request.
  virtual void require(ForwardRequest& request) const = 0;
  // One output per input of the batch (n inputs). Called concurrently with other heads on the same result.
  virtual std::vector<HeadOutput> run(const ForwardResult& result, std::int64_t n) const = 0;
  // The names of the tensors each HeadOutput carries, in order.
  virtual std::vector<std::string> tensor_names() const = 0;

 protected:
  Head(std::string name, HeadType type) : name_(std::move(name)), type_(type) {}

 private:
  std::string name_;
  HeadType type_;
};

// Builds a head and checks it against the backbone: ConfigError "FILE:LINE:COL: heads[i] ..." when the model
// cannot feed it (no classifier weights, a stage that does not exist, ...).
std::unique_ptr<Head> make_head(const HeadConfig& config, const std::string& context, const Backbone& backbone,
                                const ModelInfo& info);

// Softmax probabilities of a row of logits (in double, so large logits neither overflow nor lose the small
// ones), and the k largest as TopK entries, best first; ties keep the lower index first.
std::vector<TopK> top_k(const float* logits, int n, int k, const std::map<int, std::string>& id2label);

}  // namespace visbone::pipeline
