// Class names for classification heads: transformers' id2label from a config.json, a JSON list, or a text
// file with one name per line.
#pragma once

#include <boost/json/fwd.hpp>
#include <filesystem>
#include <string>
#include <vector>

namespace visbone::heads {

// id2label ({"0": "tench", ...}) as a list by index. ConfigError naming `where` when the keys are not the
// consecutive indices 0..N-1 or a name is not a string.
std::vector<std::string> labels_from_id2label(const boost::json::value& id2label, const std::string& where);
// A config.json (its id2label), a .json list of names, or a text file with one name per line.
std::vector<std::string> read_labels(const std::filesystem::path& file);
// transformers' names for unnamed classes: LABEL_0, LABEL_1, ...
std::vector<std::string> default_labels(int n);

}  // namespace visbone::heads
