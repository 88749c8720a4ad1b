#!/usr/bin/env python3
"""Runs the kernel microbenchmarks and prints one markdown document: a table per ISA
configuration and thread count, then a "targets" section computed from the numbers.

Configurations:
  best  both sides pick their best ISA: monoquant's default tier (CPUID) and oneDNN's default
        (AMX where the CPU exposes it). MONOQUANT_ISA / ONEDNN_MAX_CPU_ISA are removed from
        the environment.
  vnni  both capped to AVX512-VNNI (MONOQUANT_ISA=avx512vnni, ONEDNN_MAX_CPU_ISA=
        AVX512_CORE_VNNI): the apples-to-apples kernel comparison. Skipped when
        /proc/cpuinfo does not list avx512_vnni.
Each binary is run once per configuration and thread count T with MONOQUANT_BENCH_THREADS=T
and OMP_NUM_THREADS=T (the oneDNN benchmarks refuse to run when the two differ). Benchmarks
are named family/impl/shape/threads:T; the kernel names shown are the labels the benchmarks
set (monoquant's active qgemm kernel, oneDNN's impl_info_str), not a list kept here.

Every binary also measures each kernel variant (or, for convolution and LSTM, each tier) the
CPU has, named family/<variant>__<isa>/shape or family/int8__<tier>/shape: these run in the
best configuration only and get their own section.

Numbers: GMAC/s = GOPS / 2, median over --repetitions repetitions of one run. Ratios
(ours/oneDNN, int8/fp32) are ratios of medians measured in the same run of the same binary
(the machine is shared and noisy); "ours TT/1T" divides the medians of the T-thread and the
1-thread runs of the same configuration. "% VNNI peak" is ours against 362 GMAC/s per core
(KERNELS.md) times T. "ours" is int8_ours (full-range s8 weights); "w7" is int8_ours_w7
(7-bit weights, the AVX2 fast path); fp32 is fp32_eigen (gemm) or fp32_ours (conv, lstm).

Targets rule (the shape sets and how a verdict is reached):
  large  = gemm shapes with M >= 128, and the dense (groups == 1, i.e. non-depthwise) convs;
  small  = gemm shapes with M <= 4;
  step   = lstm T1_* (one batch-1 time step);
  For each target the value is the geometric mean of the per-shape ratios over its set, and
  the target is "met" when that geometric mean reaches it; the worst shape is shown beside
  it. A multi-thread row where oneDNN ran below half its 1-thread speed is left out of the
  targets and listed in the notes: oneDNN's OpenMP barriers spin, and collapse by 10-1000x
  when another process takes one of the cores. Such slowdowns of ours are listed but kept. Comparisons against oneDNN use the vnni configuration (the best configuration when
  vnni is skipped, and the section says so); int8/fp32 and the thread scaling use best.
  large ours/oneDNN >= 0.95 (T = 1 and 2), small ours/oneDNN >= 1.5 (T = 1 and 2),
  large int8/fp32 >= 3.5 (T = 1 and 2), step int8/fp32 >= 4 (T = 1: the LSTM kernels are
  single-threaded), large ours 2T/1T >= 1.8.

usage: benchmarks/kernel_table.py [--build build] [--filter REGEX] [--threads 1,2]
           [--repetitions 5] [--min-time 0.2] [--configs best,vnni] [--json out.json]
"""
import argparse
import datetime
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

BENCHES = ["bench_qgemm", "bench_qconv", "bench_qlstm"]
PEAK_GMACS = 362.0  # AVX512-VNNI peak per core of the reference machine (KERNELS.md)
ISA_FLAGS = ["avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8"]
ISA_VARS = ["MONOQUANT_ISA", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"]
CONFIGS = {
    "best": {},
    "vnni": {"MONOQUANT_ISA": "avx512vnni", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI"},
}
VARIANT_MARK = "__"  # in the impl part of the per-variant / per-tier benchmarks' names
NAME_RE = re.compile(r"([^/]+)/([^/]+)/([^/]+)/threads:(\d+)")


def cpuinfo():
    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                key = key.strip()
                if key == "model name" and model == "unknown":
                    model = val.strip()
                elif key == "flags" and not flags:
                    flags = set(val.split())
    except OSError:
        pass
    return model, flags


def compiler_version(build):
    """First line of --version of the compiler in the build's CMake cache (None if unknown)."""
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_CXX_COMPILER:"):
                    cxx = line.split("=", 1)[1].strip()
                    out = subprocess.run([cxx, "--version"], capture_output=True, text=True)
                    return out.stdout.splitlines()[0] if out.stdout else None
    except (OSError, IndexError):
        pass
    return None


def config_env(cfg, threads):
    env = {k: v for k, v in os.environ.items() if k not in ISA_VARS}
    env.update(CONFIGS[cfg])
    env["MONOQUANT_BENCH_THREADS"] = str(threads)
    env["OMP_NUM_THREADS"] = str(threads)
    return env


def has_match(binary, filt):
    if not filt:
        return True
    out = subprocess.run([binary, "--benchmark_list_tests", f"--benchmark_filter={filt}"],
                         capture_output=True, text=True)
    return bool(out.stdout.strip())


def run(binary, env, args, cfg):
    cmd = [binary, "--benchmark_format=json", f"--benchmark_repetitions={args.repetitions}",
           f"--benchmark_min_time={args.min_time}"]
    if args.filter:
        cmd.append(f"--benchmark_filter={args.filter}")
    elif cfg != "best":
        # the per-variant / per-tier benchmarks do not depend on the ISA caps: best only
        cmd.append(f"--benchmark_filter=-{VARIANT_MARK}")
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} exited with {res.returncode}\n{res.stderr}")
    return json.loads(res.stdout)


def busy_cores(seconds=0.5):
    """CPUs' worth of time used by other processes over `seconds` while nothing of ours runs."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v) - v[3] - v[4], sum(v)  # busy (all but idle, iowait), total jiffies
    try:
        b0, t0 = sample()
        time.sleep(seconds)
        b1, t1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return (b1 - b0) / (t1 - t0) * (os.cpu_count() or 1) if t1 > t0 else None


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def fmt(x, spec=".1f"):
    return format(x, spec) if x is not None else ""


def ratio(a, b):
    return a / b if a and b else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--filter", default="", help="benchmark regex (Google Benchmark syntax)")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--min-time", default="0.2", help="seconds per repetition")
    ap.add_argument("--configs", default="best,vnni")
    ap.add_argument("--json", metavar="OUT", help="save raw numbers, medians and targets")
    args = ap.parse_args()
    threads = [int(x) for x in args.threads.split(",")]
    model, flags = cpuinfo()

    configs, notes = [], []
    for c in args.configs.split(","):
        if c not in CONFIGS:
            sys.exit(f"error: unknown configuration {c!r} (known: {', '.join(CONFIGS)})")
        if c == "vnni" and "avx512_vnni" not in flags:
            notes.append("vnni configuration skipped: /proc/cpuinfo lists no avx512_vnni")
            continue
        configs.append(c)

    binaries = []
    for name in BENCHES:
        binary = os.path.join(args.build, "benchmarks", name)
        if not os.path.exists(binary):
            print(f"note: {binary} not built, skipped", file=sys.stderr)
        elif has_match(binary, args.filter):
            binaries.append(binary)
    if not binaries:
        sys.exit("error: no benchmark binary matches (build them, or check --filter)")

    raw, context = [], {}
    busy = {}  # (cfg, threads) -> max CPUs busy with other work just before its runs
    med = {}  # (cfg, threads, fam, shape) -> {impl: {"gmacs": median, "label": str, "n": reps}}
    order = []  # (fam, shape) in registration order
    errors = {}  # (cfg, threads, run_name) -> message
    for cfg in configs:
        for t in threads:
            for binary in binaries:
                load = busy_cores()
                if load is not None:
                    busy[(cfg, t)] = max(busy.get((cfg, t), 0.0), load)
                print(f"running {os.path.basename(binary)} config={cfg} threads={t}"
                      + (f" (other load {load:.1f} CPUs)" if load is not None else ""),
                      file=sys.stderr, flush=True)
                out = run(binary, config_env(cfg, t), args, cfg)
                for k, v in out.get("context", {}).items():
                    if k in ("compiler", "onednn_version"):
                        context.setdefault(k, v)
                its = [b for b in out["benchmarks"] if b.get("run_type") == "iteration"]
                raw.append({"config": cfg, "threads": t, "binary": os.path.basename(binary),
                            "other_load_cpus": load,
                            "env": dict(CONFIGS[cfg], MONOQUANT_BENCH_THREADS=str(t),
                                        OMP_NUM_THREADS=str(t)),
                            "context": out.get("context", {}), "benchmarks": its})
                samples = {}
                for b in its:
                    m = NAME_RE.match(b["run_name"])
                    if not m:
                        continue
                    fam, impl, shape = m.group(1), m.group(2), m.group(3)
                    if b.get("error_occurred"):
                        errors[(cfg, t, b["run_name"])] = b.get("error_message", "")
                        continue
                    if "GOPS" not in b:
                        continue
                    if (fam, shape) not in order:
                        order.append((fam, shape))
                    s = samples.setdefault((fam, shape, impl), {"v": [], "label": b.get("label", "")})
                    s["v"].append(b["GOPS"] / 2.0)
                for (fam, shape, impl), s in samples.items():
                    med.setdefault((cfg, t, fam, shape), {})[impl] = {
                        "gmacs": statistics.median(s["v"]), "label": s["label"], "n": len(s["v"])}

    def get(cfg, t, fam, shape, impl, key="gmacs"):
        return med.get((cfg, t, fam, shape), {}).get(impl, {}).get(key)

    def fp32(cfg, t, fam, shape):
        return get(cfg, t, fam, shape, "fp32_eigen") or get(cfg, t, fam, shape, "fp32_ours")

    # ---- header
    lines = ["# monoquant kernel benchmarks", ""]
    present = [f for f in ISA_FLAGS if f in flags]
    absent = [f for f in ISA_FLAGS if f not in flags]
    cxx = compiler_version(args.build) or (f"compiler {context['compiler']}" if "compiler" in context else "compiler unknown")
    lines.append(f"{datetime.datetime.now().astimezone().isoformat(timespec='seconds')} · {model} · "
                 f"ISA flags: {' '.join(present) or 'none'}"
                 + (f" (absent: {' '.join(absent)})" if absent else "")
                 + f" · {cxx} · oneDNN {context.get('onednn_version', 'not built in')}")
    lines.append("")
    lines.append(f"Medians of {args.repetitions} repetitions (min time {args.min_time} s each); "
                 f"GMAC/s; % VNNI peak = ours / ({PEAK_GMACS:g} GMAC/s × threads); ratios of "
                 "medians from the same run; ours = int8_ours, w7 = int8_ours_w7, fp32 = our fp32 path.")
    if args.filter:
        lines.append(f"Filter: `{args.filter}`.")
    lines.append("")

    # ---- tables
    for cfg in configs:
        env = " ".join(f"{k}={v}" for k, v in CONFIGS[cfg].items()) or "no ISA caps"
        for t in threads:
            lines.append(f"## {cfg}, {t} thread{'s' if t > 1 else ''} ({env})")
            lines.append("")
            if (cfg, t) in busy:
                lines.append(f"Other processes used up to {busy[(cfg, t)]:.1f} of {os.cpu_count()} "
                             "CPUs just before these runs.")
                lines.append("")
            head = ["shape", "our kernel", "ours GMAC/s", "w7 GMAC/s", "% VNNI peak",
                    "oneDNN GMAC/s", "oneDNN impl", "ours/oneDNN", "int8/fp32"]
            if t != 1 and 1 in threads:
                head.append(f"ours {t}T/1T")
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "---|" * len(head))
            for fam, shape in order:
                if (cfg, t, fam, shape) not in med:
                    continue
                ours = get(cfg, t, fam, shape, "int8_ours")
                dnnl = get(cfg, t, fam, shape, "int8_onednn")
                dnnl_label = get(cfg, t, fam, shape, "int8_onednn", "label") or ""
                if dnnl is None:
                    for (c, tt, name), msg in errors.items():
                        if c == cfg and tt == t and f"/int8_onednn/{shape}/" in name and name.startswith(fam + "/"):
                            dnnl_label = "skipped (see notes)"
                cells = [f"{fam} {shape}", get(cfg, t, fam, shape, "int8_ours", "label") or "",
                         fmt(ours), fmt(get(cfg, t, fam, shape, "int8_ours_w7")),
                         fmt(ours / PEAK_GMACS / t * 100 if ours else None) + ("%" if ours else ""),
                         fmt(dnnl), dnnl_label, fmt(ratio(ours, dnnl), ".2f"),
                         fmt(ratio(ours, fp32(cfg, t, fam, shape)), ".2f")]
                if t != 1 and 1 in threads:
                    cells.append(fmt(ratio(ours, get(cfg, 1, fam, shape, "int8_ours")), ".2f"))
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
            if cfg == "vnni":
                for (fam, shape), d in ((k[2:], v) for k, v in med.items() if k[:2] == (cfg, t)):
                    lab = d.get("int8_onednn", {}).get("label", "")
                    if "amx" in lab:
                        notes.append(f"vnni, {t}T, {fam} {shape}: oneDNN still reports {lab} "
                                     "(ONEDNN_MAX_CPU_ISA not honoured?)")

    # ---- every variant / tier the CPU has (impls named <variant>__<isa> or int8__<tier>)
    for t in threads:
        rows = [(fam, shape) for fam, shape in order
                if any(VARIANT_MARK in i for i in med.get(("best", t, fam, shape), {}))]
        if not rows:
            continue
        lines.append(f"## every variant and tier, {t} thread{'s' if t > 1 else ''} (best)")
        lines.append("")
        lines.append("GMAC/s of each kernel variant (or, for convolution and LSTM, each tier) this "
                     "CPU has, run directly whatever the active tier.")
        lines.append("")
        lines.append("| shape | variant | GMAC/s | label |")
        lines.append("|---|---|---|---|")
        for fam, shape in rows:
            for impl, v in med[("best", t, fam, shape)].items():
                if VARIANT_MARK in impl:
                    lines.append(f"| {fam} {shape} | {impl} | {fmt(v['gmacs'])} | {v['label']} |")
        lines.append("")

    # ---- contention: a T-thread median far below the 1-thread one means the cores were busy
    # (OpenMP's spin-waiting barriers collapse when a core is taken by another process).
    unreliable = set()  # (cfg, threads, fam, shape): left out of the targets
    if 1 in threads:
        for (cfg, t, fam, shape), d in med.items():
            if t == 1:
                continue
            for impl, v in d.items():
                one = get(cfg, 1, fam, shape, impl)
                if not one or v["gmacs"] >= 0.5 * one:
                    continue
                if impl == "int8_onednn":
                    unreliable.add((cfg, t, fam, shape))
                    notes.append(f"{cfg}, {fam} {shape}: oneDNN on {t} threads ran at "
                                 f"{v['gmacs'] / one:.2f}× its 1-thread speed (its OpenMP "
                                 "barriers spin, and collapse when another process takes a "
                                 "core): row unreliable, left out of the targets")
                else:
                    notes.append(f"{cfg}, {fam} {shape}, {impl}: {t} threads ran at "
                                 f"{v['gmacs'] / one:.2f}× the 1-thread speed (busy cores, or "
                                 "the split costs more than it saves); kept in the targets")

    # ---- targets
    def is_large(fam, shape):
        if fam == "gemm":
            return int(shape.split("x")[0]) >= 128
        return fam == "conv" and not shape.startswith("dw")

    def is_small(fam, shape):
        return fam == "gemm" and int(shape.split("x")[0]) <= 4

    def is_step(fam, shape):
        return fam == "lstm" and shape.startswith("T1_")

    cmp_cfg = "vnni" if "vnni" in configs else ("best" if "best" in configs else None)
    own_cfg = "best" if "best" in configs else (configs[0] if configs else None)
    if cmp_cfg and cmp_cfg != "vnni":
        notes.append(f"oneDNN targets use the {cmp_cfg} configuration (vnni not measured)")
    specs = []  # (what, cfg, threads, predicate, value function, target)
    for t in [x for x in (1, 2) if x in threads]:
        specs.append(("large GEMM/conv ours/oneDNN", cmp_cfg, t, is_large,
                      lambda c, t, f, s: ratio(get(c, t, f, s, "int8_ours"), get(c, t, f, s, "int8_onednn")), 0.95))
    for t in [x for x in (1, 2) if x in threads]:
        specs.append(("M≤4 GEMM ours/oneDNN", cmp_cfg, t, is_small,
                      lambda c, t, f, s: ratio(get(c, t, f, s, "int8_ours"), get(c, t, f, s, "int8_onednn")), 1.5))
    for t in [x for x in (1, 2) if x in threads]:
        specs.append(("large GEMM/conv int8/fp32", own_cfg, t, is_large,
                      lambda c, t, f, s: ratio(get(c, t, f, s, "int8_ours"), fp32(c, t, f, s)), 3.5))
    if 1 in threads:
        specs.append(("batch-1 LSTM step int8/fp32", own_cfg, 1, is_step,
                      lambda c, t, f, s: ratio(get(c, t, f, s, "int8_ours"), fp32(c, t, f, s)), 4.0))
    if 1 in threads and 2 in threads:
        specs.append(("large GEMM/conv ours 2T/1T", own_cfg, 2, is_large,
                      lambda c, t, f, s: ratio(get(c, 2, f, s, "int8_ours"), get(c, 1, f, s, "int8_ours")), 1.8))

    targets = []
    lines.append("## targets")
    lines.append("")
    lines.append("Geometric mean of the per-shape ratios; met when it reaches the target "
                 "(large = gemm M ≥ 128 and dense convs, M≤4 = gemm M ≤ 4, LSTM step = lstm T1); "
                 "multi-thread rows where oneDNN ran below half its 1-thread speed are left out "
                 "(see notes).")
    lines.append("")
    lines.append("| target | config | threads | shapes | geomean | worst (shape) | goal | verdict |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for what, cfg, t, pred, val, goal in specs:
        vals = {}
        if cfg:
            for fam, shape in order:
                if pred(fam, shape) and (cfg, t, fam, shape) not in unreliable:
                    v = val(cfg, t, fam, shape)
                    if v:
                        vals[f"{fam} {shape}"] = v
        if vals:
            g = geomean(list(vals.values()))
            worst = min(vals, key=vals.get)
            verdict = "met" if g >= goal else "missed"
            cells = [what, cfg, str(t), str(len(vals)), f"{g:.2f}", f"{vals[worst]:.2f} ({worst})",
                     f"≥ {goal:g}×", verdict]
        else:
            g, worst, verdict = None, None, "n/a"
            cells = [what, cfg or "", str(t), "0", "", "", f"≥ {goal:g}×", "n/a (no usable rows)"]
        targets.append({"target": what, "config": cfg, "threads": t, "goal": goal, "geomean": g,
                        "per_shape": vals, "verdict": verdict})
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")

    # ---- notes
    msgs = {}
    for (cfg, t, name), msg in errors.items():
        msgs.setdefault(msg, []).append(f"{cfg}/{name}")
    for msg, names in msgs.items():
        notes.append(f"{len(names)} benchmark(s) skipped with an error ({names[0]}"
                     + (", ..." if len(names) > 1 else "") + f"): {msg}")
    if notes:
        lines.append("## notes")
        lines.append("")
        lines.extend(f"- {n}" for n in notes)
        lines.append("")

    print("\n".join(lines))

    if args.json:
        doc = {
            "header": {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                       "model_name": model, "isa_flags": present, "compiler": cxx,
                       "onednn_version": context.get("onednn_version"),
                       "repetitions": args.repetitions, "min_time": args.min_time,
                       "filter": args.filter, "peak_gmacs_per_core": PEAK_GMACS},
            "configs": {c: CONFIGS[c] for c in configs},
            "medians": [{"config": c, "threads": t, "family": f, "shape": s, "impl": i, **v}
                        for (c, t, f, s), d in med.items() for i, v in d.items()],
            "targets": targets,
            "errors": [{"config": c, "threads": t, "name": n, "message": m}
                       for (c, t, n), m in errors.items()],
            "notes": notes,
            "other_load_cpus": [{"config": c, "threads": t, "max": v} for (c, t), v in busy.items()],
            "raw": raw,
        }
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
