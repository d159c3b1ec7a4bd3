// A labelled training set in torchvision's ImageFolder layout: ROOT/<class>/.../<image>, classes in sorted
// order of their folder names (index = position), images in sorted path order.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace visbone::transfer {

struct LabelledImages {
  std::vector<std::string> classes;          // index -> folder name
  std::vector<std::filesystem::path> paths;  // every image
  std::vector<int> labels;                   // class index of each image
};

// Image files are those with the decoder's extensions (png, jpg, jpeg, bmp, tif, tiff, webp; any case).
// Files directly under ROOT and hidden entries are ignored. NotFoundError when ROOT is not a folder;
// ConfigError when it has fewer than two classes with images (naming ROOT).
LabelledImages list_image_folder(const std::filesystem::path& root);

}  // namespace visbone::transfer
