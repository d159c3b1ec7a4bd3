// GET /: a small self-contained page (no CDN, no build step) to drop or pick an image and see the top-k
// labels with scores, the stage-3 heat map over the image, and the latency, through the image endpoint.
#pragma once

#include <string>
#include <vector>

namespace visbone::serve {

// The page, offering `models` (the first is preselected).
std::string page_html(const std::vector<std::string>& models);

}  // namespace visbone::serve
