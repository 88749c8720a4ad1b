// Writes the seed corpora of the graph and calibration fuzz targets from real files
// (scripts/fuzz.sh runs it in the fuzz build folder; nothing it writes is committed).
//   mq_fuzz_seed_writer CORPUS_ROOT [model.onnx | data.npy | data.pb]...
// Tiny graphs built here (a CNN, an LSTM, If / Loop / Scan), and for each model: the fp32 graph, its dynamic- and
// static-int8 versions as .mqm, .safetensors and .pt, and the int8 graphs as QDQ .onnx. For each .npy / .pb: the
// first rows as calibration-source inputs of calibration_model.h in every file kind. Plus calibration tables from
// every observer kind. The file-reader targets (fuzz_mqm, fuzz_safetensors, fuzz_torch, fuzz_zip, fuzz_pickle,
// fuzz_npy, fuzz_npz, fuzz_onnx_tensor) get the files of their format written above, and the pickles inside the
// .pt archives. Errors are reported and skipped (a seed is optional).
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "../control_flow_graphs.h"
#include "calibration_model.h"
#include "engine/api.h"
#include "engine/quantize.h"
#include "graph_fuzz.h"
#include "serialization/npy.h"
#include "serialization/safetensors.h"
#include "serialization/zip.h"

namespace fs = std::filesystem;
using namespace mq;

namespace {

fs::path root;
constexpr uintmax_t kMaxSeedBytes = 1 << 20;

template <class Fn>
void attempt(const std::string& what, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    std::cerr << "seed_writer: skipped " << what << ": " << e.what() << "\n";
  }
}

/// Runs `fn` in a child process, so that a crash of the engine (a bug the fuzzers are there
/// to find) costs only the seeds `fn` would have written.
template <class Fn>
void isolated(const std::string& what, Fn&& fn) {
  std::cout.flush(), std::cerr.flush();
  const pid_t pid = ::fork();
  if (pid == 0) {
    attempt(what, fn);
    std::cerr.flush();
    ::_exit(0);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    std::cerr << "seed_writer: skipped " << what << ": the child process crashed (an engine bug)\n";
}

fs::path corpus(const std::string& target) {
  fs::create_directories(root / target);
  return root / target;
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
}

/// Saves `g` as .mqm, .safetensors and .pt seeds named `stem`.
void save_graph_seeds(const Graph& g, const std::string& stem) {
  for (auto [ext, target] : {std::pair{".mqm", "fuzz_mqm_model"},
                             {".safetensors", "fuzz_safetensors_model"},
                             {".pt", "fuzz_torch_model"}}) {
    const fs::path p = corpus(target) / (stem + ext);
    attempt(p.string(), [&] {
      save_model(g, p.string());
      if (fs::file_size(p) > kMaxSeedBytes) fs::remove(p);
    });
  }
}

/// Seeds of every graph target from `g`: itself, its dynamic- and static-int8 versions.
void graph_seeds(const Graph& g, const std::string& stem) {
  save_graph_seeds(g, stem);
  QuantizeOptions q;
  q.validate = false;
  isolated(stem + " (dynamic)", [&] {
    QuantizeResult r = dynamic_quantize(g, q);
    save_graph_seeds(r.graph, stem + ".dyn");
    save_model(r.graph, (corpus("fuzz_onnx_model") / (stem + ".dyn.qdq.onnx")).string());
  });
  for (bool fuse : {true, false}) {
    const std::string name = stem + (fuse ? ".int8" : ".int8nofuse");
    isolated(name, [&] {
      TensorMap in;
      if (!fuzz::make_inputs(g, in)) throw std::runtime_error("inputs too large");
      TensorListSource data({in, in});
      CalibrationOptions c;
      c.threads = 1;
      Calibration cal = calibrate(g, data, c);
      QuantizeOptions sq = q;
      sq.fuse_activations = fuse;
      QuantizeResult r = static_quantize(g, cal, sq);
      save_graph_seeds(r.graph, name);
      save_model(r.graph, (corpus("fuzz_onnx_model") / (name + ".qdq.onnx")).string());
    });
  }
}

void model_seeds(const fs::path& model, const std::string& stem) {
  if (fs::file_size(model) <= kMaxSeedBytes)
    fs::copy_file(model, corpus("fuzz_onnx_model") / (stem + ".onnx"), fs::copy_options::overwrite_existing);
  isolated(model.string(), [&] { graph_seeds(load_model(model.string()), stem); });
}

Tensor ramp(std::vector<int64_t> dims, float step) {
  Tensor t(DType::f32, std::move(dims));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(i % 11 - 5) * step;
  return t;
}

/// Tiny graphs built here (a few KB in every format, so mutations and reproducers stay
/// small): a CNN (Conv2d, Relu, MaxPool, AveragePool, Flatten, Linear) and an LSTM.
void tiny_seeds() {
  attempt("tiny_cnn", [&] {
    Graph g;
    Value* x = g.add_input("x", ValueType{DType::f32, Shape(std::vector<Dim>{Dim::sym("batch"), 1, 8, 8}), {}});
    Attributes conv;
    conv.set("kernel_shape", std::vector<int64_t>{3, 3});
    conv.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    Node* c = g.add_node(OpKind::Conv2d, {.name = "conv",
                                          .inputs = {x, g.add_constant("conv.w", ramp({4, 1, 3, 3}, 0.1f)),
                                                     g.add_constant("conv.b", ramp({4}, 0.01f))},
                                          .attrs = conv});
    Node* r = g.add_node(OpKind::Relu, {.name = "relu", .inputs = {c->output(0)}});
    Attributes pool;
    pool.set("kernel_shape", std::vector<int64_t>{2, 2});
    pool.set("strides", std::vector<int64_t>{2, 2});
    Node* mp = g.add_node(OpKind::MaxPool, {.name = "maxpool", .inputs = {r->output(0)}, .attrs = pool});
    Node* ap = g.add_node(OpKind::AveragePool, {.name = "avgpool", .inputs = {mp->output(0)}, .attrs = pool});
    Attributes flat;
    flat.set("axis", int64_t(1));
    Node* f = g.add_node(OpKind::Flatten, {.name = "flatten", .inputs = {ap->output(0)}, .attrs = flat});
    Node* fc = g.add_node(OpKind::Linear, {.name = "fc",
                                           .inputs = {f->output(0), g.add_constant("fc.w", ramp({3, 16}, 0.05f)),
                                                      g.add_constant("fc.b", ramp({3}, 0.01f))},
                                           .output_names = {"y"}});
    g.add_output(fc->output(0));
    graph_seeds(g, "tiny_cnn");
    save_model(g, (corpus("fuzz_onnx_model") / "tiny_cnn.onnx").string());
  });
  attempt("tiny_lstm", [&] {
    Graph g;
    Value* x = g.add_input("x", ValueType{DType::f32, Shape(std::vector<Dim>{5, Dim::sym("batch"), 4}), {}});
    Attributes a;
    a.set("hidden_size", int64_t(3));
    Node* l = g.add_node(OpKind::LSTM, {.name = "lstm",
                                        .inputs = {x, g.add_constant("lstm.w", ramp({1, 12, 4}, 0.1f)),
                                                   g.add_constant("lstm.r", ramp({1, 12, 3}, 0.1f)),
                                                   g.add_constant("lstm.b", ramp({1, 24}, 0.01f))},
                                        .attrs = a,
                                        .num_outputs = 3,
                                        .output_names = {"y", "y_h", "y_c"}});
    g.add_output(l->output(0));
    graph_seeds(g, "tiny_lstm");
    save_model(g, (corpus("fuzz_onnx_model") / "tiny_lstm.onnx").string());
  });
  // control flow: an If with a nested If (Linear layers in the branches), a Loop, a Scan
  for (auto& [stem, make] : std::vector<std::pair<std::string, Graph (*)()>>{
           {"tiny_if", [] { return test::make_if_graph(); }},
           {"tiny_loop", [] { return test::make_loop_graph(); }},
           {"tiny_scan", [] { return test::make_scan_graph(true); }}}) {
    attempt(stem, [&, stem = stem, make = make] {
      Graph g = make();
      graph_seeds(g, stem);
      save_model(g, (corpus("fuzz_onnx_model") / (stem + ".onnx")).string());
    });
  }
}

/// A TensorProto (f32) by hand: dims (1), data_type (2), name (8), raw_data (9).
std::string tensor_proto(const Tensor& t) {
  std::string out;
  auto varint = [&](uint64_t v) {
    do {
      out.push_back(char((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
      v >>= 7;
    } while (v);
  };
  for (int64_t d : t.dims()) out.push_back(char(1 << 3)), varint(uint64_t(d));
  out.push_back(char(2 << 3)), varint(1);
  out.push_back(char(8 << 3 | 2)), varint(1), out.push_back('x');
  out.push_back(char(9 << 3 | 2)), varint(t.nbytes());
  out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

/// Calibration-source seeds from a tensor: its first rows in every file kind.
void calibration_seeds(Tensor t, const std::string& stem) {
  if (t.rank() > 0 && t.dim(0) > 3) {
    std::vector<int64_t> dims = t.dims();
    dims[0] = 3;
    Tensor head(t.dtype(), dims);
    std::memcpy(head.raw(), t.raw(), head.nbytes());
    t = head;
  }
  const fs::path dir = corpus("fuzz_calibration_source");
  const fs::path tmp = root / "tmp";
  fs::create_directories(tmp);
  auto seed = [&](unsigned kind, const std::string& bytes, const std::string& name) {
    for (unsigned obs = 0; obs < (kind == 0 ? 4u : 1u); ++obs)
      write_file(dir / (stem + "." + std::to_string(kind) + std::to_string(obs) + name),
                 char(kind + 5 * obs) + bytes);
  };
  attempt(stem, [&] {
    serialization::save_npy((tmp / "a.npy").string(), t);
    seed(0, read_file(tmp / "a.npy"), ".npy");
    fs::copy_file(tmp / "a.npy", corpus("fuzz_npy") / (stem + ".npy"), fs::copy_options::overwrite_existing);
    serialization::save_npz((tmp / "a.npz").string(), {{"x", t}});
    seed(1, read_file(tmp / "a.npz"), ".npz");
    fs::copy_file(tmp / "a.npz", corpus("fuzz_npz") / (stem + ".npz"), fs::copy_options::overwrite_existing);
    serialization::save_safetensors((tmp / "a.safetensors").string(), {{"x", t}});
    seed(3, read_file(tmp / "a.safetensors"), ".safetensors");
    fs::copy_file(tmp / "a.safetensors", corpus("fuzz_safetensors") / (stem + ".safetensors"),
                  fs::copy_options::overwrite_existing);
    if (t.dtype() == DType::f32) {
      seed(2, tensor_proto(t), ".pb");
      seed(4, tensor_proto(t), ".pb");
      write_file(corpus("fuzz_onnx_tensor") / (stem + ".pb"), tensor_proto(t));
    }
  });
}

void calibration_table_seeds() {
  Graph g = fuzz::calibration_model();
  Tensor x(DType::f32, {3, 1, 28, 28});
  fuzz::fill_small(x);
  calibration_seeds(x, "fill");
  for (int k = 0; k < 4; ++k) {
    attempt("calibration table", [&] {
      TensorListSource data({{{"x", x}}, {{"x", x}}});
      CalibrationOptions c;
      c.threads = 1;
      c.observer.kind = ObserverKind(k);
      if (k < 2) c.observer.axis = 1;
      calibrate(g, data, c)
          .save((corpus("fuzz_calibration_table") / ("table" + std::to_string(k) + ".json")).string());
    });
  }
}

/// Seeds of the file-reader targets: the graph seeds of their format, and every entry of the
/// .pt archives that is a pickle.
void reader_seeds() {
  auto copy_all = [](const std::string& from, const std::string& ext, const std::string& to) {
    if (!fs::is_directory(root / from)) return;
    for (const auto& e : fs::directory_iterator(root / from))
      if (e.path().extension() == ext)
        fs::copy_file(e.path(), corpus(to) / e.path().filename(), fs::copy_options::overwrite_existing);
  };
  copy_all("fuzz_mqm_model", ".mqm", "fuzz_mqm");
  copy_all("fuzz_safetensors_model", ".safetensors", "fuzz_safetensors");
  copy_all("fuzz_torch_model", ".pt", "fuzz_torch");
  copy_all("fuzz_torch_model", ".pt", "fuzz_zip");
  copy_all("fuzz_npz", ".npz", "fuzz_zip");  // (the calibration-source seeds carry a kind byte first)
  if (!fs::is_directory(root / "fuzz_torch_model")) return;
  for (const auto& e : fs::directory_iterator(root / "fuzz_torch_model")) {
    attempt(e.path().string(), [&] {
      const std::string bytes = read_file(e.path());
      serialization::ZipReader z({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()},
                                 e.path().string());
      for (const auto& entry : z.entries()) {
        if (!entry.name.ends_with(".pkl")) continue;
        const std::vector<std::byte> pkl = z.extract(entry);
        write_file(corpus("fuzz_pickle") / (e.path().stem().string() + ".pkl"),
                   std::string(reinterpret_cast<const char*>(pkl.data()), pkl.size()));
      }
    });
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: mq_fuzz_seed_writer CORPUS_ROOT [model.onnx | data.npy | data.pb]...\n";
    return 2;
  }
  root = argv[1];
  calibration_table_seeds();
  tiny_seeds();
  for (int i = 2; i < argc; ++i) {
    const fs::path p = argv[i];
    const std::string stem = p.parent_path().filename().string() + "_" + p.stem().string();
    if (p.extension() == ".onnx") model_seeds(p, stem);
    else if (p.extension() == ".npy")
      attempt(p.string(), [&] { calibration_seeds(serialization::load_npy(p.string()), stem); });
    else if (p.extension() == ".pb") {
      write_file(corpus("fuzz_calibration_source") / (stem + ".pb"), char(2) + read_file(p));
      write_file(corpus("fuzz_onnx_tensor") / (stem + ".pb"), read_file(p));
    }
  }
  reader_seeds();
  fs::remove_all(root / "tmp");
  return 0;
}
