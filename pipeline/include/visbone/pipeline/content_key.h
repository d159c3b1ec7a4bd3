// Content keys (issue #17 item 3): every record a run writes carries the key of what made it, so that a
// resumed run (journal.h) reuses a record only when neither its input nor the model changed.
//
// - The model's key: SHA-256 of the visbone version, the model spec (YAML, checkpoint left out), the name and
//   bytes of every file of the model (a checkpoint folder's files or a .npz file; a hub id or preset through
//   its fetched folder; any other path the spec names), the files the heads' specs name (a knn gallery, a
//   few-shot head's references), the preprocessing (`from`, a preprocessor file's bytes, the inline
//   keys), and what the loaded backbone says decides its numbers besides (Backbone::numerics(): a precision
//   or algorithm that auto or the environment resolved, the instruction set its kernels use).
// - An input's key: SHA-256 of the model's key and the input's content: the bytes of its file (or of the
//   encoded image its source handed over), a decoded frame's size and pixels, or the error that kept it from
//   being read. Neither depends on where the input lies or on the rest of the config, so two runs give the
//   same key to the same bytes through the same model.
// Sinks write it as `content_key` (jsonl field, csv's last column) or in the safetensors metadata
// (`content_keys`: a list beside `ids` when stacked, else an object keyed like the tensors).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "visbone/core/source.h"
#include "visbone/image/decode.h"
#include "visbone/pipeline/config.h"

namespace visbone::hub {
class Sha256;
}

namespace visbone::pipeline {

// Feeds a file, or a folder's files (hidden ones left out), to `h` as "NAME SHA256\n" lines in name order.
void hash_files(hub::Sha256& h, const std::filesystem::path& p);

// `folder`: the checkpoint folder the model loads from, when it was resolved to one (a fetched hub id);
// `numerics`: the loaded backbone's Backbone::numerics() (resolved precision and algorithm, the CPU's ISA).
std::string model_key(const PipelineConfig& config, const std::optional<std::filesystem::path>& folder,
                      const std::string& numerics);

// An input file read once for both its key and its decoding: its bytes and key, or the read error (then
// `bytes` is empty and the key is the error's).
struct InputRead {
  std::vector<std::uint8_t> bytes;
  std::string error;
  std::string key;
};
InputRead read_input(const std::string& model_key, const std::filesystem::path& path,
                     const image::DecodeOptions& options);

// The key of what a source handed over (an error, encoded bytes, decoded pixels); nullopt for an input named
// by its path only, whose key read_input gives as it reads the file.
std::optional<std::string> handed_over_key(const std::string& model_key, const SourceItem& item);

// Either of the two: the key of any source item (a path-only one's file is read).
std::string input_key(const std::string& model_key, const SourceItem& item,
                      const image::DecodeOptions& options);

}  // namespace visbone::pipeline
