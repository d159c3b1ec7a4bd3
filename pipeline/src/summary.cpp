// The run summary: what `visbone run` prints (text) or writes (--summary JSON) after a run.
#include <boost/json.hpp>
#include <sstream>

#include "visbone/pipeline/pipeline.h"

namespace visbone::pipeline {

std::optional<double> Summary::accuracy() const {
  if (labeled == 0) return std::nullopt;
  return static_cast<double>(correct) / static_cast<double>(labeled);
}

std::string Summary::text() const {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(2);
  o << "items: " << items << " (" << ok << " ok, " << failed << " failed) in " << seconds << " s, "
    << images_per_second() << " images/s\n";
  o << "time per stage (busy, summed over workers):";
  for (const auto& s : stages) o << " " << s.stage << " " << s.seconds << " s";
  o << "\n";
  if (const auto a = accuracy()) {
    o.precision(4);
    o << "accuracy: " << *a << " (" << correct << "/" << labeled
      << " labelled inputs, top-1 vs folder name)\n";
    if (!unknown_labels.empty()) {
      o << "note: folder labels the model has no class for:";
      for (const auto& l : unknown_labels) o << " " << l;
      o << "\n";
    }
  }
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
