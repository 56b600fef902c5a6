#!/usr/bin/python3
"""Learnability check of `skinnet synth` data: is the synthetic task learnable, but not trivially?

Trains a small CNN (3 conv blocks, global average pooling, a linear layer; about 25k parameters) with
PyTorch on images downsampled to 64x64, on a lesion-grouped split (80% of lesions for training, 20% held
out, so no lesion has images on both sides), and prints accuracy, balanced accuracy (mean per-class recall),
per-class recall and the confusion matrix next to the majority-class baseline.

This is a sanity check of the generator, not part of the test suite and not a benchmark of skinnet (which
trains with its own C++ code). Usage:

    build/skinnet synth --out /tmp/synth2000 --images 2000 --seed 0
    /usr/bin/python3 tools/synth_check.py /tmp/synth2000 [--epochs 25] [--size 64] [--seed 0]

The figures for 2000 images are in docs/synthetic-data.md.
"""
import argparse
import csv
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

CLASSES = ["mel", "nv", "bcc", "akiec", "bkl", "df", "vasc"]


def load(folder, size):
    rows = list(csv.DictReader(open(os.path.join(folder, "HAM10000_metadata.csv"))))
    images = np.zeros((len(rows), 3, size, size), dtype=np.float32)
    for i, r in enumerate(rows):
        img = Image.open(os.path.join(folder, "HAM10000_images", r["image_id"] + ".jpg")).convert("RGB")
        img = img.resize((size, size), Image.BILINEAR)
        images[i] = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
    labels = np.array([CLASSES.index(r["dx"]) for r in rows])
    lesions = [r["lesion_id"] for r in rows]
    return images, labels, lesions


def grouped_split(lesions, seed, held_out=0.2):
    unique = sorted(set(lesions))
    random.Random(seed).shuffle(unique)
    test_lesions = set(unique[: int(len(unique) * held_out)])
    test = np.array([lesion in test_lesions for lesion in lesions])
    return np.where(~test)[0], np.where(test)[0]


def small_cnn():
    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]

    return nn.Sequential(*block(3, 16), *block(16, 32), *block(32, 48), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(48, len(CLASSES)))


def evaluate(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 256]).argmax(1) for i in range(0, len(x), 256)])
    confusion = np.zeros((len(CLASSES), len(CLASSES)), dtype=int)
    for t, p in zip(y.tolist(), pred.tolist()):
        confusion[t, p] += 1
    recall = [confusion[c, c] / confusion[c].sum() for c in range(len(CLASSES)) if confusion[c].sum() > 0]
    return (pred == y).float().mean().item(), float(np.mean(recall)), confusion


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    start = time.time()
    images, labels, lesions = load(args.folder, args.size)
    train, test = grouped_split(lesions, args.seed)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    mean = x[train].mean(dim=(0, 2, 3), keepdim=True)
    std = x[train].std(dim=(0, 2, 3), keepdim=True)
    x = (x - mean) / std
    print(f"{len(labels)} images, {len(set(lesions))} lesions; train {len(train)} images, held out {len(test)} "
          f"(lesion-grouped); loaded in {time.time() - start:.1f} s")

    model = small_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.epochs * ((len(train) + 31) // 32))
    gen = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        model.train()
        order = torch.from_numpy(train)[torch.randperm(len(train), generator=gen)]
        total = 0.0
        for i in range(0, len(order), 32):
            idx = order[i:i + 32]
            xb = x[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5  # horizontal flips; rotations are in the data
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = nn.functional.cross_entropy(model(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        acc, bacc, _ = evaluate(model, x[test], y[test])
        print(f"epoch {epoch + 1:2d}: train loss {total / len(train):.3f}, held-out accuracy {acc:.3f}, "
              f"balanced accuracy {bacc:.3f}")

    acc, bacc, confusion = evaluate(model, x[test], y[test])
    counts = np.bincount(labels[test], minlength=len(CLASSES))
    majority = counts.max() / counts.sum()
    print(f"\nheld out: accuracy {acc:.3f} (majority class {CLASSES[counts.argmax()]}: {majority:.3f}), "
          f"balanced accuracy {bacc:.3f} (chance {1 / len(CLASSES):.3f})")
    print("confusion (rows true, columns predicted): " + " ".join(f"{c:>5}" for c in CLASSES))
    for c in range(len(CLASSES)):
        recall = confusion[c, c] / max(1, confusion[c].sum())
        print(f"  {CLASSES[c]:>6} recall {recall:.2f}  " + " ".join(f"{n:5d}" for n in confusion[c]))
    print(f"total {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
