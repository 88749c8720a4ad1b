#!/usr/bin/env bash
# The quick start's main job: installs what is missing, builds, then quantizes the bundled
# Fashion-MNIST example models end to end (calibrate → static int8 → validate → save in
# every format) and prints each report and fp32 vs int8 accuracy on the 10,000 test images.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/build.sh"
build="${MQ_BUILD_DIR:-$root/build}"
"$build/examples/quantize_examples" "$root/examples" "$build/quantized"
