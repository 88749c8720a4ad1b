// monoquant: the command-line tool. Parses the command line with CLI11, runs one
// subcommand and turns every failure into one "monoquant: error: ..." line and an exit code.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <new>

#include "engine/quantize.h"
#include "ir/error.h"
#include "tools/common.h"

namespace {

constexpr const char* kFooter =
    "Exit codes: 0 success, 1 validation failed, 2 usage error, 3 input error (bad file, "
    "unsupported op, shapes, out of memory), 4 internal error.";

int error_line(const std::string& msg, int code) {
  std::cerr << "monoquant: error: " << msg << '\n';
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mq::cli;
  CLI::App app{"monoquant: quantize float ONNX models to validated int8 models", "monoquant"};
  app.footer(kFooter);
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", "monoquant " MQ_VERSION);
  app.add_flag("-q,--quiet", globals().quiet, "Print only errors (and requested results) ");
  app.add_flag("-v,--verbose", globals().verbose, "Print more detail on stderr");

  Runner run;
  add_quantize_command(app, run);
  add_run_command(app, run);
  add_inspect_command(app, run);
  add_compare_command(app, run);
  add_bench_command(app, run);
  for (auto* sub : app.get_subcommands([](CLI::App*) { return true; })) sub->footer(kFooter);
  app.get_subcommand("quantize")
      ->footer(
          "Examples:\n"
          "  monoquant quantize model.onnx --calib samples/ -o model.int8.mqm\n"
          "  # several inputs: .npz files with one array per input, or one folder per input\n"
          "  monoquant quantize encoder.onnx --calib calib/ -o encoder.int8.mqm   # calib/tokens/*.npy, "
          "calib/mask/*.npy\n"
          "  # a streaming model: its state output fed back as the next chunk's state input\n"
          "  monoquant quantize vad.onnx --calib chunks.npz --state state_out=state -o vad.int8.mqm\n\n" +
          std::string(kFooter));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    if (msg.empty()) msg = "bad command line";
    error_line(msg, kUsage);
    std::cerr << "Run 'monoquant --help' or 'monoquant COMMAND --help' for usage.\n";
    return kUsage;
  }
  if (!run) return error_line("no command given", kUsage);

  try {
    return run();
  } catch (const UsageError& e) {
    error_line(e.what(), kUsage);
    std::cerr << "Run 'monoquant COMMAND --help' for usage.\n";
    return kUsage;
  } catch (const mq::ValidationError& e) {
    const std::string msg = e.what();  // the library's messages already say "validation failed"
    return error_line(msg.rfind("validation failed", 0) == 0 ? msg : "validation failed: " + msg,
                      kValidationFailed);
  } catch (const mq::Error& e) {
    return error_line(e.what(), kInputError);
  } catch (const std::bad_alloc&) {
    // The readers name the file they were reading (a FormatError); this is the last resort.
    return error_line("out of memory (an input is too large for this machine, or corrupt)", kInputError);
  } catch (const std::exception& e) {
    return error_line(std::string("internal error: ") + e.what(), kInternal);
  } catch (...) {
    return error_line("internal error: unknown exception", kInternal);
  }
}
