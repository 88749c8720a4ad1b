"""ONNX Runtime's entropy calibrator on arrays the C++ test wrote (test_ort_entropy.cpp).

For each <folder>/case_<name>.npy with its settings in case_<name>.txt ("num_bins
num_quantized_bins"), runs onnxruntime.quantization.calibrate.HistogramCollector (what
EntropyCalibrater runs on each tensor) over the array in one batch and writes the range it
chooses to <folder>/ort_<name>.npy as float64 [lo, hi]. Exits 77 when onnxruntime.quantization
cannot be imported (it needs onnx >= 1.16: scripts/compare.sh's venv has it)."""
import glob
import os
import sys

import numpy as np

from common import folder

try:
    from onnxruntime.quantization.calibrate import HistogramCollector
except Exception as e:  # noqa: BLE001
    print(f"skipped: onnxruntime.quantization unavailable ({e.__class__.__name__}: {e})")
    sys.exit(77)

d = folder()
for path in sorted(glob.glob(os.path.join(d, "case_*.npy"))):
    name = os.path.basename(path)[len("case_"):-len(".npy")]
    with open(os.path.join(d, f"case_{name}.txt")) as f:
        num_bins, num_quantized_bins = (int(v) for v in f.read().split())
    x = np.load(path)
    c = HistogramCollector(method="entropy", symmetric=False, num_bins=num_bins,
                           num_quantized_bins=num_quantized_bins, percentile=99.999, scenario="same")
    c.collect({"x": [x]})
    lo, hi = c.compute_collection_result()["x"][:2]
    np.save(os.path.join(d, f"ort_{name}.npy"), np.array([float(lo), float(hi)], dtype=np.float64))
    print(f"{name}: ORT entropy range [{float(lo):.6g}, {float(hi):.6g}]")
