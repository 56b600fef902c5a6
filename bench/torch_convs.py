#!/usr/bin/python3
"""PyTorch's time for the convolutions `skinnet bench-ops` times, for orientation (docs/performance.md).

    /usr/bin/python3 bench/torch_convs.py [--batch 8] [--reps 3]

Same shapes as bench/bench_ops.cpp (ResNet-50 and VGG19 at 224x224), F.conv2d forward plus .backward()
(input gradient for every layer but the first), 2 threads, median of --reps after a warm-up.
"""
import argparse
import time

import torch
import torch.nn.functional as F

# name, occurrences, C, H, K, R, stride, padding: as kResNet50 / kVgg19 in bench/bench_ops.cpp
RESNET50 = [("conv1", 1, 3, 224, 64, 7, 2, 3), ("l1.conv1 first", 1, 64, 56, 64, 1, 1, 0),
            ("l1.conv1", 2, 256, 56, 64, 1, 1, 0), ("l1.conv2", 3, 64, 56, 64, 3, 1, 1),
            ("l1.conv3/down", 4, 64, 56, 256, 1, 1, 0), ("l2.conv1 first", 1, 256, 56, 128, 1, 1, 0),
            ("l2.conv2 s2", 1, 128, 56, 128, 3, 2, 1), ("l2.down s2", 1, 256, 56, 512, 1, 2, 0),
            ("l2.conv1", 3, 512, 28, 128, 1, 1, 0), ("l2.conv2", 3, 128, 28, 128, 3, 1, 1),
            ("l2.conv3", 4, 128, 28, 512, 1, 1, 0), ("l3.conv1 first", 1, 512, 28, 256, 1, 1, 0),
            ("l3.conv2 s2", 1, 256, 28, 256, 3, 2, 1), ("l3.down s2", 1, 512, 28, 1024, 1, 2, 0),
            ("l3.conv1", 5, 1024, 14, 256, 1, 1, 0), ("l3.conv2", 5, 256, 14, 256, 3, 1, 1),
            ("l3.conv3", 6, 256, 14, 1024, 1, 1, 0), ("l4.conv1 first", 1, 1024, 14, 512, 1, 1, 0),
            ("l4.conv2 s2", 1, 512, 14, 512, 3, 2, 1), ("l4.down s2", 1, 1024, 14, 2048, 1, 2, 0),
            ("l4.conv1", 2, 2048, 7, 512, 1, 1, 0), ("l4.conv2", 2, 512, 7, 512, 3, 1, 1),
            ("l4.conv3", 3, 512, 7, 2048, 1, 1, 0)]
VGG19 = [("conv1_1", 1, 3, 224, 64, 3, 1, 1), ("conv1_2", 1, 64, 224, 64, 3, 1, 1),
         ("conv2_1", 1, 64, 112, 128, 3, 1, 1), ("conv2_2", 1, 128, 112, 128, 3, 1, 1),
         ("conv3_1", 1, 128, 56, 256, 3, 1, 1), ("conv3_2-4", 3, 256, 56, 256, 3, 1, 1),
         ("conv4_1", 1, 256, 28, 512, 3, 1, 1), ("conv4_2-4", 3, 512, 28, 512, 3, 1, 1),
         ("conv5_1-4", 4, 512, 14, 512, 3, 1, 1)]


def median_ms(f, reps):
    f()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2] * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(2)
    for model, shapes in (("resnet50", RESNET50), ("vgg19", VGG19)):
        total = 0.0
        for _, count, C, H, K, R, stride, pad in shapes:
            x = torch.randn(args.batch, C, H, H, requires_grad=C != 3)
            w = torch.randn(K, C, R, R, requires_grad=True)
            dy = torch.randn_like(F.conv2d(x, w, None, stride, pad))

            def step():
                x.grad = w.grad = None
                F.conv2d(x, w, None, stride, pad).backward(dy)

            total += count * median_ms(step, args.reps)
        print(f"torch {torch.__version__} {model} all convolutions, forward + backward: {total:.1f} ms per batch of "
              f"{args.batch} = {args.batch * 1000 / total:.2f} images/s")


if __name__ == "__main__":
    main()
