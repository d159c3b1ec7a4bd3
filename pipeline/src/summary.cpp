#include "visbone/pipeline/summary.h"

#include <set>
#include <sstream>

#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/json_writer.h"
#include "visbone/pipeline/atomic_file.h"

namespace visbone::pipeline {

std::optional<double> Summary::accuracy() const {
  if (labeled == 0) return std::nullopt;
  return static_cast<double>(correct) / static_cast<double>(labeled);
}

void Summary::add(const Summary& part) {
  items += part.items;
  ok += part.ok;
  failed += part.failed;
  labeled += part.labeled;
  correct += part.correct;
  errors.insert(errors.end(), part.errors.begin(), part.errors.end());
  if (stages.empty())
    stages = part.stages;
  else
    for (std::size_t k = 0; k < part.stages.size() && k < stages.size(); ++k)
      stages[k].seconds += part.stages[k].seconds;
  std::set<std::string> labels(unknown_labels.begin(), unknown_labels.end());
  labels.insert(part.unknown_labels.begin(), part.unknown_labels.end());
  unknown_labels.assign(labels.begin(), labels.end());
  if (unknown_labels.size() > kMaxUnknownLabels) unknown_labels.resize(kMaxUnknownLabels);
  if (sources.empty()) sources = part.sources;
}

std::string Summary::items_text() const {
  return "items: " + std::to_string(items) + " (" + std::to_string(ok) + " ok, " + std::to_string(failed) +
         " failed)";
}

std::string Summary::accuracy_text() const {
  const auto a = accuracy();
  if (!a) return {};
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(4);
  o << "accuracy: " << *a << " (" << correct << "/" << labeled << " labelled inputs, top-1 vs folder name)\n";
  if (!unknown_labels.empty()) {
    o << "note: folder labels the model has no class for:";
    for (const auto& l : unknown_labels) o << " " << l;
    o << "\n";
  }
  return o.str();
}

std::string Summary::text() const {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(2);
  o << items_text() << " in " << seconds << " s, " << images_per_second() << " images/s\n";
  o << "time per stage (busy, summed over workers):";
  for (const auto& s : stages) o << " " << s.stage << " " << s.seconds << " s";
  o << "\n" << accuracy_text();
  for (const auto& out : outputs) o << "wrote " << out.description << "\n";
  return o.str();
}

boost::json::object Summary::json() const {
  boost::json::object stages_json;
  for (const auto& s : stages) stages_json[s.stage] = s.seconds;
  boost::json::object j{{"items", items},
                        {"ok", ok},
                        {"failed", failed},
                        {"seconds", seconds},
                        {"images_per_second", images_per_second()},
                        {"stage_seconds", std::move(stages_json)},
                        {"labeled", labeled},
                        {"correct", correct}};
  if (const auto a = accuracy())
    j["accuracy"] = *a;
  else
    j["accuracy"] = nullptr;
  j["unknown_labels"] = boost::json::value_from(unknown_labels);
  j["sources"] = boost::json::value_from(sources);
  boost::json::array outs;
  for (const auto& out : outputs) {
    boost::json::object o{{"sink", out.sink}};
    if (out.path.empty())
      o["path"] = nullptr;
    else
      o["path"] = out.path;
    outs.push_back(std::move(o));
  }
  j["outputs"] = std::move(outs);
  if (shards > 0) j["shards"] = shards;
  return j;
}

void Summary::write(const std::filesystem::path& path) {
  outputs.push_back({"summary", path.string(), "summary -> " + path.string()});
  const std::string text = to_json_text(json()) + "\n";
  write_file_atomic(path, {reinterpret_cast<const unsigned char*>(text.data()), text.size()});
}

Summary Summary::read(const std::filesystem::path& path) {
  const boost::json::value v = read_json_file(path);
  const auto fail = [&](const std::string& what) -> void {
    throw FormatError(path.string() + ": not a run summary: " + what);
  };
  const auto* o = v.if_object();
  if (!o) fail("expected a JSON object");
  const auto count = [&](const char* key) {
    const auto* x = o->if_contains(key);
    if (!x || !(x->is_uint64() || (x->is_int64() && x->as_int64() >= 0))) fail(std::string("'") + key + "' is not a count");
    return x->to_number<std::uint64_t>();
  };
  const auto seconds = [&](const boost::json::value* x, const std::string& key) {
    if (!x || !x->is_number() || x->to_number<double>() < 0) fail("'" + key + "' is not a number of seconds");
    return x->to_number<double>();
  };
  Summary s;
  s.items = count("items");
  s.ok = count("ok");
  s.failed = count("failed");
  s.labeled = count("labeled");
  s.correct = count("correct");
  s.seconds = seconds(o->if_contains("seconds"), "seconds");
  const auto* stages = o->if_contains("stage_seconds");
  if (!stages || !stages->is_object()) fail("no 'stage_seconds' object");
  for (const auto& kv : stages->as_object())
    s.stages.push_back({std::string(kv.key()), seconds(&kv.value(), "stage_seconds." + std::string(kv.key()))});
  for (const char* key : {"unknown_labels", "sources"}) {
    const auto* list = o->if_contains(key);
    if (!list || !list->is_array()) fail(std::string("no '") + key + "' list");
    for (const auto& x : list->as_array()) {
      if (!x.is_string()) fail(std::string("'") + key + "' holds a " + json_kind(x));
      (std::string(key) == "sources" ? s.sources : s.unknown_labels).emplace_back(x.as_string());
    }
  }
  return s;
}

}  // namespace visbone::pipeline
