#include "visbone/serve/batcher.h"

#include <algorithm>
#include <cstring>

#include "visbone/core/errors.h"

namespace visbone::serve {
using Clock = std::chrono::steady_clock;

namespace {

int images(const Job& j) {
  return static_cast<int>(j.pixels.dim(0));
}

bool same_item_shape(const Tensor& a, const Tensor& b) {
  return std::equal(a.shape().begin() + 1, a.shape().end(), b.shape().begin() + 1, b.shape().end());
}

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

Batcher::Batcher(ServedModel& model, const ServeOptions& options, Metrics& metrics)
    : model_(model), options_(options), metrics_(metrics), thread_([this] { loop(); }) {}

Batcher::~Batcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool Batcher::submit(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (queued_images_ + images(job) > options_.max_queue_size) return false;
    queued_images_ += images(job);
    job.enqueued = Clock::now();
    queue_.push_back(std::move(job));
    metrics_.set_queue_depth(model_.name, queued_images_);
  }
  wake_.notify_all();
  return true;
}

int Batcher::queued_images() const {
  std::lock_guard lock(mutex_);
  return queued_images_;
}

// The first waiting job and those behind it with the same image shape, up to max_batch_size images. Waits
// for more until the first job's delay is up, the batch is full or reaches the preferred size.
std::vector<Job> Batcher::take_batch(std::unique_lock<std::mutex>& lock) {
  wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
  if (queue_.empty()) return {};
  const int max = options_.dynamic_batching ? options_.max_batch_size : 1;
  const int preferred = options_.preferred_batch_size > 0 ? options_.preferred_batch_size : max;
  const auto deadline =
      queue_.front().enqueued + std::chrono::microseconds(options_.max_queue_delay_microseconds);
  const auto fitting = [&] {
    int n = 0;
    for (const auto& j : queue_)
      if (same_item_shape(j.pixels, queue_.front().pixels) && n + images(j) <= max) n += images(j);
    return n;
  };
  if (options_.dynamic_batching)
    while (!stopping_ && fitting() < preferred && Clock::now() < deadline) wake_.wait_until(lock, deadline);

  std::vector<Job> batch;
  int n = 0;
  const Tensor first = queue_.front().pixels;
  for (auto it = queue_.begin(); it != queue_.end();) {
    // The first job always runs, even one larger than the batch (the server rejects those before).
    if (same_item_shape(it->pixels, first) && (batch.empty() || n + images(*it) <= max)) {
      n += images(*it);
      batch.push_back(std::move(*it));
      it = queue_.erase(it);
      if (!options_.dynamic_batching) break;
    } else {
      ++it;
    }
  }
  queued_images_ -= n;
  metrics_.set_queue_depth(model_.name, queued_images_);
  return batch;
}

void Batcher::loop() {
  for (;;) {
    std::vector<Job> jobs;
    {
      std::unique_lock lock(mutex_);
      jobs = take_batch(lock);
      if (jobs.empty()) return;  // stopping with nothing queued
    }
    run(jobs);
  }
}

// One forward pass for every job (what any of them asked for), then each job's rows.
void Batcher::run(std::vector<Job>& jobs) {
  const auto start = Clock::now();
  ForwardRequest request;
  bool heads = false;
  Shape shape = jobs.front().pixels.shape();
  shape[0] = 0;
  for (const auto& j : jobs) {
    shape[0] += j.pixels.dim(0);
    for (const auto& s : j.stages)
      if (std::find(request.stages.begin(), request.stages.end(), s) == request.stages.end())
        request.stages.push_back(s);
    heads = heads || j.run_heads;
  }
  if (heads) {
    const auto& h = model_.heads_request;
    for (const auto& s : h.stages)
      if (std::find(request.stages.begin(), request.stages.end(), s) == request.stages.end())
        request.stages.push_back(s);
    request.pooled = h.pooled;
    request.logits = h.logits;
    request.last_hidden_state = h.last_hidden_state;
  }

  std::vector<JobResult> results(jobs.size());
  auto input_done = start, infer_done = start;
  bool ok = false;
  try {
    Tensor batch = jobs.size() == 1 ? jobs.front().pixels : Tensor::uninitialized(shape);
    if (jobs.size() > 1) {
      float* out = batch.data();
      for (const auto& j : jobs) out = std::copy(j.pixels.begin(), j.pixels.end(), out);
    }
    input_done = Clock::now();
    const ForwardResult features = model_.backbone->forward(batch, request);
    std::vector<std::vector<HeadResult>> head_results;
    if (heads)
      for (const auto& h : model_.heads) head_results.push_back(h.head->run(features));
    infer_done = Clock::now();
    std::int64_t row = 0;
    for (std::size_t k = 0; k < jobs.size(); ++k) {
      const std::int64_t n = jobs[k].pixels.dim(0);
      for (const auto& s : jobs[k].stages) results[k].stages[s] = features.stages.at(s).slice(row, row + n);
      if (jobs[k].run_heads)
        for (const auto& per_image : head_results)
          results[k].heads.emplace_back(per_image.begin() + row, per_image.begin() + row + n);
      row += n;
    }
    ok = true;
  } catch (const std::exception& e) {
    const bool input = dynamic_cast<const ShapeError*>(&e) != nullptr;
    for (auto& r : results) {
      r.error = e.what();
      r.status = input ? 400 : 500;
    }
  }
  const auto end = Clock::now();
  const BatchPhases phases = ok ? BatchPhases{seconds(input_done - start), seconds(infer_done - input_done),
                                              seconds(end - infer_done)}
                                : BatchPhases{0, seconds(end - start), 0};
  metrics_.observe_batch(model_.name, static_cast<int>(shape[0]), phases, ok);
  for (std::size_t k = 0; k < jobs.size(); ++k) {
    results[k].queue_seconds = seconds(start - jobs[k].enqueued);
    results[k].compute_seconds = seconds(end - start);
    results[k].batch_size = static_cast<int>(shape[0]);
    metrics_.observe_job(model_.name, static_cast<int>(jobs[k].pixels.dim(0)), results[k].queue_seconds,
                         phases, ok);
    try {
      jobs[k].done(std::move(results[k]));
    } catch (const std::exception& e) {  // answering failed (encoding the response): answer that instead
      JobResult failed;
      failed.error = std::string("could not encode the response: ") + e.what();
      failed.status = 500;
      jobs[k].done(std::move(failed));
    }
  }
}

}  // namespace visbone::serve
