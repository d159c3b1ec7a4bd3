// Reading a classifying head's ranked labels out of its record, for the sinks that show them.
#pragma once

#include <vector>

#include "visbone/core/head.h"
#include "visbone/core/item.h"

namespace visbone::pipeline {

// A classifying head's predictions: its record's "predictions" list ({index, label, score}, best first, as
// the classification head writes it), each entry given a "logit" from the result's "logits" tensor when the
// head has one. Empty for heads that give no predictions.
std::vector<TopK> read_predictions(HeadResult& result);

}  // namespace visbone::pipeline
