#!/usr/bin/env bash
# Installs what is missing (Debian packages; a Python venv with onnxruntime and safetensors
# from PyPI for the interoperability tests), checks the C++ formatting (scripts/check_format.sh;
# a file not formatted as .clang-format says fails the run before anything is built), builds,
# and runs the whole test suite with ctest
# twice: the Release build (build/), then an ASan + UBSan build (build-asan/) where any
# sanitizer report fails the run. The fuzz entry runs once (it builds its own sanitized
# targets with clang). Extra arguments go to both ctest runs.
#   MQ_TEST_SANITIZE=0 scripts/test.sh   skips the sanitizer pass (quicker local runs)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
MQ_WITH_PYTHON_PEERS=1 bash "$root/scripts/setup.sh"
bash "$root/scripts/check_format.sh"
export MQ_PYTHON="$(bash "$root/scripts/python_peers.sh")"
bash "$root/scripts/build.sh"
build="${MQ_BUILD_DIR:-$root/build}"
(cd "$build" && ctest --output-on-failure --timeout 1500 -j2 "$@")
if [ "${MQ_TEST_SANITIZE:-1}" = 1 ]; then
  asan="${MQ_ASAN_BUILD_DIR:-$root/build-asan}"
  echo "test: the suite again under ASan + UBSan ($asan)"
  MQ_BUILD_DIR="$asan" bash "$root/scripts/build.sh" -DMQ_SANITIZE=ON -DMQ_BUILD_BENCHMARKS=OFF
  export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
  (cd "$asan" && ctest --output-on-failure --timeout 1500 -j2 -E '^fuzz$' "$@")
fi
