#!/usr/bin/env python3
"""make_models.py: exports the real models the ONNX tests compile, with fixed
seeds and random weights (no trained weights can be downloaded here), using
Debian's python3 with torch and torchvision.

  /usr/bin/python3 scripts/make_models.py OUT_DIR [--batch B] [NAME...]

NAME is one of mlp, mobilenet_v2, resnet18, bert_layer (default: all).  For
each it writes OUT_DIR/NAME.onnx, OUT_DIR/NAME.input.npy (the input, whose
graph name is `x`) and OUT_DIR/NAME.ref.npy (PyTorch's output for it).  The
.onnx files are build products: never commit them.  --batch B (default 1)
exports with a batch of B instead, into OUT_DIR/NAME_bB.* (same weights).

  mlp           the seed MLP: 784-128-10 with ReLU (Gemm)
  mobilenet_v2  torchvision MobileNetV2, 1x3x224x224 (Conv, Clip, Add, ...)
  resnet18      torchvision ResNet-18, 1x3x224x224
  bert_layer    one BERT-base encoder layer: hidden 768, 12 heads, seq 128
                (MatMul, Softmax, LayerNormalization, Erf GELU); exported with
                gradients enabled so that PyTorch does not take its fused
                inference fast path (which exports as opaque ops)
"""
import math
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

OPSET = 17


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc0 = nn.Linear(784, 128)
        self.fc1 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc1(torch.relu(self.fc0(x)))


class BertLayer(nn.Module):
    """BertLayer of Hugging Face transformers, inference (no dropout)."""

    def __init__(self, hidden=768, heads=12, inter=3072):
        super().__init__()
        self.heads, self.dh = heads, hidden // heads
        self.q = nn.Linear(hidden, hidden)
        self.k = nn.Linear(hidden, hidden)
        self.v = nn.Linear(hidden, hidden)
        self.attn_out = nn.Linear(hidden, hidden)
        self.ln1 = nn.LayerNorm(hidden, eps=1e-12)
        self.inter = nn.Linear(hidden, inter)
        self.out = nn.Linear(inter, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=1e-12)

    def split(self, t):
        b, s, _ = t.shape
        return t.view(b, s, self.heads, self.dh).permute(0, 2, 1, 3)

    def forward(self, x):
        b, s, h = x.shape
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh)
        probs = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(b, s, h)
        a = self.ln1(self.attn_out(ctx) + x)
        i = nn.functional.gelu(self.inter(a))
        return self.ln2(self.out(i) + a)


def randomize_bn(model, gen):
    """Random running statistics, so that batch norm is not an identity."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def build(name, batch=1):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    if name == "mlp":
        return MLP(), torch.rand(batch, 784, generator=gen)
    if name in ("mobilenet_v2", "resnet18"):
        import torchvision

        model = getattr(torchvision.models, name)(weights=None)
        with torch.no_grad():
            randomize_bn(model, gen)
        return model, torch.rand(batch, 3, 224, 224, generator=gen)
    if name == "bert_layer":
        return BertLayer(), torch.randn(batch, 128, 768, generator=gen)
    raise SystemExit(f"make_models.py: unknown model '{name}'")


def export(name, out_dir, batch=1):
    model, x = build(name, batch)
    model.eval()
    if batch != 1:
        name = "%s_b%d" % (name, batch)
    path = os.path.join(out_dir, name + ".onnx")
    tmp = path + ".tmp"
    # gradients stay enabled during export (see bert_layer above)
    with torch.enable_grad():
        torch.onnx.export(model, (x,), tmp, input_names=["x"],
                          output_names=["y"], opset_version=OPSET,
                          do_constant_folding=True)
    with torch.no_grad():
        ref = model(x).numpy()
    np.save(os.path.join(out_dir, name + ".input.npy"), x.numpy())
    np.save(os.path.join(out_dir, name + ".ref.npy"), ref)
    os.replace(tmp, path)
    print(f"make_models.py: {path} (output {ref.shape})")


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    out_dir = sys.argv[1]
    args = sys.argv[2:]
    batch = 1
    if "--batch" in args:
        i = args.index("--batch")
        if i + 1 >= len(args) or not args[i + 1].isdigit() or int(args[i + 1]) < 1:
            raise SystemExit("make_models.py: --batch needs a positive integer")
        batch = int(args[i + 1])
        del args[i:i + 2]
    names = args or ["mlp", "mobilenet_v2", "resnet18", "bert_layer"]
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for n in names:
        export(n, out_dir, batch)


if __name__ == "__main__":
    main()
