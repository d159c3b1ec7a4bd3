// `visbone serve`: HTTP/1.1 (Boost.Beast, keep-alive) in front of a Service. Connections beyond
// max_connections get 503; a header must arrive within header_timeout_seconds and a body within
// read_timeout_seconds (slowloris); bodies over max_body_bytes get 413. SIGTERM or SIGINT stops accepting,
// lets the requests in flight finish (closing idle connections), and run() returns.
#pragma once

#include <ostream>

#include "visbone/serve/config.h"

namespace visbone::serve {

// Builds the models, binds host:port (port 0: a free one), writes "listening on http://HOST:PORT" to `out`
// once connections are accepted, and serves until a signal. Returns 0 after a clean drain.
int serve(const ServeConfig& config, std::ostream& out);

}  // namespace visbone::serve
