// timm's eval transform (timm.data.create_transform(..., is_training=False) from a model's pretrained_cfg),
// expressed as image processor settings: resize the shorter side to floor(size / crop_pct) (crop_mode
// "squash": both sides), centre crop to input_size as torchvision's CenterCrop does, ToTensor, Normalize.
// Checkpoints that timm saves carry no preprocessor_config.json; this is how they are preprocessed.
#pragma once

#include <boost/json/fwd.hpp>
#include <string>

namespace visbone::image {

// The preprocessor_config.json keys equivalent to `pretrained_cfg` (input_size, interpolation, crop_pct,
// mean, std, crop_mode; absent keys take timm's defaults: 3x224x224, bicubic, 0.875, ImageNet mean/std,
// center). The centre crop is torchvision's (ImageProcessorConfig::crop_align = torchvision), which these
// keys cannot say. ConfigError naming `where` and the key for a value timm would reject, or for what is not
// supported here (crop_mode "border"; a non-square input_size with crop_mode "center").
boost::json::object timm_processor_settings(const boost::json::value& pretrained_cfg,
                                            const std::string& where);

}  // namespace visbone::image
