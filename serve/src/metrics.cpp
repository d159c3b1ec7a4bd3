#include "visbone/serve/metrics.h"

#include <boost/json.hpp>

#include <chrono>
#include <cmath>
#include <sstream>

namespace visbone::serve {

namespace {

const std::vector<double> kSeconds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const std::vector<double> kBatchSizes = {1, 2, 4, 8, 16, 32, 64};

Histogram& at(std::map<std::string, Histogram>& m, const std::string& key,
              const std::vector<double>& bounds) {
  auto it = m.find(key);
  if (it == m.end()) it = m.emplace(key, Histogram(bounds)).first;
  return it->second;
}

void write_histogram(std::ostream& out, const std::string& name, const std::string& label,
                     const std::map<std::string, Histogram>& by) {
  for (const auto& [key, h] : by) {
    const std::string l = label + "=\"" + key + "\"";
    for (std::size_t i = 0; i < h.bounds.size(); ++i)
      out << name << "_bucket{" << l << ",le=\"" << h.bounds[i] << "\"} " << h.counts[i] << "\n";
    out << name << "_bucket{" << l << ",le=\"+Inf\"} " << h.count << "\n";
    out << name << "_sum{" << l << "} " << h.sum << "\n";
    out << name << "_count{" << l << "} " << h.count << "\n";
  }
}

}  // namespace

Histogram::Histogram(std::vector<double> b) : bounds(std::move(b)), counts(bounds.size(), 0) {}

void Histogram::observe(double v) {
  for (std::size_t i = 0; i < bounds.size(); ++i)
    if (v <= bounds[i]) ++counts[i];
  sum += v;
  ++count;
}

void Metrics::observe_request(const std::string& endpoint, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{endpoint, status}];
  at(latency_, endpoint, kSeconds).observe(seconds);
}

void DurationStat::add(double seconds) {
  ++count;
  ns += static_cast<std::uint64_t>(std::llround(std::max(seconds, 0.0) * 1e9));
}

void Metrics::observe_inference(const std::string& model, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ModelStatistics& s = statistics_[model];
  if (status != 200) return s.fail.add(seconds);
  s.success.add(seconds);
  s.last_inference_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                       std::chrono::system_clock::now().time_since_epoch())
                                                       .count());
}

void Metrics::observe_batch(const std::string& model, int images, const BatchPhases& phases, bool ok) {
  std::lock_guard lock(mutex_);
  at(batch_size_, model, kBatchSizes).observe(images);
  at(batch_seconds_, model, kSeconds).observe(phases.total());
  images_[model] += static_cast<std::uint64_t>(images);
  if (!ok) return;
  ModelStatistics& s = statistics_[model];
  ++s.execution_count;
  auto& b = s.batches[images];
  b[0].add(phases.input);
  b[1].add(phases.infer);
  b[2].add(phases.output);
}

void Metrics::observe_job(const std::string& model, int images, double queue_seconds,
                          const BatchPhases& phases, bool ok) {
  std::lock_guard lock(mutex_);
  at(queue_wait_, model, kSeconds).observe(queue_seconds);
  ModelStatistics& s = statistics_[model];
  s.queue.add(queue_seconds);
  if (!ok) return;
  s.inference_count += static_cast<std::uint64_t>(images);
  s.compute_input.add(phases.input);
  s.compute_infer.add(phases.infer);
  s.compute_output.add(phases.output);
}

boost::json::object Metrics::statistics(const std::string& model) const {
  std::lock_guard lock(mutex_);
  const auto it = statistics_.find(model);
  const ModelStatistics s = it == statistics_.end() ? ModelStatistics{} : it->second;
  const auto stat = [](const DurationStat& d) {
    return boost::json::object{{"count", d.count}, {"ns", d.ns}};
  };
  boost::json::array batches;
  for (const auto& [size, b] : s.batches)
    batches.push_back({{"batch_size", size},
                       {"compute_input", stat(b[0])},
                       {"compute_infer", stat(b[1])},
                       {"compute_output", stat(b[2])}});
  return {{"name", model},
          {"version", "1"},
          {"last_inference", s.last_inference_ms},
          {"inference_count", s.inference_count},
          {"execution_count", s.execution_count},
          {"inference_stats",
           {{"success", stat(s.success)},
            {"fail", stat(s.fail)},
            {"queue", stat(s.queue)},
            {"compute_input", stat(s.compute_input)},
            {"compute_infer", stat(s.compute_infer)},
            {"compute_output", stat(s.compute_output)},
            {"cache_hit", stat({})}}},
          {"batch_stats", std::move(batches)}};
}

void Metrics::set_queue_depth(const std::string& model, int images) {
  std::lock_guard lock(mutex_);
  queue_depth_[model] = images;
}

void Metrics::set_connections(int open) {
  std::lock_guard lock(mutex_);
  connections_ = open;
}

std::string Metrics::prometheus_text() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  out << "# HELP visbone_requests_total HTTP requests by endpoint and status code.\n"
         "# TYPE visbone_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out << "visbone_requests_total{endpoint=\"" << key.first << "\",code=\"" << key.second << "\"} " << n
        << "\n";
  out << "# HELP visbone_request_errors_total HTTP requests answered with a 4xx or 5xx code.\n"
         "# TYPE visbone_request_errors_total counter\n";
  for (const auto& [key, n] : requests_)
    if (key.second >= 400)
      out << "visbone_request_errors_total{endpoint=\"" << key.first << "\",code=\"" << key.second << "\"} "
          << n << "\n";
  out << "# HELP visbone_request_duration_seconds Time from a request's last byte to its response.\n"
         "# TYPE visbone_request_duration_seconds histogram\n";
  write_histogram(out, "visbone_request_duration_seconds", "endpoint", latency_);
  out << "# HELP visbone_batch_size Images per forward pass.\n# TYPE visbone_batch_size histogram\n";
  write_histogram(out, "visbone_batch_size", "model", batch_size_);
  out << "# HELP visbone_batch_duration_seconds Time of one batch (forward pass and heads).\n"
         "# TYPE visbone_batch_duration_seconds histogram\n";
  write_histogram(out, "visbone_batch_duration_seconds", "model", batch_seconds_);
  out << "# HELP visbone_queue_wait_seconds Time a request waited for its batch to start.\n"
         "# TYPE visbone_queue_wait_seconds histogram\n";
  write_histogram(out, "visbone_queue_wait_seconds", "model", queue_wait_);
  out << "# HELP visbone_queue_depth Images waiting for a forward pass.\n# TYPE visbone_queue_depth gauge\n";
  for (const auto& [m, n] : queue_depth_) out << "visbone_queue_depth{model=\"" << m << "\"} " << n << "\n";
  out << "# HELP visbone_images_total Images run through a model (images/s: rate() of it).\n"
         "# TYPE visbone_images_total counter\n";
  for (const auto& [m, n] : images_) out << "visbone_images_total{model=\"" << m << "\"} " << n << "\n";
  out << "# HELP visbone_open_connections Open HTTP connections.\n# TYPE visbone_open_connections gauge\n"
      << "visbone_open_connections " << connections_ << "\n";
  return out.str();
}

}  // namespace visbone::serve
