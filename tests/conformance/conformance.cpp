#include "conformance.h"

#include <cmath>
#include <filesystem>
#include <sstream>

#include "engine/api.h"
#include "importers/onnx/import.h"

namespace mq::conformance {

namespace fs = std::filesystem;

namespace {
std::string compare(const std::string& name, const Tensor& got, const Tensor& want) {
  std::ostringstream os;
  if (got.dims() != want.dims()) {
    os << name << ": shape " << got.shape().str() << ", expected " << want.shape().str();
    return os.str();
  }
  bool floaty = is_float(want.dtype());
  if (!floaty && got.dtype() != want.dtype()) {
    os << name << ": dtype " << dtype_name(got.dtype()) << ", expected " << dtype_name(want.dtype());
    return os.str();
  }
  if (want.dtype() == DType::f16 || want.dtype() == DType::bf16) return name + ": f16 compare unsupported";
  auto g = got.dtype() == DType::f64 || want.dtype() == DType::f64 ? std::vector<float>() : got.to_float();
  std::vector<double> gd, wd;
  if (want.dtype() == DType::f64 || got.dtype() == DType::f64) {
    auto conv = [](const Tensor& t) {
      std::vector<double> v(size_t(t.numel()));
      if (t.dtype() == DType::f64)
        for (size_t i = 0; i < v.size(); ++i) v[i] = t.data<double>()[i];
      else {
        auto f = t.to_float();
        for (size_t i = 0; i < v.size(); ++i) v[i] = f[i];
      }
      return v;
    };
    gd = conv(got);
    wd = conv(want);
  } else {
    auto w = want.to_float();
    gd.assign(g.begin(), g.end());
    wd.assign(w.begin(), w.end());
  }
  for (size_t i = 0; i < wd.size(); ++i) {
    double a = gd[i], b = wd[i];
    if (std::isnan(b) && std::isnan(a)) continue;
    if (std::isinf(b) && a == b) continue;
    double tol = floaty ? 1e-5 + 1e-3 * std::fabs(b) : 0.0;
    if (!(std::fabs(a - b) <= tol)) {
      os << name << "[" << i << "] = " << a << ", expected " << b;
      return os.str();
    }
  }
  return "";
}
}  // namespace

CaseResult run_case(const std::string& dir) {
  CaseResult r;
  Graph g;
  try {
    g = load_model(dir + "/model.onnx");
  } catch (const UnsupportedError& e) {
    return {Status::unsupported, e.what()};
  } catch (const std::exception& e) {
    return {Status::fail, std::string("import: ") + e.what()};
  }
  std::unique_ptr<Session> s;
  try {
    s = std::make_unique<Session>(g, SessionOptions{.threads = 1});
  } catch (const UnsupportedError& e) {
    return {Status::unsupported, e.what()};
  } catch (const std::exception& e) {
    return {Status::fail, std::string("session: ") + e.what()};
  }
  int sets = 0;
  for (int k = 0;; ++k) {
    fs::path set = fs::path(dir) / ("test_data_set_" + std::to_string(k));
    if (!fs::exists(set)) break;
    ++sets;
    try {
      TensorMap inputs;
      auto names = s->input_names();
      for (size_t i = 0;; ++i) {
        fs::path p = set / ("input_" + std::to_string(i) + ".pb");
        if (!fs::exists(p)) break;
        Tensor t = onnx::read_tensor_file(p.string());
        if (i >= names.size()) return {Status::fail, "more input files than model inputs"};
        // ONNX's test data stores bfloat16 inputs as UINT16 tensors (numpy has no bfloat16)
        if (t.dtype() == DType::u16 && s->graph().value(names[i])->dtype() == DType::bf16)
          t = Tensor(DType::bf16, t.dims(), t.storage(), t.offset());
        inputs[names[i]] = t;
      }
      TensorMap out = s->run(inputs);
      auto onames = s->output_names();
      for (size_t i = 0; i < onames.size(); ++i) {
        fs::path p = set / ("output_" + std::to_string(i) + ".pb");
        if (!fs::exists(p)) continue;
        std::string diff = compare(onames[i], out.at(onames[i]), onnx::read_tensor_file(p.string()));
        if (!diff.empty()) return {Status::fail, set.filename().string() + ": " + diff};
      }
    } catch (const UnsupportedError& e) {
      return {Status::unsupported, e.what()};
    } catch (const std::exception& e) {
      return {Status::fail, set.filename().string() + ": " + e.what()};
    }
  }
  if (sets == 0) return {Status::fail, "no test_data_set_*"};
  return {Status::pass, ""};
}

}  // namespace mq::conformance
