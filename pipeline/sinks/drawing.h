// What the drawing sinks (annotated_images, heatmap, contact_sheet) share. Images are RGB here, as decoded;
// OpenCV's encoder wants BGR, so the order is swapped on writing.
#pragma once

#include <filesystem>
#include <opencv2/core.hpp>
#include <string>
#include <utility>
#include <vector>

#include "visbone/core/item.h"
#include "visbone/image/image.h"

namespace visbone::pipeline::detail {

inline const cv::Scalar kWhite(255, 255, 255), kGreen(90, 230, 90), kRed(255, 90, 90), kOrange(255, 170, 60);

// A three-channel RGB copy of a decoded image (grayscale replicated).
cv::Mat to_rgb(const image::Image& img);
// The image scaled to fit a tile x tile square (aspect kept), as three-channel RGB. Resized while reading the
// decoded pixels and converted after, so no full-size copy is made (a 13000x13000 input costs a tile).
cv::Mat fit_rgb(const image::Image& img, int tile);
// Scales so the short side is at least `min_size`; whole-number enlargements keep pixels square and crisp
// (an 8x8 digit stays readable), other factors interpolate.
cv::Mat enlarge(const cv::Mat& m, int min_size);
// Encodes (png or jpg) and writes atomically.
void write_image(const std::filesystem::path& path, const cv::Mat& rgb, const std::string& format);
// "97.5%"
std::string percent(float score);
// Hershey fonts draw ASCII only; anything else would come out as '?' boxes, so it is replaced up front.
std::string ascii(const std::string& s);
// Lines of text in a darkened box at the top left.
void draw_box(cv::Mat& rgb, const std::vector<std::pair<std::string, cv::Scalar>>& lines);
// Green when the top label matches the true one, red when not, white when there is no true label.
cv::Scalar verdict_color(const Item& item, const std::string& predicted);

}  // namespace visbone::pipeline::detail
