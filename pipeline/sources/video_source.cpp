// `video`: the frames of a video file (OpenCV), decoded here and handed over as pixels.
#include <cstdio>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include "visbone/core/asan.h"
#if defined(VISBONE_ASAN)
#include <sanitizer/lsan_interface.h>
#endif

#include "file_walk.h"
#include "param_checks.h"
#include "sources.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace {

class VideoSource : public Source {
 public:
  VideoSource(fs::path path, int every, std::int64_t max_frames, std::int64_t max_pixels)
      : path_(std::move(path)), every_(every), max_frames_(max_frames), max_pixels_(max_pixels) {
    {
#if defined(VISBONE_ASAN)
      // OpenCV's backends (loaded and unloaded while probing a file) leak small allocations of their own;
      // LeakSanitizer cannot name an unloaded module, so it is told to ignore what the probe allocates.
      __lsan_disable();
#endif
      cap_.open(path_.string());
#if defined(VISBONE_ASAN)
      __lsan_enable();
#endif
    }
    if (!cap_.isOpened()) open_error_ = path_.string() + ": OpenCV cannot open this video";
    else frames_in_header_ = cap_.get(cv::CAP_PROP_FRAME_COUNT);
  }

  std::optional<SourceItem> next() override {
    if (!open_error_.empty()) {
      // A video that does not open is one failed input, reported like an image that does not decode.
      if (reported_) return std::nullopt;
      reported_ = true;
      SourceItem item;
      item.id = path_.filename().string();
      item.path = path_.string();
      item.error = open_error_;
      return item;
    }
    if (reported_) return std::nullopt;  // it stopped early, and that was reported
    if (max_frames_ > 0 && kept_ >= max_frames_) return std::nullopt;
    // Frames between kept ones are only grabbed (demuxed), not decoded.
    while (frame_ % every_ != 0) {
      if (!cap_.grab()) return stopped();
      ++frame_;
    }
    cv::Mat m;
    if (!cap_.read(m)) return stopped();
    const std::int64_t index = frame_++;
    ++kept_;
    SourceItem item;
    item.id = frame_id(index);
    item.path = path_.string();
    if (max_pixels_ > 0 && static_cast<std::int64_t>(m.cols) * m.rows > max_pixels_) {
      item.error = item.id + ": frame of " + std::to_string(m.cols) + "x" + std::to_string(m.rows) +
                   " pixels exceeds the limit of " + std::to_string(max_pixels_);
      return item;
    }
    if (m.depth() != CV_8U || (m.channels() != 1 && m.channels() != 3)) {
      item.error = item.id + ": unsupported frame format (" + std::to_string(m.channels()) + " channels)";
      return item;
    }
    item.image = image::Image(m.cols, m.rows, 3);
    cv::Mat dst(m.rows, m.cols, CV_8UC3, item.image.data());
    cv::cvtColor(m, dst, m.channels() == 3 ? cv::COLOR_BGR2RGB : cv::COLOR_GRAY2RGB);
    item.decoded = true;
    return item;
  }

  std::vector<fs::path> reads() const override {
    return {path_};
  }
  std::string describe() const override {
    return "video " + path_.string() + (every_ > 1 ? " (every " + std::to_string(every_) + " frames)" : "");
  }

  std::optional<std::uint64_t> count() override {
    if (!open_error_.empty()) return 1;
    const double frames = frames_in_header_;
    if (!(frames > 0)) return std::nullopt;
    std::uint64_t n = (static_cast<std::uint64_t>(frames) + static_cast<std::uint64_t>(every_) - 1) /
                      static_cast<std::uint64_t>(every_);
    if (max_frames_ > 0) n = std::min<std::uint64_t>(n, static_cast<std::uint64_t>(max_frames_));
    return n;
  }

 private:
  fs::path path_;
  int every_;
  std::int64_t max_frames_;
  std::int64_t max_pixels_;
  cv::VideoCapture cap_;
  std::string open_error_;
  bool reported_ = false;
  double frames_in_header_ = 0;  // what the container claims; 0 when it does not say
  std::int64_t frame_ = 0, kept_ = 0;

  std::string frame_id(std::int64_t index) const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "frame_%06lld", static_cast<long long>(index));
    return path_.filename().string() + "/" + buf;
  }

  // The video gave no more frames. Short of the count its container states, it was cut off or damaged:
  // one failed input at the first missing frame, so the run does not pass for complete.
  std::optional<SourceItem> stopped() {
    if (reported_) return std::nullopt;
    reported_ = true;
    const auto expected = static_cast<std::int64_t>(frames_in_header_);
    if (!(frames_in_header_ > 0) || frame_ >= expected) return std::nullopt;
    SourceItem item;
    item.id = frame_id(frame_);
    item.path = path_.string();
    item.error = path_.string() + ": ended at frame " + std::to_string(frame_) + " of " +
                 std::to_string(expected) + " (the video is truncated or damaged)";
    return item;
  }
};

std::unique_ptr<Source> make(const registry::Params& p, const SourceContext& context) {
  const fs::path file = p.path("path");
  if (!fs::is_regular_file(file)) p.fail("path", detail::absolute_path(file) + " is not a file");
  const int every = detail::in_range<int>(p, "every", 1, 1, 1'000'000);
  const std::int64_t max_frames = detail::in_range<std::int64_t>(p, "max_frames", 0, 0, std::int64_t{1} << 40);
  return std::make_unique<VideoSource>(file, every, max_frames, context.max_pixels);
}

}  // namespace

void register_video_source(registry::ComponentRegistrar& r) {
  r.add_source("video", "the frames of a video file, decoded by the source", make,
               {{"path", "path", "(required)", "the video file (relative to the YAML file)"},
                {"every", "int", "1", "keep frames 0, N, 2N, ..."},
                {"max_frames", "int", "0", "stop after this many kept frames (0 = all)"}});
}

}  // namespace visbone::pipeline
