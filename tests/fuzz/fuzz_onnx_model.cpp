// End to end: an ONNX model is imported (mq::load_model, standard passes), verified, compiled
// into a Session and run. The custom mutator parses the ModelProto and mutates it
// structurally — attribute values (extreme ints, lists lengthened / shortened, floats,
// tensors' dims and dtypes, auto_pad strings), graph input shapes and dtypes, initializer
// dims, node operands — then re-serialises; inputs that do not parse go to LLVMFuzzerMutate.
#include <onnx/onnx_pb.h>

#include <cstring>

#include "graph_fuzz.h"
#include "mutate.h"

namespace {

using mq::fuzz::extreme_int;
using mq::fuzz::pick;
using mq::fuzz::Rng;

const char* const kIntsNames[] = {"pads",  "strides",        "kernel_shape", "dilations", "axes", "perm",
                                  "shape", "output_padding", "output_shape", "starts",    "ends", "split"};
const char* const kIntNames[] = {
    "group",       "axis",      "keepdims",          "transA",        "transB",    "to",
    "hidden_size", "ceil_mode", "count_include_pad", "storage_order", "direction", "blocksize"};

int random_elem_type(Rng& rng) { return int(rng() % 17); }  // ONNX TensorProto::DataType 0..16

void mutate_dims(Rng& rng, google::protobuf::RepeatedField<int64_t>& dims) {
  std::vector<int64_t> v(dims.begin(), dims.end());
  mq::fuzz::mutate_list(rng, v, [&](int64_t x) { return extreme_int(rng, x); });
  dims.Clear();
  for (int64_t x : v) dims.Add(x);
}

void mutate_tensor(Rng& rng, onnx::TensorProto& t) {
  switch (rng() % 3) {
    case 0: mutate_dims(rng, *t.mutable_dims()); break;
    case 1: t.set_data_type(random_elem_type(rng)); break;
    default:
      if (t.int64_data_size()) t.set_int64_data(int(pick(rng, size_t(t.int64_data_size()))), extreme_int(rng, 0));
      else if (t.float_data_size())
        t.set_float_data(int(pick(rng, size_t(t.float_data_size()))), mq::fuzz::extreme_f32(rng));
      else mutate_dims(rng, *t.mutable_dims());
  }
}

void mutate_attribute(Rng& rng, onnx::AttributeProto& a) {
  using A = onnx::AttributeProto;
  switch (a.type()) {
    case A::INT: a.set_i(extreme_int(rng, a.i())); break;
    case A::FLOAT: a.set_f(mq::fuzz::extreme_f32(rng)); break;
    case A::INTS: mutate_dims(rng, *a.mutable_ints()); break;
    case A::FLOATS: {
      std::vector<float> v(a.floats().begin(), a.floats().end());
      mq::fuzz::mutate_list(rng, v, [&](float) { return mq::fuzz::extreme_f32(rng); });
      a.clear_floats();
      for (float x : v) a.add_floats(x);
      break;
    }
    case A::STRING: {
      static const char* const s[] = {"NOTSET",        "SAME_UPPER", "SAME_LOWER", "VALID", "forward", "reverse",
                                      "bidirectional", "nearest",    "linear",     "",      "x"};
      a.set_s(s[pick(rng, std::size(s))]);
      break;
    }
    case A::TENSOR: mutate_tensor(rng, *a.mutable_t()); break;
    default: a.set_type(A::INT), a.set_i(extreme_int(rng, 0));
  }
  if (rng() % 16 == 0) a.set_type(A::AttributeType(rng() % 13));  // the type no longer matches
}

void mutate_value_info(Rng& rng, onnx::ValueInfoProto& v) {
  auto* tt = v.mutable_type()->mutable_tensor_type();
  if (rng() % 4 == 0) {
    tt->set_elem_type(random_elem_type(rng));
    return;
  }
  auto* shape = tt->mutable_shape();
  switch (rng() % 4) {
    case 0: shape->add_dim()->set_dim_value(extreme_int(rng, 1)); break;
    case 1:
      if (shape->dim_size()) shape->mutable_dim()->RemoveLast();
      break;
    case 2:
      if (shape->dim_size()) shape->mutable_dim(int(pick(rng, size_t(shape->dim_size()))))->set_dim_param("n");
      break;
    default:
      if (shape->dim_size()) {
        auto* d = shape->mutable_dim(int(pick(rng, size_t(shape->dim_size()))));
        d->set_dim_value(extreme_int(rng, d->has_dim_value() ? d->dim_value() : 1));
      }
  }
}

void mutate_model(Rng& rng, onnx::ModelProto& m) {
  auto* g = m.mutable_graph();
  const unsigned what = unsigned(rng() % 10);
  if (what < 6 && g->node_size()) {
    auto* n = g->mutable_node(int(pick(rng, size_t(g->node_size()))));
    if (what < 4 && n->attribute_size()) {
      mutate_attribute(rng, *n->mutable_attribute(int(pick(rng, size_t(n->attribute_size())))));
    } else if (what == 4) {  // a new (or duplicated) attribute with a common name
      auto* a = n->add_attribute();
      if (rng() & 1) {
        a->set_name(kIntsNames[pick(rng, std::size(kIntsNames))]);
        a->set_type(onnx::AttributeProto::INTS);
        for (size_t i = 0, k = pick(rng, 5); i < k; ++i) a->add_ints(extreme_int(rng, 1));
      } else {
        a->set_name(kIntNames[pick(rng, std::size(kIntNames))]);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(extreme_int(rng, 1));
      }
    } else if (n->input_size()) {  // rewire an operand to another value (or drop it)
      auto* in = n->mutable_input(int(pick(rng, size_t(n->input_size()))));
      const auto& other = g->node(int(pick(rng, size_t(g->node_size()))));
      if (rng() % 4 == 0) *in = "";
      else if (other.output_size()) *in = other.output(0);
      else if (g->input_size()) *in = g->input(0).name();
    }
  } else if (what < 8 && g->input_size()) {
    mutate_value_info(rng, *g->mutable_input(int(pick(rng, size_t(g->input_size())))));
  } else if (g->initializer_size()) {
    mutate_tensor(rng, *g->mutable_initializer(int(pick(rng, size_t(g->initializer_size())))));
  } else if (g->node_size()) {
    g->mutable_node()->SwapElements(0, int(pick(rng, size_t(g->node_size()))));
  }
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned seed) {
  Rng rng(seed);
  onnx::ModelProto m;
  if (rng() % 8 == 0 || !m.ParseFromArray(data, int(size)) || !m.has_graph())
    return LLVMFuzzerMutate(data, size, max_size);
  for (size_t i = 0, k = 1 + pick(rng, 3); i < k; ++i) mutate_model(rng, m);
  std::string out;
  if (!m.SerializeToString(&out) || out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* d, size_t n) {
  return mq::fuzz::run_model_file(d, n, ".onnx");
}
