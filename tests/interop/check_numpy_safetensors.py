"""numpy reads our .npy/.npz and safetensors reads our .safetensors; both write files back
(python_written.npy/.npz/.safetensors) for the C++ side to read."""
import base64
import json
import os
import zlib

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from common import check, check_array, expect, folder

d = folder()

# numpy reads what monoquant wrote
for name in ("f32", "i64", "u8", "bool"):
    check_array(np.load(os.path.join(d, f"mq_{name}.npy")), expect(d, name), f"mq_{name}.npy")
with np.load(os.path.join(d, "mq.npz")) as z:
    check(sorted(z.files) == ["a", "b"], f"npz members {z.files}")
    check_array(z["a"], expect(d, "f32"), "npz a")
    check_array(z["b"], expect(d, "i64"), "npz b")

# safetensors reads the monoquant model file
path = os.path.join(d, "model.safetensors")
tensors = load_file(path)
with safe_open(path, framework="numpy") as f:
    meta = f.metadata()
check(meta["format"] == "monoquant", f"metadata format {meta.get('format')}")
check(meta["format_version"] == "2", "format_version")
graph_text = zlib.decompress(base64.b64decode(meta["graph_deflated"]), -15)  # raw deflate
check(len(graph_text) == int(meta["graph_bytes"]), "graph_bytes")
graph = json.loads(graph_text)
check([n["op"] for n in graph["nodes"]] == ["DynamicQLinear", "Relu"], f"graph ops {graph['nodes']}")
quant = json.loads(meta["quantization"])
check(quant["fc.weight"]["scheme"] == "per_channel_affine" and quant["fc.weight"]["axis"] == 0, f"scheme {quant}")
check(quant["fc.weight"]["dtype"] == "I8", "dtype I8")
check_array(tensors["fc.weight"], expect(d, "fc.weight"), "fc.weight (int8)")
check_array(tensors["fc.weight.scale"], expect(d, "fc.weight.scale"), "fc.weight.scale")
check_array(tensors["fc.weight.zero_point"], expect(d, "fc.weight.zero_point"), "fc.weight.zero_point")
check_array(tensors["fc.bias"], expect(d, "fc.bias"), "fc.bias")
check(sorted(tensors) == ["fc.bias", "fc.weight", "fc.weight.scale", "fc.weight.zero_point"], f"keys {sorted(tensors)}")

# files written by the Python libraries, for the C++ side
np.save(os.path.join(d, "python_written.npy"), np.arange(12, dtype=np.float32).reshape(3, 4) / 4)
np.savez(os.path.join(d, "python_written.npz"), x=np.arange(6, dtype=np.int32).reshape(2, 3), y=np.array([True, False]))
np.savez_compressed(os.path.join(d, "python_compressed.npz"), x=np.arange(6, dtype=np.int32).reshape(2, 3))
save_file(
    {
        "fc.weight": (np.arange(12, dtype=np.float32).reshape(3, 4) - 6) / 8,
        "fc.bias": np.array([1.0, 2.0, 3.0], dtype=np.float32),
        "offset": np.array([0.5, 0.25, 0.125], dtype=np.float32),
        "step": np.array(7, dtype=np.int64),
        "mask": np.array([[1, 0], [0, 1]], dtype=np.uint8),
        "half": np.array([1.5, -2.0], dtype=np.float16),
    },
    os.path.join(d, "python_written.safetensors"),
    metadata={"producer": "python"},
)
print("numpy/safetensors interop OK")
