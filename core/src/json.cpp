#include "visbone/core/json.h"

#include <fstream>
#include <sstream>

#include "visbone/core/errors.h"

namespace visbone {

namespace {

// Allocates a document's memory from the heap, charging each allocation to a budget.
class BudgetResource final : public boost::json::memory_resource {
 public:
  explicit BudgetResource(MemoryBudget budget) : budget_(std::move(budget)) {}

 private:
  // Plain new and delete, like Boost.JSON's default resource: it never asks for more alignment than they
  // give, and it does not pass the same alignment to both sides (1.81 allocates object keys with 1, frees
  // them with 16), which aligned new/delete would turn into a mismatch (ASan reports it).
  void* do_allocate(std::size_t bytes, std::size_t) override {
    budget_.charge(bytes);
    try {
      return ::operator new(bytes);
    } catch (...) {
      budget_.release(bytes);
      throw;
    }
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t) override {
    ::operator delete(p);
    budget_.release(bytes);
  }
  bool do_is_equal(const boost::json::memory_resource& other) const noexcept override { return this == &other; }

  MemoryBudget budget_;
};

}  // namespace

boost::json::value parse_json(std::string_view text, const std::string& where, std::uint64_t max_memory_bytes) {
  return parse_json(text, where, MemoryBudget(max_memory_bytes, where + ": the JSON document",
                                              "max_memory_bytes for one JSON document"));
}

boost::json::value parse_json(std::string_view text, const std::string& where, const MemoryBudget& budget) {
  // The parser's working stack and the document both come from the budget.
  const boost::json::storage_ptr storage = boost::json::make_shared_resource<BudgetResource>(budget);
  boost::json::stream_parser parser(storage);
  parser.reset(storage);
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

boost::json::value read_json_file(const std::filesystem::path& path, std::size_t max_bytes,
                                  std::uint64_t max_memory_bytes) {
  return parse_json(read_text_file(path, max_bytes), path.string(), max_memory_bytes);
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
