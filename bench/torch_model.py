#!/usr/bin/python3
"""PyTorch's side of `make bench-compare`: the same step as `skinnet bench-model` (bench/model_step.h).

    /usr/bin/python3 bench/torch_model.py --arch resnet50 --mode train --batch 8 [--warmup 3] [--steps 3]

torchvision's architecture with 7 classes (the ones torchvision lacks, inception_resnet_v2 and resnet*_v1, from
weights/torch_models.py: timm's and Keras' networks in PyTorch), random N(0, 1) images at --input (auto: 299
for the Inceptions, else 224), 2 threads (torch.set_num_threads), float32, contiguous (NCHW) memory format
unless --channels-last. Modes:
  inference  model.eval() under torch.no_grad(): forward only
  train      model.train(): forward, cross-entropy (+ 0.4 x the auxiliary classifier's for inception_v3,
             torchvision's recipe), zero_grad(set_to_none), backward, SGD(momentum 0.9) step
  frozen     every parameter frozen but the head (fc / classifier), batch norms in eval mode
Prints one JSON line: step times, images/s (batch / median step), peak RSS (getrusage) in MiB.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "weights"))
import torch_models  # noqa: E402  timm's and Keras' architectures, as the tests use them


def build(arch):
    if arch == "inception_v3":
        return torchvision.models.inception_v3(num_classes=7, aux_logits=True, init_weights=True)
    if arch == "inception_resnet_v2" or arch.endswith("_v1"):
        return torch_models.build(arch, num_classes=7)
    return getattr(torchvision.models, arch)(num_classes=7)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="resnet50")
    ap.add_argument("--mode", default="train", choices=["inference", "train", "frozen"])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--input", default="auto")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels-last", action="store_true")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = build(a.arch)
    size = int(a.input) if a.input != "auto" else (299 if a.arch.startswith("inception") else 224)
    images = torch.randn(a.batch, 3, size, size)
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
            head = next(getattr(model, n) for n in ("fc", "classif", "classifier") if hasattr(model, n))
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
        out = model(images)
        if isinstance(out, tuple):  # torchvision's InceptionOutputs in training mode
            loss = F.cross_entropy(out.logits, labels) + 0.4 * F.cross_entropy(out.aux_logits, labels)
        else:
            loss = F.cross_entropy(out, labels)
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
