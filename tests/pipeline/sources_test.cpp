// Sources: what each type yields, in which order, with which ids and labels.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <random>
#include <opencv2/videoio.hpp>

#include "pipeline_test_support.h"
#include "visbone/core/errors.h"
#include "visbone/core/source.h"
#include "../../pipeline/sources/file_walk.h"

namespace visbone::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::vector<SourceItem> drain(Source& s) {
  std::vector<SourceItem> out;
  while (auto i = s.next()) out.push_back(std::move(*i));
  return out;
}

std::vector<std::string> ids(const std::vector<SourceItem>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.id);
  return out;
}

// A small ImageFolder tree with files that must be skipped (other extensions, hidden entries).
void make_tree(const TempDir& d) {
  for (const char* f : {"b/2.png", "b/10.JPG", "a/x.png", "a/deep/y.webp", "top.png", "b/notes.txt",
                        "a/.hidden.png", ".cache/z.png", "c/readme.md"})
    d.write(std::string("root/") + f, "data");
}

TEST(FolderSource, WalksRecursivelyInSortedOrderWithImageExtensionsOnly) {
  TempDir d;
  make_tree(d);
  YAML::Node c;
  c = YAML::Node(YAML::NodeType::Map);
  c["type"] = "folder";
  c["path"] = fs::path(d.path() / "root").string();
  auto s = make_source(c, 1000);
  EXPECT_EQ(s->count(), 5u);
  const auto items = drain(*s);
  // Sorted by name at each level (so "10.JPG" before "2.png"), subfolders where their names fall.
  EXPECT_EQ(ids(items),
            (std::vector<std::string>{"a/deep/y.webp", "a/x.png", "b/10.JPG", "b/2.png", "top.png"}));
  EXPECT_EQ(items[1].path, (d.path() / "root/a/x.png").string());
  for (const auto& i : items) EXPECT_FALSE(i.label) << "labels were not asked for";
}

TEST(FolderSource, LabelsFromFoldersExtensionsAndNonRecursive) {
  TempDir d;
  make_tree(d);
  YAML::Node c;
  c = YAML::Node(YAML::NodeType::Map);
  c["type"] = "folder";
  c["path"] = fs::path(d.path() / "root").string();
  c["labels_from_folders"] = true;
  c["extensions"].push_back(".png");
  auto items = drain(*make_source(c, 1000));
  ASSERT_EQ(ids(items), (std::vector<std::string>{"a/x.png", "b/2.png", "top.png"}));
  EXPECT_EQ(items[0].label, "a");
  EXPECT_EQ(items[1].label, "b");
  EXPECT_FALSE(items[2].label) << "a file in the root has no class folder";

  c["recursive"] = false;
  c.remove("extensions");
  EXPECT_EQ(ids(drain(*make_source(c, 1000))), (std::vector<std::string>{"top.png"}));
}

TEST(FolderSource, MissingFolderIsAnErrorNamingTheConfigLine) {
  YAML::Node c;
  c = YAML::Node(YAML::NodeType::Map);
  c["type"] = "folder";
  c["path"] = fs::path("/nonexistent/visbone").string();
    try {
    make_source(c, 1000);
    FAIL();
  } catch (const ConfigError& e) {  // a config mistake: exit 2 in the CLI
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("source 'folder': p.yaml", 0), 0u) << m;
    EXPECT_NE(m.find(": path: /nonexistent/visbone is not a folder"), std::string::npos) << m;
  }
}

TEST(GlobSource, MatchesAcrossFoldersWithDoubleStar) {
  TempDir d;
  make_tree(d);
  YAML::Node c;
  c = YAML::Node(YAML::NodeType::Map);
  c["type"] = "glob";
  c["pattern"] = fs::path((d.path() / "root/**/*.png").string()).string();
  c["labels_from_folders"] = true;
  auto items = drain(*make_source(c, 1000));
  EXPECT_EQ(ids(items), (std::vector<std::string>{"a/x.png", "b/2.png", "top.png"}));
  EXPECT_EQ(items[0].label, "a");

  c["pattern"] = fs::path((d.path() / "root/*/[xy]*").string()).string();
  EXPECT_EQ(ids(drain(*make_source(c, 1000))), (std::vector<std::string>{"a/x.png"}));

  EXPECT_TRUE(glob_match("**/*.png", "a.png"));
  EXPECT_TRUE(glob_match("**/*.png", "a/b/c.png"));
  EXPECT_TRUE(glob_match("a/**/c.png", "a/c.png"));
  EXPECT_FALSE(glob_match("*.png", "a/b.png")) << "* stays within one folder";
  EXPECT_FALSE(glob_match("a/?.png", "a/bb.png"));
}

TEST(ListSource, ReadsPathsRelativeToTheListSkippingBlanksAndComments) {
  TempDir d;
  const fs::path list = d.write("lists/l.txt", "# inputs\nimgs/a.png\r\n\n   /abs/b.png  \nc d.png\n");
  YAML::Node c;
  c = YAML::Node(YAML::NodeType::Map);
  c["type"] = "list";
  c["path"] = fs::path(list).string();
  c["labels_from_folders"] = true;
  auto s = make_source(c, 1000);
  EXPECT_EQ(s->count(), 3u);
  const auto items = drain(*s);
  EXPECT_EQ(ids(items), (std::vector<std::string>{"imgs/a.png", "/abs/b.png", "c d.png"}));
  EXPECT_EQ(items[0].path, (d.path() / "lists/imgs/a.png").string());
  EXPECT_EQ(items[1].path, "/abs/b.png");
  EXPECT_EQ(items[0].label, "imgs");
  EXPECT_EQ(items[1].label, "abs");
  EXPECT_FALSE(items[2].label);
}

TEST(FilesSource, KeepsTheGivenOrder) {
  TempDir d;  // the files must exist: a missing one is a config error when the source is made
  YAML::Node c;
  c = YAML::Node(YAML::NodeType::Map);
  c["type"] = "files";
  c["paths"].push_back(d.write("x/b.png", "b").string());
  c["paths"].push_back(d.write("y/a.png", "a").string());
  c["labels_from_folders"] = true;
  auto items = drain(*make_source(c, 1000));
  EXPECT_EQ(ids(items), (std::vector<std::string>{(d / "x/b.png").string(), (d / "y/a.png").string()}));
  EXPECT_EQ(items[1].label, "y");
}

// Ten 32x24 frames whose gray level is 20 * frame index.
fs::path make_video(const TempDir& d) {
  const fs::path p = d.path() / "clip.avi";
  cv::VideoWriter w(p.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, cv::Size(32, 24));
  EXPECT_TRUE(w.isOpened());
  for (int i = 0; i < 10; ++i) w.write(cv::Mat(24, 32, CV_8UC3, cv::Scalar::all(20 * i)));
  return p;
}

TEST(VideoSource, KeepsEveryNthFrameDecodedToRgb) {
  TempDir d;
  YAML::Node c;
  c = YAML::Node(YAML::NodeType::Map);
  c["type"] = "video";
  c["path"] = fs::path(make_video(d)).string();
  c["every"] = 3;
  auto s = make_source(c, 1000);
  EXPECT_EQ(s->count(), 4u);
  const auto items = drain(*s);
  ASSERT_EQ(ids(items), (std::vector<std::string>{"clip.avi/frame_000000", "clip.avi/frame_000003",
                                                  "clip.avi/frame_000006", "clip.avi/frame_000009"}));
  for (std::size_t k = 0; k < items.size(); ++k) {
    const auto& img = items[k].image;
    ASSERT_TRUE(items[k].decoded);
    ASSERT_EQ(img.width(), 32);
    ASSERT_EQ(img.height(), 24);
    ASSERT_EQ(img.channels(), 3);
    // MJPEG is lossy: the level is close, not exact.
    EXPECT_NEAR(img.at(12, 16, 1), 20.0 * 3 * static_cast<double>(k), 4.0) << items[k].id;
  }

  c["max_frames"] = 2;
  EXPECT_EQ(drain(*make_source(c, 1000)).size(), 2u);
  // Frames over the pixel limit become failed inputs, not a stopped run.
  c["max_frames"] = 0;
  const auto big = drain(*make_source(c, 100));
  ASSERT_EQ(big.size(), 4u);
  EXPECT_NE(big[0].error.find("exceeds the limit of 100"), std::string::npos) << big[0].error;
}

TEST(VideoSource, AFileThatIsNotAVideoIsOneFailedInput) {
  TempDir d;
  YAML::Node c;
  c = YAML::Node(YAML::NodeType::Map);
  c["type"] = "video";
  c["path"] = fs::path(d.write("bad.mp4", "not a video at all")).string();
  const auto items = drain(*make_source(c, 1000));
  ASSERT_EQ(items.size(), 1u);
  EXPECT_NE(items[0].error.find("cannot open this video"), std::string::npos) << items[0].error;
}

// A 200-frame MJPEG AVI whose frames differ, so each is a separate JPEG of some size.
std::string video_of_200_frames(const TempDir& d) {
  const fs::path p = d.path() / "full.avi";
  cv::VideoWriter w(p.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 25, cv::Size(32, 24));
  EXPECT_TRUE(w.isOpened());
  for (int i = 0; i < 200; ++i) {
    cv::Mat m(24, 32, CV_8UC3, cv::Scalar::all(i));
    cv::circle(m, cv::Point(i % 32, (i / 32) % 24), 5, cv::Scalar(255, 0, i), -1);
    w.write(m);
  }
  w.release();
  return testing::read_file(p);
}

// What a video source of `path` yields: the frames it decoded and its last item.
std::vector<SourceItem> read_video(const fs::path& path, int every = 1) {
  YAML::Node c;
  c = YAML::Node(YAML::NodeType::Map);
  c["type"] = "video";
  c["path"] = fs::path(path).string();
  c["every"] = every;
  return drain(*make_source(c, 1000));
}

TEST(VideoSource, AVideoCutShortIsAFailedInputAtTheFirstMissingFrame) {
  TempDir d;
  const std::string bytes = video_of_200_frames(d);
  ASSERT_EQ(read_video(d.path() / "full.avi").size(), 200u) << "the whole video reads without a record";

  // The first half of the file: the header still says 200 frames.
  const fs::path cut = d.write("cut.avi", bytes.substr(0, bytes.size() / 2));
  auto items = read_video(cut);
  ASSERT_GE(items.size(), 2u);
  const std::size_t read = items.size() - 1;
  EXPECT_GT(read, 50u);
  EXPECT_LT(read, 150u);
  for (std::size_t k = 0; k < read; ++k) EXPECT_TRUE(items[k].decoded && items[k].error.empty()) << k;
  const SourceItem last = items.back();
  EXPECT_EQ(last.error, cut.string() + ": ended at frame " + std::to_string(read) +
                            " of 200 (the video is truncated or damaged)");
  char id[32];
  std::snprintf(id, sizeof id, "cut.avi/frame_%06zu", read);
  EXPECT_EQ(last.id, id);

  // Skipping frames (grabbed, not decoded) finds the same end.
  items = read_video(cut, 7);
  EXPECT_EQ(items.back().error, last.error);
  EXPECT_EQ(items.size(), (read + 6) / 7 + 1);
}

TEST(VideoSource, AVideoWithFlippedBytesThatStopsEarlyIsAFailedInput) {
  TempDir d;
  std::string bytes = video_of_200_frames(d);
  // 200 bytes flipped past the header: OpenCV's demuxer gives up at the first bad stretch.
  std::mt19937 rng(1);
  for (int k = 0; k < 200; ++k) bytes[4096 + rng() % (bytes.size() - 8192)] ^= '\xff';
  const fs::path bad = d.write("flipped.avi", bytes);
  const auto items = read_video(bad);
  ASSERT_FALSE(items.empty());
  const std::size_t read = items.size() - 1;
  EXPECT_LT(read, 200u);
  EXPECT_EQ(items.back().error, bad.string() + ": ended at frame " + std::to_string(read) +
                                    " of 200 (the video is truncated or damaged)");
}

TEST(VideoSource, ARunOverACutVideoExitsWithOne) {
  TempDir d;
  const std::string bytes = video_of_200_frames(d);
  const fs::path cut = d.write("cut.avi", bytes.substr(0, bytes.size() / 2));
  const std::size_t read = read_video(cut).size() - 1;
  const fs::path cfg = d.write("c.yaml", "source: {type: video, path: cut.avi}\nmodel: {checkpoint: " +
                                             testing::kData + "/models/bit-tiny-digits}\n"
                                             "heads: [{type: classification}]\n"
                                             "sinks: [{type: jsonl, path: out.jsonl}]\n");
  const auto r = testing::run_visbone({"run", cfg.string(), "--progress", "none"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("items: " + std::to_string(read + 1) + " (" + std::to_string(read) + " ok, 1 failed)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.err.find("ended at frame " + std::to_string(read) + " of 200"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace visbone::pipeline
