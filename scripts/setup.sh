#!/usr/bin/env bash
# Installs what monoquant needs from Debian packages, only what is missing.
# Run as root on Debian 12 (apt-get). Safe to run again.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
      libeigen3-dev libxsimd-dev libprotobuf-dev protobuf-compiler libonnx-dev libonnx-testdata
      libflatbuffers-dev flatbuffers-compiler nlohmann-json3-dev doctest-dev libbenchmark-dev
      libcli11-dev libdnnl-dev ocl-icd-opencl-dev zlib1g-dev dpkg-dev binutils python3 python3-numpy python3-venv
      clang-format-14)  # scripts/check_format.sh
if [ "${MQ_WITH_PYTHON_PEERS:-0}" = 1 ]; then
  pkgs+=(python3-torch python3-onnx dataset-fashion-mnist)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
