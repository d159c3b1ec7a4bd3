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
// `visbone CMD CONFIG.yaml [options]`: parses with CONFIG.yaml as the "config" option (`options` has "help"
// and "config"); prints `options` and returns nullopt for --help; ConfigError `missing` without a config.
std::optional<po::variables_map> parse_config_args(const Args& args, const po::options_description& options,
                                                   const std::string& missing);
// "a,b,c" -> {"a", "b", "c"}; "1,-1" -> {1, -1}. ConfigError naming `option` on a bad entry.
std::vector<std::string> split_list(const std::string& value);
std::vector<int> parse_int_list(const std::string& value, const std::string& option);

}  // namespace visbone::app
