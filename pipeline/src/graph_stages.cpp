// The flow graph's nodes' work (graph_stages.h).
#include "graph_stages.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <opencv2/core.hpp>

#include "visbone/core/errors.h"
#include "visbone/core/exception_text.h"
#include "visbone/core/omp_threads.h"
#include "visbone/pipeline/content_key.h"
#include "visbone/pipeline/predictions.h"

namespace visbone::pipeline {

void RunErrors::add(std::string error) {
  const std::lock_guard lock(mutex_);
  errors_.push_back(std::move(error));
}

std::vector<std::string> RunErrors::take() {
  const std::lock_guard lock(mutex_);
  return std::move(errors_);
}

SourceReader::SourceReader(Source& source, std::string model_key, std::uint64_t first_seq, RunErrors& errors,
                           Timers& timers)
    : source_(source),
      model_key_(std::move(model_key)),
      next_seq_(first_seq),
      errors_(errors),
      timers_(timers) {}

WorkPtr SourceReader::operator()() {
  if (end_sent_) return {};
  ScopedTimer t(timers_, kSource);
  auto w = std::make_shared<Work>();
  Item& it = w->item;
  it.seq = next_seq_;
  std::optional<SourceItem> s;
  if (!failed_) {
    try {
      s = source_.next();
    } catch (...) {
      // A record for the failure; the inputs after it are lost, so the run ends here, incomplete.
      failed_ = true;
      ++next_seq_;
      std::string what = current_exception_text();
      if (!last_id_.empty()) what += " (after input " + last_id_ + ")";
      errors_.add(what);
      it.id = last_id_.empty() ? "(source)" : last_id_ + " (next)";
      it.fail("source", std::move(what));
      return w;
    }
  }
  if (!s) {
    end_sent_ = true;
    it.end = true;
    return w;
  }
  ++next_seq_;
  last_id_ = s->id;
  if (auto key = handed_over_key(model_key_, *s)) it.content_key = std::move(*key);  // else the decoder's
  it.id = std::move(s->id);
  it.path = std::move(s->path);
  it.label = std::move(s->label);
  if (!s->error.empty()) {
    it.fail("source", std::move(s->error));
  } else if (!s->bytes.empty()) {
    it.bytes = std::move(s->bytes);
  } else if (s->decoded) {
    it.image = std::move(s->image);
    it.decoded = true;
    it.width = it.image.width();
    it.height = it.image.height();
  }
  return w;
}

Decoder::Decoder(std::string model_key, image::DecodeOptions options, Timers& timers)
    : model_key_(std::move(model_key)), options_(std::move(options)), timers_(timers) {}

WorkPtr Decoder::operator()(WorkPtr w) const {
  Item& it = w->item;
  if (it.end || it.failed() || it.decoded) return w;
  ScopedTimer t(timers_, kDecode);
  try {
    if (!it.bytes.empty()) {
      it.image = image::decode_image(it.bytes, it.id, options_);
      it.bytes = {};
    } else {
      InputRead r = read_input(model_key_, it.path, options_);
      it.content_key = std::move(r.key);
      if (!r.error.empty()) {
        it.fail("decode", std::move(r.error));
        return w;
      }
      it.image = image::decode_image(r.bytes, it.path, options_);
    }
    it.decoded = true;
    it.width = it.image.width();
    it.height = it.image.height();
  } catch (const Error& e) {
    it.fail("decode", e.what());
  } catch (const cv::Exception& e) {
    it.fail("decode", it.path + ": OpenCV: " + e.what());
  } catch (const std::bad_alloc&) {
    it.fail("decode", it.path + ": out of memory while decoding");
  } catch (...) {
    it.fail("decode", it.path + ": " + current_exception_text());
  }
  return w;
}

Preprocessor::Preprocessor(const image::ImageProcessor& processor, bool keep_images, Timers& timers)
    : processor_(processor), keep_images_(keep_images), timers_(timers) {}

WorkPtr Preprocessor::operator()(WorkPtr w) const {
  Item& it = w->item;
  if (it.end || it.failed()) return w;
  ScopedTimer t(timers_, kPreprocess);
  try {
    it.pixels = processor_.preprocess(it.image);
  } catch (const Error& e) {
    it.fail("preprocess", it.path + ": " + e.what());
  } catch (const std::bad_alloc&) {
    it.fail("preprocess", it.path + ": out of memory while preprocessing");
  } catch (...) {
    it.fail("preprocess", it.path + ": " + current_exception_text());
  }
  if (!keep_images_) it.image = {};
  return w;
}

BackboneStage::BackboneStage(Backbone& backbone, ForwardRequest request, int threads, std::string label,
                             std::vector<std::string> head_names, Timers& timers)
    : backbone_(backbone),
      request_(std::move(request)),
      threads_(threads),
      label_(std::move(label)),
      head_names_(std::move(head_names)),
      timers_(timers) {}

BatchPtr BackboneStage::operator()(BatchPtr b) const {
  for (const auto& w : b->items)
    if (!w->item.failed()) b->good.push_back(w);
  // Made before any head can see the batch, so the last head to finish knows it is the last.
  const auto join = [&] { b->heads.emplace(head_names_, b->good.size()); };
  if (b->good.empty()) {
    join();
    return b;
  }
  ScopedTimer t(timers_, kBackbone);
  const OmpThreadsScope omp_threads(threads_);           // per thread in OpenMP, so set where it runs
  const Shape s = b->good.front()->item.pixels.shape();  // a copy: the items' pixels go as they are stacked
  const auto n = static_cast<std::int64_t>(b->good.size());
  try {
    Tensor input({n, s[1], s[2], s[3]});
    const std::int64_t per = s[1] * s[2] * s[3];
    for (std::int64_t i = 0; i < n; ++i) {
      Item& it = b->good[static_cast<std::size_t>(i)]->item;
      if (it.pixels.shape() != s)
        throw Error("BackboneStage: a batch holds inputs of different sizes (" + it.id + ")");
      std::memcpy(input.data() + i * per, it.pixels.data(), static_cast<std::size_t>(per) * sizeof(float));
      it.pixels = {};
    }
    b->result = backbone_.forward(input, request_);
  } catch (...) {
    const std::string what = label_ + current_exception_text();
    for (auto& w : b->good) w->item.fail("backbone", w->item.path + ": " + what);
    b->good.clear();
  }
  join();
  return b;
}

HeadStage::HeadStage(const Head& head, std::size_t index, Timers& timers)
    : head_(head), index_(index), timers_(timers) {}

bool HeadStage::operator()(const BatchPtr& b) const {
  if (b->good.empty()) return b->heads->put(index_, {});
  ScopedTimer t(timers_, kHeads);
  try {
    return b->heads->put(index_, head_.run(b->result));
  } catch (...) {
    return b->heads->fail(index_, current_exception_text());
  }
}

HeadResults::HeadResults(std::vector<std::string> head_labels, std::size_t sinks)
    : head_labels_(std::move(head_labels)), sinks_(sinks) {}

std::vector<WorkPtr> HeadResults::operator()(const BatchPtr& b) const {
  const auto failure = b->heads->failure();
  for (std::size_t i = 0; i < b->good.size(); ++i) {
    Item& it = b->good[i]->item;
    if (failure) {
      it.fail("head " + failure->head, it.path + ": " + head_labels_.at(failure->index) + failure->message);
      continue;
    }
    it.heads = b->heads->take(i);
    for (auto& r : it.heads) it.top_k.push_back(read_predictions(r));
  }
  b->result = {};
  b->heads.reset();
  for (const auto& w : b->items) w->pending = static_cast<int>(sinks_);
  return b->items;
}

SinkWriter::SinkWriter(Sink& sink, std::string label, RunErrors& errors, Timers& timers)
    : sink_(sink), label_(std::move(label)), errors_(errors), timers_(timers) {}

WorkPtr SinkWriter::operator()(WorkPtr w) const {
  ScopedTimer t(timers_, kSinks);
  try {
    sink_.write(w->item);
  } catch (...) {
    // This sink misses this input; the other sinks and inputs go on, and the run ends incomplete.
    const Item& it = w->item;
    errors_.add(label_ + ": input " + it.id +
                (it.path.empty() || it.path == it.id ? "" : " (" + it.path + ")") + ": " +
                current_exception_text());
  }
  return w;
}

RunTally::RunTally(const std::set<std::string>& labels, bool shard, Clock::time_point start,
                   std::function<void(const Progress&)> on_progress, std::optional<std::uint64_t> total)
    : labels_(labels), shard_(shard), start_(start), on_progress_(std::move(on_progress)) {
  progress.total = total;
}

void RunTally::operator()(const WorkPtr& w) {
  const Item& it = w->item;
  ++progress.done;
  if (shard_) {
    shard_ids.push_back(it.id);
    shard_keys.push_back(it.content_key);
  }
  if (it.failed()) {
    ++progress.failed;
  } else if (it.label) {
    // Accuracy follows the first head (in config order) that gives predictions.
    const auto top = std::find_if(it.top_k.begin(), it.top_k.end(), [](const auto& t) { return !t.empty(); });
    if (top != it.top_k.end()) {
      ++labeled;
      if (top->front().label == *it.label) ++correct;
      if (!labels_.empty() && !labels_.count(*it.label) && unknown_labels.size() < Summary::kMaxUnknownLabels)
        unknown_labels.insert(*it.label);
    }
  }
  progress.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  if (on_progress_) {
    progress.id = it.id;
    progress.error = it.error;
    on_progress_(progress);
  }
}

}  // namespace visbone::pipeline
