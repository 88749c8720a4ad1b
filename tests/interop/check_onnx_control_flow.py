"""The QDQ export of the quantized torch.jit.script model (test_interop_torch_control_flow.cpp):
onnx's checker accepts it (full check, with shape inference through the If), and when
onnxruntime is installed it gives monoquant's int8 outputs for inputs taking each branch."""
import os

import numpy as np
import onnx

from common import check, expect, folder

d = folder()
path = os.path.join(d, "model.int8.qdq.onnx")
model = onnx.load(path)
onnx.checker.check_model(model, full_check=True)
check(any(n.op_type == "If" for n in model.graph.node), "no If node in the export")
try:
    import onnxruntime as ort
except ImportError:
    print("checker ok; onnxruntime not installed: outputs not compared")
    raise SystemExit(0)
sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
for b in ("pos", "neg"):
    x = np.load(os.path.join(d, "data", f"x_{b}.npy"))
    want = expect(d, f"y_int8_{b}")
    got = sess.run(None, {"x": x})[0]
    tol = 0.02 * float(np.abs(want).max()) + 1e-3
    check(np.allclose(got, want, atol=tol), f"{b}: onnxruntime {got} != monoquant {want}")
print("ok")
