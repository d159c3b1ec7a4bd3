// The server's counters in the Prometheus text format (/metrics): requests by endpoint and status code,
// request latency, batch sizes, queue depth and wait, images processed; and per model as Triton's statistics
// extension reports them (/v2/models[/NAME]/stats). Thread-safe.
#pragma once

#include <boost/json/object.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace visbone::serve {

// Cumulative buckets as Prometheus histograms keep them.
struct Histogram {
  explicit Histogram(std::vector<double> bounds = {});
  void observe(double v);
  std::vector<double> bounds;
  std::vector<std::uint64_t> counts;  // counts[i]: observations <= bounds[i]; the last is +Inf
  double sum = 0;
  std::uint64_t count = 0;
};

// The three phases of one batch, in seconds: gathering the requests' inputs into one tensor, the forward pass
// and heads, handing each request its rows.
struct BatchPhases {
  double input = 0, infer = 0, output = 0;
  double total() const { return input + infer + output; }
};

// Triton's $duration_stat: how often, and nanoseconds in all.
struct DurationStat {
  std::uint64_t count = 0;
  std::uint64_t ns = 0;
  void add(double seconds);
};

// One model's cumulative statistics, with the meanings of Triton's statistics extension.
struct ModelStatistics {
  std::uint64_t last_inference_ms = 0;  // the last successful request's, since the epoch
  std::uint64_t inference_count = 0;    // images of successful requests
  std::uint64_t execution_count = 0;    // successful forward passes (a batch of requests is one)
  DurationStat success, fail;           // requests, from their last byte to their response
  DurationStat queue, compute_input, compute_infer, compute_output;  // per request: its batch's phases
  std::map<int, std::array<DurationStat, 3>> batches;  // by batch size: input, infer, output per pass
};

class Metrics {
 public:
  void observe_request(const std::string& endpoint, int status, double seconds);
  // An infer or predict request for a served model answered with `status` after `seconds`.
  void observe_inference(const std::string& model, int status, double seconds);
  // A forward pass over `images` images; `ok`: it gave results.
  void observe_batch(const std::string& model, int images, const BatchPhases& phases, bool ok);
  // A request of `images` images that waited `queue_seconds` for its batch.
  void observe_job(const std::string& model, int images, double queue_seconds, const BatchPhases& phases,
                   bool ok);
  void set_queue_depth(const std::string& model, int images);
  void set_connections(int open);
  std::string prometheus_text() const;
  // Triton's $model_stat for `model` (all zeros before its first request), version "1".
  boost::json::object statistics(const std::string& model) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;  // (endpoint, code)
  std::map<std::string, Histogram> latency_;                       // by endpoint
  std::map<std::string, Histogram> batch_size_;                    // by model
  std::map<std::string, Histogram> batch_seconds_;                 // by model
  std::map<std::string, Histogram> queue_wait_;                    // by model
  std::map<std::string, int> queue_depth_;                         // by model
  std::map<std::string, std::uint64_t> images_;                    // by model
  int connections_ = 0;
  std::map<std::string, ModelStatistics> statistics_;  // by model
};

}  // namespace visbone::serve
