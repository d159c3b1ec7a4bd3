// The few-shot baseline as a linear head: nearest class mean by cosine similarity, the rule of the
// fewshot_head plugin (prototype = the normalised mean of a class's L2-normalised embeddings). Scoring a raw
// pooled vector x against unit prototypes gives cos * |x|, the same argmax, so the prototypes are the
// weights of a classifier.1 layer (bias 0) that `visbone run` and transformers apply as they are.
#pragma once

#include "visbone/transfer/logistic_regression.h"

namespace visbone::transfer {

// ConfigError for a class without any example (it would have no prototype).
LinearModel fit_prototypes(const Dataset& data);

}  // namespace visbone::transfer
