// Small helpers shared by the subcommands: option parsing with Boost.program_options and list values.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"

namespace visbone::app {

namespace po = boost::program_options;

// Parses `args` against `options` with `positional` names; throws ConfigError (exit status 2) on a usage error.
po::variables_map parse_args(const Args& args, const po::options_description& options,
                             const po::positional_options_description& positional);
// An argument a command cannot do without: its option name and how the usage line shows it ("MODEL",
// "--input").
struct Required {
  const char* option;
  const char* shown;
};
// A subcommand's arguments: parsed against `options` (which has "help"; its caption is the usage line,
// "visbone CMD ..."), the positional ones going to `positional`'s names in order. --help prints `options`
// and `help_more` and returns nullopt. A usage error or a `required` argument not given is a ConfigError
// (exit status 2) naming it, with the usage line: "visbone forward: --input is required (usage: ...)".
std::optional<po::variables_map> parse_command(const Args& args, const po::options_description& options,
                                               const po::positional_options_description& positional,
                                               std::initializer_list<Required> required = {},
                                               const std::string& help_more = {});
// "a,b,c" -> {"a", "b", "c"}; "1,-1" -> {1, -1}. ConfigError naming `option` on a bad entry.
std::vector<std::string> split_list(const std::string& value);
std::vector<int> parse_int_list(const std::string& value, const std::string& option);

}  // namespace visbone::app
