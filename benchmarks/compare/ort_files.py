#!/usr/bin/env python3
"""int8 ONNX files made by ONNX Runtime's quantization tool, run by ONNX Runtime and by monoquant.

Run with the venv python of scripts/compare.sh, or through it:

    scripts/compare.sh --ort-files [--models mnist8,magika,...] [--threads 1,2] [--rounds 9] [--iters 10]

For each shared model (../shared/models) ONNX Runtime makes, from the same calibration samples
compare.py uses, in build/compare/<model>/:
  * ort_qdq.onnx  quantize_static, QDQ, per-channel, MinMax (reused when compare.py made it already);
  * ort_qop.onnx  quantize_static, QOperator, per-channel, MinMax;
  * ort_dyn.onnx  quantize_dynamic with its defaults (models with MatMul, Gemm, LSTM or Conv);
plus the shipped ../shared/models/captcha_ocr_ort_int8/model.onnx (quantize_dynamic by its authors).
For each file:
  * import: does monoquant load and run it (the error text if not), and which ops it made of it;
  * accuracy: monoquant's outputs against ONNX Runtime's on the same file, every eval row at batch 1:
    SQNR over all rows, the worst row's SQNR, how many rows are bit-identical, the largest |difference|;
  * latency, batch 1, per thread count: ONNX Runtime's InferenceSession (intra_op threads = N,
    inter_op 1) and monoquant (mq_model_bench serve, timed in C++ around Session::run) alternate
    block by block for --rounds rounds, the order swapped every round; medians and p90.
Writes ort_files.json and ort_files.md to --out-dir (default benchmarks/compare).
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare as C  # noqa: E402

ROOT = C.ROOT
SHIPPED = "captcha_ocr_ort_int8"
KINDS = {  # file stem: (label, quantize mode, format)
    "ort_qdq": ("QDQ static per-channel", "static", "qdq"),
    "ort_qop": ("QOperator static per-channel", "static", "qoperator"),
    "ort_dyn": ("dynamic", "dynamic", "qdq"),
}
DYNAMIC_OPS = {"MatMul", "Gemm", "LSTM", "Conv"}
TARGET_SQNR_DB, TARGET_RATIO = 40.0, 1.2


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- files


def make_files(spec, args):
    """ORT's int8 files of one shared model, with the model's eval rows; one entry per file."""
    m = C.load_model(spec, args.shared, args.eval_limit)
    work = Path(args.work_dir) / spec
    work.mkdir(parents=True, exist_ok=True)
    ins = C.onnx_inputs(m.path)
    static_batch = ins[0][1][0] if ins[0][1] else None
    calib_npz = work / "calib.npz"
    np.savez(calib_npz, **m.calib)
    ops = C.op_types(m.path)
    entries = []
    for stem, (label, mode, fmt) in KINDS.items():
        if mode == "dynamic" and not ops & DYNAMIC_OPS:
            continue
        out = work / f"{stem}.onnx"
        e = {"model": spec, "kind": label, "file": str(out), "eval": m.eval, "work": work,
             "eval_note": m.notes}
        if out.exists() and not args.remake:
            e["made"] = "reused"
        else:
            log(f"[{spec}] ONNX Runtime: {label}")
            r = C.run_ort_quantize(m.path, calib_npz, out, mode, static_batch or 16, work, fmt)
            if "error" in r:
                e["error"] = f"ORT quantize: {r['error']}"
            e["made"] = r
        entries.append(e)
    return entries


def shipped_file(args):
    d = Path(args.shared) / "models" / SHIPPED
    z = np.load(d / "io.npz")
    work = Path(args.work_dir) / SHIPPED
    work.mkdir(parents=True, exist_ok=True)
    return {"model": SHIPPED, "kind": "shipped (quantize_dynamic)", "file": str(d / "model.onnx"),
            "eval": {"input1": z["input1"]}, "expected": {"387": z["expected_387"]}, "work": work,
            "eval_note": f"the {len(z['input1'])} shipped input1 rows", "made": "shipped"}


def file_ops(path):
    import onnx

    g = onnx.load(str(path), load_external_data=False).graph
    c = collections.Counter(f"{n.domain}.{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type
                            for n in g.node)
    return dict(sorted(c.items()))


def monoquant_ops(tool, path):
    """The ops monoquant's importer and graph passes make of the file (monoquant inspect --json)."""
    if not tool.exists():
        return None, f"{tool} not found"
    p = subprocess.run([str(tool), "inspect", str(path), "--json"], capture_output=True, text=True)
    if p.returncode != 0:
        return None, (p.stderr.strip().splitlines() or ["inspect failed"])[-1][:400]
    return json.loads(p.stdout).get("ops"), None


# ----------------------------------------------------------------------------- measurements


def accuracy(ref, got):
    """monoquant vs ORT on the same file: all rows, worst row, identical rows, largest difference."""
    missing = sorted(set(ref) - set(got))
    if missing:
        return {"error": f"monoquant has no output(s) {missing} (it has {sorted(got)})"}
    for k, v in ref.items():
        if got[k].shape != v.shape:
            return {"error": f"output {k}: monoquant shape {list(got[k].shape)}, ORT {list(v.shape)}"}
    return {"sqnr_db": C.sqnr_db(ref, got), "bit_identical": all(np.array_equal(got[k], v) for k, v in ref.items()),
            "max_abs_diff": max(float(np.max(np.abs(got[k].astype(np.float64) - v))) if v.size else 0.0
                                for k, v in ref.items()),
            "dims": {k: list(v.shape) for k, v in ref.items()}}


def per_row(ref, got, rows):
    """SQNR and identity per eval row (the outputs of batch-1 runs are concatenated along dim 0)."""
    split = {k: np.array_split(v, rows) for k, v in ref.items()}
    gsplit = {k: np.array_split(got[k], rows) for k in ref}
    sq, same = [], 0
    for i in range(rows):
        r = {k: split[k][i] for k in ref}
        g = {k: gsplit[k][i] for k in ref}
        sq.append(C.sqnr_db(r, g))
        same += all(np.array_equal(r[k], g[k]) for k in ref)
    return {"worst_row_sqnr_db": min(sq), "identical_rows": same, "rows": rows}


def measure_file(e, args, bench, tool):
    res = {k: v for k, v in e.items() if k not in ("eval", "expected", "work")}
    path, work = Path(e["file"]), e["work"]
    stem = "shipped" if e["model"] == SHIPPED else path.stem
    if "error" in e:
        return res
    res["ops_in_file"] = file_ops(path)
    res["monoquant_ops"], err = monoquant_ops(tool, path)
    if err:
        res["inspect_error"] = err
    rows = int(len(next(iter(e["eval"].values()))))
    res["eval_rows"] = rows
    eval_npz = work / f"{stem}.rows.npz"
    np.savez(eval_npz, **e["eval"])

    log(f"[{e['model']}] {e['kind']}: ONNX Runtime outputs")
    try:
        ref = C.ort_outputs(path, e["eval"], 1)
    except Exception as ex:  # noqa: BLE001
        res["ort_error"] = str(ex)[:400]
        return res
    if "expected" in e:
        res["ort_vs_shipped_expected_sqnr_db"] = C.sqnr_db(e["expected"], {"387": ref["387"]})

    log(f"[{e['model']}] {e['kind']}: monoquant outputs")
    server = None
    try:
        server = C.MqServer(bench, path, eval_npz)
        got = server.eval("fp32", 1, 2, work / f"{stem}.monoquant_out.npz")
        acc = accuracy(ref, got)
        if "error" not in acc:
            acc.update(per_row(ref, got, rows))
        res["accuracy"] = acc
    except RuntimeError as ex:
        res["monoquant_error"] = f"{'run' if server else 'import'}: {ex}"[:600]
        if server:
            server.close()
        server = None
    try:
        res["latency"] = latency(e, server, path, args) if not args.accuracy_only else []
    finally:
        if server:
            server.close()
    return res


def latency(e, server, path, args):
    """Batch 1 medians per thread count; ORT alone when monoquant refused the file (server None)."""
    feed = C.cycled(e["eval"], 1)
    out = []
    for threads in args.threads:
        sess = C.ort_session(path, threads)
        load = os.getloadavg()[0]
        times = {"ort": []} if server is None else {"ort": [], "monoquant": []}
        for rnd in range(args.rounds):
            order = list(times) if rnd % 2 == 0 else list(times)[::-1]
            warm = args.warmup if rnd == 0 else 1
            for k in order:
                if k == "ort":
                    times[k] += C.ort_block(sess, feed, args.iters, warm)
                else:
                    times[k] += server.run("fp32", 1, threads, args.iters, warm)
        row = {"threads": threads, "batch": 1, "load_average_1min_before_after": [load, os.getloadavg()[0]]}
        row.update({k: C.stats(v) for k, v in times.items()})
        if server is not None:
            row["ratio"] = row["ort"]["median_ms"] / row["monoquant"]["median_ms"]
        out.append(row)
        log(f"[{e['model']}] {e['kind']} t{threads}: ORT {row['ort']['median_ms']:.3f} ms" +
            (f", monoquant {row['monoquant']['median_ms']:.3f} ms ({row['ratio']:.2f}x)" if server else ""))
        del sess
    return out


# ----------------------------------------------------------------------------- report


def machine():
    mach = C.machine()
    mach["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        mach["cpu"] = next(line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                           if line.startswith("Model name"))
    except (OSError, StopIteration):
        pass
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    mach["avx512_vnni"] = "avx512_vnni" in flags
    mach["avx_vnni"] = "avx_vnni" in flags
    mach["amx"] = bool({"amx_tile", "amx_int8"} & flags)
    return mach


def verdict(r):
    """Which of issue #15's targets the file misses: imported, SQNR >= 40 dB or identical, >= 1.2x at 1 thread."""
    if "error" in r or "ort_error" in r:
        return "not measured"
    if "monoquant_error" in r:
        return "refused"
    a = r.get("accuracy", {})
    miss = []
    if "error" in a:
        miss.append("outputs differ in shape")
    elif not a.get("bit_identical") and (a.get("sqnr_db") or 0) < TARGET_SQNR_DB:
        miss.append(f"SQNR < {TARGET_SQNR_DB:.0f} dB")
    one = next((x for x in r.get("latency", []) if x["threads"] == 1), None)
    if one and "ratio" in one and one["ratio"] < TARGET_RATIO:
        miss.append(f"< {TARGET_RATIO}× at 1 thread")
    return "meets targets" if not miss else "misses: " + ", ".join(miss)


def fmt(x, nd=2, suffix=""):
    return C.fmt(x, nd, suffix)


def markdown(results, mach, args):
    L = [f"Measured {mach['date']} on {mach['cpu']} ({mach['cpus']} CPUs; AVX512-VNNI: "
         f"{'yes' if mach['avx512_vnni'] else 'no'}, AVX-VNNI: {'yes' if mach['avx_vnni'] else 'no'}, "
         f"AMX: {'yes' if mach['amx'] else 'no'}), ONNX Runtime {mach['onnxruntime']}, monoquant "
         f"{mach['monoquant_commit']}. Batch 1; latency: {args.rounds} rounds × {args.iters} runs per tool and "
         f"thread count, ONNX Runtime and monoquant alternating, medians (p90 in ort_files.json). "
         f"Targets (issue #15): imported and run, SQNR vs ORT ≥ {TARGET_SQNR_DB:.0f} dB or bit-identical, "
         f"≥ {TARGET_RATIO}× ORT's speed at 1 thread.", ""]
    la = mach.get("load_average_before_after")
    if la:
        L[0] += (f" Load average (1 min) {la[0][0]:.1f} at the start, {la[1][0]:.1f} at the end, "
                 f"on {mach['cpus']} CPUs: other jobs share them, so latencies are noisy (per-file loads "
                 f"in ort_files.json).")
    threads = args.threads
    head = "| model | file | " + " | ".join(f"ORT ms {t}t | monoquant ms {t}t | ratio {t}t" for t in threads)
    head += " | SQNR vs ORT (all rows) | worst row | identical rows | max abs diff | monoquant | targets |"
    L += ["### monoquant vs ONNX Runtime on the same int8 file (ratio = ORT ÷ monoquant, > 1: monoquant faster)",
          "", head, "|---|---|" + "---|---|---|" * len(threads) + "---|---|---|---|---|---|"]
    for r in results:
        cells = [r["model"], r["kind"]]
        lat = {x["threads"]: x for x in r.get("latency", [])}
        for t in threads:
            x = lat.get(t)
            cells += [fmt(x["ort"]["median_ms"], 3) if x else "—",
                      fmt(x["monoquant"]["median_ms"], 3) if x and "monoquant" in x else "—",
                      f"{x['ratio']:.2f}×" if x and "ratio" in x else "—"]
        a = r.get("accuracy", {})
        if "error" in a:
            cells += ["differs: " + a["error"][:80], "—", "—", "—"]
        else:
            ident = f"{a['identical_rows']}/{a['rows']}" if "rows" in a else "—"
            cells += [fmt(a.get("sqnr_db"), 1, " dB"), fmt(a.get("worst_row_sqnr_db"), 1, " dB"), ident,
                      f"{a['max_abs_diff']:.3g}" if "max_abs_diff" in a else "—"]
        if "error" in r:
            state = "ORT could not make it"
        elif "ort_error" in r:
            state = "ORT could not run it"
        else:
            state = "refused" if "monoquant_error" in r else "imported, ran"
        cells += [state, verdict(r)]
        L.append("| " + " | ".join(cells) + " |")
    L.append("")
    errs = [r for r in results if any(k in r for k in ("error", "ort_error", "monoquant_error"))]
    if errs:
        L += ["### Errors", ""]
        for r in errs:
            for k, lab in (("error", "making the file"), ("ort_error", "ONNX Runtime"),
                           ("monoquant_error", "monoquant")):
                if k in r:
                    msg = r[k].replace("\n", " ").replace("|", "\\|")
                    L.append(f"- **{r['model']} {r['kind']}** ({lab}): `{msg}`")
        L.append("")
    L += ["### Ops: in the file → what monoquant made of it (monoquant inspect)", ""]
    for r in results:
        if "ops_in_file" not in r:
            continue
        f = ", ".join(f"{k} {v}" for k, v in r["ops_in_file"].items())
        mq = r.get("monoquant_ops")
        mqs = ", ".join(f"{k} {v}" for k, v in sorted(mq.items())) if mq else f"— ({r.get('inspect_error', '')})"
        L.append(f"- **{r['model']} {r['kind']}**: {f} → {mqs}")
    L += ["", "Eval rows per model (batch 1 each; ORT's quantize_static calibrated on compare.py's samples):", ""]
    seen = set()
    for r in results:
        if r["model"] not in seen:
            seen.add(r["model"])
            extra = ""
            if r.get("ort_vs_shipped_expected_sqnr_db") is not None:
                extra = (f" ONNX Runtime here vs the shipped expected_387: "
                         f"{fmt(r['ort_vs_shipped_expected_sqnr_db'], 1, ' dB')}.")
            L.append(f"- **{r['model']}**: {r.get('eval_note', '')}.{extra}")
    return "\n".join(L) + "\n"


def json_safe(x):
    """JSON without Infinity/NaN (not JSON; C++ parsers refuse them): an identical output's SQNR is "inf"."""
    if isinstance(x, float) and not np.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=None, help=f"comma list of {C.SHARED + [SHIPPED]} (default: all), "
                    "or compare.py's other models (examples, model folders, .onnx files)")
    ap.add_argument("--shared", default=os.environ.get("MQ_SHARED_DIR", str(ROOT.parent / "shared")))
    ap.add_argument("--bench", default=str(ROOT / "build/benchmarks/mq_model_bench"))
    ap.add_argument("--monoquant", default=None, help="the monoquant tool (default: beside --bench, tools/monoquant)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--iters", type=int, default=10, help="runs per block (one block per tool per round)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--eval-limit", type=int, default=1000)
    ap.add_argument("--remake", action="store_true", help="quantize again even where ort_*.onnx exist")
    ap.add_argument("--accuracy-only", action="store_true", help="no latency runs")
    ap.add_argument("--out-dir", default=None, help="default benchmarks/compare (smoke: the work dir)")
    ap.add_argument("--work-dir", default=str(ROOT / "build/compare"))
    ap.add_argument("--smoke", action="store_true", help="the mlp example's files only, 1 thread, few runs")
    args = ap.parse_args()
    if args.smoke:
        args.models = args.models or "mlp"
        args.threads, args.rounds, args.iters, args.warmup = "1", 2, 3, 1
        args.eval_limit = min(args.eval_limit, 200)
    if args.out_dir is None:
        args.out_dir = args.work_dir if args.smoke else str(ROOT / "benchmarks/compare")
    args.threads = [int(x) for x in args.threads.split(",")]
    bench = Path(args.bench)
    if not bench.exists():
        sys.exit(f"ort_files: {bench} not found; build it: cmake --build build --target mq_model_bench")
    tool = Path(args.monoquant) if args.monoquant else bench.parent.parent / "tools/monoquant"
    specs = args.models.split(",") if args.models else C.SHARED + [SHIPPED]
    t0 = time.perf_counter()
    mach = machine()
    load_before = os.getloadavg()
    results = []
    for spec in specs:
        try:
            entries = [shipped_file(args)] if spec == SHIPPED else make_files(spec, args)
        except Exception as ex:  # noqa: BLE001
            log(f"[{spec}] failed: {ex}")
            results.append({"model": spec, "kind": "—", "error": str(ex)[:400]})
            continue
        for e in entries:
            results.append(measure_file(e, args, bench, tool))
    mach["load_average_before_after"] = [load_before, os.getloadavg()]
    doc = {"machine": mach, "settings": {k: v for k, v in vars(args).items() if k not in ("out_dir", "work_dir")},
           "targets": {"sqnr_db": TARGET_SQNR_DB, "ratio_1_thread": TARGET_RATIO},
           "total_s": time.perf_counter() - t0, "files": results}
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ort_files.json").write_text(json.dumps(json_safe(doc), indent=1, default=str, allow_nan=False) + "\n")
    md = markdown(results, mach, args)
    (out / "ort_files.md").write_text(md)
    print(md)
    log(f"ort_files: wrote {out / 'ort_files.json'} and {out / 'ort_files.md'} in {doc['total_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
