"""Writes a torch.jit.script model with a data-dependent branch (if x.sum() > 0, each branch
with its own Linear layers) as ONNX (opset 13) into <folder>/model.onnx, with inputs that take
each branch and torch's outputs for them (<folder>/data/*.npy) for the C++ test
(test_interop_torch_control_flow.cpp) to compare against."""
import os

import numpy as np
import torch

from common import folder

d = folder()
os.makedirs(os.path.join(d, "data"), exist_ok=True)
torch.manual_seed(0)


class Branchy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.pos = torch.nn.Linear(8, 16)
        self.neg = torch.nn.Linear(8, 16)
        self.head = torch.nn.Linear(16, 4)

    def forward(self, x):
        if x.sum() > 0:
            h = torch.relu(self.pos(x))
        else:
            h = torch.tanh(self.neg(x)) * 2.0
        return self.head(h)


model = torch.jit.script(Branchy().eval())
x_pos = torch.rand(3, 8) + 0.1
x_neg = -torch.rand(3, 8) - 0.1
with torch.no_grad():
    torch.onnx.export(model, (x_pos,), os.path.join(d, "model.onnx"), opset_version=13,
                      input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    for name, x in (("pos", x_pos), ("neg", x_neg)):
        np.save(os.path.join(d, "data", f"x_{name}.npy"), x.numpy())
        np.save(os.path.join(d, "data", f"y_{name}.npy"), model(x).numpy())
    # calibration samples taking both branches
    for i in range(8):
        x = torch.randn(3, 8) + (0.8 if i % 2 == 0 else -0.8)
        np.save(os.path.join(d, "data", f"calib_{i}.npy"), x.numpy())
print("ok")
