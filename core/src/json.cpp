#include "visbone/core/json.h"

#include <fstream>
#include <sstream>

#include "visbone/core/errors.h"

namespace visbone {

boost::json::value parse_json(std::string_view text, const std::string& where) {
  boost::json::stream_parser parser;
  boost::json::error_code ec;
  std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    // Locate the failure: count lines in what the parser consumed.
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < consumed && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw FormatError(where + ":" + std::to_string(line) + ":" + std::to_string(col) +
                      ": invalid JSON: " + ec.message());
  }
  return parser.release();
}

std::string read_text_file(const std::filesystem::path& path, std::size_t max_bytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw IoError(path.string() + ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path.string() + ": cannot open file");
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes)
    throw IoError(path.string() + ": file is " + std::to_string(size) + " bytes, more than the limit of " +
                  std::to_string(max_bytes));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError(path.string() + ": read failed");
  return ss.str();
}

boost::json::value read_json_file(const std::filesystem::path& path, std::size_t max_bytes) {
  return parse_json(read_text_file(path, max_bytes), path.string());
}

std::string json_kind(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "bool";
    case boost::json::kind::int64:
    case boost::json::kind::uint64: return "integer";
    case boost::json::kind::double_: return "number";
    case boost::json::kind::string: return "string";
    case boost::json::kind::array: return "array";
    case boost::json::kind::object: return "object";
  }
  return "value";
}

}  // namespace visbone
