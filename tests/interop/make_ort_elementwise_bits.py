"""Writes models of ONNX Runtime's elementwise ops whose last bits monoquant reproduces, with
ONNX Runtime's outputs, into <folder> for the C++ test (test_onnx_qoperator.cpp) to compare bit
for bit: a float Sigmoid and a float Tanh (<folder>/<sigmoid|tanh>_f32.onnx, x → y,
data/<name>_{x,y}.npy) on values across their range; and on every pair of 8-bit values com.microsoft QLinearAdd (both operands full,
and one operand one value per run of the last axis, each side), QLinearMul, QLinearSigmoid and a
QDQ DequantizeLinear → Sigmoid → QuantizeLinear, for u8 and s8 and four scale / zero point sets
(the first the scales of a QLinearAdd of captcha_ocr where float dequantize-add-quantize lands on
another value; the third one where dequantize-multiply-quantize does for QLinearMul). Inputs
a[i, j] = i and b[i, j] = j cover the 65536 pairs (a_col = a[:, :1]); files
<folder>/int8_elementwise_<u8|s8>_<set>.onnx and data/<name>_<input or output>.npy."""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from common import folder

d = folder()
os.makedirs(os.path.join(d, "data"), exist_ok=True)
MS = "com.microsoft"
rng = np.random.default_rng(7)

# (a scale, a zp, b scale, b zp, c scale, c zp); zero points shift into the type's range
SETS = [(0.07655958, -5, 0.09732325, 7, 0.11110812, 8),
        (0.0123, 3, 0.0456, -9, 0.0371, 1),
        (0.15335455536842346, 14, 0.019930751994252205, 2, 0.3842117488384247, -11),  # a QLinearMul case
        tuple(float(v) if k % 2 == 0 else int(v) for k, v in
              enumerate([rng.uniform(0.005, 0.2), rng.integers(-20, 20), rng.uniform(0.005, 0.2),
                         rng.integers(-20, 20), rng.uniform(0.01, 0.3), rng.integers(-20, 20)]))]

for t, np_t, shift in [(TensorProto.UINT8, np.uint8, 128), (TensorProto.INT8, np.int8, 0)]:
    lo = -128 + shift
    a = (np.arange(256).reshape(256, 1) + lo).repeat(256, axis=1).astype(np_t)
    b = (np.arange(256).reshape(1, 256) + lo).repeat(256, axis=0).astype(np_t)
    a_col = np.ascontiguousarray(a[:, :1])
    for k, (sa, za, sb, zb, sc, zc) in enumerate(SETS):
        name = f"int8_elementwise_{'u8' if shift else 's8'}_{k}"
        c = lambda n, v: numpy_helper.from_array(np.asarray(v), n)  # noqa: E731
        inits = [c("sa", np.float32(sa)), c("za", np_t(za + shift)), c("sb", np.float32(sb)), c("zb", np_t(zb + shift)),
                 c("sc", np.float32(sc)), c("zc", np_t(zc + shift)), c("ss", np.float32(1 / 255)),
                 c("sz", np_t(lo))]
        qa, qb, qc = ["a", "sa", "za"], ["b", "sb", "zb"], ["sc", "zc"]
        qcol = ["a_col", "sa", "za"]
        nodes = [helper.make_node("QLinearAdd", qa + qb + qc, ["add"], domain=MS),
                 helper.make_node("QLinearAdd", qcol + qb + qc, ["add_col_a"], domain=MS),
                 helper.make_node("QLinearAdd", qb + qcol + qc, ["add_col_b"], domain=MS),
                 helper.make_node("QLinearMul", qa + qb + qc, ["mul"], domain=MS),
                 helper.make_node("QLinearSigmoid", qb + ["ss", "sz"], ["sigmoid"], domain=MS),
                 helper.make_node("DequantizeLinear", qb, ["b_f"]),
                 helper.make_node("Sigmoid", ["b_f"], ["b_sig"]),
                 helper.make_node("QuantizeLinear", ["b_sig", "ss", "sz"], ["qdq_sigmoid"])]
        outs = {"add": [256, 256], "add_col_a": [256, 256], "add_col_b": [256, 256], "mul": [256, 256],
                "sigmoid": [256, 256], "qdq_sigmoid": [256, 256]}
        graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("a", t, [256, 256]),
                                                helper.make_tensor_value_info("b", t, [256, 256]),
                                                helper.make_tensor_value_info("a_col", t, [256, 1])],
                                  [helper.make_tensor_value_info(o, t, s) for o, s in outs.items()], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(MS, 1)])
        model.ir_version = 8
        path = os.path.join(d, name + ".onnx")
        onnx.save(model, path)
        feed = {"a": a, "b": b, "a_col": a_col}
        ys = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(list(outs), feed)
        for n, v in list(feed.items()) + list(zip(outs, ys)):
            np.save(os.path.join(d, "data", f"{name}_{n}.npy"), v)
        print(name, "written")

# float Sigmoid and Tanh: ORT's rational approximations (its int8 tables and dynamic-quantization
# files depend on them)
x = np.concatenate([rng.uniform(-30, 30, 60000), rng.uniform(-3, 3, 60000), np.linspace(-20, 20, 4001),
                    [0, -0.0, 1e-8, -1e-8, 9, -9, 9.5, -9.5, 18, -18, 18.5, -18.5, 100, -100, np.inf, -np.inf,
                     np.nan]]).astype(np.float32)
for op in ["Sigmoid", "Tanh"]:
    name = op.lower() + "_f32"
    graph = helper.make_graph([helper.make_node(op, ["x"], ["y"])], name,
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [len(x)])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [len(x)])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = os.path.join(d, name + ".onnx")
    onnx.save(model, path)
    np.save(os.path.join(d, "data", name + "_x.npy"), x)
    np.save(os.path.join(d, "data", name + "_y.npy"),
            ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0])
    print(name, "written")
