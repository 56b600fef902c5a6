#!/usr/bin/python3
"""PyTorch's side of `make bench-compare`: the same step as `skinnet bench-model` (bench/model_step.h).

    /usr/bin/python3 bench/torch_model.py --arch resnet50 --mode train --batch 8 [--warmup 1] [--steps 3]

torchvision's architecture with 7 classes, random N(0, 1) images, 2 threads (torch.set_num_threads), float32,
contiguous (NCHW) memory format unless --channels-last. Modes:
  inference  model.eval() under torch.no_grad(): forward only
  train      model.train(): forward, cross-entropy, zero_grad(set_to_none), backward, SGD(momentum 0.9) step
  frozen     every parameter frozen but the head (fc / classifier), batch norms in eval mode
Prints one JSON line: step times, images/s (batch / median step), peak RSS (getrusage) in MiB.
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn.functional as F
import torchvision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="resnet50")
    ap.add_argument("--mode", default="train", choices=["inference", "train", "frozen"])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--input", type=int, default=224)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels-last", action="store_true")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = getattr(torchvision.models, a.arch)(num_classes=7)
    images = torch.randn(a.batch, 3, a.input, a.input)
    labels = torch.randint(0, 7, (a.batch,))
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)

    optimizer = None
    if a.mode == "inference":
        model.eval()
    else:
        model.train()
        if a.mode == "frozen":
            head = model.fc if hasattr(model, "fc") else model.classifier
            for p in model.parameters():
                p.requires_grad_(False)
            for p in head.parameters():
                p.requires_grad_(True)
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.eval()
        optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)

    def step():
        if optimizer is None:
            with torch.no_grad():
                model(images)
            return
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(a.warmup):
        step()
    ms = []
    for _ in range(a.steps):
        t = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t) * 1e3)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"arch": a.arch, "mode": a.mode, "batch": a.batch, "threads": torch.get_num_threads(),
                      "step_ms": [round(x, 1) for x in ms], "ips": a.batch * 1e3 / statistics.median(ms),
                      "rss_mb": round(rss_mb, 1), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
