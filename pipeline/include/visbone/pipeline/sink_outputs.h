// What the built-in sinks write, shared by them and usable by plugin sinks: the JSON record of an item and
// the output file name of an input.
#pragma once

#include <boost/json.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "visbone/core/item.h"
#include "visbone/core/sink.h"

namespace visbone::pipeline {

// The JSON Lines record of an item: {"index", "id", "path", "label"?, "content_key", "ok", "width", "height",
// HEAD: {...}} (HEAD is each head's name, in config order; content_key: content_key.h)
// or, for a failed input, {"index", "id", "path", "label"?, "content_key", "ok": false, "stage", "error"}.
// Without `with_tensors`, a head record's entries named like one of its tensors (the embedding head's
// "embedding" array) are left out: those values belong in a binary file, not in JSON text.
boost::json::object item_record(const Item& item, const std::vector<SinkHead>& heads, bool with_tensors);

// A relative output file name for an input id: the id's path with `.ext` appended, so outputs mirror the
// input tree, two inputs that differ only in extension (cat.png, cat.jpg) never share an output, and no
// name can escape the output folder (empty and "." components dropped, ".." turned into "__").
// "3/digit_0001.png" -> "3/digit_0001.png.png"; "/a/../b.jpg" -> "a/__/b.jpg.png";
// "clip.mp4/frame_000010" -> "clip.mp4/frame_000010.png".
std::filesystem::path output_name(const std::string& id, const std::string& ext);

}  // namespace visbone::pipeline
