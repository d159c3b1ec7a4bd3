// A source restricted to a shard's range of inputs (the global positions [begin, end)).
#pragma once

#include <memory>

#include "visbone/pipeline/shard.h"
#include "visbone/core/source.h"

namespace visbone::pipeline {

std::unique_ptr<Source> shard_source(std::unique_ptr<Source> source, ShardRange range);

}  // namespace visbone::pipeline
