// `csv`: a classifying head's top-k labels, scores and logits, one row per input.
#include <cmath>
#include <sstream>

#include "param_checks.h"
#include "sinks.h"
#include "visbone/core/json_writer.h"
#include "visbone/pipeline/atomic_file.h"
#include "visbone/pipeline/safetensors_stream.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;
namespace {

// RFC 4180 quoting: fields with a comma, quote or line break are quoted, quotes doubled.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

class CsvSink : public Sink {
 public:
  CsvSink(fs::path path, std::size_t head, int k) : file_(std::move(path)), head_(head), k_(k) {
    std::string header = "index,id,path,label,error";
    for (int r = 1; r <= k_; ++r) {
      const std::string n = std::to_string(r);
      header += ",label_" + n + ",index_" + n + ",score_" + n + ",logit_" + n;
    }
    file_.write(header + ",content_key\n");  // last, so the columns before it keep their places
  }
  void write(const Item& item) override {
    std::ostringstream line;
    line.precision(9);
    line << item.seq << ',' << csv_field(valid_utf8(item.id)) << ',' << csv_field(valid_utf8(item.path))
         << ',' << csv_field(item.label ? valid_utf8(*item.label) : "") << ','
         << csv_field(valid_utf8(item.error));
    const std::vector<TopK>* top = item.failed() ? nullptr : &item.top_k[head_];
    for (int r = 0; r < k_; ++r) {
      if (top && r < static_cast<int>(top->size())) {
        const TopK& t = (*top)[static_cast<std::size_t>(r)];
        line << ',' << csv_field(valid_utf8(t.label)) << ',' << t.index << ',' << t.score << ',';
        if (!std::isnan(t.logit)) line << t.logit;
      } else {
        line << ",,,,";
      }
    }
    line << ',' << item.content_key << '\n';
    file_.write(line.str());
  }
  void finish() override { file_.commit(); }
  fs::path path() const override { return file_.path(); }
  std::string describe() const override { return "csv -> " + file_.path().string(); }
  std::vector<SinkOutput> outputs() const override {
    return {{file_.path(), MergeRule::concatenate_after_header}};
  }

 private:
  AtomicFile file_;
  std::size_t head_;
  int k_;
};

std::unique_ptr<Sink> make(const registry::Params& p, const SinkContext& ctx) {
  const fs::path path = detail::output_path(p, ctx);
  const int top_k = detail::in_range<int>(p, "top_k", 0, 1, 100'000);
  const std::size_t h = detail::find_head(p, ctx, "classification");
  return std::make_unique<CsvSink>(path, h, detail::columns_top_k(top_k, ctx.heads[h]));
}

}  // namespace

void register_csv_sink(registry::ComponentRegistrar& r) {
  r.add_sink("csv", "a classifying head's top-k labels, scores and logits, one row per input", make,
             {{"path", "path", "(required)", "the file to write (relative to output_dir)"},
              detail::head_param("classification"),
              {"top_k", "int", "the head's top_k", "label columns per row"}});
}

}  // namespace visbone::pipeline
