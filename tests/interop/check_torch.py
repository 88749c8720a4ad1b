"""torch.load reads our .pt files (plain and quantized tensors, the monoquant model), and
torch.save writes files (python_written.pt, with expectations in py_expect/) for the C++
reader."""
import json
import os

import numpy as np
import torch

from common import check, check_array, expect, folder

d = folder()

# 1. the quantized model written by save_graph(.pt)
sd = torch.load(os.path.join(d, "model.pt"))
check(isinstance(sd, dict), f"model.pt holds {type(sd)}")
check(list(sd.keys()) == ["fc.weight", "fc.bias"], f"keys {list(sd.keys())}")
w = sd["fc.weight"]
check(w.is_quantized and w.dtype == torch.qint8, f"fc.weight dtype {w.dtype}")
check(w.qscheme() == torch.per_channel_affine, f"qscheme {w.qscheme()}")
check(w.q_per_channel_axis() == 0, "axis")
check_array(w.q_per_channel_scales().numpy().astype(np.float32), expect(d, "fc.weight.scale"), "scales")
check_array(w.q_per_channel_zero_points().numpy().astype(np.int32), expect(d, "fc.weight.zero_point"), "zero points")
check_array(w.int_repr().numpy(), expect(d, "fc.weight"), "int8 values")
check_array(sd["fc.bias"].numpy(), expect(d, "fc.bias"), "fc.bias")

# 2. a state dict of every kind of tensor written by save_torch_state_dict
sd = torch.load(os.path.join(d, "tensors.pt"))
spec = json.load(open(os.path.join(d, "tensors.json")))
check(list(sd.keys()) == [s["name"] for s in spec], f"keys {list(sd.keys())}")
for s in spec:
    t = sd[s["name"]]
    if "qscheme" in s:
        check(t.is_quantized, f"{s['name']} is not quantized")
        check(str(t.dtype) == "torch." + s["torch_dtype"], f"{s['name']} dtype {t.dtype}")
        check(str(t.qscheme()) == "torch." + s["qscheme"], f"{s['name']} qscheme {t.qscheme()}")
        if s["qscheme"] == "per_tensor_affine":
            check(np.float32(t.q_scale()) == np.float32(s["scale"]), f"{s['name']} scale {t.q_scale()}")
            check(t.q_zero_point() == s["zero_point"], f"{s['name']} zero point {t.q_zero_point()}")
        t = t.int_repr()
    check_array(t.numpy(), expect(d, s["name"]), s["name"])

# 3. files written by torch.save for the C++ reader
torch.manual_seed(0)
lin = torch.nn.Linear(4, 3)
q_pc = torch.quantize_per_channel(torch.randn(3, 4), torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64),
                                  torch.tensor([0, 1, -2]), 0, torch.qint8)
q_pt = torch.quantize_per_tensor(torch.randn(2, 5), 0.05, 128, torch.quint8)
big = torch.arange(24, dtype=torch.float32).reshape(4, 6)
state = {
    "linear.weight": lin.weight.detach(),
    "linear.bias": lin.bias.detach(),
    "q_pc": q_pc,
    "q_pt": q_pt,
    "transposed": big.t(),          # non-contiguous strides
    "slice": big[1:3, 2:5],         # storage offset + strides into a shared storage
    "long": torch.tensor([1, -2, 3], dtype=torch.int64),
    "flags": torch.tensor([True, False]),
    "scalar": torch.tensor(2.5, dtype=torch.float64),
}
torch.save(state, os.path.join(d, "python_written.pt"))
torch.save(lin.state_dict(), os.path.join(d, "python_state_dict.pt"))  # OrderedDict with _metadata
os.makedirs(os.path.join(d, "py_expect"), exist_ok=True)
info = {}
for k, v in state.items():
    if v.is_quantized:
        info[k] = {"scheme": str(v.qscheme())}
        if v.qscheme() == torch.per_tensor_affine:
            info[k].update(scale=v.q_scale(), zero_point=v.q_zero_point())
        else:
            info[k].update(scales=v.q_per_channel_scales().tolist(),
                           zero_points=v.q_per_channel_zero_points().tolist(), axis=v.q_per_channel_axis())
        v = v.int_repr()
    np.save(os.path.join(d, "py_expect", k + ".npy"), v.contiguous().numpy())
json.dump(info, open(os.path.join(d, "py_expect", "quant.json"), "w"))
print("torch interop OK, torch", torch.__version__)
