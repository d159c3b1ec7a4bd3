#include "visbone/serve/service.h"

#include <boost/json.hpp>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "visbone/image/decode.h"
#include "visbone/serve/http_error.h"
#include "visbone/serve/inference_protocol.h"
#include "visbone/serve/page.h"
#include "visbone/serve/upload.h"
#include "visbone/version.h"

namespace visbone::serve {
namespace http = boost::beast::http;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

Response make_response(int status, std::string body, const char* content_type, unsigned version) {
  Response res{static_cast<http::status>(status), version};
  res.set(http::field::server, "visbone");
  res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response json_response(int status, const json::value& v, unsigned version) {
  return make_response(status, json::serialize(v), "application/json", version);
}

// The route's name for metrics, and its parts: /v2/models/NAME[/versions/V][/SUFFIX],
// /v1/models/NAME:predict.
struct Route {
  std::string endpoint;
  std::string model;
};

Route route(std::string_view target) {
  if (const auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  if (target == "/") return {"page", ""};
  if (target == "/metrics") return {"metrics", ""};
  if (target == "/v2/health/live") return {"health_live", ""};
  if (target == "/v2/health/ready") return {"health_ready", ""};
  if (target == "/v2") return {"server_metadata", ""};
  if (target == "/v2/models/stats") return {"model_stats", ""};
  constexpr std::string_view v1 = "/v1/models/", v2 = "/v2/models/";
  if (target.rfind(v1, 0) == 0 && target.size() > v1.size() + 8 && target.ends_with(":predict"))
    return {"predict", std::string(target.substr(v1.size(), target.size() - v1.size() - 8))};
  if (target.rfind(v2, 0) != 0) return {"unknown", ""};
  std::string_view rest = target.substr(v2.size());
  const auto slash = rest.find('/');
  std::string name(rest.substr(0, slash));
  std::string_view suffix = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (suffix.rfind("/versions/1", 0) == 0) suffix.remove_prefix(11);
  if (suffix.empty()) return {"model_metadata", name};
  if (suffix == "/ready") return {"model_ready", name};
  if (suffix == "/config") return {"model_config", name};
  if (suffix == "/stats") return {"model_stats", name};
  if (suffix == "/infer") return {"infer", name};
  return {"unknown", ""};
}

double ms(double seconds) {
  return seconds * 1000;
}

// The value of `key` in the target's query string ("" when absent).
std::string query_value(std::string_view target, std::string_view key) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.size() > key.size() && pair.substr(0, key.size()) == key && pair[key.size()] == '=')
      return std::string(pair.substr(key.size() + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

// A feature map's activation strength per position (L2 norm over channels, scaled to 0..1): where the
// stage responds, for drawing over the image.
json::object heat_map(const std::string& stage, const Tensor& map) {
  const std::int64_t c = map.dim(1), h = map.dim(2), w = map.dim(3);
  std::vector<double> v(static_cast<std::size_t>(h * w), 0.0);
  for (std::int64_t k = 0; k < c; ++k)
    for (std::int64_t i = 0; i < h * w; ++i) v[i] += std::pow(map.data()[k * h * w + i], 2);
  for (auto& x : v) x = std::sqrt(x);
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  const double low = *lo, range = *hi - *lo > 0 ? *hi - *lo : 1;
  json::array values;
  for (const double x : v) values.push_back(std::round((x - low) / range * 1000) / 1000);
  return {{"stage", stage}, {"height", h}, {"width", w}, {"values", std::move(values)}};
}

}  // namespace

Response error_response(int status, const std::string& message, unsigned version) {
  Response res = json_response(status, json::object{{"error", message}}, version);
  if (status == 503) res.set(http::field::retry_after, "1");
  return res;
}

Service::Service(const ServeConfig& config) : options_(config.options) {
  for (const auto& section : config.models) {
    Model m;
    m.model = build_model(section, config.file, config.base_dir);
    m.batcher = std::make_unique<Batcher>(*m.model, options_, metrics_);
    models_.emplace(section.name, std::move(m));
  }
}

Service::~Service() = default;

void Service::stop() {
  for (auto& [name, m] : models_) m.batcher.reset();
}

Service::Model* Service::find(const std::string& name) {
  const auto it = models_.find(name);
  if (it != models_.end()) return &it->second;
  std::string names;
  for (const auto& [n, m] : models_) names += (names.empty() ? "" : ", ") + n;
  throw HttpError(404, "no model named '" + name + "'; served: " + names);
}

void Service::handle(Request req, Reply reply) {
  const auto start = Clock::now();
  const Route r = route(req.target());
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  auto finish = [this, start, r, keep_alive, reply](Response res) {
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    metrics_.observe_request(r.endpoint, res.result_int(), seconds);
    // Per served model only: a name from the URL that is not one must not grow the statistics.
    if ((r.endpoint == "infer" || r.endpoint == "predict") && models_.count(r.model))
      metrics_.observe_inference(r.model, res.result_int(), seconds);
    res.keep_alive(keep_alive);
    reply(std::move(res));
  };
  try {
    const bool get = req.method() == http::verb::get;
    const bool post = req.method() == http::verb::post;
    const auto expect = [&](bool ok, const char* method) {
      if (!ok)
        throw HttpError(405, std::string(req.method_string()) + " " + std::string(req.target()) +
                                 ": this endpoint takes " + method);
    };
    if (r.endpoint == "unknown") throw HttpError(404, "no endpoint " + std::string(req.target()));
    if (r.endpoint == "infer" || r.endpoint == "predict") {
      expect(post, "POST");
      Model& m = *find(r.model);
      if (r.endpoint == "infer")
        infer(m, req, finish);
      else
        predict(m, req, finish);
      return;
    }
    expect(get, "GET");
    if (r.endpoint == "page") {
      std::vector<std::string> names;
      for (const auto& [name, m] : models_) names.push_back(name);
      return finish(make_response(200, page_html(names), "text/html; charset=utf-8", version));
    }
    if (r.endpoint == "metrics")
      return finish(make_response(200, metrics_.prometheus_text(), "text/plain; version=0.0.4", version));
    if (r.endpoint == "health_live") return finish(json_response(200, json::object{{"live", true}}, version));
    if (r.endpoint == "health_ready")
      return finish(draining_ ? error_response(503, "shutting down", version)
                              : json_response(200, json::object{{"ready", true}}, version));
    if (r.endpoint == "server_metadata")
      return finish(json_response(
          200,
          json::object{{"name", "visbone"},
                       {"version", VISBONE_VERSION_STRING},
                       {"extensions", {"binary_tensor_data", "model_configuration", "statistics"}}},
          version));
    if (r.endpoint == "model_stats") {
      json::array stats;
      if (r.model.empty())
        for (const auto& [name, m] : models_) stats.push_back(metrics_.statistics(name));
      else
        stats.push_back(metrics_.statistics(find(r.model)->model->name));
      return finish(json_response(200, json::object{{"model_stats", std::move(stats)}}, version));
    }
    Model& m = *find(r.model);
    if (r.endpoint == "model_ready")
      return finish(json_response(200, json::object{{"ready", true}}, version));
    if (r.endpoint == "model_config")
      return finish(json_response(200, model_config(*m.model, options_), version));
    return finish(json_response(200, model_metadata(*m.model), version));
  } catch (const HttpError& e) {
    finish(error_response(e.status(), e.what(), version));
  } catch (const std::exception& e) {
    finish(error_response(500, e.what(), version));
  }
}

void Service::infer(Model& m, const Request& req, Reply reply) {
  std::optional<std::size_t> header_length;
  if (const auto h = req.find("Inference-Header-Content-Length"); h != req.end()) {
    try {
      const std::string v(h->value());
      std::size_t used = 0;
      header_length = std::stoull(v, &used);
      if (used != v.size()) throw std::invalid_argument(v);
    } catch (const std::exception&) {
      throw HttpError(400, "Inference-Header-Content-Length: expected a byte count, found '" +
                               std::string(h->value()) + "'");
    }
  }
  auto request = std::make_shared<InferRequest>(parse_infer_request(
      req.body(), header_length, *m.model, {options_.max_pixels, options_.max_batch_size}));
  // More images than the queue holds would be refused with 503 however often the client retried.
  if (request->pixels.dim(0) > options_.max_queue_size)
    throw HttpError(400, "inputs[0].shape: batch of " + std::to_string(request->pixels.dim(0)) +
                             " is over max_queue_size " + std::to_string(options_.max_queue_size) +
                             ": it could never be queued");
  const unsigned version = req.version();
  Job job{request->pixels, request->stages, request->heads, nullptr, {}};
  ServedModel* model = m.model.get();
  job.done = [model, request, version, reply](JobResult result) {
    if (!result.error.empty()) return reply(error_response(result.status, result.error, version));
    EncodedResponse e = encode_infer_response(*model, *request, result);
    Response res = make_response(200, std::move(e.body),
                                 e.header_length ? "application/octet-stream" : "application/json", version);
    if (e.header_length) res.set("Inference-Header-Content-Length", std::to_string(*e.header_length));
    reply(std::move(res));
  };
  if (!m.batcher->submit(std::move(job)))
    throw HttpError(503, "model '" + m.model->name + "': the queue is full (max_queue_size " +
                             std::to_string(options_.max_queue_size) + "); retry later");
}

void Service::predict(Model& m, const Request& req, Reply reply) {
  // ?out_features=stage2,stage3: those stages' maps as well (any of the model's stages, as infer's outputs).
  const auto stages = m.model->backbone->stage_names();
  std::vector<std::string> out_features;
  const std::string asked = query_value(req.target(), "out_features");
  for (std::string_view list = asked; !list.empty();) {
    const auto comma = list.find(',');
    const std::string stage(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (std::find(stages.begin(), stages.end(), stage) == stages.end())
      throw HttpError(400, "out_features: unknown stage '" + stage +
                               "'; the model has: " + json::serialize(json::value_from(stages)));
    if (std::find(out_features.begin(), out_features.end(), stage) == out_features.end())
      out_features.push_back(stage);
  }
  if (m.model->heads.empty() && out_features.empty())
    throw HttpError(400, "model '" + m.model->name + "' has no heads; ask for stages with ?out_features=" +
                             stages.back() + " or use /v2/models/" + m.model->name + "/infer");
  const std::string_view bytes = upload_bytes(req[http::field::content_type], req.body());
  image::DecodeOptions decode = m.model->processor->decode_options();
  decode.max_pixels = options_.max_pixels;
  image::Image img;
  try {
    img = image::decode_image({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()},
                              "the request body", decode);
  } catch (const Error& e) {
    throw HttpError(400, std::string("the body is not an image this server can decode: ") + e.what());
  }
  const unsigned version = req.version();
  const std::string heat_stage = query_value(req.target(), "heatmap");
  if (!heat_stage.empty() && std::find(stages.begin(), stages.end(), heat_stage) == stages.end())
    throw HttpError(400, "heatmap: unknown stage '" + heat_stage +
                             "'; the model has: " + json::serialize(json::value_from(stages)));
  Tensor pixels;
  try {
    // On this connection's thread alone: TBB workers would take cores from the forward pass running now.
    tbb::task_arena single(1);
    single.execute([&] { pixels = m.model->processor->preprocess(img); });
  } catch (const Error& e) {
    throw HttpError(400, std::string("the image cannot be preprocessed for this model: ") + e.what());
  }
  Job job{pixels, {}, true, nullptr, {}};
  job.stages = out_features;
  if (!heat_stage.empty() &&
      std::find(out_features.begin(), out_features.end(), heat_stage) == out_features.end())
    job.stages.push_back(heat_stage);
  ServedModel* model = m.model.get();
  const auto start = Clock::now();
  job.done = [model, version, reply, start, heat_stage, out_features](JobResult result) {
    if (!result.error.empty()) return reply(error_response(result.status, result.error, version));
    json::object heads;
    for (std::size_t h = 0; h < model->heads.size(); ++h)
      heads[model->heads[h].name] = result.heads[h].at(0).record;
    const double total = std::chrono::duration<double>(Clock::now() - start).count();
    json::object body{{"model_name", model->name},
                      {"heads", std::move(heads)},
                      {"batch_size", result.batch_size},
                      {"latency_ms",
                       {{"queue", ms(result.queue_seconds)},
                        {"compute", ms(result.compute_seconds)},
                        {"total", ms(total)}}}};
    if (!heat_stage.empty()) body["heatmap"] = heat_map(heat_stage, result.stages.at(heat_stage));
    if (!out_features.empty()) {
      json::object features;
      for (const auto& stage : out_features) {
        const Tensor& t = result.stages.at(stage);  // (1, C, H, W)
        features[stage] = {{"shape", {t.dim(1), t.dim(2), t.dim(3)}},
                           {"data", json::array(t.data(), t.data() + t.numel())}};
      }
      body["features"] = std::move(features);
    }
    reply(json_response(200, body, version));
  };
  if (!m.batcher->submit(std::move(job)))
    throw HttpError(503, "model '" + m.model->name + "': the queue is full (max_queue_size " +
                             std::to_string(options_.max_queue_size) + "); retry later");
}

}  // namespace visbone::serve
