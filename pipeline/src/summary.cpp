#include "visbone/pipeline/summary.h"

#include <set>
#include <sstream>

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
  return j;
}

}  // namespace visbone::pipeline
