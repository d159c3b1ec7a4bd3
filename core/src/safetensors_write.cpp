// Writing safetensors files: a float32 (or F16/BF16-rounded) file written to a temporary name, synced and
// renamed into place, so a reader never sees a partial file; and the same bytes in memory. Reading is in
// safetensors.cpp.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cerrno>

#include "safetensors_format.h"
#include "visbone/core/errors.h"
#include "visbone/core/safetensors.h"
#include "visbone/core/stale_temp_files.h"
#include "visbone/core/sync_path.h"

namespace visbone {
namespace {

using namespace safetensors_format;

std::atomic<unsigned> temp_counter{0};

void write_all(int fd, const void* data, std::size_t size, const std::string& where) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(where + ": write failed: " + errno_text(errno));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

// The padded JSON header of a float32 safetensors file holding `tensors` in order. Everything is validated
// here, before any file exists, so a rejected write leaves no trace.
std::string encode_header(const std::vector<std::pair<std::string, Tensor>>& tensors,
                          const std::map<std::string, std::string>& metadata, const std::string& where,
                          DType store_as = DType::F32) {
  auto check_utf8 = [&](const std::string& s, const std::string& what) {
    if (invalid_utf8_at(s) != std::string_view::npos)
      throw FormatError(where + ": cannot write " + what + ": it is not valid UTF-8");
  };
  boost::json::object header;
  if (!metadata.empty()) {
    boost::json::object meta;
    for (const auto& [k, v] : metadata) {
      check_utf8(k, "metadata key '" + k + "'");
      check_utf8(v, "the value of metadata key '" + k + "'");
      meta[k] = v;
    }
    header[kMetadataKey] = std::move(meta);
  }
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    check_utf8(name, "tensor name '" + name + "'");
    if (name == kMetadataKey)
      throw FormatError(where + ": cannot write a tensor named '__metadata__' (reserved)");
    if (header.contains(name)) throw FormatError(where + ": cannot write tensor '" + name + "' twice");
    if (t.empty()) throw FormatError(where + ": cannot write tensor '" + name + "': it has no storage");
    boost::json::array shape;
    for (const auto d : t.shape()) shape.push_back(d);
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * dtype_size(store_as);
    header[name] = {{"dtype", dtype_name(store_as)},
                    {"shape", std::move(shape)},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = boost::json::serialize(header);
  // Space padding (allowed by the format) puts the data section on an 8-byte boundary.
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

std::string encode_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  const std::string text = encode_header(tensors, metadata, "safetensors in memory");
  const std::uint64_t header_len = text.size();
  std::string out(reinterpret_cast<const char*>(&header_len), sizeof header_len);
  out += text;
  for (const auto& [name, t] : tensors)
    out.append(reinterpret_cast<const char*>(t.data()), static_cast<std::size_t>(t.numel()) * sizeof(float));
  return out;
}

void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata, DType store_as) {
  const std::string where = path.string();
  if (store_as != DType::F32 && store_as != DType::F16 && store_as != DType::BF16)
    throw FormatError(where + ": cannot store tensors as " + std::string(dtype_name(store_as)) +
                      "; F32, F16 or BF16 can be written");
  // Everything is validated before the temporary file exists, so a rejected call leaves no trace.
  const std::string text = encode_header(tensors, metadata, where, store_as);
  const std::uint64_t header_len = text.size();

  const std::filesystem::path folder = folder_of(path);
  remove_dead_temp_files_once(folder);  // what killed writers left here
  // A hidden name unique per process and call; O_EXCL below guards against anything else.
  std::string temp_name = ".";
  temp_name += path.filename().string();
  temp_name += ".tmp.";
  temp_name += std::to_string(::getpid());
  temp_name += '.';
  temp_name += std::to_string(temp_counter.fetch_add(1));
  const auto temp = path.parent_path() / temp_name;
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    throw IoError(where + ": cannot create temporary file " + temp.string() + ": " + errno_text(errno));
  bool fd_open = true;
  try {
    write_all(fd, &header_len, sizeof header_len, where);
    write_all(fd, text.data(), text.size(), where);
    for (const auto& [name, t] : tensors) {
      const auto count = static_cast<std::size_t>(t.numel());
      if (count == 0) continue;
      if (store_as == DType::F32) {
        write_all(fd, t.data(), count * sizeof(float), where);
        continue;
      }
      // Rounded to nearest even, as torch's .half() / .bfloat16() round.
      std::vector<std::uint16_t> bits(count);
      const float* values = t.data();
      for (std::size_t i = 0; i < count; ++i)
        bits[i] = store_as == DType::F16 ? float_to_half(values[i]) : float_to_bfloat16(values[i]);
      write_all(fd, bits.data(), count * sizeof(std::uint16_t), where);
    }
    // Data must be on disk before the rename makes it visible under the final name.
    if (::fsync(fd) != 0) throw IoError(where + ": fsync failed: " + errno_text(errno));
    fd_open = false;  // close releases the descriptor even when it reports an error
    if (::close(fd) != 0) throw IoError(where + ": close failed: " + errno_text(errno));
  } catch (...) {
    if (fd_open) ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw IoError(where + ": cannot rename " + temp.string() + " into place: " + errno_text(err));
  }
  sync_path(folder);  // the rename, durable
}

}  // namespace visbone
