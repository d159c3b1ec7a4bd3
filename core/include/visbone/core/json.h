// Reading JSON documents (config.json, preprocessor_config.json, index files) with errors that name the
// file, line and column.
#pragma once

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <string_view>

namespace visbone {

// Parses `text`; `where` names the source in error messages. Throws FormatError "<where>:<line>:<col>: ...".
boost::json::value parse_json(std::string_view text, const std::string& where);
// Reads and parses a file. Throws IoError if it cannot be read, FormatError if it is not valid JSON.
boost::json::value read_json_file(const std::filesystem::path& path, std::size_t max_bytes = 64u << 20);
// Reads a whole file into a string (IoError naming the file on failure or when it exceeds max_bytes).
std::string read_text_file(const std::filesystem::path& path, std::size_t max_bytes = 64u << 20);
// A JSON value's kind for messages: "string", "array", "null", ...
std::string json_kind(const boost::json::value& v);

}  // namespace visbone
