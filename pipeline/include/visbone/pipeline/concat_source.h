// Several sources one after the other: what a pipeline with `sources: [...]` reads.
#pragma once

#include <memory>
#include <vector>

#include "visbone/core/source.h"

namespace visbone::pipeline {

// Counts when every part counts; describes itself as its parts joined by "; ".
std::unique_ptr<Source> concat_sources(std::vector<std::unique_ptr<Source>> sources);

}  // namespace visbone::pipeline
