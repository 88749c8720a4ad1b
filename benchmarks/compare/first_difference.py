#!/usr/bin/env python3
"""Where monoquant and ONNX Runtime first part on one int8 ONNX file, one input row.

Run with the venv python of scripts/compare.sh (onnx, onnxruntime):

    build/compare-venv/bin/python benchmarks/compare/first_difference.py FILE.onnx INPUTS.npz \\
        [--row 0] [--float Sigmoid,Mul] [--all] [--monoquant build/tools/monoquant]

Every 8-bit tensor of the file (and, with --float, the outputs of the listed float ops) becomes
a graph output of a copy of the file; both engines run the copy on row --row of INPUTS.npz (an
array per graph input, rows on dim 0; batch 1) and the tensors that differ are printed in graph
order (the first few, or --all): op, node, tensor, how many elements differ, the largest
difference and the first differing element in each engine.

Caveat: ONNX Runtime's QDQ fusion depends on which values are graph outputs (a DequantizeLinear or
QuantizeLinear whose value leaves the graph is not fused away), so on QDQ files the copy may run
other kernels than the file itself: check ORT's optimized graph of the file
(SessionOptions.optimized_model_filepath) before blaming an op.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, shape_inference

ROOT = Path(__file__).resolve().parents[2]
INT8 = (TensorProto.UINT8, TensorProto.INT8)


def exposed(model, float_ops):
    """A copy of `model` whose 8-bit tensors (and the float_ops' outputs) are graph outputs, and
    their (op, node, tensor) in graph order. Types come from ONNX's shape inference, and for the
    ops it does not know (com.microsoft) from the node's zero point operand."""
    typed = {v.name: v for v in shape_inference.infer_shapes(model).graph.value_info}
    inits = {i.name: i.data_type for i in model.graph.initializer}
    outs = {o.name for o in model.graph.output}
    order = []
    for n in model.graph.node:
        zps = [inits[i] for i in n.input if i in inits and "zero_point" in i]
        for o in n.output:
            if not o or o in outs:
                continue
            t = typed.get(o)
            if t is None and zps and zps[0] in INT8 and n.op_type not in ("DequantizeLinear", "DynamicQuantizeLinear"):
                t = helper.make_tensor_value_info(o, zps[0], None)
            if t is None:
                continue
            elem = t.type.tensor_type.elem_type
            if (elem in INT8 and n.op_type != "DynamicQuantizeLinear") or n.op_type in float_ops:
                model.graph.output.append(t)
                order.append((n.op_type, n.name, o))
    return model, order


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("inputs", help=".npz with one array per graph input, rows on dim 0")
    ap.add_argument("--row", type=int, default=0)
    ap.add_argument("--float", default="", help="comma list of float ops whose outputs to compare too")
    ap.add_argument("--all", action="store_true", help="every differing tensor, not the first 6")
    ap.add_argument("--monoquant", default=str(ROOT / "build/tools/monoquant"))
    args = ap.parse_args()

    model, order = exposed(onnx.load(args.model), set(filter(None, args.float.split(","))))
    z = np.load(args.inputs)
    feed = {i.name: z[i.name][args.row:args.row + 1] for i in model.graph.input if i.name in z.files}
    with tempfile.TemporaryDirectory() as d:
        copy, inp, out = Path(d) / "exposed.onnx", Path(d) / "in.npz", Path(d) / "out.npz"
        onnx.save(model, str(copy))
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        s = ort.InferenceSession(str(copy), so, providers=["CPUExecutionProvider"])
        ref = dict(zip([o.name for o in s.get_outputs()], s.run(None, feed)))
        np.savez(inp, **feed)
        p = subprocess.run([args.monoquant, "run", str(copy), "-i", str(inp), "-o", str(out), "-t", "1"],
                           capture_output=True, text=True)
        if p.returncode:
            sys.exit(f"monoquant run failed: {p.stderr.strip()}")
        got = dict(np.load(out))
    shown = 0
    for op, node, t in order:
        if t not in ref or t not in got:
            continue
        a, b = ref[t], got[t]
        if a.shape != b.shape:
            print(f"{op:22s} {node[:40]:40s} {t[:40]:40s} shape ORT {a.shape} monoquant {b.shape}")
        elif not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
            d = a.astype(np.float64) - b.astype(np.float64)
            at = tuple(np.argwhere(d != 0)[0])
            print(f"{op:22s} {node[:40]:40s} {t[:40]:40s} {int((d != 0).sum())}/{a.size} differ, "
                  f"max {np.abs(d).max():.3g}; at {list(at)} ORT {a[at]} monoquant {b[at]}")
        else:
            continue
        shown += 1
        if shown >= 6 and not args.all:
            break
    if not shown:
        print("no difference")


if __name__ == "__main__":
    main()
