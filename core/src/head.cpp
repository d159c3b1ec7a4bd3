#include "visbone/core/head.h"

#include <algorithm>

#include "visbone/core/errors.h"

namespace visbone {
namespace {

std::string channels_str(int channels) {
  return channels > 0 ? std::to_string(channels) + " channels" : "any channels";
}

}  // namespace

ForwardRequest HeadNeeds::request() const {
  ForwardRequest r;
  merge_into(r, *this);
  return r;
}

std::string HeadNeeds::str() const {
  std::string s;
  auto add = [&](const std::string& part) { s += (s.empty() ? "" : ", ") + part; };
  for (const auto& n : stages) add(n.stage + " (" + channels_str(n.channels) + ")");
  if (last_hidden_state) add("last_hidden_state (" + channels_str(last_hidden_state_channels) + ")");
  if (pooled) add("pooled (" + channels_str(pooled_channels) + ")");
  return s.empty() ? "nothing" : s;
}

void merge_into(ForwardRequest& request, const HeadNeeds& needs) {
  for (const auto& n : needs.stages)
    if (std::find(request.stages.begin(), request.stages.end(), n.stage) == request.stages.end())
      request.stages.push_back(n.stage);
  request.pooled = request.pooled || needs.pooled;
  request.last_hidden_state = request.last_hidden_state || needs.last_hidden_state;
}

std::string describe_output_shape(const Backbone& backbone) {
  const auto shapes = backbone.output_shape();
  // Stage order first; then anything else the backbone exposes (such as an intermediate stem output).
  std::vector<std::string> order = backbone.stage_names();
  for (const auto& [name, shape] : shapes)
    if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
  std::string s;
  for (const auto& name : order) {
    const auto it = shapes.find(name);
    if (it == shapes.end()) continue;
    s += (s.empty() ? "" : ", ") + name + " (" + std::to_string(it->second.channels) + " channels, stride " +
         std::to_string(it->second.stride) + ")";
  }
  return s + (s.empty() ? "" : ", ") + "pooled (" + std::to_string(backbone.pooled_channels()) + " channels)";
}

void check_head_needs(const HeadNeeds& needs, const Backbone& backbone, const std::string& head) {
  const auto shapes = backbone.output_shape();
  const auto names = backbone.stage_names();
  auto fail = [&](const std::string& problem) {
    throw ShapeError("head '" + head + "' cannot be fed by this backbone: " + problem + ". The head needs " +
                     needs.str() + "; the backbone gives " + describe_output_shape(backbone));
  };
  for (const auto& n : needs.stages) {
    const auto it = shapes.find(n.stage);
    if (it == shapes.end()) fail("it needs stage '" + n.stage + "', which the backbone does not have");
    if (n.channels > 0 && it->second.channels != n.channels)
      fail("stage '" + n.stage + "' has " + std::to_string(it->second.channels) +
           " channels, the head expects " + std::to_string(n.channels));
  }
  if (needs.last_hidden_state && needs.last_hidden_state_channels > 0) {
    if (names.empty() || !shapes.count(names.back())) fail("the backbone reports no stages");
    const int have = shapes.at(names.back()).channels;
    if (have != needs.last_hidden_state_channels)
      fail("the last stage '" + names.back() + "' has " + std::to_string(have) +
           " channels, the head expects " + std::to_string(needs.last_hidden_state_channels));
  }
  if (needs.pooled && needs.pooled_channels > 0 && backbone.pooled_channels() != needs.pooled_channels)
    fail("the pooled features have " + std::to_string(backbone.pooled_channels()) +
         " channels, the head expects " + std::to_string(needs.pooled_channels));
}

}  // namespace visbone
