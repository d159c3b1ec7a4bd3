#include "visbone/pipeline/components.h"

#include "../sinks/sinks.h"
#include "../sources/sources.h"

namespace visbone::pipeline {

void register_components(registry::ComponentRegistrar& r) {
  register_files_source(r);
  register_folder_source(r);
  register_glob_source(r);
  register_list_source(r);
  register_video_source(r);
  register_jsonl_sink(r);
  register_csv_sink(r);
  register_safetensors_sink(r);
  register_embedding_index_sink(r);
  register_annotated_images_sink(r);
  register_heatmap_sink(r);
  register_contact_sheet_sink(r);
}

}  // namespace visbone::pipeline
