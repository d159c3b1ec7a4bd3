// `visbone run`'s progress display: never wider than the terminal, no ETA from the first few items, images/s
// over the inputs that went through, "loading model" while the model loads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "progress.h"
#include "support/support.h"

namespace visbone::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Progress, BarFitsEveryWidth) {
  const ProgressState p{1234, 56, 100000, 61.0};
  for (int columns : {10, 20, 30, 40, 50, 60, 80, 200}) {
    const std::string text = bar_text(p, columns);
    EXPECT_LE(static_cast<int>(text.size()), columns - 1) << columns << ": " << text;
    EXPECT_THAT(text, HasSubstr("1234")) << columns;
  }
  // Wide enough: the bar, the count, the rate, the ETA and the failures.
  const std::string wide = bar_text(p, 120);
  EXPECT_EQ(wide.front(), '[');
  EXPECT_THAT(wide, HasSubstr("1234/100000"));
  EXPECT_THAT(wide, HasSubstr("ETA "));
  EXPECT_THAT(wide, HasSubstr("56 failed"));
  // In 50 columns the bar is still there, shorter.
  const std::string narrow = bar_text(ProgressState{120, 0, 300, 3.0}, 50);
  EXPECT_EQ(narrow, "[#######...........] 120/300 ETA 0:05  40.0 img/s");
  EXPECT_EQ(narrow.size(), 49u);
}

TEST(Progress, NoEtaBeforeAFewItems) {
  for (std::uint64_t done = 0; done < kItemsBeforeEta; ++done) {
    const ProgressState p{done, 0, 1000, 2.0};
    EXPECT_THAT(bar_text(p, 200), Not(HasSubstr("ETA"))) << done;
    EXPECT_THAT(progress_line(p), Not(HasSubstr("ETA"))) << done;
  }
  const ProgressState p{kItemsBeforeEta, 0, 1000, 2.0};
  EXPECT_THAT(progress_line(p), HasSubstr("ETA 6:38"));  // 995 items at 2.5/s
}

TEST(Progress, ImagesPerSecondCountsSuccessfulItems) {
  const ProgressState p{100, 60, 100, 10.0};
  EXPECT_DOUBLE_EQ(images_per_second(p), 4.0);
  EXPECT_THAT(progress_line(p), HasSubstr("60 failed, 4.0 images/s"));
  EXPECT_THAT(bar_text(p, 200), HasSubstr("4.0 img/s"));
}

// The real program in a 50-column pane: every redraw of the bar fits in a line.
TEST(Progress, RunInA50ColumnPane) {
  testing::TempDir d;
  const std::string project = VISBONE_PROJECT_DIR;
  const auto r = testing::run_visbone({"run", project + "/configs/default.yaml", "--input", project + "/data/digits/5",
                                       "--output", d.path().string(), "--progress", "bar"},
                                      {{"COLUMNS", "50"}});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("loading model..."));
  std::string err = r.err;
  for (std::string code = "\033[K"; err.find(code) != std::string::npos;) err.erase(err.find(code), code.size());
  std::size_t start = 0;
  int redraws = 0;
  while (start < err.size()) {
    const std::size_t end = err.find_first_of("\r\n", start);
    const std::string piece = err.substr(start, end == std::string::npos ? std::string::npos : end - start);
    EXPECT_LE(piece.size(), 49u) << piece;
    if (piece.find(" img/s") != std::string::npos) ++redraws;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  EXPECT_GE(redraws, 1);
}

}  // namespace
}  // namespace visbone::app
