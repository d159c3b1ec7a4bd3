// A safetensors writer for outputs that arrive one input at a time: tensor data goes to scratch files as it
// comes (memory stays flat however many inputs there are), and commit() writes header + data atomically.
// The result is an ordinary float32 safetensors file (header padded to 8 bytes, data contiguous).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "visbone/core/tensor.h"
#include "visbone/pipeline/atomic_file.h"

namespace visbone::pipeline {

class SafetensorsStream {
 public:
  // stack = false: every add() is its own tensor. stack = true: every add() appends a row to the tensor of
  // that name, which ends up (rows, ...).
  SafetensorsStream(std::filesystem::path path, bool stack);
  ~SafetensorsStream();

  // FormatError for a repeated name (per-input mode) or a row whose shape differs from the first row's
  // (stacked mode), naming the file, the tensor and both shapes.
  void add(const std::string& name, const Tensor& t);
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  bool contains(const std::string& name) const;
  // Writes the file. IoError when writing fails.
  void commit();

 private:
  struct Entry {
    std::string name;
    Shape shape;
    std::uint64_t begin = 0, bytes = 0;  // within its scratch file
    std::size_t scratch = 0;
  };
  std::filesystem::path path_;
  bool stack_;
  std::vector<std::unique_ptr<ScratchFile>> scratch_;
  std::vector<Entry> entries_;
  std::map<std::string, std::size_t> index_;  // name -> entries_ index
  std::map<std::string, std::string> metadata_;
};

// Tensor names must be valid UTF-8 in safetensors (and JSON); bytes that are not become U+FFFD.
std::string valid_utf8(const std::string& s);

}  // namespace visbone::pipeline
