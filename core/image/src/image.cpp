#include "visbone/image/image.h"

#include <limits>
#include <string>

#include "visbone/core/errors.h"

namespace visbone::image {

Image::Image(int width, int height, int channels) : width_(width), height_(height), channels_(channels) {
  if (width <= 0 || height <= 0 || channels < 1 || channels > 4)
    throw ShapeError("image of " + std::to_string(width) + "x" + std::to_string(height) + " pixels with " +
                     std::to_string(channels) + " channels: expected a positive size and 1 to 4 channels");
  const auto bytes = static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height) *
                     static_cast<std::uint64_t>(channels);
  // Row offsets are computed in size_t and pixel indices in int64 downstream; keep both safe.
  if (bytes > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / 4))
    throw ShapeError("image of " + std::to_string(width) + "x" + std::to_string(height) + " is too large");
  pixels_.assign(static_cast<std::size_t>(bytes), 0);
}

}  // namespace visbone::image
