"""onnxruntime loads and runs our QDQ ONNX exports; the onnx checker accepts them. Also
writes TensorProto .pb files (numpy_helper) for the C++ reader."""
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from common import check, check_array, expect, folder

d = folder()


def run(name, x):
    path = os.path.join(d, name)
    model = onnx.load(path)
    if model.opset_import[0].version <= 17:  # Debian's onnx 1.12 knows opsets up to 17
        onnx.checker.check_model(model)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0], model


def qdq(v, scale, zp, lo, hi):
    return (np.clip(np.round(v / scale) + zp, lo, hi) - zp) * scale


# 1. float graph: x[2,4] → Linear → Relu → Add(offset)
x = expect(d, "x")
y, m = run("float.onnx", x)
check([n.op_type for n in m.graph.node] == ["Gemm", "Relu", "Add"], f"ops {[n.op_type for n in m.graph.node]}")
ref = np.maximum(x @ expect(d, "float.w").T + expect(d, "float.b"), 0) + expect(d, "float.offset")
check_array(y, ref.astype(np.float32), "float graph output", atol=1e-5)

# 2. rank-3 input: Linear exported as Transpose + MatMul + Add
x3 = expect(d, "x3")
y3, m3 = run("float3.onnx", x3)
check("MatMul" in [n.op_type for n in m3.graph.node], "MatMul path")
ref3 = x3 @ expect(d, "float.w").T + expect(d, "float.b")
check_array(y3, ref3.astype(np.float32), "rank-3 Linear output", atol=1e-5)

# 3. quantized graph: int8 per-channel weight (DequantizeLinear), u8 activation QDQ, Relu
yq, mq_ = run("quant.onnx", x)
ops = [n.op_type for n in mq_.graph.node]
check(ops.count("DequantizeLinear") == 2 and ops.count("QuantizeLinear") == 1, f"ops {ops}")
q, s, z = expect(d, "quant.w"), expect(d, "quant.w.scale"), expect(d, "quant.w.zero_point")
w = (s[:, None] * (q.astype(np.float32) - z[:, None])).astype(np.float32)
h = x @ w.T + expect(d, "quant.b")
ref = np.maximum(qdq(h, np.float32(0.05), 128, 0, 255), 0).astype(np.float32)
check_array(yq, ref, "quantized graph output", atol=1e-5)

# 4. TensorProto files for the C++ reader
pb = os.path.join(d, "pb")
os.makedirs(pb, exist_ok=True)
arrays = {
    "f32": np.arange(6, dtype=np.float32).reshape(2, 3) / 3,
    "i8": np.array([-128, 0, 127], dtype=np.int8),
    "i64": np.array([[1 << 40], [-1]], dtype=np.int64),
    "bool": np.array([True, False, True]),
}
for k, a in arrays.items():
    open(os.path.join(pb, k + ".pb"), "wb").write(numpy_helper.from_array(a, k).SerializeToString())
    np.save(os.path.join(pb, k + ".npy"), a)
typed = onnx.helper.make_tensor("typed", onnx.TensorProto.FLOAT, [2], [1.5, -2.5])  # float_data, not raw
open(os.path.join(pb, "typed.pb"), "wb").write(typed.SerializeToString())
print("onnx interop OK, onnxruntime", ort.__version__)
