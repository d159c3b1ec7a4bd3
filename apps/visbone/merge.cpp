// `visbone merge OUTPUT_DIR`: joins the parts written by `visbone run --shard i/N` into the files a single
// run writes (in place) and writes _SUCCESS, then prints the run's counts (items, accuracy) added up from the
// shards' manifests. Exit status: 0 merged; 1 a shard is missing, foreign or damaged (the message names its
// file); 2 usage.
#include <iostream>

#include "args.h"
#include "visbone/core/errors.h"
#include "visbone/pipeline/merge.h"

namespace visbone::app {

int merge(const Args& args) {
  po::options_description opts("visbone merge OUTPUT_DIR");
  opts.add_options()("help,h", "show this help")("dir", po::value<std::string>(),
                                                 "the --output folder the shards wrote into");
  po::positional_options_description pos;
  pos.add("dir", 1);
  const auto parsed = parse_command(args, opts, pos, {{"dir", "OUTPUT_DIR"}});
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;
  const pipeline::MergeResult merged = pipeline::merge_shards(vm["dir"].as<std::string>());
  for (const auto& line : merged.lines) std::cout << line << "\n";
  // The whole run's counts, as `visbone run` prints them.
  std::cout << merged.counts.items_text() << "\n" << merged.counts.accuracy_text();
  return 0;
}

}  // namespace visbone::app
