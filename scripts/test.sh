#!/usr/bin/env bash
# Installs what is missing (Debian packages; a Python venv with onnxruntime and safetensors
# from PyPI for the interoperability tests), builds, and runs the whole test suite with ctest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
MQ_WITH_PYTHON_PEERS=1 bash "$root/scripts/setup.sh"
export MQ_PYTHON="$(bash "$root/scripts/python_peers.sh")"
bash "$root/scripts/build.sh"
build="${MQ_BUILD_DIR:-$root/build}"
cd "$build"
ctest --output-on-failure --timeout 1500 -j2 "$@"
