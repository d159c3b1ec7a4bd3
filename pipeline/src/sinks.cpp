// The record sinks: JSON Lines, CSV of top-k labels, safetensors of tensors. The image sinks are in
// image_sinks.cpp.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "sink_support.h"
#include "visbone/core/errors.h"
#include "visbone/core/json_writer.h"
#include "visbone/pipeline/atomic_file.h"
#include "visbone/pipeline/safetensors_stream.h"

namespace visbone::pipeline {

namespace fs = std::filesystem;

boost::json::object item_record(const Item& item, const std::vector<HeadInfo>& heads) {
  boost::json::object r;
  r["index"] = item.seq;
  r["id"] = valid_utf8(item.id);
  r["path"] = valid_utf8(item.path);
  if (item.label) r["label"] = valid_utf8(*item.label);
  r["ok"] = !item.failed();
  if (item.failed()) {
    r["stage"] = item.error_stage;
    r["error"] = valid_utf8(item.error);
    return r;
  }
  r["width"] = item.width;
  r["height"] = item.height;
  for (std::size_t i = 0; i < item.heads.size() && i < heads.size(); ++i)
    r[heads[i].name] = item.heads[i].record;
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
  out.replace_extension("." + ext);
  return out;
}

namespace detail {

int columns_top_k(const SinkConfig& c, const HeadInfo& head) {
  // A head that does not say how many predictions it gives (a plugin's) gets the sink's top_k, else 5.
  const int head_k = head.top_k > 0 ? head.top_k : (c.top_k > 0 ? c.top_k : 5);
  return c.top_k > 0 ? std::min(c.top_k, head_k) : head_k;
}

std::string sink_where(const SinkConfig& c, const std::string& context) {
  return c.place.str() + ": " + context + " (" + std::string(to_string(c.type)) + ")";
}

std::size_t find_head(const SinkConfig& c, const std::string& context, const SinkContext& ctx,
                      const std::string& name, const std::string& type) {
  const std::string where = sink_where(c, context);
  if (!name.empty()) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < ctx.heads.size(); ++i) {
      if (ctx.heads[i].name == name) return i;
      names.push_back(ctx.heads[i].name);
    }
    std::string msg = where + ": head: no head is named '" + name + "' (heads: ";
    for (std::size_t i = 0; i < names.size(); ++i) msg += (i ? ", " : "") + names[i];
    throw ConfigError(msg + ")");
  }
  std::vector<std::size_t> found;
  for (std::size_t i = 0; i < ctx.heads.size(); ++i)
    if (ctx.heads[i].kind == type) found.push_back(i);
  if (found.empty())
    throw ConfigError(where + ": needs a " + type +
                      " head; add one to heads (or name another head with 'head:')");
  if (found.size() > 1)
    throw ConfigError(where + ": there are " + std::to_string(found.size()) + " " + type +
                      " heads; say which one with 'head: NAME'");
  return found.front();
}

}  // namespace detail

namespace {

class JsonlSink : public Sink {
 public:
  JsonlSink(fs::path path, std::vector<HeadInfo> heads) : file_(std::move(path)), heads_(std::move(heads)) {}
  void write(const Item& item) override {
    std::string line = to_json_text(item_record(item, heads_));
    line += '\n';
    file_.write(line);
  }
  void finish() override { file_.commit(); }
  std::string describe() const override { return "jsonl -> " + file_.path().string(); }

 private:
  AtomicFile file_;
  std::vector<HeadInfo> heads_;
};

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
    file_.write(header + "\n");
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
    line << '\n';
    file_.write(line.str());
  }
  void finish() override { file_.commit(); }
  std::string describe() const override { return "csv -> " + file_.path().string(); }

 private:
  AtomicFile file_;
  std::size_t head_;
  int k_;
};

class SafetensorsSink : public Sink {
 public:
  SafetensorsSink(fs::path path, bool stack, std::vector<std::size_t> heads, std::vector<std::string> names)
      : path_(std::move(path)),
        stack_(stack),
        heads_(std::move(heads)),
        names_(std::move(names)),
        out_(path_, stack) {}

  void write(const Item& item) override {
    if (item.failed()) return;
    const std::string id = valid_utf8(item.id);
    if (stack_) ids_.emplace_back(id);
    for (std::size_t j = 0; j < heads_.size(); ++j) {
      for (const auto& [tensor, t] : item.heads[heads_[j]].tensors) {
        // "<head>.<tensor>", or just the head's name when the tensor is named like it (embedding).
        const std::string name = tensor == names_[j] ? tensor : names_[j] + "." + tensor;
        if (stack_) {
          out_.add(name, t);
          continue;
        }
        std::string key = id + "." + name;
        // The same file listed twice: the second copy is told apart by its position in the input.
        if (out_.contains(key)) key = id + "#" + std::to_string(item.seq) + "." + name;
        out_.add(key, t);
      }
    }
  }

  void finish() override {
    if (stack_) out_.set_metadata("ids", boost::json::serialize(boost::json::value_from(ids_)));
    out_.set_metadata("format", "pt");
    out_.commit();
  }
  std::string describe() const override {
    return std::string("safetensors") + (stack_ ? " (stacked)" : "") + " -> " + path_.string();
  }

 private:
  fs::path path_;
  bool stack_;
  std::vector<std::size_t> heads_;
  std::vector<std::string> names_;  // the heads' names
  SafetensorsStream out_;
  std::vector<std::string> ids_;  // stacked mode: which input each row is
};

std::unique_ptr<Sink> make_safetensors(const SinkConfig& c, const std::string& context,
                                       const SinkContext& ctx) {
  const std::string where = detail::sink_where(c, context);
  std::vector<std::size_t> heads;
  if (c.heads.empty()) {
    for (std::size_t i = 0; i < ctx.heads.size(); ++i)
      if (ctx.heads[i].kind != "classification") heads.push_back(i);
    if (heads.empty())
      throw ConfigError(where +
                        ": no head to write besides classification heads; add a feature_maps or "
                        "embedding head, or list the heads to write with 'heads:'");
  } else {
    for (const auto& name : c.heads) {
      const auto it =
          std::find_if(ctx.heads.begin(), ctx.heads.end(), [&](const HeadInfo& h) { return h.name == name; });
      if (it == ctx.heads.end()) throw ConfigError(where + ": heads: no head is named '" + name + "'");
      heads.push_back(static_cast<std::size_t>(it - ctx.heads.begin()));
    }
  }
  std::vector<std::string> names;
  for (const std::size_t h : heads) names.push_back(ctx.heads[h].name);
  return std::make_unique<SafetensorsSink>(ctx.config->output_path(c.path), c.stack, std::move(heads),
                                           std::move(names));
}

}  // namespace

std::unique_ptr<Sink> make_sink(const SinkConfig& c, const std::string& context, const SinkContext& ctx) {
  switch (c.type) {
    case SinkType::jsonl:
      return std::make_unique<JsonlSink>(ctx.config->output_path(c.path), ctx.heads);
    case SinkType::csv: {
      const std::size_t h = detail::find_head(c, context, ctx, c.head, "classification");
      return std::make_unique<CsvSink>(ctx.config->output_path(c.path), h,
                                       detail::columns_top_k(c, ctx.heads[h]));
    }
    case SinkType::safetensors:
      return make_safetensors(c, context, ctx);
    case SinkType::annotated_images:
      return detail::make_annotated_images(c, context, ctx);
    case SinkType::heatmap:
      return detail::make_heatmap(c, context, ctx);
    case SinkType::contact_sheet:
      return detail::make_contact_sheet(c, context, ctx);
    case SinkType::plugin:
      break;
  }
  throw ConfigError(detail::sink_where(c, context) + ": unknown sink type");
}

}  // namespace visbone::pipeline
