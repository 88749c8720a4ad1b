#!/usr/bin/env bash
# monoquant vs ONNX Runtime: accuracy, latency, calibration cost (benchmarks/compare/compare.py).
#   scripts/compare.sh [--smoke] [compare.py options...]
#     --smoke   the mlp example only, few runs (< 1 minute); writes build/compare/smoke.{json,md}
#     default   every bundled example + the shared real models; writes benchmarks/compare/results.{json,md}
# Environment: MQ_BUILD_DIR (default <repo>/build), MQ_SHARED_DIR (default <repo>/../shared),
# MQ_PYTHON_VENV (default <repo>/.venv, created by scripts/python_peers.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${MQ_BUILD_DIR:-$root/build}"
py="$("$root/scripts/python_peers.sh")"
if [ ! -x "$build/benchmarks/mq_model_bench" ] || [ "${MQ_COMPARE_REBUILD:-1}" = 1 ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -G Ninja ${MQ_SHARED_DIR:+-DMQ_SHARED_DIR=$MQ_SHARED_DIR} >&2
  fi
  cmake --build "$build" --target mq_model_bench -j2 >&2
fi
# The shared models folder: $MQ_SHARED_DIR, else the one the build was configured with.
if [ -z "${MQ_SHARED_DIR:-}" ] && [ -f "$build/CMakeCache.txt" ]; then
  MQ_SHARED_DIR="$(sed -n 's/^MQ_SHARED_DIR:[A-Z]*=//p' "$build/CMakeCache.txt")"
  export MQ_SHARED_DIR
fi
exec "$py" "$root/benchmarks/compare/compare.py" --bench "$build/benchmarks/mq_model_bench" \
  --work-dir "$build/compare" "$@"
