#!/usr/bin/env python3
"""Train the Fashion-MNIST backbone that latencylab's early-exit work (issue #4) caches.

One-off asset builder: the product and its tests never run Python; they use the ONNX file this
writes (assets/models/fmnist-vgg7.onnx) and its sidecar JSON (accuracy, training settings).

Needs Debian's python3-torch and python3-onnx (run with /usr/bin/python3) and the Fashion-MNIST IDX
files (../shared/data/fashion-mnist or Debian's dataset-fashion-mnist). Usage:
  /usr/bin/python3 scripts/train_fmnist_backbone.py [--data DIR] [--epochs 15] [--out assets/models]
"""
import argparse, gzip, json, os, struct, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training-set pixel statistics (pixels scaled to [0,1])


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic = struct.unpack(">I", f.read(4))[0]
        ndim = magic & 0xFF
        dims = struct.unpack(">" + "I" * ndim, f.read(4 * ndim))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def find(data_dir, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(data_dir, name)
        if os.path.exists(p):
            return p
    raise SystemExit(f"error: {stem}(.gz) not found in {data_dir}")


class Stage(nn.Module):
    def __init__(self, cin, cout, pool):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.pool = pool

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        return F.max_pool2d(x, 2) if self.pool else x


class VGG7(nn.Module):
    """Seven 3x3 conv stages (VGG-style), global average pooling, one linear classifier.
    Input: N x 1 x 28 x 28 pixels in [0, 1]; normalisation is part of the graph. Output: logits."""
    WIDTHS = [(1, 32, False), (32, 32, True), (32, 64, False), (64, 64, True),
              (64, 128, False), (128, 128, False), (128, 128, False)]

    def __init__(self):
        super().__init__()
        self.stages = nn.Sequential(*[Stage(a, b, p) for a, b, p in self.WIDTHS])
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = (x - MEAN) / STD
        x = self.stages(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(self.drop(x))


def augment(x):
    # random 2-pixel shifts (pad + crop) and horizontal flips
    n = x.shape[0]
    padded = F.pad(x, (2, 2, 2, 2))
    dx, dy = np.random.randint(0, 5, n), np.random.randint(0, 5, n)
    out = torch.stack([padded[i, :, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28] for i in range(n)])
    flip = torch.from_numpy(np.random.rand(n) < 0.5)
    out[flip] = out[flip].flip(3)
    return out


def evaluate(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data", "fashion-mnist"))
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--out", default=os.path.join(here, "..", "assets", "models"))
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(2)

    xtr = torch.from_numpy(read_idx(find(args.data, "train-images-idx3-ubyte")).astype(np.float32) / 255).unsqueeze(1)
    ytr = torch.from_numpy(read_idx(find(args.data, "train-labels-idx1-ubyte")).astype(np.int64))
    xte = torch.from_numpy(read_idx(find(args.data, "t10k-images-idx3-ubyte")).astype(np.float32) / 255).unsqueeze(1)
    yte = torch.from_numpy(read_idx(find(args.data, "t10k-labels-idx1-ubyte")).astype(np.int64))

    model = VGG7()
    batch = 128
    steps = args.epochs * ((len(xtr) + batch - 1) // batch)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps, pct_start=0.2)
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), batch):
            idx = perm[i:i + batch]
            loss = F.cross_entropy(model(augment(xtr[idx])), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        acc = evaluate(model, xte, yte)
        print(f"epoch {epoch + 1}/{args.epochs}  loss {loss.item():.3f}  test acc {acc:.4f}  {time.time() - t0:.0f}s", flush=True)

    model.eval()
    acc = evaluate(model, xte, yte)
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "fmnist-vgg7.onnx")
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), onnx_path, opset_version=13,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=True)
    meta = {
        "name": "fmnist-vgg7",
        "description": "VGG-style CNN, 7 conv stages (3x3 conv + BN + ReLU, max-pool after stages 2 and 4), GAP, linear",
        "input": {"name": "image", "shape": [1, 28, 28], "scale": "pixels / 255 (normalisation is inside the graph)"},
        "output": {"name": "logits", "kind": "logits"},
        "classes": CLASSES,
        "testAccuracy": round(acc, 4),
        "testSet": "Fashion-MNIST t10k (10,000 images)",
        "training": {"epochs": args.epochs, "batch": batch, "optimizer": "SGD nesterov, one-cycle max lr 0.1, wd 5e-4",
                     "augmentation": "2-px shifts, horizontal flips", "seed": args.seed,
                     "seconds": round(time.time() - t0), "torch": torch.__version__},
        "script": "scripts/train_fmnist_backbone.py",
    }
    with open(os.path.join(args.out, "fmnist-vgg7.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(f"wrote {onnx_path}  test accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
