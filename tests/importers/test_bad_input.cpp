// Bad ONNX input: each case gets one clear error naming the file, node and field — never a
// crash. Models are written with onnx_proto, then damaged.
#include <doctest/doctest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "engine/api.h"
#include "error_text.h"
#include "importers/onnx/import.h"

using namespace mq;

using test::contains;
using test::message_of;

namespace {

/// x[2,3] → Relu → y, plus whatever `extra` adds.
::onnx::ModelProto relu_model() {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("bad");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(::onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_value(2);
  tt->mutable_shape()->add_dim()->set_dim_value(3);
  auto* n = g->add_node();
  n->set_op_type("Relu");
  n->set_name("act");
  n->add_input("x");
  n->add_output("y");
  g->add_output()->set_name("y");
  return m;
}

}  // namespace

TEST_CASE("a truncated model file names the file and says it is truncated or not ONNX") {
  std::string bytes = relu_model().SerializeAsString();
  for (size_t cut : {size_t(3), bytes.size() / 2, bytes.size() - 1}) {
    std::string msg = message_of([&] { mq::onnx::import_model_bytes(bytes.substr(0, cut), "cut.onnx", "."); });
    CAPTURE(cut);
    CHECK(contains(msg, "cut.onnx: "));
    CHECK(
        (contains(msg, "not a valid ONNX model") || contains(msg, "never produced") || contains(msg, "no graph")));
  }
}

TEST_CASE("a file that is not ONNX, an empty file and a missing file") {
  auto dir = std::filesystem::temp_directory_path() / "mq_bad_input";
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "text.onnx") << "this is not a protobuf at all, just some words\n";
    std::ofstream(dir / "empty.onnx");
  }
  CHECK(contains(message_of([&] { load_model((dir / "text.onnx").string()); }),
                 "text.onnx: not a valid ONNX model"));
  CHECK(contains(message_of([&] { load_model((dir / "empty.onnx").string()); }), "empty.onnx: the file is empty"));
  CHECK(contains(message_of([&] { load_model((dir / "missing.onnx").string()); }),
                 "missing.onnx: cannot open the file"));
  CHECK(contains(message_of([&] { load_model((dir / "model.txt").string()); }), "unknown model format '.txt'"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("unknown ops are all reported at once with their nodes") {
  auto m = relu_model();
  auto* g = m.mutable_graph();
  for (int i = 0; i < 2; ++i) {
    auto* n = g->add_node();
    n->set_op_type("FancyOp");
    n->set_name("fancy" + std::to_string(i));
    n->add_input("y");
    n->add_output("z" + std::to_string(i));
  }
  auto* n = g->add_node();
  n->set_op_type("Mystery");
  n->set_name("m0");
  n->add_input("y");
  n->add_output("w");
  std::string msg = message_of([&] { mq::onnx::import_model_bytes(m.SerializeAsString(), "ops.onnx", "."); });
  CHECK(contains(msg, "ops.onnx: 2 unsupported ops: "));
  CHECK(contains(msg, "FancyOp (nodes 'fancy0', 'fancy1')"));
  CHECK(contains(msg, "Mystery (node 'm0')"));
  CHECK_THROWS_AS(mq::onnx::import_model_bytes(m.SerializeAsString(), "ops.onnx", "."), UnsupportedError);
}

TEST_CASE("an attribute of the wrong type names the file, node and attribute") {
  auto m = relu_model();
  auto* n = m.mutable_graph()->mutable_node(0);
  n->set_op_type("Flatten");
  auto* a = n->add_attribute();
  a->set_name("axis");
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s("one");
  std::string msg = message_of([&] { mq::onnx::import_model_bytes(m.SerializeAsString(), "attr.onnx", "."); });
  CHECK(contains(msg, "attr.onnx: "));
  CHECK(contains(msg, "node 'act' (Flatten)"));
  CHECK(contains(msg, "attribute 'axis' must be of type int, not string"));
}

TEST_CASE("inconsistent shapes name the node and both shapes") {
  auto m = relu_model();
  auto* g = m.mutable_graph();
  auto* w = g->add_initializer();
  w->set_name("b");
  w->set_data_type(::onnx::TensorProto::FLOAT);
  w->add_dims(4);
  for (int i = 0; i < 4; ++i) w->add_float_data(1.f);
  auto* n = g->add_node();
  n->set_op_type("Add");
  n->set_name("plus");
  n->add_input("y");
  n->add_input("b");
  n->add_output("s");
  g->mutable_output(0)->set_name("s");
  std::string msg = message_of([&] { mq::onnx::import_model_bytes(m.SerializeAsString(), "shapes.onnx", "."); });
  CHECK(contains(msg, "shapes.onnx: node 'plus' (Add): shapes [2,3] and [4] do not broadcast"));
  CHECK_THROWS_AS(mq::onnx::import_model_bytes(m.SerializeAsString(), "shapes.onnx", "."), ShapeError);
}

TEST_CASE("an initializer whose data does not match its dims names the tensor and field") {
  auto m = relu_model();
  auto* g = m.mutable_graph();
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(::onnx::TensorProto::FLOAT);
  w->add_dims(3);
  w->set_raw_data(std::string(5, '\0'));
  std::string msg = message_of([&] { mq::onnx::import_model_bytes(m.SerializeAsString(), "data.onnx", "."); });
  CHECK(contains(msg, "data.onnx: tensor 'w': raw_data has 5 bytes, expected 12"));
}

TEST_CASE("external data may not escape the model's folder") {
  auto m = relu_model();
  auto* w = m.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(::onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->set_data_location(::onnx::TensorProto::EXTERNAL);
  auto* kv = w->add_external_data();
  kv->set_key("location");
  kv->set_value("../../etc/passwd");
  std::string msg = message_of([&] { mq::onnx::import_model_bytes(m.SerializeAsString(), "ext.onnx", "."); });
  CHECK(
      contains(msg, "ext.onnx: tensor 'w': external data location '../../etc/passwd' escapes the model's folder"));
}

TEST_CASE("a run with a wrong input shape names the input and both shapes") {
  Graph g = mq::onnx::import_model_bytes(relu_model().SerializeAsString(), "ok.onnx", ".");
  Session s(g);
  std::string msg = message_of([&] { s.run({{"x", Tensor(DType::f32, {3, 3})}}); });
  CHECK(msg == "input 'x' must have shape [2,3], got [3,3]");
  CHECK(message_of([&] { s.run({}); }) == "input 'x' is missing");
}
