// `visbone serve CONFIG.yaml [--host H] [--port P]`: serves the config's models over HTTP (see serve/ and the
// README's "visbone serve" section). Prints "listening on http://H:P" on stdout once ready; SIGTERM or SIGINT
// drains the requests in flight and exits 0.
#include <iostream>

#include "args.h"
#include "visbone/core/errors.h"
#include "visbone/serve/config.h"
#include "visbone/serve/server.h"

namespace visbone::app {

int serve(const Args& args) {
  po::options_description opts("visbone serve CONFIG.yaml [options]");
  opts.add_options()("help,h", "show this help")("config", po::value<std::string>(), "the YAML config")(
      "host", po::value<std::string>(), "address to listen on (default: serve.host, else 127.0.0.1)")(
      "port", po::value<int>(), "port (default: serve.port, else 8000; 0: a free port, printed)");
  po::positional_options_description pos;
  pos.add("config", 1);
  const auto parsed = parse_command(args, opts, pos, {{"config", "CONFIG.yaml"}});
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  auto config = serve::load_serve_config(vm["config"].as<std::string>());
  if (vm.count("host")) config.options.host = vm["host"].as<std::string>();
  if (vm.count("port")) {
    const int port = vm["port"].as<int>();
    if (port < 0 || port > 65535)
      throw ConfigError("visbone serve: --port must be 0..65535, got " + std::to_string(port));
    config.options.port = port;
  }
  return serve::serve(config, std::cout);
}

}  // namespace visbone::app
