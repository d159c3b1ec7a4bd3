// What the server answers, independent of the connection handling: the routes of the Open Inference
// Protocol v2, the image endpoint, /metrics and the page; each request is answered through a callback,
// possibly from a model's batcher thread.
#pragma once

#include <boost/beast/http.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "visbone/serve/batcher.h"
#include "visbone/serve/config.h"
#include "visbone/serve/metrics.h"
#include "visbone/serve/served_model.h"

namespace visbone::serve {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// {"error": message} with `status` (and Retry-After for 503), for `req`'s HTTP version.
Response error_response(int status, const std::string& message, unsigned version = 11);

class Service {
 public:
  // Builds every model (weights loaded once) and starts one batcher per model.
  explicit Service(const ServeConfig& config);
  ~Service();  // the batchers finish what is queued first

  using Reply = std::function<void(Response)>;
  void handle(Request req, Reply reply);

  Metrics& metrics() { return metrics_; }
  // /v2/health/ready answers 503 from now on (a load balancer stops sending).
  void set_draining() { draining_ = true; }
  // Runs what is queued and stops the batchers; handle() must not be called afterwards.
  void stop();

 private:
  struct Model {
    std::unique_ptr<ServedModel> model;
    std::unique_ptr<Batcher> batcher;
  };
  Model* find(const std::string& name);
  void infer(Model& m, const Request& req, Reply reply);
  void predict(Model& m, const Request& req, Reply reply);

  ServeOptions options_;
  Metrics metrics_;
  std::map<std::string, Model> models_;
  std::atomic<bool> draining_{false};
};

}  // namespace visbone::serve
