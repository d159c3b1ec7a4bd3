#include "visbone/pipeline/safetensors_stream.h"

#include <boost/json.hpp>

#include "visbone/core/errors.h"

namespace visbone::pipeline {

std::string valid_utf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xC0) == 0x80;
    if (ok && len > 1) {
      // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8 either.
      std::uint32_t cp = c & (0xFF >> (len + 1));
      for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (p[i + k] & 0x3F);
      static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

SafetensorsStream::SafetensorsStream(std::filesystem::path path, bool stack)
    : path_(std::move(path)), stack_(stack) {
  if (!stack_) scratch_.push_back(std::make_unique<ScratchFile>(path_));
}

SafetensorsStream::~SafetensorsStream() = default;

bool SafetensorsStream::contains(const std::string& name) const {
  return index_.count(name) > 0;
}

void SafetensorsStream::add(const std::string& raw_name, const Tensor& t) {
  const std::string name = valid_utf8(raw_name);
  if (name == "__metadata__") throw FormatError(path_.string() + ": '__metadata__' cannot name a tensor");
  if (t.empty() && t.numel() != 0)
    throw FormatError(path_.string() + ": tensor '" + name + "' has no storage");
  const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * sizeof(float);
  auto it = index_.find(name);
  if (!stack_) {
    if (it != index_.end()) throw FormatError(path_.string() + ": tensor '" + name + "' is written twice");
    ScratchFile& f = *scratch_.front();
    Entry e{name, t.shape(), f.size(), bytes, 0};
    f.write(t.data(), bytes);
    index_.emplace(name, entries_.size());
    entries_.push_back(std::move(e));
    return;
  }
  if (it == index_.end()) {
    scratch_.push_back(std::make_unique<ScratchFile>(path_));
    Shape s{0};
    s.insert(s.end(), t.shape().begin(), t.shape().end());
    it = index_.emplace(name, entries_.size()).first;
    entries_.push_back(Entry{name, s, 0, 0, scratch_.size() - 1});
  }
  Entry& e = entries_[it->second];
  const Shape row(e.shape.begin() + 1, e.shape.end());
  if (row != t.shape())
    throw FormatError(path_.string() + ": cannot stack tensor '" + name + "': this input's shape is " +
                      shape_str(t.shape()) + ", earlier inputs' is " + shape_str(row) +
                      " (set stack: false, or preprocess to one size with a center crop)");
  scratch_[e.scratch]->write(t.data(), bytes);
  e.bytes += bytes;
  e.shape[0] += 1;
}

void SafetensorsStream::commit() {
  boost::json::object header;
  if (!metadata_.empty()) {
    boost::json::object m;
    for (const auto& [k, v] : metadata_) m[valid_utf8(k)] = valid_utf8(v);
    header["__metadata__"] = std::move(m);
  }
  // Entries are laid out in the order they were added, each scratch file's bytes contiguous.
  std::uint64_t offset = 0;
  if (!stack_) {
    for (const Entry& e : entries_) {
      boost::json::array shape;
      for (const auto d : e.shape) shape.push_back(d);
      header[e.name] = {
          {"dtype", "F32"}, {"shape", std::move(shape)}, {"data_offsets", {e.begin, e.begin + e.bytes}}};
    }
  } else {
    for (const Entry& e : entries_) {
      boost::json::array shape;
      for (const auto d : e.shape) shape.push_back(d);
      header[e.name] = {
          {"dtype", "F32"}, {"shape", std::move(shape)}, {"data_offsets", {offset, offset + e.bytes}}};
      offset += e.bytes;
    }
  }
  std::string text = boost::json::serialize(header);
  // Space padding (allowed by the format) puts the data section on an 8-byte boundary.
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::uint64_t len = text.size();
  AtomicFile out(path_);
  out.write(&len, sizeof len);  // little-endian on every platform this builds on
  out.write(text);
  if (!stack_) {
    scratch_.front()->copy_to(out);
  } else {
    for (const Entry& e : entries_) scratch_[e.scratch]->copy_to(out);
  }
  out.commit();
}

}  // namespace visbone::pipeline
