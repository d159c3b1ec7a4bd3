// Dynamic batching, as Triton's dynamic batcher does it: one thread per model takes the waiting requests
// whose inputs have the first one's shape, up to max_batch_size images, waiting at most
// max_queue_delay_microseconds after the first arrived (less once preferred_batch_size is reached), runs
// one forward pass for all of them and hands each caller its rows. The model's weights exist once whatever
// the number of callers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "visbone/core/backbone.h"
#include "visbone/core/head.h"
#include "visbone/serve/config.h"
#include "visbone/serve/metrics.h"
#include "visbone/serve/served_model.h"

namespace visbone::serve {

// What one request gets back: its rows of every stage asked for and, when it asked, each head's results.
struct JobResult {
  std::map<std::string, Tensor> stages;
  std::vector<std::vector<HeadResult>> heads;  // heads[h][i]: head h, image i of this request
  std::string error;                           // set when the forward pass failed
  int status = 200;                            // 400 for an input the model cannot take, 500 otherwise
  double queue_seconds = 0;
  double compute_seconds = 0;
  int batch_size = 0;  // images in the batch this request ran in
};

struct Job {
  Tensor pixels;                    // (n, C, H, W)
  std::vector<std::string> stages;  // raw stages wanted
  bool run_heads = false;
  std::function<void(JobResult)> done;  // called on the batcher thread
  std::chrono::steady_clock::time_point enqueued{};
};

class Batcher {
 public:
  Batcher(ServedModel& model, const ServeOptions& options, Metrics& metrics);
  ~Batcher();  // stops after the queued jobs ran
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // False (the job is not taken) when max_queue_size images are already waiting.
  bool submit(Job job);
  int queued_images() const;

 private:
  void loop();
  std::vector<Job> take_batch(std::unique_lock<std::mutex>& lock);
  void run(std::vector<Job>& jobs);

  ServedModel& model_;
  ServeOptions options_;
  Metrics& metrics_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  int queued_images_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace visbone::serve
