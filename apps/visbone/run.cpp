// `visbone run CONFIG.yaml [--input PATH] [--output DIR] [--batch-size N] [--threads N] [--allow-errors]
// [--plugin LIB]... [--shard i/N | --shards N] [--resume [--chunk N]]`:
// runs a YAML-configured pipeline (see the README's "visbone run" section). Progress goes to stderr (a bar on
// a terminal, plain periodic lines otherwise), the summary to stdout. Exit status: 0 when every input went
// through; 1 when some input failed (unless --allow-errors or `fail_on_error: false`), a source or sink
// failed (the outputs are then incomplete) or the run stopped; 2 for a config or usage error.
#include <unistd.h>

#include <cstdlib>

#include <chrono>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "args.h"
#include "progress.h"
#include "visbone/api/register_builtins.h"
#include "visbone/core/errors.h"
#include "visbone/pipeline/config.h"
#include "visbone/pipeline/journal.h"
#include "visbone/pipeline/pipeline.h"

namespace visbone::app {

namespace {

// Shows progress on stderr: a bar redrawn in place on a terminal, or a plain line every `interval` seconds
// (logs and CI output stay readable). Failures are listed as they happen, up to a limit.
class ProgressPrinter {
 public:
  enum class Mode { bar, lines, none };
  ProgressPrinter(Mode mode, double interval) : mode_(mode), interval_(interval) {}

  void update(const pipeline::Progress& p) {
    if (!p.error.empty() && shown_errors_ < kMaxErrors) {
      clear_bar();
      std::cerr << "failed: " << p.error << "\n";
      if (++shown_errors_ == kMaxErrors)
        std::cerr << "(further failures are only in the outputs and the summary)\n";
    }
    last_ = p;
    const double since = p.seconds - last_print_;
    if (mode_ == Mode::bar && since >= 0.1) {
      draw_bar(p);
      last_print_ = p.seconds;
    } else if (mode_ == Mode::lines && since >= interval_) {
      std::cerr << line(p) << "\n";
      last_print_ = p.seconds;
    }
  }

  // Said before the model loads, which can take a while (a download, a large checkpoint) with nothing else
  // to show; a whole line, since loading may print notes of its own.
  void loading() {
    if (mode_ != Mode::none) std::cerr << "loading model..." << std::endl;
  }

  void loaded(double seconds) {
    if (mode_ == Mode::none) return;
    char text[64];
    std::snprintf(text, sizeof text, "model loaded in %.1f s\n", seconds);
    std::cerr << text;
  }

  void finish() {
    if (mode_ == Mode::none || last_.done == 0) return;
    if (mode_ == Mode::bar) {
      draw_bar(last_);
      std::cerr << "\n";
    } else if (last_print_ != last_.seconds) {
      std::cerr << line(last_) << "\n";
    }
  }

 private:
  static constexpr int kMaxErrors = 20;

  static ProgressState state(const pipeline::Progress& p) { return {p.done, p.failed, p.total, p.seconds}; }
  static std::string line(const pipeline::Progress& p) { return progress_line(state(p)); }

  void draw_bar(const pipeline::Progress& p) {
    std::cerr << "\r" << bar_text(state(p), terminal_columns()) << "\033[K" << std::flush;
    bar_shown_ = true;
  }

  void clear_bar() {
    if (bar_shown_) std::cerr << "\r\033[K";
    bar_shown_ = false;
  }

  Mode mode_;
  double interval_;
  double last_print_ = 0;
  int shown_errors_ = 0;
  bool bar_shown_ = false;
  pipeline::Progress last_;
};

// 1 when a component failed outside any input's record (its errors printed; the outputs are incomplete,
// whatever --allow-errors says), or when an input failed and that counts.
int exit_status(const pipeline::Summary& summary, bool fail_on_error) {
  for (const auto& e : summary.errors) std::cerr << "error: " << e << "\n";
  if (!summary.errors.empty()) {
    std::cerr << "visbone: the outputs are incomplete (no _SUCCESS marker): " << summary.errors.size()
              << " component error(s)\n";
    return 1;
  }
  return summary.failed > 0 && fail_on_error ? 1 : 0;
}

}  // namespace

int run(const Args& args) {
  po::options_description opts("visbone run CONFIG.yaml [options]");
  opts.add_options()("help,h", "show this help")("config", po::value<std::string>(),
                                                 "the pipeline's YAML file")(
      "input", po::value<std::string>(),
      "replace the config's sources: a folder, glob, video, .txt list or image")(
      "output", po::value<std::string>(), "replace output_dir (where relative sink paths go)")(
      "batch-size", po::value<int>(), "replace batch_size")("threads", po::value<int>(),
                                                            "replace threads (0: all cores)")(
      "allow-errors", "exit with 0 even when some inputs failed")(
      "progress", po::value<std::string>()->default_value("auto"),
      "auto (a bar on a terminal, else lines), bar, lines or none")(
      "progress-interval", po::value<double>()->default_value(10.0), "seconds between progress lines")(
      "plugin", po::value<std::vector<std::string>>(),
      "a plugin library to load besides the config's plugins and $VISBONE_PLUGIN_PATH (repeatable)")(
      "shard", po::value<std::string>(),
      "run shard i of N (i/N, from 0) into part files of the shared --output folder; default: from "
      "$SLURM_ARRAY_TASK_ID/_COUNT/_MIN or $JOB_COMPLETION_INDEX")(
      "shards", po::value<int>(), "the number of shards when the index comes from $JOB_COMPLETION_INDEX")(
      "resume",
      "run in chunks committed to a journal in --output; go on from the last committed chunk of an "
      "earlier --resume run that stopped")(
      "chunk", po::value<std::uint64_t>(),
      "inputs per chunk of a --resume run (whole batches; default 64 batches)");
  po::positional_options_description pos;
  pos.add("config", 1);
  const auto parsed = parse_command(args, opts, pos, {{"config", "CONFIG.yaml"}});
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;

  ProgressPrinter::Mode mode = ProgressPrinter::Mode::none;
  const std::string progress = vm["progress"].as<std::string>();
  if (progress == "auto")
    mode = ::isatty(STDERR_FILENO) ? ProgressPrinter::Mode::bar : ProgressPrinter::Mode::lines;
  else if (progress == "bar")
    mode = ProgressPrinter::Mode::bar;
  else if (progress == "lines")
    mode = ProgressPrinter::Mode::lines;
  else if (progress != "none")
    throw ConfigError("--progress: '" + progress + "' is not one of auto, bar, lines, none");
  const double interval = vm["progress-interval"].as<double>();
  if (!(interval >= 0)) throw ConfigError("--progress-interval: expected seconds >= 0");

  pipeline::PipelineConfig config = pipeline::load_config(vm["config"].as<std::string>());
  pipeline::Overrides o;
  if (vm.count("input")) o.input = vm["input"].as<std::string>();
  if (vm.count("output")) o.output = vm["output"].as<std::string>();
  if (vm.count("batch-size")) o.batch_size = vm["batch-size"].as<int>();
  if (vm.count("threads")) o.threads = vm["threads"].as<int>();
  pipeline::apply_overrides(config, o);
  // Command-line paths resolve against the working folder.
  if (vm.count("plugin"))
    for (const auto& plugin : vm["plugin"].as<std::vector<std::string>>())
      config.plugins.push_back(std::filesystem::absolute(plugin));
  const bool fail_on_error = config.fail_on_error && !vm.count("allow-errors");
  if (vm.count("shard")) {
    if (vm.count("shards")) throw ConfigError("--shard and --shards: give one (--shard i/N says N)");
    config.shard = pipeline::parse_shard(vm["shard"].as<std::string>());
  } else {
    const auto shards = vm.count("shards") ? std::optional<int>(vm["shards"].as<int>()) : std::nullopt;
    config.shard = pipeline::shard_from_environment(shards, [](const char* n) { return std::getenv(n); });
  }

  ProgressPrinter printer(mode, interval);
  if (vm.count("chunk") && !vm.count("resume")) throw ConfigError("--chunk: only with --resume");
  if (vm.count("resume")) {
    pipeline::ResumeOptions options;
    if (vm.count("chunk")) options.chunk_inputs = vm["chunk"].as<std::uint64_t>();
    if (vm.count("chunk") && options.chunk_inputs == 0)
      throw ConfigError("--chunk: expected a number of inputs >= 1");
    const pipeline::ResumeReport r = pipeline::run_resumable(
        config, register_pipeline_builtins, options,
        [&](const pipeline::Progress& pr) { printer.update(pr); }, [&] { printer.loading(); });
    printer.finish();
    std::cout << "chunks: " << r.chunks << " (" << r.reused << " taken from the journal)\n"
              << r.summary.text();
    return exit_status(r.summary, fail_on_error);
  }
  // Said once every cheap check (paths, sources, keys) has passed: a wrong path is the only thing printed.
  auto load_start = std::chrono::steady_clock::now();
  pipeline::Pipeline p(std::move(config), register_pipeline_builtins, nullptr, [&] {
    printer.loading();
    load_start = std::chrono::steady_clock::now();
  });
  printer.loaded(std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count());
  const pipeline::Summary summary = p.run([&](const pipeline::Progress& pr) { printer.update(pr); });
  printer.finish();
  std::cout << summary.text();
  return exit_status(summary, fail_on_error);
}

}  // namespace visbone::app
