"""Writes a small torch.nn.TransformerEncoderLayer (batch_first, 4 heads, eval) as ONNX
(torch.onnx.export, opset 13) into <folder>/model.onnx: its self-attention has two MatMuls
between activations (Q·Kᵀ and attention·V). Also writes calibration inputs and an input with
torch's output (<folder>/data/*.npy) for the C++ test (test_interop_torch_attention.cpp)."""
import os

import numpy as np
import torch

from common import folder

d = folder()
os.makedirs(os.path.join(d, "data"), exist_ok=True)
torch.manual_seed(0)
E, H, L, N = 32, 4, 10, 2
m = torch.nn.TransformerEncoderLayer(E, H, dim_feedforward=64, dropout=0.0, batch_first=True).eval()
x = torch.randn(N, L, E)
torch.onnx.export(m, (x,), os.path.join(d, "model.onnx"), input_names=["x"], output_names=["y"], opset_version=13)
with torch.no_grad():
    y = m(x)
np.save(os.path.join(d, "data/x.npy"), x.numpy())
np.save(os.path.join(d, "data/y.npy"), y.numpy())
for i in range(16):
    np.save(os.path.join(d, f"data/calib_{i}.npy"), torch.randn(N, L, E).numpy())
print("torch", torch.__version__, "wrote", os.path.join(d, "model.onnx"))
