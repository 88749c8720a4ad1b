#!/usr/bin/env python3
"""Runs the kernel microbenchmarks at 1 and 2 threads and prints one markdown table.

Each benchmark is named family/impl/shape/threads:T. Medians over --repetitions runs; ratios
are taken within one run of one binary (the machine is shared and noisy).

usage: benchmarks/kernel_table.py [--build build] [--filter REGEX] [--threads 1,2]
"""
import argparse
import json
import os
import re
import subprocess
import sys

BENCHES = ["bench_qgemm", "bench_qconv", "bench_qlstm"]
PEAK_GMACS = 362.0  # AVX512-VNNI peak per core of the reference machine (KERNELS.md)


def run(binary, threads, args):
    env = dict(os.environ, MONOQUANT_BENCH_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    cmd = [binary, "--benchmark_format=json", f"--benchmark_repetitions={args.repetitions}",
           "--benchmark_report_aggregates_only=true", f"--benchmark_min_time={args.min_time}"]
    if args.filter:
        cmd.append(f"--benchmark_filter={args.filter}")
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["benchmarks"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--filter", default="")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--min-time", default="0.3")
    args = ap.parse_args()
    rows = {}  # (family, shape, threads) -> {impl: gops}
    for name in BENCHES:
        binary = os.path.join(args.build, "benchmarks", name)
        if not os.path.exists(binary):
            print(f"note: {binary} not built, skipped", file=sys.stderr)
            continue
        for t in [int(x) for x in args.threads.split(",")]:
            for b in run(binary, t, args):
                if b.get("aggregate_name") != "median":
                    continue
                m = re.match(r"([^/]+)/([^/]+)/([^/]+)/threads:(\d+)", b["run_name"])
                if not m or "GOPS" not in b:
                    continue
                fam, impl, shape, thr = m.group(1), m.group(2), m.group(3), int(m.group(4))
                rows.setdefault((fam, shape, thr), {})[impl] = b["GOPS"]
    impls = sorted({i for v in rows.values() for i in v})
    head = ["family", "shape", "thr"] + [f"{i} GOPS" for i in impls] + [
        "ours %VNNI peak", "ours/oneDNN", "int8/fp32", "ours 2T/1T"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for (fam, shape, thr), v in sorted(rows.items()):
        ours = v.get("int8_ours")
        fp32 = v.get("fp32_eigen") or v.get("fp32_ours")
        dnnl = v.get("int8_onednn")
        one = rows.get((fam, shape, 1), {}).get("int8_ours")
        cells = [fam, shape, str(thr)] + [f"{v[i]:.1f}" if i in v else "" for i in impls]
        cells.append(f"{ours / 2 / PEAK_GMACS / thr * 100:.1f}%" if ours else "")
        cells.append(f"{ours / dnnl:.2f}" if ours and dnnl else "")
        cells.append(f"{ours / fp32:.2f}" if ours and fp32 else "")
        cells.append(f"{ours / one:.2f}" if ours and one and thr > 1 else "")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
