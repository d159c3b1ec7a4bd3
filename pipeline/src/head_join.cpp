#include "head_join.h"

#include "visbone/core/errors.h"

namespace visbone::pipeline {

HeadJoin::HeadJoin(std::vector<std::string> heads, std::size_t items)
    : heads_(std::move(heads)),
      items_(items),
      seen_(heads_.size()),
      results_(heads_.size()),
      errors_(heads_.size()) {}

bool HeadJoin::put(std::size_t head, std::vector<HeadResult> results) {
  return report(head, std::move(results), "");
}

bool HeadJoin::fail(std::size_t head, std::string message) {
  return report(head, std::nullopt, std::move(message));
}

bool HeadJoin::report(std::size_t head, std::optional<std::vector<HeadResult>> results, std::string message) {
  std::lock_guard lock(mutex_);
  if (head >= heads_.size())
    throw Error("head join: head " + std::to_string(head) + " of " + std::to_string(heads_.size()));
  if (seen_[head]) throw Error("head join: head '" + heads_[head] + "' reported twice");
  seen_[head] = true;
  if (results && results->size() != items_)
    message = "gave " + std::to_string(results->size()) + " results for a batch of " + std::to_string(items_);
  if (!message.empty()) results.reset();
  results_[head] = std::move(results);
  errors_[head] = std::move(message);
  return ++reported_ == heads_.size();
}

void HeadJoin::require_complete(const char* what) const {
  if (reported_ == heads_.size()) return;
  for (std::size_t h = 0; h < heads_.size(); ++h)
    if (!seen_[h])
      throw Error(std::string("head join: ") + what + " before head '" + heads_[h] + "' reported");
}

std::optional<HeadJoin::Failure> HeadJoin::failure() const {
  require_complete("failure()");
  for (std::size_t h = 0; h < heads_.size(); ++h)
    if (!results_[h]) return Failure{h, heads_[h], errors_[h]};
  return std::nullopt;
}

std::vector<HeadResult> HeadJoin::take(std::size_t item) {
  if (const auto f = failure()) throw Error("head join: no results: head '" + f->head + "' " + f->message);
  if (item >= items_)
    throw Error("head join: item " + std::to_string(item) + " of " + std::to_string(items_));
  std::vector<HeadResult> out;
  for (auto& r : results_) out.push_back(std::move((*r)[item]));
  return out;
}

}  // namespace visbone::pipeline
