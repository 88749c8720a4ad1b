#!/usr/bin/env bash
# monoquant vs ONNX Runtime: accuracy, latency, calibration cost (benchmarks/compare/compare.py).
#   scripts/compare.sh [--smoke] [compare.py options...]
#     --smoke   the mlp example only, few runs (< 1 minute); writes build/compare/smoke.{json,md}
#     default   every bundled example + the shared real models; writes benchmarks/compare/results.{json,md}
#   scripts/compare.sh --ort-files [--smoke] [ort_files.py options...]
#     int8 ONNX files made by ONNX Runtime's quantization tool (QDQ, QOperator, dynamic) of the shared
#     models, and the shipped captcha_ocr_ort_int8, run by ONNX Runtime and by monoquant
#     (benchmarks/compare/ort_files.py); writes benchmarks/compare/ort_files.{json,md}
#     (--smoke: the mlp example's files only, few runs; writes build/compare/ort_files.{json,md})
# Environment: MQ_BUILD_DIR (default <repo>/build), MQ_SHARED_DIR (default <repo>/../shared),
# MQ_COMPARE_VENV (default <build>/compare-venv). The venv is scripts/python_peers.sh's (Debian
# python3 with system packages + onnxruntime) plus onnx and ml_dtypes from PyPI, which
# onnxruntime.quantization needs (Debian's onnx 1.12 lacks onnx.reference); numpy stays
# Debian's. It lives in the build tree so the interop tests' .venv keeps Debian's onnx.
set -euo pipefail
harness=compare.py
targets=(mq_model_bench)
if [ "${1:-}" = --ort-files ]; then
  shift
  harness=ort_files.py
  targets=(mq_model_bench monoquant)
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${MQ_BUILD_DIR:-$root/build}"
venv="${MQ_COMPARE_VENV:-$build/compare-venv}"
mkdir -p "$build"
py="$("$root/scripts/python_peers.sh" "$venv")"
if ! "$py" -c "import onnxruntime.quantization" 2>/dev/null; then
  echo "compare: pip install onnx ml_dtypes (numpy pinned to $("$py" -c 'import numpy; print(numpy.__version__)'))" >&2
  pin="$(mktemp)"
  "$py" -c 'import numpy; print("numpy==" + numpy.__version__)' >"$pin"
  "$py" -m pip install --quiet --disable-pip-version-check -c "$pin" "onnx>=1.16" ml_dtypes >&2
  rm -f "$pin"
fi
if [ ! -x "$build/benchmarks/mq_model_bench" ] || [ "${MQ_COMPARE_REBUILD:-1}" = 1 ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -G Ninja ${MQ_SHARED_DIR:+-DMQ_SHARED_DIR=$MQ_SHARED_DIR} >&2
  fi
  cmake --build "$build" --target "${targets[@]}" -j2 >&2
fi
# The shared models folder: $MQ_SHARED_DIR, else the one the build was configured with.
if [ -z "${MQ_SHARED_DIR:-}" ] && [ -f "$build/CMakeCache.txt" ]; then
  MQ_SHARED_DIR="$(sed -n 's/^MQ_SHARED_DIR:[A-Z]*=//p' "$build/CMakeCache.txt")"
  export MQ_SHARED_DIR
fi
exec "$py" "$root/benchmarks/compare/$harness" --bench "$build/benchmarks/mq_model_bench" \
  --work-dir "$build/compare" "$@"
