// An 8-bit image held the way Pillow holds one: rows top to bottom, pixels interleaved (R,G,B for colour,
// one value for grayscale). Keeping Pillow's layout and sample type lets resampling round exactly where
// Pillow rounds, which is what makes the preprocessing bit-exact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace visbone::image {

class Image {
 public:
  Image() = default;
  // Zero-filled. Throws ShapeError for a non-positive size, a channel count outside 1..4, or a size whose
  // byte count does not fit in memory arithmetic.
  Image(int width, int height, int channels);

  int width() const { return width_; }
  int height() const { return height_; }
  int channels() const { return channels_; }
  bool empty() const { return pixels_.empty(); }
  // Bytes per row (width * channels; rows are packed, no padding).
  std::size_t stride() const {
    return static_cast<std::size_t>(width_) * static_cast<std::size_t>(channels_);
  }

  std::uint8_t* data() { return pixels_.data(); }
  const std::uint8_t* data() const { return pixels_.data(); }
  std::uint8_t* row(int y) { return pixels_.data() + static_cast<std::size_t>(y) * stride(); }
  const std::uint8_t* row(int y) const { return pixels_.data() + static_cast<std::size_t>(y) * stride(); }
  std::uint8_t& at(int y, int x, int c) { return row(y)[static_cast<std::size_t>(x) * channels_ + c]; }
  std::uint8_t at(int y, int x, int c) const { return row(y)[static_cast<std::size_t>(x) * channels_ + c]; }

  const std::vector<std::uint8_t>& pixels() const { return pixels_; }

  friend bool operator==(const Image& a, const Image& b) = default;

 private:
  int width_ = 0;
  int height_ = 0;
  int channels_ = 0;
  std::vector<std::uint8_t> pixels_;
};

}  // namespace visbone::image
