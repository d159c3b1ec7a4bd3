// Reading safetensors files: the header parsed and checked against the file (every tensor's dtype, shape and
// offsets, no gaps or overlaps, no duplicate keys, valid UTF-8) before any tensor is read; tensors are read
// from the mapped file. Writing is in safetensors_write.cpp.
#include "visbone/core/safetensors.h"

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <cstring>
#include <functional>
#include <limits>
#include <unordered_set>

#include "safetensors_format.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/mapped_file.h"
#include "visbone/core/memory_budget.h"

namespace visbone {

namespace safetensors_format {

std::size_t invalid_utf8_at(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp, min;
    if ((c & 0xe0u) == 0xc0u) {
      len = 2, cp = c & 0x1fu, min = 0x80;
    } else if ((c & 0xf0u) == 0xe0u) {
      len = 3, cp = c & 0x0fu, min = 0x800;
    } else if ((c & 0xf8u) == 0xf0u) {
      len = 4, cp = c & 0x07u, min = 0x10000;
    } else {
      return i;
    }
    if (s.size() - i < len) return i;
    for (std::size_t k = 1; k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0u) != 0x80u) return i;
      cp = (cp << 6) | (d & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace safetensors_format

namespace {

using namespace safetensors_format;

constexpr std::size_t kPrefixBytes = 8;

// "[begin, end]". Built by appending: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string.
std::string offsets_str(std::uint64_t begin, std::uint64_t end) {
  std::string s(1, '[');
  s += std::to_string(begin);
  s += ", ";
  s += std::to_string(end);
  s += ']';
  return s;
}

// A JSON value for messages, cut short so that a hostile header cannot make a huge message.
std::string brief(const boost::json::value& v) {
  std::string s = boost::json::serialize(v);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

// boost::json's DOM keeps only the last of duplicate keys, which would let a header describe one tensor
// twice with the reader silently picking one. This SAX pass finds the first duplicate key in any object.
class DuplicateKeyFinder {
 public:
  // Every key is kept until the end of its object; each is charged to `budget`.
  explicit DuplicateKeyFinder(const MemoryBudget& budget) : budget_(budget) {}

  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  bool found() const { return found_; }
  std::uint64_t charged() const { return charged_; }
  const std::string& key() const { return dup_key_; }
  const std::string& parent() const { return dup_parent_; }  // key of the enclosing object, "" at top level

  bool on_document_begin(boost::json::error_code&) { return true; }
  bool on_document_end(boost::json::error_code&) { return true; }
  bool on_array_begin(boost::json::error_code&) { return push(false); }
  bool on_array_end(std::size_t, boost::json::error_code&) { return pop(); }
  bool on_object_begin(boost::json::error_code&) { return push(true); }
  bool on_object_end(std::size_t, boost::json::error_code&) { return pop(); }
  bool on_string_part(boost::json::string_view, std::size_t, boost::json::error_code&) { return true; }
  bool on_string(boost::json::string_view, std::size_t, boost::json::error_code&) { return true; }
  bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    pending_.append(s.data(), s.size());
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    pending_.append(s.data(), s.size());
    const std::uint64_t cost = pending_.size() + kKeyOverheadBytes;
    budget_.charge(cost);
    charged_ += cost;
    Frame& f = frames_.back();
    if (!f.keys.insert(pending_).second && !found_) {
      found_ = true;
      dup_key_ = pending_;
      if (frames_.size() >= 2) dup_parent_ = frames_[frames_.size() - 2].last_key;
    }
    f.last_key = std::move(pending_);
    pending_.clear();
    return true;
  }
  bool on_number_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_int64(std::int64_t, boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_double(double, boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_bool(bool, boost::json::error_code&) { return true; }
  bool on_null(boost::json::error_code&) { return true; }
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }

 private:
  struct Frame {
    bool object = false;
    std::unordered_set<std::string> keys;
    std::string last_key;
  };
  bool push(bool object) {
    frames_.push_back(Frame{object, {}, {}});
    return true;
  }
  bool pop() {
    frames_.pop_back();
    return true;
  }

  // A set node and the string's own header, about.
  static constexpr std::uint64_t kKeyOverheadBytes = 64;

  const MemoryBudget& budget_;
  std::uint64_t charged_ = 0;
  std::vector<Frame> frames_;
  std::string pending_;
  bool found_ = false;
  std::string dup_key_, dup_parent_;
};

void check_no_duplicate_keys(std::string_view text, const std::string& file, const MemoryBudget& budget) {
  boost::json::basic_parser<DuplicateKeyFinder> parser{boost::json::parse_options{}, budget};
  boost::json::error_code ec;
  parser.write_some(false, text.data(), text.size(), ec);
  // The text already parsed as a DOM, so ec is clear here; a failure would be a syntax error reported there.
  const auto& h = parser.handler();
  budget.release(h.charged());  // the keys are freed with the parser
  if (!h.found()) return;
  if (h.parent().empty())
    throw FormatError(file + ": header has the key '" + h.key() +
                      "' twice; each tensor name (and __metadata__) must appear once");
  throw FormatError(file + ": header has the key '" + h.key() + "' twice inside '" + h.parent() + "'");
}

// A non-negative JSON integer, or nullopt for anything else (negative, fractional, not a number).
std::optional<std::uint64_t> as_unsigned(const boost::json::value& v) {
  if (v.is_int64()) {
    if (v.get_int64() < 0) return std::nullopt;
    return static_cast<std::uint64_t>(v.get_int64());
  }
  if (v.is_uint64()) return v.get_uint64();
  return std::nullopt;
}

std::string dtype_list() {
  std::string s;
  for (auto d : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::I16,
                 DType::I8, DType::U8, DType::BOOL}) {
    if (!s.empty()) s += ", ";
    s += dtype_name(d);
  }
  return s;
}

TensorInfo parse_entry(const std::string& file, const std::string& name, const boost::json::value& v) {
  const std::string where = file + ": tensor '" + name + "'";
  if (!v.is_object())
    throw FormatError(where + " is described by a " + json_kind(v) +
                      ", expected an object with dtype, shape and data_offsets");
  const auto& obj = v.get_object();
  for (const auto& kv : obj) {
    const std::string_view k = kv.key();
    if (k != "dtype" && k != "shape" && k != "data_offsets")
      throw FormatError(where + " has the unknown key '" + std::string(k) +
                        "', expected only dtype, shape and data_offsets");
  }
  TensorInfo t;
  t.name = name;

  const auto* dtype = obj.if_contains("dtype");
  if (!dtype) throw FormatError(where + " has no dtype");
  if (!dtype->is_string())
    throw FormatError(where + ": dtype is a " + json_kind(*dtype) + ", expected a string");
  const std::string_view dname = dtype->get_string();
  const auto d = dtype_from_name(dname);
  if (!d)
    throw FormatError(where + " has the unsupported dtype '" + std::string(dname) + "', expected one of " +
                      dtype_list());
  t.dtype = *d;

  const auto* shape = obj.if_contains("shape");
  if (!shape) throw FormatError(where + " has no shape");
  if (!shape->is_array())
    throw FormatError(where + ": shape is a " + json_kind(*shape) +
                      ", expected an array of non-negative integers");
  const auto& dims = shape->get_array();
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const auto dim = as_unsigned(dims[i]);
    if (!dim)
      throw FormatError(where + ": shape entry " + std::to_string(i) + " is " + brief(dims[i]) +
                        ", expected a non-negative integer");
    if (*dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw FormatError(where + ": shape entry " + std::to_string(i) + " is " + std::to_string(*dim) +
                        ", larger than any tensor can be");
    t.shape.push_back(static_cast<std::int64_t>(*dim));
  }

  const auto* offsets = obj.if_contains("data_offsets");
  if (!offsets) throw FormatError(where + " has no data_offsets");
  const auto* arr = offsets->if_array();
  std::optional<std::uint64_t> begin, end;
  if (arr && arr->size() == 2) begin = as_unsigned((*arr)[0]), end = as_unsigned((*arr)[1]);
  if (!begin || !end)
    throw FormatError(where + ": data_offsets is " + brief(*offsets) +
                      ", expected two non-negative integers [begin, end]");
  if (*end < *begin)
    throw FormatError(where + ": data_offsets " + offsets_str(*begin, *end) + " ends before it begins");
  t.begin = *begin;
  t.end = *end;

  // numel * element size, overflow-checked, must be exactly the byte range.
  // Overflow is checked left to right, as the reference implementation does (so [2^32, 2^32, 0] is rejected
  // although it has no elements); that also keeps every accepted shape valid for shape_numel and Tensor.
  std::int64_t numel = 1;
  for (const auto dim : t.shape)
    if (__builtin_mul_overflow(numel, dim, &numel))
      throw FormatError(where + ": shape " + shape_str(t.shape) + " has more elements than fit in 64 bits");
  std::uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<std::uint64_t>(numel), dtype_size(t.dtype), &bytes))
    throw FormatError(where + ": shape " + shape_str(t.shape) + " of dtype " + std::string(dname) +
                      " needs more than 2^64 bytes");
  if (bytes != t.end - t.begin)
    throw FormatError(where + " has " + std::to_string(t.end - t.begin) + " bytes (data_offsets " +
                      offsets_str(t.begin, t.end) + ") but shape " + shape_str(t.shape) + " of dtype " +
                      std::string(dname) + " needs " + std::to_string(bytes));
  return t;
}

}  // namespace

void SafetensorsFile::parse(const SafetensorsLimits& limits) {
  const std::uint64_t size = bytes_.bytes.size();
  if (size < kPrefixBytes)
    throw FormatError(name_ + ": file is " + std::to_string(size) +
                      " bytes, shorter than the 8-byte header length that starts a safetensors file");
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes_.bytes.data(), kPrefixBytes);
  if (header_len > limits.max_header_bytes)
    throw FormatError(name_ + ": header length " + std::to_string(header_len) + " is over the limit of " +
                      std::to_string(limits.max_header_bytes) +
                      " bytes (SafetensorsLimits::max_header_bytes)");
  if (header_len > size - kPrefixBytes)
    throw FormatError(name_ + ": header length " + std::to_string(header_len) +
                      " runs past the end of the file (" + std::to_string(size) + " bytes, so at most " +
                      std::to_string(size - kPrefixBytes) + " bytes of header)");
  data_start_ = kPrefixBytes + header_len;
  const std::string_view header(reinterpret_cast<const char*>(bytes_.bytes.data()) + kPrefixBytes, header_len);

  if (const auto bad = invalid_utf8_at(header); bad != std::string_view::npos)
    throw FormatError(name_ + ": header is not valid UTF-8 (byte " + std::to_string(bad) + " of the header)");
  // One budget for everything the header makes us allocate: the parsed JSON, the duplicate-key check and the
  // tensor table (which the file keeps).
  const MemoryBudget budget(limits.max_memory_bytes, name_ + ": the header",
                            "SafetensorsLimits::max_memory_bytes");
  const boost::json::value root = parse_json(header, name_ + " (header)", budget);
  if (!root.is_object())
    throw FormatError(name_ + ": header is a JSON " + json_kind(root) + ", expected an object");
  const std::uint64_t count = root.get_object().size() - (root.get_object().contains(kMetadataKey) ? 1 : 0);
  if (count > limits.max_tensors)
    throw FormatError(name_ + ": header describes " + std::to_string(count) +
                      " tensors, more than the limit of " + std::to_string(limits.max_tensors) +
                      " (SafetensorsLimits::max_tensors)");
  check_no_duplicate_keys(header, name_, budget);
  // A map node and the strings' own headers, about; what the table keeps per entry beyond its text.
  constexpr std::uint64_t kEntryOverheadBytes = 64;

  std::vector<TensorInfo> tensors;
  for (const auto& kv : root.get_object()) {
    const std::string key(kv.key());
    if (key == kMetadataKey) {
      if (!kv.value().is_object())
        throw FormatError(name_ + ": __metadata__ is a " + json_kind(kv.value()) +
                          ", expected an object of string values");
      for (const auto& m : kv.value().get_object()) {
        if (!m.value().is_string())
          throw FormatError(name_ + ": __metadata__ entry '" + std::string(m.key()) + "' is a " +
                            json_kind(m.value()) + ", expected a string");
        budget.charge(m.key().size() + m.value().get_string().size() + kEntryOverheadBytes);
        metadata_.emplace(std::string(m.key()), std::string(m.value().get_string()));
      }
      continue;
    }
    TensorInfo t = parse_entry(name_, key, kv.value());
    // The info itself, its name twice (here and in by_name_) and its dims.
    budget.charge(sizeof(TensorInfo) + 2 * t.name.size() + t.shape.size() * sizeof(std::int64_t) +
                  kEntryOverheadBytes);
    tensors.push_back(std::move(t));
  }

  // Sorted by offset the tensors must tile the data section exactly: no gaps, no overlaps, nothing after.
  // Ties are 0-byte tensors sharing an offset; stable sort keeps them in header order.
  std::stable_sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  const std::uint64_t data_size = size - data_start_;
  std::uint64_t cursor = 0;
  const TensorInfo* prev = nullptr;
  for (const auto& t : tensors) {
    const std::string range = offsets_str(t.begin, t.end);
    if (t.begin > cursor)
      throw FormatError(name_ + ": gap in the data section: bytes [" + std::to_string(cursor) + ", " +
                        std::to_string(t.begin) + ") belong to no tensor (tensor '" + t.name +
                        "' has data_offsets " + range + ")");
    if (t.begin < cursor)
      throw FormatError(name_ + ": tensor '" + t.name + "' (data_offsets " + range + ") overlaps tensor '" +
                        prev->name + "', which ends at " + std::to_string(cursor));
    if (t.end > data_size)
      throw FormatError(name_ + ": tensor '" + t.name + "' (data_offsets " + range +
                        ") runs past the end of the data section (" + std::to_string(data_size) +
                        " bytes): the file is truncated");
    cursor = t.end;
    prev = &t;
  }
  if (cursor != data_size)
    throw FormatError(name_ + ": the tensors end at byte " + std::to_string(cursor) +
                      " of the data section but it has " + std::to_string(data_size) + " bytes: " +
                      std::to_string(data_size - cursor) + " trailing bytes after the last tensor");

  header_memory_bytes_ = budget.peak();
  tensors_ = std::move(tensors);
  for (std::size_t i = 0; i < tensors_.size(); ++i) by_name_.emplace(tensors_[i].name, i);
}

SafetensorsFile SafetensorsFile::from_bytes(std::string bytes, std::string name,
                                            const SafetensorsLimits& limits) {
  SafetensorsFile f;
  f.name_ = std::move(name);
  f.bytes_ = own_bytes(std::move(bytes));
  f.parse(limits);
  return f;
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path, const SafetensorsLimits& limits) {
  SafetensorsFile f;
  f.name_ = path.string();
  // An empty file maps to no bytes; parse() rejects it as too short.
  f.bytes_ = map_file(path, "a safetensors file");
  f.parse(limits);
  return f;
}

const TensorInfo* SafetensorsFile::find(std::string_view tensor) const {
  const auto it = by_name_.find(tensor);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

std::span<const std::byte> SafetensorsFile::raw(const TensorInfo& t) const {
  // Offsets are only known valid for this file's own entries; a TensorInfo from elsewhere could point
  // anywhere.
  const std::less<const TensorInfo*> before;
  if (tensors_.empty() || before(&t, tensors_.data()) || !before(&t, tensors_.data() + tensors_.size()))
    throw NotFoundError(name_ + ": raw() was given tensor '" + t.name + "' from another file");
  return bytes_.bytes.subspan(data_start_ + t.begin, t.end - t.begin);
}

Tensor SafetensorsFile::load(std::string_view tensor) const {
  const TensorInfo* t = find(tensor);
  if (!t)
    throw NotFoundError(name_ + ": no tensor '" + std::string(tensor) + "' (the file has " +
                        std::to_string(tensors_.size()) + " tensors)");
  Tensor out(t->shape);
  if (out.numel() > 0) {
    const auto bytes = raw(*t);
    convert_to_f32(bytes.data(), t->dtype, static_cast<std::size_t>(out.numel()), out.data());
    bytes_.release(bytes);
  }
  return out;
}

}  // namespace visbone
