// Inputs that are not regular files: a FIFO (opening one for reading blocks until a writer comes, which for an
// input list is forever), a device, a socket. Every source reports them as failed inputs without opening
// them, and the decoder refuses them too. Before this was so, the run below hung: ctest's TIMEOUT for this
// executable (tests/pipeline/CMakeLists.txt) turns such a hang into a failure.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pipeline_test_support.h"
#include "visbone/core/errors.h"
#include "visbone/image/decode.h"
#include "visbone/core/source.h"

namespace visbone::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const std::string kDigit = testing::kData + "/digits/images/digit_0000.png";

fs::path make_fifo(const fs::path& p) {
  fs::create_directories(p.parent_path());
  EXPECT_EQ(::mkfifo(p.c_str(), 0600), 0) << p;
  return p;
}

// A listening Unix socket bound at `p` (closed with the test; the file stays).
fs::path make_socket(const fs::path& p) {
  fs::create_directories(p.parent_path());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  EXPECT_LT(p.string().size(), sizeof addr.sun_path) << "temp path too long for a socket";
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", p.c_str());
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << p;
  ::close(fd);
  return p;
}

std::vector<SourceItem> drain(Source& s) {
  std::vector<SourceItem> out;
  while (auto i = s.next()) out.push_back(std::move(*i));
  return out;
}

std::string message(const fs::path& p, const std::string& kind) {
  return p.string() + ": is " + kind + ", not a regular file; skipped without opening it";
}

TEST(SpecialFiles, FolderAndGlobSourcesReportThemAsFailedInputs) {
  TempDir d;
  d.write("root/a.png", testing::read_file(kDigit));
  const fs::path fifo = make_fifo(d / "root/b.png");
  const fs::path sock = make_socket(d / "root/sub/c.png");
  make_fifo(d / "root/notes");  // not an image name: not an input at all

  YAML::Node c;
  c = YAML::Node(YAML::NodeType::Map);
  c["type"] = "folder";
  c["path"] = fs::path(d / "root").string();
  auto s = make_source(c, 1 << 20);
  EXPECT_EQ(s->count(), 3u);
  auto items = drain(*s);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].id, "a.png");
  EXPECT_EQ(items[0].error, "");
  EXPECT_EQ(items[1].id, "b.png");
  EXPECT_EQ(items[1].error, message(fifo, "a FIFO"));
  EXPECT_EQ(items[2].id, "sub/c.png");
  EXPECT_EQ(items[2].error, message(sock, "a socket"));

  c = YAML::Node(YAML::NodeType::Map);
  c["type"] = "glob";
  c["pattern"] = fs::path((d / "root/**/*.png").string()).string();
  items = drain(*make_source(c, 1 << 20));
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[1].error, message(fifo, "a FIFO"));
  EXPECT_EQ(items[2].error, message(sock, "a socket"));
}

TEST(SpecialFiles, ListAndFilesSourcesReportThemAsFailedInputs) {
  TempDir d;
  const fs::path image = d.write("in/a.png", testing::read_file(kDigit));
  const fs::path fifo = make_fifo(d / "in/pipe.png");
  YAML::Node c;
  c = YAML::Node(YAML::NodeType::Map);
  c["type"] = "list";
  c["path"] = fs::path(d.write("in/list.txt", "a.png\npipe.png\n/dev/null\n")).string();
  auto items = drain(*make_source(c, 1 << 20));
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].error, "");
  EXPECT_EQ(items[1].error, message(fifo, "a FIFO"));
  EXPECT_EQ(items[2].error, message("/dev/null", "a character device"));

  c = YAML::Node(YAML::NodeType::Map);
  c["type"] = "files";
  c["paths"].push_back(fs::path(fifo).string());
  c["paths"].push_back(fs::path(image).string());
  items = drain(*make_source(c, 1 << 20));
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].error, message(fifo, "a FIFO"));
  EXPECT_EQ(items[1].error, "");
}

TEST(SpecialFiles, TheDecoderRefusesThemWithoutOpening) {
  TempDir d;
  const fs::path fifo = make_fifo(d / "p.png");
  try {
    image::read_image(fifo);
    FAIL() << "a FIFO decoded";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()), message(fifo, "a FIFO"));
  }
}

TEST(SpecialFiles, ARunOverAListNamingAFifoFinishesWithTheFailureRecorded) {
  TempDir d;
  d.write("in/a.png", testing::read_file(kDigit));
  const fs::path fifo = make_fifo(d / "in/pipe.png");
  d.write("in/list.txt", "a.png\npipe.png\n");
  const fs::path cfg = d.write(
      "c.yaml", "source: {type: list, path: in/list.txt}\nmodel: {checkpoint: " + testing::kData +
                    "/models/bit-tiny-digits}\nheads: [{type: classification}]\n"
                    "sinks: [{type: jsonl, path: out.jsonl}]\n");
  const auto r = testing::run_visbone({"run", cfg.string(), "--progress", "none"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("items: 2 (1 ok, 1 failed)"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find(message(fifo, "a FIFO")), std::string::npos) << r.err;
  EXPECT_EQ(testing::read_lines(d / "out.jsonl").size(), 2u);
}

}  // namespace
}  // namespace visbone::pipeline
