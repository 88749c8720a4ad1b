// monoquant::Model and monoquant::Session over the engine's Graph and Session.
#include <cstring>

#include "api/convert.h"

namespace monoquant {

Model::Model(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Model Model::load(const std::string& path, const LoadOptions& options) {
  return guarded(
      [&] {
        mq::LoadOptions o;
        o.optimize = options.optimize;
        return Model(std::make_shared<const Impl>(Impl{mq::load_model(path, o)}));
      },
      path);
}

void Model::save(const std::string& path) const {
  guarded([&] { mq::save_model(impl_->graph, path); }, path);
}

std::vector<TensorInfo> Model::inputs() const {
  std::vector<TensorInfo> out;
  for (const mq::Value* v : impl_->graph.inputs()) out.push_back(info_of(*v));
  return out;
}

std::vector<TensorInfo> Model::outputs() const {
  std::vector<TensorInfo> out;
  for (const mq::Value* v : impl_->graph.outputs()) out.push_back(info_of(*v));
  return out;
}

int64_t Model::node_count() const { return int64_t(impl_->graph.node_count()); }

std::map<std::string, int64_t> Model::op_counts() const {
  std::map<std::string, int64_t> counts;
  for (const mq::Node* n : impl_->graph.nodes()) counts[std::string(n->op_name())]++;
  return counts;
}

Model Model::dequantized() const {
  return guarded([&] { return Model(std::make_shared<const Impl>(Impl{mq::dequantize_model(impl_->graph)})); });
}

struct Session::Impl {
  mq::Session session;
};

Session::Session(const Model& model, const SessionOptions& options) {
  guarded([&] {
    mq::SessionOptions o;
    o.threads = options.threads;
    o.max_tensor_bytes = options.max_tensor_bytes;
    o.optimize = options.optimize;
    impl_ = std::make_unique<Impl>(Impl{mq::Session(model.impl().graph, o)});
  });
}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

TensorMap Session::run(const TensorMap& inputs) {
  return guarded([&] { return to_public(impl_->session.run(to_engine(inputs))); });
}

void Session::run(const TensorMap& inputs, TensorMap& outputs) {
  TensorMap result = run(inputs);
  for (auto& [name, t] : result) {
    auto it = outputs.find(name);
    if (it == outputs.end() || it->second.empty()) {
      outputs[name] = std::move(t);
      continue;
    }
    Tensor& dst = it->second;
    if (dst.dtype() != t.dtype() || dst.dims() != t.dims())
      throw Error(ErrorKind::shape,
                  "output '" + name + "': the caller's tensor is " + dtype_name(dst.dtype()) + " of " +
                      std::to_string(dst.numel()) + " elements in " + std::to_string(dst.rank()) +
                      " dims, the run made " + dtype_name(t.dtype()) + " of " + std::to_string(t.numel()) +
                      " elements in " + std::to_string(t.rank()) + " dims",
                  "", "", name);
    if (t.nbytes()) std::memcpy(dst.raw(), t.raw(), t.nbytes());
  }
}

std::vector<TensorInfo> Session::inputs() const {
  std::vector<TensorInfo> out;
  for (const mq::Value* v : impl_->session.graph().inputs()) out.push_back(info_of(*v));
  return out;
}

std::vector<TensorInfo> Session::outputs() const {
  std::vector<TensorInfo> out;
  for (const mq::Value* v : impl_->session.graph().outputs()) out.push_back(info_of(*v));
  return out;
}

int Session::threads() const { return impl_->session.threads(); }

}  // namespace monoquant
