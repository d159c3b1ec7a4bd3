// Entry point of `visbone`: dispatches to the subcommand named by the first argument; `visbone --version`,
// `visbone help [COMMAND]`, and a did-you-mean for a mistyped command.
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "visbone/core/closest_match.h"
#include "visbone/core/errors.h"
#include "visbone/core/exception_text.h"
#include "visbone/registry/crash_report.h"

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
    {"merge", "join the parts of a sharded run (visbone run --shard i/N) into the single run's files", visbone::app::merge},
    {"list", "print every registered backbone, head, source and sink, with where it came from", visbone::app::list},
    {"fit", "train a linear head on a labelled image folder and save it as a classification checkpoint",
     visbone::app::fit},
    {"serve", "serve models over HTTP (Open Inference Protocol v2, images, metrics) with dynamic batching", visbone::app::serve},
};

int usage(std::ostream& out) {
  out << "usage: visbone COMMAND [ARGS...]\n\ncommands:\n";
  for (const auto& c : kCommands) out << "  " << c.name << std::string(12 - c.name.size(), ' ') << c.summary << "\n";
  out << "\n`visbone help COMMAND` (or `visbone COMMAND --help`) describes one command; `visbone --version` "
         "prints the version.\n";
  return 2;
}

const Command* find_command(std::string_view name) {
  for (const auto& c : kCommands)
    if (c.name == name) return &c;
  return nullptr;
}

int unknown_command(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& c : kCommands) names.emplace_back(c.name);
  std::cerr << "visbone: unknown command '" << name << "'";
  const std::string near = visbone::closest_match(name, names);
  // Only a plausible typo is suggested: at most a third of the letters differ.
  if (!near.empty() && 3 * visbone::edit_distance(name, near) <= near.size())
    std::cerr << "; did you mean '" << near << "'?";
  std::cerr << "\n\n";
  return usage(std::cerr);
}

int run_command(const Command& c, const visbone::app::Args& args) {
  try {
    return c.run(args);
  } catch (const visbone::ConfigError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (...) {  // a plugin may throw anything
    std::cerr << "error: " << visbone::current_exception_text() << "\n";
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  visbone::registry::install_crash_report();  // a crash in plugin code names the plugin's file
  if (argc < 2) return usage(std::cerr);
  const std::string_view name = argv[1];
  if (name == "--version" || name == "-V") {
    std::cout << "visbone " << VISBONE_APP_VERSION << "\n";
    return 0;
  }
  if (name == "--help" || name == "-h" || (name == "help" && argc == 2)) {
    usage(std::cout);
    return 0;
  }
  if (name == "help") {
    // `visbone help CMD` is `visbone CMD --help`.
    const Command* c = find_command(argv[2]);
    return c ? run_command(*c, {"--help"}) : unknown_command(argv[2]);
  }
  const Command* c = find_command(name);
  return c ? run_command(*c, visbone::app::Args(argv + 2, argv + argc)) : unknown_command(name);
}
