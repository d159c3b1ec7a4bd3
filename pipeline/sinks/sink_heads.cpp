#include <algorithm>

#include "sinks.h"

namespace visbone::pipeline::detail {

std::size_t find_head(const registry::Params& p, const SinkContext& ctx, const std::string& kind) {
  if (const auto name = p.find<std::string>("head")) {
    std::string names;
    for (std::size_t i = 0; i < ctx.heads.size(); ++i) {
      if (ctx.heads[i].name == *name) return i;
      names += (names.empty() ? "" : ", ") + ctx.heads[i].name;
    }
    p.fail("head", "no head is named '" + *name + "' (heads: " + names + ")");
  }
  std::vector<std::size_t> found;
  for (std::size_t i = 0; i < ctx.heads.size(); ++i)
    if (ctx.heads[i].description.kind == kind) found.push_back(i);
  if (found.empty())
    p.fail("type", "needs a head that describes itself as " + kind +
                       "; add one to heads (or name another head with 'head:')");
  if (found.size() > 1)
    p.fail("type", "there are " + std::to_string(found.size()) + " " + kind + " heads; say which one with 'head: NAME'");
  return found.front();
}

int columns_top_k(int top_k, const SinkHead& head) {
  // A head that does not say how many predictions it gives (a plugin's) gets the sink's top_k, else 5.
  const int head_k = head.description.top_k > 0 ? head.description.top_k : (top_k > 0 ? top_k : 5);
  return top_k > 0 ? std::min(top_k, head_k) : head_k;
}

namespace {

std::filesystem::path resolved(
    const registry::Params& p,
    const std::function<std::filesystem::path(const std::filesystem::path&)>& resolve) {
  const std::filesystem::path path = p.get<std::string>("path");
  if (path.empty()) p.fail("path", "expected a path, found an empty string");
  return resolve ? resolve(path) : p.path("path");
}

}  // namespace

std::filesystem::path output_path(const registry::Params& p, const SinkContext& ctx) {
  return resolved(p, ctx.output_path);
}

std::filesystem::path output_folder(const registry::Params& p, const SinkContext& ctx) {
  return resolved(p, ctx.output_folder);
}

registry::ParamInfo head_param(const std::string& kind) {
  return {"head", "string", "the only " + kind + " head", "the name of the head it reads"};
}

}  // namespace visbone::pipeline::detail
