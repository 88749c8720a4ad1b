#!/usr/bin/python3
"""Train, export and document monoquant's bundled example models.

Run from the repository root with Debian's system Python:

    /usr/bin/python3 examples/train_examples.py

Requirements (Debian packages): python3-torch, python3-onnx, python3-numpy.
The Fashion-MNIST IDX files are read from /usr/share/datasets/fashion-mnist/
(override with --data-dir).

Produces, relative to the examples/ directory:
    models/cnn.onnx, models/mlp.onnx, models/lstm.onnx   (opset 13, fp32)
    models/accuracy.json                                  (reference results)
    data/calib_images.npy      float32 [512,1,28,28] in [0,1]
    data/calib_sequences.npy   float32 [512,28,28]   in [0,1] (same images)
    data/test_images_u8.npy    uint8   [10000,28,28] raw pixels
    data/test_labels.npy       uint8   [10000]

Everything runs on the CPU with one thread and fixed seeds.
"""

import argparse
import gzip
import json
import os
import struct
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import onnx
from onnx import numpy_helper, shape_inference

OPSET = 13
SEED = 20240601
N_CALIB = 512
N_LOGITS = 10

HERE = os.path.dirname(os.path.abspath(__file__))


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def read_idx(path):
    """Read a gzip-compressed IDX file into a numpy array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError("%s: unsupported IDX header" % path)
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError("%s: size mismatch" % path)
    return data.reshape(dims).copy()


def load_fashion_mnist(data_dir):
    def p(name):
        return os.path.join(data_dir, name)
    train_x = read_idx(p("train-images-idx3-ubyte.gz"))
    train_y = read_idx(p("train-labels-idx1-ubyte.gz"))
    test_x = read_idx(p("t10k-images-idx3-ubyte.gz"))
    test_y = read_idx(p("t10k-labels-idx1-ubyte.gz"))
    assert train_x.shape == (60000, 28, 28) and train_y.shape == (60000,)
    assert test_x.shape == (10000, 28, 28) and test_y.shape == (10000,)
    return train_x, train_y, test_x, test_y


def to_float(u8):
    """uint8 pixels -> float32 in [0,1] (pixel/255, no other normalization)."""
    return u8.astype(np.float32) / np.float32(255.0)


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

# Debian's torch links the reference (netlib) BLAS, so F.linear / addmm are
# slow on this CPU, while convolutions go through oneDNN and are roughly 5-10x
# faster.  During training only, every matrix product is therefore computed
# as a 1x1 convolution over the very same nn.Linear / nn.LSTM parameters
# (identical math, different kernel).  Evaluation, the reported accuracy and
# the ONNX export all use the plain nn.Linear / nn.LSTM forward;
# check_fast_path() verifies that both paths agree.
_FAST_TRAIN = False


def dense(layer_or_weight, x, bias=None):
    """y = x @ W^T + b for x [M,in]; W from an nn.Linear or given directly."""
    if isinstance(layer_or_weight, nn.Linear):
        weight, bias = layer_or_weight.weight, layer_or_weight.bias
    else:
        weight = layer_or_weight
    if not _FAST_TRAIN:
        return F.linear(x, weight, bias)
    return F.conv1d(x.unsqueeze(2), weight.unsqueeze(2), bias).squeeze(2)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):                      # x: [N,1,28,28]
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(dense(self.fc1, x))
        return dense(self.fc2, x)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, x):                      # x: [N,1,28,28]
        x = torch.flatten(x, 1)
        x = F.relu(dense(self.fc1, x))
        x = F.relu(dense(self.fc2, x))
        return dense(self.fc3, x)


class RowLSTM(nn.Module):
    """Reads the image row by row: time = 28 rows, features = 28 pixels."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):                      # x: [N,28,28]
        if _FAST_TRAIN:
            last = self._unrolled_last_hidden(x)
        else:
            # h_n is the hidden state after the last row (batch_first does
            # not apply to it): [1,N,128] -> [N,128].  In ONNX this is the
            # LSTM's Y_h output followed by a Squeeze.
            _, (h_n, _) = self.lstm(x)
            last = h_n.squeeze(0)
        return dense(self.fc, last)

    def _unrolled_last_hidden(self, x):
        """nn.LSTM's recurrence written out (torch gate order i, f, g, o)."""
        n, steps, feat = x.shape
        hid = self.lstm.hidden_size
        l = self.lstm
        xw = dense(l.weight_ih_l0, x.reshape(n * steps, feat),
                   l.bias_ih_l0 + l.bias_hh_l0).reshape(n, steps, 4 * hid)
        h = x.new_zeros(n, hid)
        c = x.new_zeros(n, hid)
        for t in range(steps):
            g = xw[:, t] + dense(l.weight_hh_l0, h)
            i, f, gg, o = g.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
            h = torch.sigmoid(o) * torch.tanh(c)
        return h


# name -> (constructor, epochs, learning rate, input layout, calib file)
SPECS = {
    "cnn": dict(make=CNN, epochs=8, lr=2e-3, layout="NCHW",
                shape=["N", 1, 28, 28], calib="data/calib_images.npy"),
    "mlp": dict(make=MLP, epochs=12, lr=1e-3, layout="NCHW",
                shape=["N", 1, 28, 28], calib="data/calib_images.npy"),
    "lstm": dict(make=RowLSTM, epochs=4, lr=2e-3, layout="NTC",
                 shape=["N", 28, 28], calib="data/calib_sequences.npy"),
}


def as_model_input(name, x_float):
    """[N,28,28] float images -> the tensor layout the model expects."""
    if SPECS[name]["layout"] == "NCHW":
        return x_float.reshape(-1, 1, 28, 28)
    return x_float.reshape(-1, 28, 28)


# --------------------------------------------------------------------------
# Training / evaluation
# --------------------------------------------------------------------------

def set_fast_train(on):
    global _FAST_TRAIN
    _FAST_TRAIN = bool(on)


@torch.no_grad()
def check_fast_path(model, x):
    """The training-time matmul path must match the standard forward."""
    set_fast_train(True)
    fast = model(x)
    set_fast_train(False)
    ref = model(x)
    err = float((fast - ref).abs().max())
    if err > 1e-4:
        raise SystemExit("training path disagrees with nn forward: %g" % err)
    return err


def train(name, train_x, train_y, batch_size=128):
    spec = SPECS[name]
    torch.manual_seed(SEED)
    model = spec["make"]()
    opt = torch.optim.Adam(model.parameters(), lr=spec["lr"])
    epochs = spec["epochs"]
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=epochs * ((len(train_x) + batch_size - 1) // batch_size))
    x_all = torch.from_numpy(as_model_input(name, to_float(train_x)))
    y_all = torch.from_numpy(train_y.astype(np.int64))
    gen = torch.Generator().manual_seed(SEED + 1)
    check_fast_path(model, x_all[:64])
    for epoch in range(epochs):
        model.train()
        set_fast_train(True)
        t0 = time.time()
        perm = torch.randperm(len(x_all), generator=gen)
        total, n = 0.0, 0
        for i in range(0, len(perm), batch_size):
            idx = perm[i:i + batch_size]
            loss = F.cross_entropy(model(x_all[idx]), y_all[idx])
            opt.zero_grad()
            loss.backward()
            if name == "lstm":
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            n += len(idx)
        set_fast_train(False)
        print("  %s epoch %d/%d  loss %.4f  (%.1fs)"
              % (name, epoch + 1, epochs, total / n, time.time() - t0),
              flush=True)
    model.eval()
    err = check_fast_path(model, x_all[:256])
    print("  %s: training path vs nn forward max |diff| = %.1e"
          % (name, err))
    return model


@torch.no_grad()
def predict(model, x, batch_size=1000):
    model.eval()
    outs = [model(torch.from_numpy(x[i:i + batch_size])).numpy()
            for i in range(0, len(x), batch_size)]
    return np.concatenate(outs, axis=0)


# --------------------------------------------------------------------------
# ONNX export and verification
# --------------------------------------------------------------------------

# Known, benign exporter warnings for these graphs: the LSTM batch-size
# warning concerns the zero initial states, which drop_zero_lstm_initial_states
# removes (check_onnx then runs batch 1 and batch 16); the prim::Constant one
# concerns torch's own shape inference, not the saved graph.
warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size other than 1")
warnings.filterwarnings("ignore", message="The shape inference of prim::Constant type is missing")


def export(name, model, path):
    example = torch.from_numpy(
        as_model_input(name, np.zeros((2, 28, 28), np.float32)))
    torch.onnx.export(
        model, example, path,
        export_params=True,
        opset_version=OPSET,
        do_constant_folding=True,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
    )
    m = onnx.load(path)
    if drop_zero_lstm_initial_states(m):
        onnx.save(m, path)
    onnx.checker.check_model(m, full_check=True)
    m = shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    return m


def drop_zero_lstm_initial_states(model):
    """Remove torch's explicit all-zero LSTM initial_h / initial_c.

    torch builds h0 = c0 = zeros(1, N, hidden) from the input's batch size,
    which the exporter turns into Shape/Gather/Unsqueeze/Concat/
    ConstantOfShape.  An omitted initial_h / initial_c means zeros in ONNX,
    so those inputs are dropped, unused LSTM outputs are cleared and the dead
    nodes removed.  check_onnx() re-verifies the result against torch.
    Returns True if the graph changed.
    """
    g = model.graph
    producer = {o: n for n in g.node for o in n.output}
    changed = False
    for node in g.node:
        if node.op_type != "LSTM":
            continue
        ins = list(node.input)
        for k in (5, 6):                       # initial_h, initial_c
            if k >= len(ins) or not ins[k]:
                continue
            src = producer.get(ins[k])
            if src is None or src.op_type != "ConstantOfShape":
                continue
            val = _attrs(src).get("value")
            if val is not None and np.any(numpy_helper.to_array(val) != 0):
                continue
            ins[k] = ""
        while ins and not ins[-1]:
            ins.pop()
        if ins != list(node.input):
            del node.input[:]
            node.input.extend(ins)
            changed = True

    graph_outputs = {o.name for o in g.output}
    while True:
        used = {i for n in g.node for i in n.input} | graph_outputs
        for node in g.node:
            if node.op_type != "LSTM":
                continue
            outs = [o if o in used else "" for o in node.output]
            while outs and not outs[-1]:
                outs.pop()
            if outs != list(node.output):
                del node.output[:]
                node.output.extend(outs)
                changed = True
        dead = [n for n in g.node
                if not any(o and o in used for o in n.output)]
        if not dead:
            break
        for n in dead:
            g.node.remove(n)
        changed = True
    used = {i for n in g.node for i in n.input}
    for init in [i for i in g.initializer if i.name not in used]:
        g.initializer.remove(init)
        changed = True
    return changed


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _conv2d(x, w, b, pads, strides, dilations, group):
    assert group == 1 and tuple(dilations) == (1, 1)
    n, c, h, wd = x.shape
    m, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (xp.shape[2] - kh) // strides[0] + 1
    ow = (xp.shape[3] - kw) // strides[1] + 1
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + strides[0] * oh:strides[0],
                                  j:j + strides[1] * ow:strides[1]]
    y = np.einsum("nckloh,mckl->nmoh", cols, w.astype(np.float64))
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def _maxpool2d(x, kernel, strides, pads):
    assert not any(pads)
    kh, kw = kernel
    n, c, h, w = x.shape
    oh = (h - kh) // strides[0] + 1
    ow = (w - kw) // strides[1] + 1
    y = np.full((n, c, oh, ow), -np.inf)
    for i in range(kh):
        for j in range(kw):
            y = np.maximum(y, x[:, :, i:i + strides[0] * oh:strides[0],
                                j:j + strides[1] * ow:strides[1]])
    return y


def _lstm(x, w, r, b, seq_lens, h0, c0, attrs):
    """ONNX LSTM, forward direction, default activations, gate order iofc."""
    assert attrs.get("direction", b"forward") in (b"forward", "forward")
    assert "activations" not in attrs and not attrs.get("input_forget", 0)
    assert attrs.get("layout", 0) == 0
    seq, batch, _ = x.shape
    hid = r.shape[-1]
    w, r = w[0].astype(np.float64), r[0].astype(np.float64)
    bias = (b[0, :4 * hid] + b[0, 4 * hid:]) if b is not None \
        else np.zeros(4 * hid)
    h = h0[0].astype(np.float64) if h0 is not None else np.zeros((batch, hid))
    c = c0[0].astype(np.float64) if c0 is not None else np.zeros((batch, hid))
    ys = []
    for t in range(seq):
        g = x[t] @ w.T + h @ r.T + bias
        i, o, f, cc = np.split(g, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(cc)
        h = _sigmoid(o) * np.tanh(c)
        ys.append(h)
    y = np.stack(ys)[:, None]                  # [seq, 1, batch, hidden]
    return y, h[None], c[None]


def run_onnx_numpy(model, feeds):
    """Tiny float64 numpy interpreter for the ops these example graphs use.

    onnxruntime is not available in Debian's Python, so this is the
    independent check that the exported graph computes what torch computes.
    """
    env = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    env.update(feeds)

    def get(name):
        return env[name] if name else None

    for node in model.graph.node:
        op, a = node.op_type, _attrs(node)
        ins = [get(n) for n in node.input]
        if op == "Conv":
            outs = [_conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None,
                            a.get("pads", [0, 0, 0, 0]),
                            a.get("strides", [1, 1]),
                            a.get("dilations", [1, 1]), a.get("group", 1))]
        elif op == "Relu":
            outs = [np.maximum(ins[0], 0)]
        elif op == "MaxPool":
            outs = [_maxpool2d(ins[0], a["kernel_shape"],
                               a.get("strides", [1, 1]),
                               a.get("pads", [0, 0, 0, 0]))]
        elif op == "Flatten":
            ax = a.get("axis", 1)
            s = ins[0].shape
            outs = [ins[0].reshape(int(np.prod(s[:ax])), -1)]
        elif op == "Reshape":
            shape = [d if d != 0 else ins[0].shape[k]
                     for k, d in enumerate(ins[1])]
            outs = [ins[0].reshape(shape)]
        elif op == "Gemm":
            A, B = ins[0], ins[1]
            if a.get("transA", 0):
                A = A.T
            if a.get("transB", 0):
                B = B.T
            y = a.get("alpha", 1.0) * (A @ B)
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get("beta", 1.0) * ins[2]
            outs = [y]
        elif op == "MatMul":
            outs = [ins[0] @ ins[1]]
        elif op == "Add":
            outs = [ins[0] + ins[1]]
        elif op == "Transpose":
            outs = [np.transpose(ins[0], a.get("perm"))]
        elif op == "Shape":
            outs = [np.array(ins[0].shape, dtype=np.int64)]
        elif op == "Gather":
            outs = [np.take(ins[0], ins[1], axis=a.get("axis", 0))]
        elif op == "Squeeze":
            axes = tuple(int(v) for v in ins[1]) if len(ins) > 1 else None
            outs = [np.squeeze(ins[0], axis=axes)]
        elif op == "Unsqueeze":
            y = ins[0]
            for ax in sorted(int(v) for v in ins[1]):
                y = np.expand_dims(y, ax)
            outs = [y]
        elif op == "Concat":
            outs = [np.concatenate(
                [np.atleast_1d(v) for v in ins], axis=a["axis"])]
        elif op == "Slice":
            data, starts, ends = ins[0], ins[1], ins[2]
            axes = ins[3] if len(ins) > 3 and ins[3] is not None \
                else range(len(starts))
            steps = ins[4] if len(ins) > 4 and ins[4] is not None \
                else [1] * len(starts)
            sl = [slice(None)] * data.ndim
            for s, e, ax, st in zip(starts, ends, axes, steps):
                sl[int(ax)] = slice(int(s), int(max(min(e, 2**62), -2**62)),
                                    int(st))
            outs = [data[tuple(sl)]]
        elif op == "Constant":
            outs = [numpy_helper.to_array(a["value"])]
        elif op == "ConstantOfShape":
            v = a.get("value")
            fill = numpy_helper.to_array(v) if v is not None \
                else np.zeros(1, np.float32)
            outs = [np.full(tuple(int(d) for d in ins[0]), fill[0],
                            dtype=fill.dtype)]
        elif op == "LSTM":
            padded = ins + [None] * (8 - len(ins))
            outs = list(_lstm(padded[0], padded[1], padded[2], padded[3],
                              padded[4], padded[5], padded[6], a))
        else:
            raise NotImplementedError("reference interpreter: op %s" % op)
        for name, val in zip(node.output, outs):
            if name:
                env[name] = val
    return {o.name: env[o.name] for o in model.graph.output}


def check_onnx(name, model_proto, torch_model, x):
    # Batch dimension must be symbolic on both input and output.
    for vi in list(model_proto.graph.input) + list(model_proto.graph.output):
        d0 = vi.type.tensor_type.shape.dim[0]
        assert d0.dim_param == "N", (name, vi.name, d0)
    err = 0.0
    for xb in (x[:1], x):                      # batch 1 and a larger batch
        ref = predict(torch_model, xb)
        got = run_onnx_numpy(model_proto,
                             {"input": xb.astype(np.float64)})["logits"]
        assert got.shape == ref.shape, (got.shape, ref.shape)
        err = max(err, float(np.max(np.abs(ref - got))))
    print("  %s: ONNX (numpy reference) vs torch, %d images: max |diff| = %.2e"
          % (name, len(x), err))
    if err > 1e-3:
        raise SystemExit("%s: exported ONNX graph disagrees with torch" % name)
    return err


def graph_summary(model_proto):
    ops = sorted({n.op_type for n in model_proto.graph.node})

    def desc(vi):
        dims = [d.dim_param if d.dim_param else d.dim_value
                for d in vi.type.tensor_type.shape.dim]
        return vi.name, dims
    return ops, [desc(v) for v in model_proto.graph.input], \
        [desc(v) for v in model_proto.graph.output]


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out-dir", default=HERE,
                    help="examples directory to write into (default: %(default)s)")
    ap.add_argument("--only", choices=sorted(SPECS), action="append",
                    help="train only these models (repeatable)")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.use_deterministic_algorithms(True)

    models_dir = os.path.join(args.out_dir, "models")
    data_dir = os.path.join(args.out_dir, "data")
    os.makedirs(models_dir, exist_ok=True)
    os.makedirs(data_dir, exist_ok=True)

    train_x, train_y, test_x, test_y = load_fashion_mnist(args.data_dir)
    print("Fashion-MNIST: train %s, test %s" % (train_x.shape, test_x.shape))

    # ---- data files ------------------------------------------------------
    rng = np.random.RandomState(SEED)
    calib_idx = np.sort(rng.choice(len(train_x), N_CALIB, replace=False))
    calib = to_float(train_x[calib_idx])                      # [512,28,28]
    files = {
        "calib_images.npy": np.ascontiguousarray(calib.reshape(-1, 1, 28, 28)),
        "calib_sequences.npy": np.ascontiguousarray(calib),
        "test_images_u8.npy": np.ascontiguousarray(test_x, dtype=np.uint8),
        "test_labels.npy": np.ascontiguousarray(test_y, dtype=np.uint8),
    }
    for fname, arr in files.items():
        path = os.path.join(data_dir, fname)
        with open(path, "wb") as f:
            np.lib.format.write_array(f, arr, version=(1, 0),
                                      allow_pickle=False)
        print("  wrote data/%s  %s %s" % (fname, arr.dtype, list(arr.shape)))

    # ---- models ----------------------------------------------------------
    acc_path = os.path.join(models_dir, "accuracy.json")
    results = {}
    if args.only and os.path.exists(acc_path):
        with open(acc_path) as f:
            results = json.load(f)
    test_f = to_float(test_x)
    for name in (args.only or list(SPECS)):
        spec = SPECS[name]
        print("Training %s" % name, flush=True)
        t0 = time.time()
        model = train(name, train_x, train_y)
        train_s = time.time() - t0
        x_test = as_model_input(name, test_f)
        logits = predict(model, x_test)
        top1 = float(np.mean(logits.argmax(1) == test_y))
        print("  %s: fp32 top-1 = %.4f (trained in %.0fs)"
              % (name, top1, train_s), flush=True)

        onnx_path = os.path.join(models_dir, name + ".onnx")
        proto = export(name, model, onnx_path)
        max_diff = check_onnx(name, proto, model, x_test[:16])
        ops, ins, outs = graph_summary(proto)
        print("  %s: ops %s; inputs %s; outputs %s" % (name, ops, ins, outs))

        results[name] = {
            "onnx": "models/%s.onnx" % name,
            "opset": OPSET,
            "input": "input",
            "input_shape": spec["shape"],
            "layout": spec["layout"],
            "output": "logits",
            "output_shape": ["N", 10],
            "calib": spec["calib"],
            "preprocess": "float32 pixel / 255 (no other normalization)",
            "ops": ops,
            "fp32_top1": round(top1, 4),
            "test_images": int(len(test_y)),
            "onnx_vs_torch_max_abs_diff": float("%.3g" % max_diff),
            "logits_first10": [[float("%.7g" % v) for v in row]
                               for row in logits[:N_LOGITS].tolist()],
        }

    ordered = {k: results[k] for k in SPECS if k in results}
    with open(acc_path, "w") as f:
        json.dump(ordered, f, indent=2)
        f.write("\n")
    print("wrote models/accuracy.json")


if __name__ == "__main__":
    sys.exit(main())
