#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
MQ_WITH_PYTHON_PEERS=1 bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh"
build="${MQ_BUILD_DIR:-$root/build}"
cd "$build"
ctest --output-on-failure -j2 "$@"
