#!/usr/bin/env python3
"""monoquant side by side with ONNX Runtime: accuracy, latency and calibration cost.

Run with the venv python (scripts/python_peers.sh makes it), or through scripts/compare.sh:

    .venv/bin/python benchmarks/compare/compare.py [--models cnn,mlp,lstm,mnist8,...|DIR|M.onnx]
        [--batches 1,32] [--threads 1,2] [--rounds 5] [--iters 10] [--smoke]
        [--observers percentile,entropy,mse] [--accuracy-only]

For each model, with the same calibration samples for every tool:
  * monoquant: calibrate + static_quantize with default options (build/benchmarks/mq_model_bench
    quantize), plus dynamic_quantize when the model has Linear or LSTM layers;
  * ONNX Runtime: quantize_static (MinMax, QDQ, per-channel, u8 activations / s8 weights) and,
    for models with MatMul/Gemm/LSTM, quantize_dynamic with its defaults; each in a child
    process that reports its wall time and peak RSS;
  * accuracy: output SQNR of every variant against the fp32 model run by ONNX Runtime, and
    top-1 where labels exist; with --observers, monoquant's static int8 again with each of those
    activation observers (the table "SQNR by activation observer");
  * latency: monoquant (mq_model_bench serve, timed in C++) and ONNX Runtime (timed in Python
    around InferenceSession.run) alternate block by block, in a rotating order, for every
    batch size and thread count; medians and p90 over all blocks.
Writes benchmarks/compare/results.json and results.md (or --out-dir).
"""
from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["cnn", "mlp", "lstm"]
SHARED = ["mnist8", "gtzan_mlp", "bidi_lstm", "super_resolution", "captcha_det", "captcha_ocr", "magika"]


# ----------------------------------------------------------------------------- models


class Model:
    """A model with its calibration samples, evaluation inputs and optional labels."""

    def __init__(self, name, path, calib, eval_, labels=None, notes="", batches=None):
        self.name, self.path, self.calib, self.eval, self.labels = name, Path(path), calib, eval_, labels
        self.notes = notes
        self.batches = batches  # None = every requested batch the model accepts


def onnx_inputs(path):
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    init = {i.name for i in m.graph.initializer}
    out = []
    for i in m.graph.input:
        if i.name in init:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None for d in i.type.tensor_type.shape.dim]
        out.append((i.name, dims))
    return out


def op_types(path):
    import onnx

    return {n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node}


def ort_quantized_ops(path):
    """Ops of an ONNX Runtime QDQ file that its quantizer wrapped, by op type: nodes (Q/DQ
    aside) reading a DequantizeLinear of an activation whose result a QuantizeLinear reads."""
    import onnx

    g = onnx.load(str(path), load_external_data=False).graph
    weights = {i.name for i in g.initializer}
    dq_of_activation = {n.output[0] for n in g.node if n.op_type == "DequantizeLinear" and n.input[0] not in weights}
    quantized_inputs = {i for n in g.node if n.op_type == "QuantizeLinear" for i in n.input[:1]}
    counts = {}
    for n in g.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear"):
            continue
        if any(i in dq_of_activation for i in n.input) and any(o in quantized_inputs for o in n.output):
            counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return counts


def ort_nodes_kept_float(path, float_path, info):
    """Nodes ORT's QDQ file quantizes that monoquant runs in float, by op type: the names of
    ort_quantized_ops's nodes minus monoquant's quantized layers (a bias Add fused into a
    quantized Conv / MatMul / Gemm is that layer's). Unnamed nodes take the name monoquant's
    importer gives them (op type and index in the float model)."""
    import onnx

    if info is None:
        return None
    g = onnx.load(str(path), load_external_data=False).graph
    original = onnx.load(str(float_path), load_external_data=False).graph.node
    # ORT's nodes in order are a subsequence of the float model's (it drops the activations it
    # fuses, e.g. Relu, and moves Constants first)
    kept = [n for n in g.node if n.op_type not in ("QuantizeLinear", "DequantizeLinear", "Constant")]
    names, i = [], 0
    for n in kept:
        while i < len(original) and original[i].op_type != n.op_type:
            i += 1
        if i == len(original):
            break
        names.append(original[i].name or f"{original[i].op_type}_{i}")
        i += 1
    if len(names) == len(kept):
        for n, name in zip(kept, names):
            n.name = n.name or name
    ours = {l["name"] for l in info.get("layers", []) if l.get("quantized")}
    weights = {i.name for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    dq_of_weight = {n.output[0] for n in g.node if n.op_type == "DequantizeLinear" and n.input[0] in weights}
    dq_of_activation = {n.output[0] for n in g.node if n.op_type == "DequantizeLinear" and n.input[0] not in weights}
    quantized_inputs = {i for n in g.node if n.op_type == "QuantizeLinear" for i in n.input[:1]}

    def source(v):  # the op behind a DequantizeLinear ← QuantizeLinear pair
        n = producer.get(v)
        while n is not None and n.op_type in ("DequantizeLinear", "QuantizeLinear"):
            n = producer.get(n.input[0])
        return n

    def fused_bias(n):
        if n.op_type != "Add" or not any(i in dq_of_weight or i in weights for i in n.input):
            return False
        return any(s is not None and s.op_type in ("Conv", "MatMul", "Gemm") and s.name in ours
                   for s in (source(i) for i in n.input))

    counts = {}
    for n in g.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear") or n.name in ours or fused_bias(n):
            continue
        if any(i in dq_of_activation for i in n.input) and any(o in quantized_inputs for o in n.output):
            counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return counts


def mq_quantized_ops(info):
    """Layers and int8 forms monoquant's report marks quantized, by op type."""
    counts = {}
    for layer in (info or {}).get("layers", []):
        if layer.get("quantized"):
            counts[layer["type"]] = counts.get(layer["type"], 0) + 1
    return counts


def read_idx_gz(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def text_windows(path, count, text_len=48, pad=5):
    """Byte windows of an English text, zero-padded like the bidi_lstm reference input."""
    raw = Path(path).read_bytes()
    raw = b" ".join(raw.split())  # collapse whitespace, as sentences in running text
    rows = []
    for i in range(count):
        chunk = raw[i * text_len : (i + 1) * text_len]
        rows.append(np.frombuffer(bytes(pad) + chunk.ljust(text_len, b" ") + bytes(pad), dtype=np.uint8))
    return np.stack(rows)


def load_model(spec, shared, eval_limit):
    ex = ROOT / "examples"
    if spec in EXAMPLES:
        seq = spec == "lstm"
        calib = np.load(ex / "data" / ("calib_sequences.npy" if seq else "calib_images.npy")).astype(np.float32)
        imgs = np.load(ex / "data/test_images_u8.npy")[:eval_limit].astype(np.float32) / 255.0
        labels = np.load(ex / "data/test_labels.npy")[:eval_limit].astype(np.int64)
        x = imgs if seq else imgs[:, None]
        return Model(spec, ex / "models" / f"{spec}.onnx", {"input": calib}, {"input": x}, labels,
                     f"Fashion-MNIST: calibration 512 bundled samples, eval {len(x)} test images")
    if spec in SHARED:
        d = Path(shared) / "models" / spec
        if not d.exists():
            raise FileNotFoundError(f"{d} not found (pass --shared)")
        if spec == "mnist8":
            imgs = read_idx_gz(Path(shared) / "data/mnist/t10k-images-idx3-ubyte.gz").astype(np.float32)
            labs = read_idx_gz(Path(shared) / "data/mnist/t10k-labels-idx1-ubyte.gz").astype(np.int64)
            n = min(eval_limit, 1000)
            return Model(spec, d / "model.onnx", {"Input3": imgs[9000:9256, None]}, {"Input3": imgs[:n, None]},
                         labs[:n], f"MNIST raw 0-255: calibration test images 9000-9255, eval first {n}",
                         batches=[1])
        if spec == "gtzan_mlp":
            x = np.load(d / "io.npz")["input"].astype(np.float32)
            return Model(spec, d / "model.onnx", {"flatten_input": x}, {"flatten_input": x}, None,
                         "only the 10 shipped MFCC inputs: calibration set = eval set")
        if spec == "bidi_lstm":
            lic = Path("/usr/share/common-licenses")
            calib = text_windows(lic / "GPL-3", 64)
            ref = np.load(d / "io.npz")["input"]
            ev = np.concatenate([ref, text_windows(lic / "Apache-2.0", 62)])
            return Model(spec, d / "model.onnx", {"input": calib}, {"input": ev}, None,
                         "bytes of English text, 58 per row: calibration 64 windows of GPL-3, "
                         "eval the 2 shipped rows + 62 windows of Apache-2.0")
        if spec in ("super_resolution", "captcha_det", "captcha_ocr"):  # batch fixed at 1 by the model
            return generic_folder(d, spec, batches=[1])
        if spec == "magika":
            return generic_folder(d, spec)
    p = Path(spec)
    if p.is_dir():
        return generic_folder(p, p.name)
    if p.suffix == ".onnx" and p.exists():
        return generic_folder(p.parent, p.stem, model=p)
    raise ValueError(f"unknown model {spec!r}: one of {EXAMPLES + SHARED}, a model folder or an .onnx file")


def generic_folder(d, name, model=None, batches=None):
    """A folder with model.onnx (or one .onnx) and test_data_set_*/input_*.pb or io.npz."""
    from onnx import TensorProto, numpy_helper

    d = Path(d)
    if model is None:
        cands = [d / "model.onnx"] if (d / "model.onnx").exists() else sorted(d.glob("*.onnx"))
        if not cands:
            raise FileNotFoundError(f"{d}: no .onnx model")
        model = cands[0]
    names = [n for n, _ in onnx_inputs(model)]
    arrays = {n: [] for n in names}
    for ds in sorted(d.glob("test_data_set_*")):
        for i, n in enumerate(names):
            t = TensorProto()
            t.ParseFromString((ds / f"input_{i}.pb").read_bytes())
            arrays[n].append(numpy_helper.to_array(t))
    if not arrays[names[0]] and (d / "io.npz").exists():
        z = np.load(d / "io.npz")
        for n in names:
            key = n if n in z else "input"
            arrays[n].append(z[key])
    if not arrays[names[0]]:
        raise FileNotFoundError(f"{d}: no test_data_set_*/input_*.pb or io.npz inputs")
    data = {n: np.concatenate(v) for n, v in arrays.items()}
    rows = len(next(iter(data.values())))
    return Model(name, model, data, data, None,
                 f"the {rows} shipped input sample(s): calibration set = eval set", batches=batches)


# ----------------------------------------------------------------------------- ORT


def ort_session(path, threads):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def peak_rss_mib():
    """VmHWM of this process (ru_maxrss survives execve, so a child would see its parent's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ort_quantize_child(args):
    """Child process: quantize with ONNX Runtime, print seconds and peak RSS as JSON."""
    import onnxruntime  # noqa: F401  (imported before the baseline RSS is read)
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          quantize_dynamic, quantize_static)

    import onnx

    base = peak_rss_mib()
    t0 = time.perf_counter()
    model, converted = args.model, None
    opset = next((o.version for o in onnx.load(model, load_external_data=False).opset_import
                  if o.domain in ("", "ai.onnx")), 13)
    if args.mode == "static" and opset < 13:
        # QDQ per-channel needs opset 13 (QuantizeLinear axis); an ORT user converts first.
        from onnx import version_converter

        converted = f"{args.out}.opset13.onnx"
        onnx.save(version_converter.convert_version(onnx.load(model), 13), converted)
        model = converted
    if args.mode == "static":
        calib = dict(np.load(args.calib))

        class Reader(CalibrationDataReader):
            def __init__(self):
                n = len(next(iter(calib.values())))
                self.batches = [{k: v[i : i + args.batch] for k, v in calib.items()} for i in range(0, n, args.batch)]
                self.pos = 0

            def get_next(self):
                if self.pos >= len(self.batches):
                    return None
                self.pos += 1
                return self.batches[self.pos - 1]

            def rewind(self):
                self.pos = 0

        fmt = QuantFormat.QOperator if args.format == "qoperator" else QuantFormat.QDQ
        quantize_static(model, args.out, Reader(), quant_format=fmt, per_channel=True,
                        calibrate_method=CalibrationMethod.MinMax)
    else:
        quantize_dynamic(args.model, args.out)
    secs = time.perf_counter() - t0
    print(json.dumps({"seconds": secs, "rss_mib_before": base, "peak_rss_mib": peak_rss_mib(),
                      "converted_from_opset": opset if converted else None}))


def run_ort_quantize(model, calib_npz, out, mode, batch, workdir, fmt="qdq"):
    """ORT's quantize_static (mode "static", format "qdq" or "qoperator") or quantize_dynamic, in a child."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "_ort_quantize", "--mode", mode, "--model", str(model),
           "--calib", str(calib_npz), "--out", str(out), "--batch", str(batch), "--format", fmt]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": err[:300]}
    r = json.loads(p.stdout.strip().splitlines()[-1])
    r["process_wall_s"] = wall
    return r


def ort_outputs(path, inputs, batch):
    s = ort_session(path, 2)
    n = len(next(iter(inputs.values())))
    parts = []
    for i in range(0, n, batch):
        parts.append(s.run(None, {k: v[i : i + batch] for k, v in inputs.items()}))
    return {o.name: np.concatenate([p[j] for p in parts]) for j, o in enumerate(s.get_outputs())}


# ----------------------------------------------------------------------------- metrics


def sqnr_db(ref, x):
    vals = []
    for k, r in ref.items():
        if k not in x:
            continue
        r = r.astype(np.float64).ravel()
        e = r - x[k].astype(np.float64).ravel()
        vals.append(float("inf") if not e.any() else 10 * np.log10(np.sum(r * r) / np.sum(e * e)))
    return min(vals) if vals else None


def top1(out, labels):
    if labels is None:
        return None
    y = next(iter(out.values()))
    return float(100.0 * np.mean(y.reshape(len(labels), -1).argmax(1) == labels))


def stats(ms):
    a = np.asarray(ms)
    return {"median_ms": float(np.median(a)), "p90_ms": float(np.percentile(a, 90)), "n": int(a.size)}


# ----------------------------------------------------------------------------- per model


class MqServer:
    def __init__(self, bench, model, inputs, int8=None, dynamic=None):
        cmd = [str(bench), "serve", "--model", str(model), "--input", str(inputs)]
        if int8:
            cmd += ["--int8", str(int8)]
        if dynamic:
            cmd += ["--dynamic", str(dynamic)]
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = json.loads(self.p.stdout.readline() or '{"error":"mq_model_bench serve exited"}')
        if "error" in ready:
            raise RuntimeError(ready["error"])

    def run(self, variant, batch, threads, iters, warmup):
        self.p.stdin.write(f"run {variant} {batch} {threads} {iters} {warmup}\n")
        self.p.stdin.flush()
        r = json.loads(self.p.stdout.readline())
        if "error" in r:
            raise RuntimeError(r["error"])
        return r["ms"]

    def eval(self, variant, batch, threads, out_npz):
        """Runs every input row in chunks of `batch`; the outputs, rows concatenated, go to out_npz."""
        self.p.stdin.write(f"eval {variant} {batch} {threads} {out_npz}\n")
        self.p.stdin.flush()
        r = json.loads(self.p.stdout.readline() or '{"error":"mq_model_bench serve exited"}')
        if "error" in r:
            raise RuntimeError(r["error"])
        return dict(np.load(out_npz))

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
        except BrokenPipeError:
            pass
        self.p.wait(timeout=30)


def ort_block(sess, feed, iters, warmup):
    for _ in range(warmup):
        sess.run(None, feed)
    ms = []
    for _ in range(iters):
        t0 = time.perf_counter()
        sess.run(None, feed)
        ms.append((time.perf_counter() - t0) * 1e3)
    return ms


def cycled(inputs, batch):
    out = {}
    for k, v in inputs.items():
        idx = np.arange(batch) % len(v)
        out[k] = np.ascontiguousarray(v[idx])
    return out


def measure(m, args, bench):
    work = Path(args.work_dir) / m.name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ins = onnx_inputs(m.path)
    static_batch = ins[0][1][0] if ins[0][1] else None
    calib_batch = static_batch or 16
    eval_batch = static_batch or 250
    calib_npz, eval_npz = work / "calib.npz", work / "eval.npz"
    np.savez(calib_npz, **m.calib)
    np.savez(eval_npz, **m.eval)
    ops = op_types(m.path)
    dyn = bool(ops & {"MatMul", "Gemm", "LSTM"})
    res = {"model": m.name, "path": str(m.path), "notes": m.notes, "ops": sorted(ops),
           "calibration_samples": int(len(next(iter(m.calib.values())))),
           "eval_samples": int(len(next(iter(m.eval.values()))))}
    log(f"[{m.name}] quantizing with monoquant")
    def mq_quantize(out_dir, *extra):
        return subprocess.run([str(bench), "quantize", "--model", str(m.path), "--calib", str(calib_npz), "--eval",
                               str(eval_npz), "--eval-batch", str(eval_batch), "--out-dir", str(out_dir),
                               "--threads", "2", *extra], capture_output=True, text=True)

    p = mq_quantize(work / "mq", *(["--dynamic"] if dyn else []))
    mq = json.loads(p.stdout.strip().splitlines()[-1]) if p.stdout.strip() else {"error": p.stderr[-300:]}
    if "error" in mq:
        log(f"[{m.name}] monoquant failed: {mq['error']}")
    res["monoquant"] = mq
    # the same with every output rounded to 8 bits (--int8-outputs: ORT's quantize_static does so)
    o = mq_quantize(work / "mq_int8_outputs", "--int8-outputs")
    mq_int8_outputs = json.loads(o.stdout.strip().splitlines()[-1]) if o.returncode == 0 and o.stdout.strip() else {}
    for obs in args.observers:
        log(f"[{m.name}] quantizing with monoquant, observer {obs}")
        o = mq_quantize(work / f"mq_{obs}", "--observer", obs)
        if o.returncode != 0:
            log(f"[{m.name}] observer {obs} failed: {o.stderr[-300:]}")

    log(f"[{m.name}] quantizing with ONNX Runtime")
    ort_static = run_ort_quantize(m.path, calib_npz, work / "ort_qdq.onnx", "static", calib_batch, work)
    ort_dynamic = run_ort_quantize(m.path, calib_npz, work / "ort_dyn.onnx", "dynamic", calib_batch, work) if dyn else None
    res["ort_static"], res["ort_dynamic"] = ort_static, ort_dynamic
    res["quantized_ops"] = {"monoquant": mq_quantized_ops(mq.get("static_info")),
                            "monoquant_int8_outputs": mq_quantized_ops(mq_int8_outputs.get("static_info")),
                            "ort": ort_quantized_ops(work / "ort_qdq.onnx")
                            if ort_static and "error" not in ort_static else None,
                            "ort_only": ort_nodes_kept_float(work / "ort_qdq.onnx", m.path, mq.get("static_info"))
                            if ort_static and "error" not in ort_static else None,
                            "ort_only_int8_outputs": ort_nodes_kept_float(work / "ort_qdq.onnx", m.path,
                                                                          mq_int8_outputs.get("static_info"))
                            if ort_static and "error" not in ort_static and mq_int8_outputs else None}

    # accuracy: everything against the fp32 model as ONNX Runtime runs it
    log(f"[{m.name}] accuracy")
    ref = ort_outputs(m.path, m.eval, eval_batch)
    acc = {"fp32_top1": top1(ref, m.labels)}
    variants = {}
    if "error" not in mq:
        variants["mq_fp32"] = dict(np.load(work / "mq/fp32.npz"))
        variants["mq_int8"] = dict(np.load(work / "mq/int8.npz"))
        if (work / "mq/dynamic.npz").exists():
            variants["mq_dynamic"] = dict(np.load(work / "mq/dynamic.npz"))
    for key, r, f in (("ort_int8", ort_static, "ort_qdq.onnx"), ("ort_dynamic", ort_dynamic, "ort_dyn.onnx")):
        if r and "error" not in r:
            try:
                variants[key] = ort_outputs(work / f, m.eval, eval_batch)
            except Exception as e:  # noqa: BLE001
                r["error"] = f"run: {e}"[:300]
    if (work / "mq_int8_outputs/int8.npz").exists():
        variants["mq_int8_outputs"] = dict(np.load(work / "mq_int8_outputs/int8.npz"))
    for obs in args.observers:
        f = work / f"mq_{obs}/int8.npz"
        if f.exists():
            variants[f"mq_int8_{obs}"] = dict(np.load(f))
    for k, v in variants.items():
        acc[f"{k}_sqnr_db"] = sqnr_db(ref, v)
        acc[f"{k}_top1"] = top1(v, m.labels)
    res["accuracy"] = acc

    # latency: monoquant and ORT alternate block by block
    lat = []
    if "error" not in mq and not args.accuracy_only:
        log(f"[{m.name}] latency")
        server = MqServer(bench, m.path, eval_npz, work / "mq/int8.mqm",
                          work / "mq/dynamic.mqm" if (work / "mq/dynamic.mqm").exists() else None)
        ort_models = {"ort_fp32": m.path}
        if "ort_int8" in variants:
            ort_models["ort_int8"] = work / "ort_qdq.onnx"
        if "ort_dynamic" in variants:
            ort_models["ort_dynamic"] = work / "ort_dyn.onnx"
        names = ["mq_fp32", "mq_int8"] + (["mq_dynamic"] if "mq_dynamic" in variants else []) + list(ort_models)
        batches = [b for b in args.batches if (m.batches is None or b in m.batches)
                   and (static_batch is None or b == static_batch)]
        try:
            for threads in args.threads:
                sessions = {k: ort_session(p_, threads) for k, p_ in ort_models.items()}
                for batch in batches:
                    feed = cycled(m.eval, batch)
                    times = {k: [] for k in names}
                    for rnd in range(args.rounds):
                        order = names[rnd % len(names):] + names[: rnd % len(names)]
                        warm = args.warmup if rnd == 0 else 1
                        for k in order:
                            if k.startswith("mq_"):
                                times[k] += server.run(k[3:], batch, threads, args.iters, warm)
                            else:
                                times[k] += ort_block(sessions[k], feed, args.iters, warm)
                    row = {"batch": batch, "threads": threads}
                    row.update({k: stats(v) for k, v in times.items()})
                    lat.append(row)
                    log(f"[{m.name}] b{batch} t{threads}: " +
                        " ".join(f"{k}={row[k]['median_ms']:.3f}" for k in names))
        finally:
            server.close()
    res["latency"] = lat
    return res


# ----------------------------------------------------------------------------- report


def fmt(x, nd=2, suffix=""):
    if x is None:
        return "—"
    if isinstance(x, float) and np.isinf(x):
        return "∞"
    return f"{x:.{nd}f}{suffix}"


def machine():
    cpu = platform.processor() or "?"
    flags = ""
    try:
        txt = Path("/proc/cpuinfo").read_text()
        for line in txt.splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                f = set(line.split(":", 1)[1].split())
                flags = " ".join(x for x in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni") if x in f)
                break
    except OSError:
        pass
    import onnxruntime

    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = "?"
    return {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "cpu": cpu, "simd": flags,
            "cpus": os.cpu_count(), "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "monoquant_commit": commit}


def markdown(results, mach, args):
    L = []
    L.append(f"Measured {mach['date']} on {mach['cpu']} ({mach['cpus']} CPUs, SIMD: {mach['simd'] or 'none'}), "
             f"ONNX Runtime {mach['onnxruntime']}, monoquant {mach['monoquant_commit']}. "
             f"Latency: {args.rounds} rounds × {args.iters} runs per variant, medians (p90 in results.json).")
    L.append("")
    L.append("### Accuracy (SQNR vs the fp32 model run by ONNX Runtime; top-1 where labels exist)")
    L.append("")
    L.append("| model | eval rows | fp32 top-1 | monoquant int8 | ORT QDQ int8 | monoquant dynamic | ORT dynamic | "
             "monoquant fp32 vs ORT fp32 |")
    L.append("|---|---|---|---|---|---|---|---|")
    for r in results:
        a = r.get("accuracy", {})

        def cell(k):
            s = a.get(f"{k}_sqnr_db")
            if k not in ("mq_fp32",) and s is None:
                err = (r.get("ort_static") if k == "ort_int8" else r.get("ort_dynamic") if k == "ort_dynamic" else {})
                return "failed" if err and "error" in err else "—"
            t = a.get(f"{k}_top1")
            return fmt(s, 1, " dB") + (f" · {t:.2f} %" if t is not None else "")

        fp = a.get("fp32_top1")
        L.append(f"| {r['model']} | {r.get('eval_samples', '—')} | {fmt(fp, 2, ' %')} | {cell('mq_int8')} | "
                 f"{cell('ort_int8')} | {cell('mq_dynamic')} | {cell('ort_dynamic')} | {fmt(a.get('mq_fp32_sqnr_db'), 1, ' dB')} |")
    L.append("")
    L.append("### Quantized ops (static int8: monoquant's layers and int8 forms — default options, and with "
             "`--int8-outputs`, which rounds every output to 8 bits as ORT does; ORT's QDQ file: ops reading a "
             "DequantizeLinear of an activation; last column: those of ORT's that monoquant runs in float, by "
             "default and with `--int8-outputs`, a bias Add fused into a quantized layer counting as quantized)")
    L.append("")
    L.append("| model | monoquant (default) | monoquant --int8-outputs (SQNR) | ORT quantize_static (SQNR) | "
             "ORT's quantized ops float in monoquant (default / --int8-outputs) |")
    L.append("|---|---|---|---|---|")

    def ops_cell(c):
        if c is None:
            return "—"
        return f"**{sum(c.values())}**: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items()))

    for r in results:
        q = r.get("quantized_ops") or {}
        def only_cell_of(only):
            return "—" if only is None else ("none" if not only else ops_cell(only))
        only_cell = only_cell_of(q.get("ort_only")) + " / " + only_cell_of(q.get("ort_only_int8_outputs"))
        a = r.get("accuracy", {})
        L.append(f"| {r['model']} | {ops_cell(q.get('monoquant'))} | {ops_cell(q.get('monoquant_int8_outputs'))} "
                 f"({fmt(a.get('mq_int8_outputs_sqnr_db'), 1, ' dB')}) | {ops_cell(q.get('ort'))} "
                 f"({fmt(a.get('ort_int8_sqnr_db'), 1, ' dB')}) | {only_cell} |")
    L.append("")
    if args.observers:
        L.append("### SQNR by activation observer (monoquant static int8, default options otherwise; "
                 "ORT: quantize_static MinMax)")
        L.append("")
        L.append("| model | minmax (default) | " + " | ".join(args.observers) + " | ORT QDQ int8 |")
        L.append("|---|---|" + "---|" * len(args.observers) + "---|")
        for r in results:
            a = r.get("accuracy", {})
            cells = [fmt(a.get(f"mq_int8_{o}_sqnr_db"), 1, " dB") for o in ["__default"] + args.observers]
            cells[0] = fmt(a.get("mq_int8_sqnr_db"), 1, " dB")
            L.append(f"| {r['model']} | " + " | ".join(cells) + f" | {fmt(a.get('ort_int8_sqnr_db'), 1, ' dB')} |")
        L.append("")
    if args.accuracy_only:
        return "\n".join(L) + "\n"
    L.append("### Latency (median ms per run; ratio = ONNX Runtime ÷ monoquant, > 1 means monoquant is faster)")
    L.append("")
    L.append("| model | batch | threads | mq fp32 | mq int8 | ORT fp32 | ORT int8 (QDQ) | fp32 ratio | int8 ratio | "
             "mq dynamic | ORT dynamic | dynamic ratio |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for row in r.get("latency", []):
            def med(k):
                return row[k]["median_ms"] if k in row else None

            def ratio(a, b):
                return f"{med(b) / med(a):.2f}×" if med(a) and med(b) else "—"

            L.append(f"| {r['model']} | {row['batch']} | {row['threads']} | {fmt(med('mq_fp32'), 3)} | "
                     f"{fmt(med('mq_int8'), 3)} | {fmt(med('ort_fp32'), 3)} | {fmt(med('ort_int8'), 3)} | "
                     f"{ratio('mq_fp32', 'ort_fp32')} | {ratio('mq_int8', 'ort_int8')} | {fmt(med('mq_dynamic'), 3)} | "
                     f"{fmt(med('ort_dynamic'), 3)} | {ratio('mq_dynamic', 'ort_dynamic')} |")
    L.append("")
    L.append("### Calibration cost (same samples; seconds and peak RSS of the quantizing process)")
    L.append("")
    L.append("| model | samples | monoquant calibrate | monoquant calibrate + quantize + validate | monoquant peak RSS "
             "(after load) | ORT quantize_static | ORT peak RSS (after import) | ORT quantize_dynamic |")
    L.append("|---|---|---|---|---|---|---|---|")
    for r in results:
        mq, os_, od = r.get("monoquant", {}), r.get("ort_static") or {}, r.get("ort_dynamic") or {}
        mqs = "failed" if "error" in mq else f"{fmt(mq.get('calibrate_s'), 3)} s"
        mqq = "failed" if "error" in mq else f"{fmt(mq.get('calibrate_quantize_s'), 3)} s"
        mqm = "—" if "error" in mq else f"{fmt(mq.get('peak_rss_mib'), 0)} MiB ({fmt(mq.get('rss_mib_after_load'), 0)})"
        ors = "failed" if "error" in os_ else f"{fmt(os_.get('seconds'), 3)} s"
        orm = "—" if "error" in os_ else f"{fmt(os_.get('peak_rss_mib'), 0)} MiB ({fmt(os_.get('rss_mib_before'), 0)})"
        ord_ = "—" if not od else ("failed" if "error" in od else f"{fmt(od.get('seconds'), 3)} s")
        L.append(f"| {r['model']} | {r.get('calibration_samples', '—')} | {mqs} | {mqq} | {mqm} | {ors} | {orm} | {ord_} |")
    L.append("")
    L.append("Data per model:")
    L.append("")
    for r in results:
        extra = ""
        for k, lab in (("ort_static", "ORT quantize_static"), ("ort_dynamic", "ORT quantize_dynamic"),
                       ("monoquant", "monoquant")):
            e = (r.get(k) or {}).get("error")
            if e:
                extra += f" {lab} failed: `{e[:160]}`."
        probs = (r.get("monoquant", {}).get("static_info") or {}).get("problems") or []
        if probs:
            extra += f" monoquant validation warnings: {'; '.join(probs)[:200]}."
        L.append(f"- **{r['model']}**: {r.get('notes', '')}.{extra}")
    return "\n".join(L) + "\n"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "_ort_quantize":
        ap = argparse.ArgumentParser()
        ap.add_argument("cmd")
        for k in ("--mode", "--model", "--calib", "--out"):
            ap.add_argument(k, required=True)
        ap.add_argument("--batch", type=int, default=16)
        ap.add_argument("--format", choices=("qdq", "qoperator"), default="qdq")
        return ort_quantize_child(ap.parse_args())

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=None, help="comma list: cnn,mlp,lstm,mnist8,gtzan_mlp,bidi_lstm,"
                    "super_resolution, model folders or .onnx files (default: examples + shared)")
    ap.add_argument("--shared", default=os.environ.get("MQ_SHARED_DIR", str(ROOT.parent / "shared")))
    ap.add_argument("--bench", default=str(ROOT / "build/benchmarks/mq_model_bench"))
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=10, help="runs per block (one block per variant per round)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--eval-limit", type=int, default=10000)
    ap.add_argument("--out-dir", default=None, help="default benchmarks/compare (smoke: the work dir)")
    ap.add_argument("--work-dir", default=str(ROOT / "build/compare"))
    ap.add_argument("--smoke", action="store_true", help="mlp only, batch 1 and 8, 1 thread, few runs")
    ap.add_argument("--observers", default="", help="comma list of extra activation observers to compare "
                    "(percentile, percentile:99.9, entropy, mse, moving-average)")
    ap.add_argument("--accuracy-only", action="store_true", help="no latency runs")
    args = ap.parse_args()
    if args.smoke:
        args.models = args.models or "mlp"
        args.batches, args.threads, args.rounds, args.iters, args.warmup = "1,8", "1", 2, 3, 1
        args.eval_limit = min(args.eval_limit, 500)
    if args.out_dir is None:
        args.out_dir = args.work_dir if args.smoke else str(ROOT / "benchmarks/compare")
    args.batches = [int(x) for x in args.batches.split(",")]
    args.threads = [int(x) for x in args.threads.split(",")]
    args.observers = [x for x in args.observers.split(",") if x]
    if args.models:
        specs = args.models.split(",")
    else:
        specs = EXAMPLES + [s for s in SHARED if (Path(args.shared) / "models" / s).exists()]
    bench = Path(args.bench)
    if not bench.exists():
        sys.exit(f"compare: {bench} not found; build it: cmake --build build --target mq_model_bench")
    t0 = time.perf_counter()
    results = []
    for spec in specs:
        try:
            m = load_model(spec, args.shared, args.eval_limit)
            results.append(measure(m, args, bench))
        except Exception as e:  # noqa: BLE001
            log(f"[{spec}] failed: {e}")
            results.append({"model": spec, "error": str(e)[:300]})
    mach = machine()
    doc = {"machine": mach, "settings": {k: v for k, v in vars(args).items() if k not in ("out_dir", "work_dir")},
           "total_s": time.perf_counter() - t0, "models": results}
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = "smoke" if args.smoke else "results"
    (out / f"{stem}.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
    md = markdown(results, mach, args)
    (out / f"{stem}.md").write_text(md)
    print(md)
    log(f"compare: wrote {out / (stem + '.json')} and {out / (stem + '.md')} in {doc['total_s']:.0f} s")
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
