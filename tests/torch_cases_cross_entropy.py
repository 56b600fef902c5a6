"""PyTorch references for cross_entropy (tests/test_cross_entropy.cpp): mean reduction with and without
class weights, label smoothing, the default ignore_index (-100) on some rows and an ignore_index that is a
valid class. Targets are int64 tensors stored with the case."""
import torch
import torch.nn.functional as F

from torch_common import both_dtypes, forward_backward, randn

# name: (N, C, weight, label_smoothing, ignore_index, ignored rows)
CASES = {
    "plain": (7, 5, False, 0.0, -100, [3]),
    "weighted": (7, 5, True, 0.0, -100, [0, 5]),
    "smoothed": (6, 4, False, 0.1, -100, [2]),
    "weighted_smoothed": (9, 6, True, 0.25, -100, [1, 8]),
    "ignore_valid_class": (8, 5, True, 0.2, 2, [4, 6]),
    "full_smoothing": (5, 3, True, 1.0, -100, [4]),
    "classifier_sized": (32, 10, False, 0.0, -100, []),
}


def make_target(N, C, ignore_index, ignored, seed):
    g = torch.Generator().manual_seed(seed)
    t = torch.randint(0, C, (N,), generator=g, dtype=torch.int64)
    t[ignored] = ignore_index
    return t


def cases():
    for i, (name, (N, C, weight, smoothing, ignore_index, ignored)) in enumerate(CASES.items()):
        params = {"weight": weight, "label_smoothing": smoothing, "ignore_index": ignore_index}

        def make(dtype, i=i, N=N, C=C, weight=weight, smoothing=smoothing, ignore_index=ignore_index, ignored=ignored):
            inputs = {"x": randn((N, C), 100 * i + 1, dtype) * 2, "target": make_target(N, C, ignore_index, ignored, 100 * i + 2)}
            if weight:
                inputs["weight"] = randn((C,), 100 * i + 3, dtype).abs() + 0.25
            fn = lambda x, target, weight=None: F.cross_entropy(
                x, target, weight=weight, ignore_index=ignore_index, label_smoothing=smoothing)
            return forward_backward(fn, inputs, ["x"], 100 * i)

        yield from both_dtypes(name, params, make)
