// Reading JSON documents (config.json, preprocessor_config.json, index files) with errors that name the
// file, line and column.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "visbone/core/memory_budget.h"

namespace visbone {

// Memory one parsed document may take (its values plus the parser's working stack): 64 MB of "[0,0,0,..."
// would otherwise become a gigabyte of JSON values.
inline constexpr std::uint64_t kJsonMaxMemoryBytes = 256u << 20;

// Parses `text`; `where` names the source in error messages. Throws FormatError "<where>:<line>:<col>: ...",
// or FormatError "<where>: the JSON document needs more than N bytes of memory" past max_memory_bytes.
boost::json::value parse_json(std::string_view text, const std::string& where,
                              std::uint64_t max_memory_bytes = kJsonMaxMemoryBytes);
// The same, charging the document to `budget` (shared with a reader's other allocations for one input; the
// returned value keeps charging it for what it allocates until it is destroyed).
boost::json::value parse_json(std::string_view text, const std::string& where, const MemoryBudget& budget);
// Reads and parses a file. Throws IoError if it cannot be read or is over max_bytes, FormatError if it is not
// valid JSON or needs more than max_memory_bytes once parsed.
boost::json::value read_json_file(const std::filesystem::path& path, std::size_t max_bytes = 64u << 20,
                                  std::uint64_t max_memory_bytes = kJsonMaxMemoryBytes);
// Reads a whole file into a string (IoError naming the file on failure or when it exceeds max_bytes).
std::string read_text_file(const std::filesystem::path& path, std::size_t max_bytes = 64u << 20);
// A JSON value's kind for messages: "string", "array", "null", ...
std::string json_kind(const boost::json::value& v);

}  // namespace visbone
