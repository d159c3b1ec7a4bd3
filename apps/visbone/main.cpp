// Entry point of `visbone`: dispatches to the subcommand named by the first argument.
#include <exception>
#include <iostream>
#include <string_view>

#include "commands.h"
#include "visbone/core/errors.h"

namespace {

struct Command {
  std::string_view name;
  std::string_view summary;
  int (*run)(const visbone::app::Args&);
};

constexpr Command kCommands[] = {
    {"inspect", "print a model's config, stages, output shapes and parameter count as JSON",
     visbone::app::inspect},
    {"forward", "run a safetensors input through a model and write every output", visbone::app::forward},
    {"bench", "time the forward pass on a random input (median/min/max ms, images/s, peak RSS)", visbone::app::bench},
    {"convert", "write a checkpoint (transformers, timm or .npz) in hf or timm naming", visbone::app::convert},
    {"download", "fetch a model from the Hugging Face hub into the shared cache", visbone::app::download},
    {"preprocess", "decode images and write their BitImageProcessor pixel values", visbone::app::preprocess},
    {"run", "run a YAML-configured pipeline: images -> backbone -> heads -> outputs, with a summary", visbone::app::run},
    {"list", "print every registered backbone, head, source and sink, with where it came from", visbone::app::list},
    {"serve", "serve models over HTTP (Open Inference Protocol v2, images, metrics) with dynamic batching", visbone::app::serve},
};

int usage(std::ostream& out) {
  out << "usage: visbone COMMAND [ARGS...]\n\ncommands:\n";
  for (const auto& c : kCommands) out << "  " << c.name << std::string(12 - c.name.size(), ' ') << c.summary << "\n";
  out << "\n`visbone COMMAND --help` describes one command.\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage(std::cerr);
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    usage(std::cout);
    return 0;
  }
  for (const auto& c : kCommands) {
    if (c.name != name) continue;
    try {
      return c.run(visbone::app::Args(argv + 2, argv + argc));
    } catch (const visbone::ConfigError& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      return 1;
    }
  }
  std::cerr << "visbone: unknown command '" << name << "'\n\n";
  return usage(std::cerr);
}
