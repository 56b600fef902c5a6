#!/usr/bin/python3
"""The peer of `skinnet bench-loader`: torchvision's input pipeline on the same HAM10000-format folder.

    /usr/bin/python3 bench/torch_loader.py --data build/bench-loader/data --workers 2 --batch 32

PIL decodes each JPEG, torchvision's RandomResizedCrop(224) and RandomHorizontalFlip (plus rotation, affine
and colour jitter with --augment heavy, the settings bench-loader uses), ToTensor and Normalize with the
ImageNet statistics; a torch DataLoader with the same number of worker processes and batch size. Times one
epoch after an untimed warm-up epoch and prints `images/s N`.
"""
import argparse
import csv
import glob
import os
import time

import torch
import torchvision.transforms as T
from PIL import Image


class Folder(torch.utils.data.Dataset):
    def __init__(self, root, transform):
        with open(os.path.join(root, "HAM10000_metadata.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        found = {os.path.splitext(os.path.basename(p))[0]: p for p in glob.glob(os.path.join(root, "HAM10000_images*", "*.jpg"))}
        self.items = [(found[r["image_id"]], r["dx"]) for r in rows]
        self.classes = sorted({dx for _, dx in self.items})
        self.transform = transform

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, dx = self.items[i]
        return self.transform(Image.open(path).convert("RGB")), self.classes.index(dx)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--augment", default="default", choices=["default", "heavy"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    steps = [T.RandomResizedCrop(224), T.RandomHorizontalFlip()]
    if args.augment == "heavy":
        steps += [T.RandomVerticalFlip(), T.RandomAffine(30, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=10),
                  T.ColorJitter(0.2, 0.2, 0.2, 0.05)]
    steps += [T.ToTensor(), T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))]
    dataset = Folder(args.data, T.Compose(steps))
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch, shuffle=True, num_workers=args.workers,
                                         persistent_workers=args.workers > 0)
    for _ in loader:  # warm-up: worker start, file cache
        pass
    start = time.perf_counter()
    for _ in loader:
        pass
    print(f"images/s {len(dataset) / (time.perf_counter() - start):.1f}")


if __name__ == "__main__":
    main()
