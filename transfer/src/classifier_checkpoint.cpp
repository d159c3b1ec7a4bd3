#include "visbone/transfer/classifier_checkpoint.h"

#include <boost/json.hpp>

#include "visbone/bit/checkpoint_formats.h"
#include "visbone/core/checkpoint.h"
#include "visbone/core/errors.h"
#include "visbone/core/json.h"
#include "visbone/core/json_writer.h"
#include "visbone/core/replaceable_folder.h"
#include "visbone/core/safetensors.h"
#include "visbone/image/image_processor.h"
#include "visbone/pipeline/atomic_file.h"
#include "visbone/pipeline/staged_folder.h"
#include "visbone/yaml/yaml_scalars.h"

namespace visbone::transfer {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

const std::vector<std::string> kWritten = {"config.json", "model.safetensors", "preprocessor_config.json",
                                           "fit_report.json"};

void write_json(const fs::path& path, const json::value& v) {
  pipeline::AtomicFile f(path);
  f.write(to_json_text(v, JsonStyle::pretty) + "\n");
  f.commit();
}

}  // namespace

json::object preprocessor_json(const YAML::Node& preprocess, const fs::path& checkpoint,
                               const fs::path& base_dir, const std::string& where) {
  std::string from = "checkpoint";
  YAML::Node overrides(YAML::NodeType::Map);
  if (preprocess && preprocess.IsScalar()) {
    from = preprocess.Scalar();
  } else if (preprocess && preprocess.IsMap()) {
    for (const auto& kv : preprocess) {
      if (kv.first.Scalar() == "from")
        from = kv.second.Scalar();
      else
        overrides[kv.first.Scalar()] = kv.second;
    }
  }
  json::object out;
  if (from != "defaults") {
    fs::path p =
        from == "checkpoint" ? checkpoint : (fs::path(from).is_absolute() ? fs::path(from) : base_dir / from);
    if (fs::is_directory(p)) p /= "preprocessor_config.json";
    if (fs::is_regular_file(p)) {
      const json::value v = read_json_file(p);
      if (!v.is_object()) throw ConfigError(p.string() + ": expected a JSON object");
      out = v.as_object();
    }
  }
  if (out.empty()) out["image_processor_type"] = "BitImageProcessor";
  for (const auto& kv : overrides)
    out[kv.first.Scalar()] = yaml::yaml_to_json(kv.second, where + " preprocess." + kv.first.Scalar());
  (void)image::ImageProcessorConfig::from_json(out, where);
  return out;
}

void write_classifier_checkpoint(const fs::path& source, const fs::path& out_dir, const LinearModel& head,
                                 const std::vector<std::string>& classes, const json::object& preprocessor,
                                 const json::object& report) {
  if (static_cast<int>(classes.size()) != head.num_classes)
    throw ConfigError("fit: " + std::to_string(classes.size()) + " class names for a head of " +
                      std::to_string(head.num_classes) + " classes");
  check_replaceable_folder(out_dir, kWritten, "fit");
  bit::ConvertedWeights w;
  json::object config;
  switch (bit::detect_format(source)) {
    case bit::WeightFormat::Transformers: {
      auto ckpt = Checkpoint::open(source);
      w.config = bit::BitConfig::from_json(ckpt.config(), (source / "config.json").string());
      config = ckpt.config().as_object();
      for (const auto& name : ckpt.tensor_names())
        w.tensors.emplace_back(name, ckpt.load(name, ckpt.find(name)->shape));
      break;
    }
    case bit::WeightFormat::Timm:
      w = bit::load_timm(source);
      config = w.config.to_json().as_object();
      break;
    case bit::WeightFormat::Npz:
      w = bit::load_npz(source);
      config = w.config.to_json().as_object();
      break;
  }
  const int width = w.config.stage_channels(static_cast<int>(w.config.depths.size()));
  if (head.d != width)
    throw ConfigError("fit: the head takes " + std::to_string(head.d) + " features, the backbone " +
                      source.string() + " pools " + std::to_string(width));
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto& [name, t] : w.tensors)
    if (name.rfind("classifier.", 0) != 0) tensors.emplace_back(name, t);
  Tensor weight({head.num_classes, head.d}), bias({head.num_classes});
  std::copy(head.weight.begin(), head.weight.end(), weight.data());
  std::copy(head.bias.begin(), head.bias.end(), bias.data());
  tensors.emplace_back("classifier.1.weight", weight);
  tensors.emplace_back("classifier.1.bias", bias);

  json::object id2label, label2id;
  for (std::size_t i = 0; i < classes.size(); ++i) {
    id2label[std::to_string(i)] = classes[i];
    label2id[classes[i]] = static_cast<std::int64_t>(i);
  }
  config["architectures"] = json::array{"BitForImageClassification"};
  config["id2label"] = id2label;
  config["label2id"] = label2id;
  config["num_labels"] = static_cast<std::int64_t>(classes.size());
  config["problem_type"] = "single_label_classification";
  (void)bit::BitConfig::from_json(config,
                                  (out_dir / "config.json").string());  // what we write must read back

  pipeline::StagedFolder staged(out_dir);
  write_safetensors(staged.path() / "model.safetensors", tensors, {{"format", "pt"}}, DType::F32);
  write_json(staged.path() / "config.json", config);
  write_json(staged.path() / "preprocessor_config.json", preprocessor);
  write_json(staged.path() / "fit_report.json", report);
  staged.commit();
}

}  // namespace visbone::transfer
