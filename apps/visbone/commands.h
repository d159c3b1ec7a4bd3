// The subcommands of the `visbone` program. Each takes the arguments after its name and returns the exit
// status: 0 success, 1 a failure while running, 2 a usage or validation error.
#pragma once

#include <string>
#include <vector>

namespace visbone::app {

using Args = std::vector<std::string>;

int inspect(const Args& args);
int forward(const Args& args);
int bench(const Args& args);
int convert(const Args& args);
int download(const Args& args);
int preprocess(const Args& args);
int run(const Args& args);
int merge(const Args& args);
int list(const Args& args);
int serve(const Args& args);
int fit(const Args& args);

}  // namespace visbone::app
