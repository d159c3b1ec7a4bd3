#include "args.h"

#include <iostream>

#include "visbone/core/errors.h"

namespace visbone::app {

po::variables_map parse_args(const Args& args, const po::options_description& options,
                             const po::positional_options_description& positional) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(std::string(e.what()) + "\n" + [&] {
      std::ostringstream s;
      s << options;
      return s.str();
    }());
  }
  return vm;
}

std::optional<po::variables_map> parse_command(const Args& args, const po::options_description& options,
                                               const po::positional_options_description& positional,
                                               std::initializer_list<Required> required,
                                               const std::string& help_more) {
  auto vm = parse_args(args, options, positional);
  if (vm.count("help")) {
    std::cout << options << help_more;
    return std::nullopt;
  }
  std::vector<std::string> missing;
  for (const auto& r : required)
    if (!vm.count(r.option)) missing.emplace_back(r.shown);
  if (missing.empty()) return vm;
  std::ostringstream printed;  // program_options has no caption() getter: the usage is the first line, "CAPTION:"
  printed << options;
  std::string usage = printed.str().substr(0, printed.str().find('\n'));
  if (!usage.empty() && usage.back() == ':') usage.pop_back();
  const auto second_space = usage.find(' ', usage.find(' ') + 1);  // "visbone CMD"
  std::string list;
  for (std::size_t i = 0; i < missing.size(); ++i)
    list += (i == 0 ? "" : i + 1 == missing.size() ? " and " : ", ") + missing[i];
  throw ConfigError(usage.substr(0, second_space) + ": " + list + (missing.size() == 1 ? " is" : " are") +
                    " required (usage: " + usage + ")");
}

std::vector<std::string> split_list(const std::string& value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    const auto comma = value.find(',', start);
    const auto item = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<int> parse_int_list(const std::string& value, const std::string& option) {
  std::vector<int> out;
  for (const auto& item : split_list(value)) {
    std::size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size())
      throw ConfigError("--" + option + ": '" + item + "' is not an integer (expected a list like 1,2,-1)");
    out.push_back(v);
  }
  return out;
}

}  // namespace visbone::app
