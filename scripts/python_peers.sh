#!/usr/bin/env bash
# Creates (idempotently) the Python venv the interop tests use: Debian's python3 with its
# system packages (python3-torch 1.13, python3-onnx, numpy) plus safetensors and onnxruntime
# from PyPI. Prints the venv's python path on stdout (everything else goes to stderr).
#   usage: scripts/python_peers.sh [venv-dir]      (default: <repo>/.venv)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-${MQ_PYTHON_VENV:-$root/.venv}}"
py="$venv/bin/python"
if [ ! -x "$py" ]; then
  echo "python_peers: creating $venv" >&2
  /usr/bin/python3 -m venv --system-site-packages "$venv" >&2
fi
missing=()
"$py" -c "import safetensors" 2>/dev/null || missing+=(safetensors)
"$py" -c "import onnxruntime" 2>/dev/null || missing+=(onnxruntime)
if [ ${#missing[@]} -gt 0 ]; then
  echo "python_peers: pip install ${missing[*]}" >&2
  "$py" -m pip install --quiet --disable-pip-version-check "${missing[@]}" >&2
fi
# Report what the tests will see (torch/onnx/numpy come from Debian).
"$py" - >&2 <<'PY' || true
import importlib
for m in ("numpy", "torch", "onnx", "safetensors", "onnxruntime"):
    try:
        print(f"python_peers: {m} {importlib.import_module(m).__version__}")
    except Exception as e:  # noqa: BLE001
        print(f"python_peers: {m} unavailable ({e.__class__.__name__})")
PY
echo "$py"
