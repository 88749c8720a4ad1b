"""Writes small models in ONNX Runtime's QOperator form (QLinearConv, com.microsoft
QLinearAdd / QLinearMul / QLinearSigmoid / QLinearLeakyRelu / QLinearConcat /
QLinearGlobalAveragePool, QLinearAveragePool, QGemm, DynamicQuantizeMatMul, MatMulIntegerToFloat) into
<folder>/<name>.onnx, with an input (<folder>/data/<name>_x.npy) and ONNX Runtime's output for
it (<folder>/data/<name>_y.npy) for the C++ test (test_onnx_qoperator.cpp) to compare with."""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from common import folder

d = folder()
os.makedirs(os.path.join(d, "data"), exist_ok=True)
rng = np.random.default_rng(0)
MS = "com.microsoft"


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def save(name, nodes, inits, x_shape, y_shape, y_type=TensorProto.FLOAT):
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info("y", y_type, y_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(MS, 1)])
    model.ir_version = 8
    path = os.path.join(d, name + ".onnx")
    onnx.save(model, path)
    x = rng.uniform(-1.5, 1.5, x_shape).astype(np.float32)
    y = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.save(os.path.join(d, "data", name + "_x.npy"), x)
    np.save(os.path.join(d, "data", name + "_y.npy"), y.astype(np.float32))
    print(name, "written; ORT output", y.shape)


# x → Q → QLinearConv → (QLinearSigmoid · itself: QLinearMul) → QLinearAdd(residual) →
# QLinearLeakyRelu → QLinearConcat(with the conv) → QLinearGlobalAveragePool → DQ → y
w = rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)
inits = [const("xs", np.float32(0.012)), const("xz", np.uint8(128)),
         const("w", w), const("ws", np.array([0.004, 0.006, 0.003, 0.005], np.float32)), const("wz", np.zeros(4, np.int8)),
         const("b", np.array([100, -50, 0, 20], np.int32)),
         const("cs", np.float32(0.03)), const("cz", np.uint8(120)),
         const("ss", np.float32(1 / 255)), const("sz", np.uint8(0)),
         const("ms", np.float32(0.02)), const("mz", np.uint8(60)),
         const("as", np.float32(0.035)), const("az", np.uint8(110)),
         const("ls", np.float32(0.03)), const("lz", np.uint8(40)),
         const("ks", np.float32(0.04)), const("kz", np.uint8(50)),
         const("gs", np.float32(0.01)), const("gz", np.uint8(90))]
nodes = [
    helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
    helper.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "cs", "cz", "b"], ["c"], pads=[1, 1, 1, 1]),
    helper.make_node("QLinearSigmoid", ["c", "cs", "cz", "ss", "sz"], ["s"], domain=MS),
    helper.make_node("QLinearMul", ["c", "cs", "cz", "s", "ss", "sz", "ms", "mz"], ["m"], domain=MS),
    helper.make_node("QLinearAdd", ["m", "ms", "mz", "c", "cs", "cz", "as", "az"], ["a"], domain=MS),
    helper.make_node("QLinearLeakyRelu", ["a", "as", "az", "ls", "lz"], ["l"], domain=MS, alpha=0.1),
    helper.make_node("QLinearConcat", ["ks", "kz", "l", "ls", "lz", "c", "cs", "cz"], ["k"], domain=MS, axis=1),
    helper.make_node("QLinearGlobalAveragePool", ["k", "ks", "kz", "gs", "gz"], ["g"], domain=MS, channels_last=0),
    helper.make_node("DequantizeLinear", ["g", "gs", "gz"], ["y"]),
]
save("qoperator_cnn", nodes, inits, [2, 3, 8, 8], [2, 8, 1, 1])

# QGemm (transB, int32 bias) with a quantized output, then DequantizeLinear
wg = rng.integers(-127, 128, (5, 6)).astype(np.int8)
inits = [const("xs", np.float32(0.012)), const("xz", np.uint8(128)), const("w", wg),
         const("ws", np.float32(0.005)), const("wz", np.int8(0)), const("b", np.array([40, -30, 0, 5, 9], np.int32)),
         const("ys", np.float32(0.02)), const("yz", np.uint8(100))]
nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
         helper.make_node("QGemm", ["xq", "xs", "xz", "w", "ws", "wz", "b", "ys", "yz"], ["q"], domain=MS, transB=1),
         helper.make_node("DequantizeLinear", ["q", "ys", "yz"], ["y"])]
save("qgemm", nodes, inits, [3, 6], [3, 5])

# DynamicQuantizeMatMul (float A, int8 B, bias) and MatMulIntegerToFloat
wb = rng.integers(-127, 128, (6, 4)).astype(np.int8)
inits = [const("w", wb), const("ws", np.float32(0.01)), const("wz", np.int8(0)), const("bias", np.float32([0.1, 0.2, -0.1, 0]))]
save("dynamic_matmul", [helper.make_node("DynamicQuantizeMatMul", ["x", "w", "ws", "wz", "bias"], ["y"], domain=MS)],
     inits, [3, 6], [3, 4])
inits = [const("w", wb), const("ws", np.float32(0.01)), const("wz", np.int8(0)), const("xs", np.float32(0.012)),
         const("xz", np.uint8(128))]
nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
         helper.make_node("MatMulIntegerToFloat", ["xq", "w", "xs", "ws", "xz", "wz"], ["y"], domain=MS)]
save("matmul_integer_to_float", nodes, inits, [3, 6], [3, 4])

# DynamicQuantizeLSTM: s8 symmetric weights with per-direction (forward) or per-column
# (bidirectional) scales run on monoquant's int8 LSTM; u8 weights with a zero point on an LSTM
# over the dequantized weights.
T, B, I, H = 5, 2, 6, 4
for name, direction, wtype, per_column in [("dq_lstm_forward", "forward", np.int8, False),
                                          ("dq_lstm_bidi", "bidirectional", np.int8, True),
                                          ("dq_lstm_u8", "forward", np.uint8, False)]:
    D = 2 if direction == "bidirectional" else 1
    lo, hi = (0, 256) if wtype == np.uint8 else (-127, 128)
    wl = rng.integers(lo, hi, (D, I, 4 * H)).astype(wtype)
    rl = rng.integers(lo, hi, (D, H, 4 * H)).astype(wtype)
    sshape = (D, 4 * H) if per_column else (D,)
    zp = np.full(sshape, 120 if wtype == np.uint8 else 0, wtype)
    inits = [const("w", wl), const("r", rl), const("b", rng.uniform(-0.2, 0.2, (D, 8 * H)).astype(np.float32)),
             const("ws", rng.uniform(0.003, 0.006, sshape).astype(np.float32)), const("wz", zp),
             const("rs", rng.uniform(0.003, 0.006, sshape).astype(np.float32)), const("rz", zp)]
    node = helper.make_node("DynamicQuantizeLSTM", ["x", "w", "r", "b", "", "", "", "", "ws", "wz", "rs", "rz"],
                            ["y"], domain=MS, direction=direction, hidden_size=H)
    save(name, [node], inits, [T, B, I], [T, D, B, H])

# QLinearConv with u8 weights and a zero point (ORT's u8u8 QOperator form)
wu = rng.integers(0, 256, (4, 3, 3, 3)).astype(np.uint8)
inits = [const("xs", np.float32(0.012)), const("xz", np.uint8(128)), const("w", wu), const("ws", np.float32(0.004)),
         const("wz", np.uint8(131)), const("b", np.array([100, -50, 0, 20], np.int32)),
         const("ys", np.float32(0.05)), const("yz", np.uint8(120))]
nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
         helper.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["q"], pads=[1, 1, 1, 1],
                          strides=[2, 1]),
         helper.make_node("DequantizeLinear", ["q", "ys", "yz"], ["y"])]
save("qlinearconv_u8u8", nodes, inits, [2, 3, 8, 8], [2, 4, 4, 8])

# QGemm with per-channel B scales: along B's rows when transB = 1 ([N, K]), its columns when 0
for name, trans_b in [("qgemm_per_channel_t", 1), ("qgemm_per_channel", 0)]:
    wq = rng.integers(-127, 128, (5, 6) if trans_b else (6, 5)).astype(np.int8)
    inits = [const("xs", np.float32(0.012)), const("xz", np.uint8(128)), const("w", wq),
             const("ws", np.array([0.004, 0.006, 0.003, 0.005, 0.007], np.float32)), const("wz", np.zeros(5, np.int8)),
             const("b", np.array([40, -30, 0, 5, 9], np.int32)), const("ys", np.float32(0.02)),
             const("yz", np.uint8(100))]
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("QGemm", ["xq", "xs", "xz", "w", "ws", "wz", "b", "ys", "yz"], ["q"], domain=MS,
                              transB=trans_b),
             helper.make_node("DequantizeLinear", ["q", "ys", "yz"], ["y"])]
    save(name, nodes, inits, [3, 6], [3, 5])

# QLinearAveragePool (3×3 / 2, padded; with and without the padding counted) between a
# QuantizeLinear and a DequantizeLinear, its output at its own scale
for name, include_pad in [("qlinear_average_pool", 0), ("qlinear_average_pool_pad", 1)]:
    inits = [const("xs", np.float32(0.012)), const("xz", np.uint8(128)), const("ys", np.float32(0.009)),
             const("yz", np.uint8(120))]
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("QLinearAveragePool", ["xq", "xs", "xz", "ys", "yz"], ["q"], domain=MS,
                              kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=include_pad),
             helper.make_node("DequantizeLinear", ["q", "ys", "yz"], ["y"])]
    save(name, nodes, inits, [2, 3, 9, 8], [2, 3, 5, 4])

# quantize_dynamic's MatMuls as it writes them: DynamicQuantizeLinear → MatMulInteger → Cast →
# Mul by the product of the scales → Add bias; one weight per tensor, one per column
w1 = rng.integers(-127, 128, (6, 4)).astype(np.int8)
w2 = rng.integers(-127, 128, (4, 5)).astype(np.int8)
inits = [const("w1", w1), const("w1s", np.float32(0.01)), const("w1z", np.int8(0)),
         const("b1", np.float32([0.1, 0.2, -0.1, 0])), const("w2", w2),
         const("w2s", np.array([0.004, 0.006, 0.003, 0.005, 0.007], np.float32)), const("w2z", np.zeros(5, np.int8)),
         const("b2", np.float32([0.3, -0.2, 0.1, 0, 0.05]))]
nodes = []
for i, (x, y) in enumerate([("x", "h"), ("r", "y")], start=1):
    nodes += [helper.make_node("DynamicQuantizeLinear", [x], [f"{x}_q", f"{x}_s", f"{x}_z"]),
              helper.make_node("Mul", [f"{x}_s", f"w{i}s"], [f"s{i}"]),
              helper.make_node("MatMulInteger", [f"{x}_q", f"w{i}", f"{x}_z", f"w{i}z"], [f"acc{i}"]),
              helper.make_node("Cast", [f"acc{i}"], [f"f{i}"], to=TensorProto.FLOAT),
              helper.make_node("Mul", [f"f{i}", f"s{i}"], [f"m{i}"]),
              helper.make_node("Add", [f"m{i}", f"b{i}"], [y])]
    if i == 1:
        nodes.append(helper.make_node("Relu", ["h"], ["r"]))
save("ort_dynamic_mlp", nodes, inits, [3, 6], [3, 5])
