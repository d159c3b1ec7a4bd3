// `jsonl`: one JSON record per input (JSON Lines), every head's record under its name.
#include "sinks.h"
#include "visbone/core/json_writer.h"
#include "visbone/pipeline/atomic_file.h"
#include "visbone/pipeline/safetensors_stream.h"
#include "visbone/pipeline/sink_outputs.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;

boost::json::object item_record(const Item& item, const std::vector<SinkHead>& heads, bool with_tensors) {
  boost::json::object r;
  r["index"] = item.seq;
  r["id"] = valid_utf8(item.id);
  r["path"] = valid_utf8(item.path);
  if (item.label) r["label"] = valid_utf8(*item.label);
  r["content_key"] = item.content_key;
  r["ok"] = !item.failed();
  if (item.failed()) {
    r["stage"] = item.error_stage;
    r["error"] = valid_utf8(item.error);
    return r;
  }
  r["width"] = item.width;
  r["height"] = item.height;
  for (std::size_t i = 0; i < item.heads.size() && i < heads.size(); ++i) {
    boost::json::object record = item.heads[i].record;
    if (!with_tensors)
      for (const auto& [name, tensor] : item.heads[i].tensors) record.erase(name);
    r[heads[i].name] = std::move(record);
  }
  return r;
}

fs::path output_name(const std::string& id, const std::string& ext) {
  fs::path out;
  std::size_t start = 0;
  while (start <= id.size()) {
    const std::size_t end = std::min(id.find('/', start), id.size());
    const std::string part = id.substr(start, end - start);
    if (part == "..")
      out /= "__";
    else if (!part.empty() && part != ".")
      out /= part;
    start = end + 1;
  }
  if (out.empty()) out = "input";
  // Appended, not replaced: cat.png and cat.jpg must not both become cat.png.
  out += "." + ext;
  return out;
}

namespace {

class JsonlSink : public Sink {
 public:
  JsonlSink(fs::path path, std::vector<SinkHead> heads, bool tensors)
      : file_(std::move(path)), heads_(std::move(heads)), tensors_(tensors) {}
  void write(const Item& item) override {
    std::string line = to_json_text(item_record(item, heads_, tensors_));
    line += '\n';
    file_.write(line);
  }
  void finish() override { file_.commit(); }
  fs::path path() const override { return file_.path(); }
  std::string describe() const override { return "jsonl -> " + file_.path().string(); }
  std::vector<SinkOutput> outputs() const override { return {{file_.path(), MergeRule::concatenate}}; }

 private:
  AtomicFile file_;
  std::vector<SinkHead> heads_;
  bool tensors_;
};

std::unique_ptr<Sink> make(const registry::Params& p, const SinkContext& ctx) {
  return std::make_unique<JsonlSink>(detail::output_path(p, ctx), ctx.heads, p.get<bool>("tensors", false));
}

}  // namespace

void register_jsonl_sink(registry::ComponentRegistrar& r) {
  r.add_sink("jsonl", "one JSON record per input (JSON Lines), every head's record under its name", make,
             {{"path", "path", "(required)", "the file to write (relative to output_dir)"},
              {"tensors", "bool", "false",
               "true: also put in each record the values a head gives as tensors (an embedding's array); by "
               "default they go to a binary sink (safetensors) only"}});
}

}  // namespace visbone::pipeline
