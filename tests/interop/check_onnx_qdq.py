"""onnxruntime runs monoquant's int8 models exported as QDQ ONNX and matches monoquant's own
outputs. The folder (written by test_onnx_qdq.cpp) holds <case>.onnx, expect/*.npy and
cases.json; each case's "check" gives the bound:
  atol     max |ORT − monoquant| (static int8: 2 × the final layer's output scale)
  rtol     max |ORT − monoquant| / max |monoquant| (dynamic int8 Linear)
  sqnr_db  10·log10(Σ monoquant² / Σ (ORT − monoquant)²) at least this (LSTMs)
  top1     fraction of rows whose argmax agrees at least this
Set MQ_QDQ_KEEP=<folder> to keep a copy of the files for debugging."""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort

from common import check, expect, folder

d = folder()
if os.environ.get("MQ_QDQ_KEEP"):  # debugging: keep a copy of the folder
    import shutil
    shutil.copytree(d, os.environ["MQ_QDQ_KEEP"], dirs_exist_ok=True)
cases = json.load(open(os.path.join(d, "cases.json")))
FUSED = {"QLinearConv", "QLinearMatMul", "QGemm", "MatMulIntegerToFloat", "DynamicQuantizeMatMul",
         "QLinearAdd", "DynamicQuantizeLSTM"}

for case in cases:
    name, bound = case["name"], case["check"]
    path = os.path.join(d, name + ".onnx")
    model = onnx.load(path)
    opset = model.opset_import[0].version
    check(opset >= 13, f"{name}: opset {opset} < 13")
    if opset <= 17:  # Debian's onnx 1.12 knows opsets up to 17
        onnx.checker.check_model(model, full_check=True)
    ops = sorted({n.op_type for n in model.graph.node})
    so = ort.SessionOptions()
    so.log_severity_level = 3  # no warning about saving the optimized model
    so.optimized_model_filepath = os.path.join(d, name + ".ort_optimized.onnx")
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    fused = sorted({n.op_type for n in onnx.load(so.optimized_model_filepath).graph.node} & FUSED)
    feeds = {k: expect(d, v) for k, v in case["inputs"].items()}
    outs = sess.run([n.rsplit(".out.", 1)[1] for n in case["outputs"]], feeds)
    for oname, got in zip(case["outputs"], outs):
        ref = expect(d, oname)
        check(got.shape == ref.shape, f"{oname}: shape {got.shape} != {ref.shape}")
        check(got.dtype == ref.dtype, f"{oname}: dtype {got.dtype} != {ref.dtype}")
        diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
        maxdiff = float(diff.max())
        noise = float((diff**2).sum())
        sqnr = 10 * np.log10(float((ref.astype(np.float64) ** 2).sum()) / noise) if noise > 0 else float("inf")
        line = f"{oname}: max|diff| {maxdiff:.3g}, SQNR {sqnr:.1f} dB"
        if "atol" in bound:
            steps = maxdiff / (bound["atol"] / 2)
            line += f" ({steps:.2f} output steps; bound {bound['atol']:.3g})"
            check(maxdiff <= bound["atol"] * (1 + 1e-6), f"{line}: beyond the bound")
        if "rtol" in bound:
            rel = maxdiff / max(float(np.abs(ref).max()), 1e-30)
            line += f" (relative {rel:.2g}; bound {bound['rtol']})"
            check(rel <= bound["rtol"], f"{line}: beyond the bound")
        if "sqnr_db" in bound:
            line += f" (bound ≥ {bound['sqnr_db']} dB)"
            check(sqnr >= bound["sqnr_db"], f"{line}: below the bound")
        if "top1" in bound:
            agree = float(np.mean(got.reshape(got.shape[0], -1).argmax(1) == ref.reshape(ref.shape[0], -1).argmax(1)))
            line += f", top-1 agreement {100 * agree:.2f}% of {got.shape[0]} (bound ≥ {100 * bound['top1']:.0f}%)"
            check(agree >= bound["top1"], f"{line}: below the bound")
        print(line)
    print(f"  {name}: opset {opset}, ops {ops}; ORT fused into {fused or 'nothing'}")
print("onnx QDQ interop OK, onnxruntime", ort.__version__)
