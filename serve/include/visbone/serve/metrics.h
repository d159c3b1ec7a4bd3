// The server's counters in the Prometheus text format (/metrics): requests by endpoint and status code,
// request latency, batch sizes, queue depth and wait, images processed. Thread-safe.
#pragma once

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

class Metrics {
 public:
  void observe_request(const std::string& endpoint, int status, double seconds);
  void observe_batch(const std::string& model, int images, double seconds);
  void observe_queue_wait(const std::string& model, double seconds);
  void set_queue_depth(const std::string& model, int images);
  void set_connections(int open);
  std::string prometheus_text() const;

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
};

}  // namespace visbone::serve
