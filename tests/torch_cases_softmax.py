"""PyTorch references for softmax and log_softmax (tests/test_softmax.cpp): a 3x4x5 input along each dim,
negative dims included, and a transposed (non-contiguous) input."""
import torch
import torch.nn.functional as F

from torch_common import both_dtypes, forward_backward, randn

# name: (dim, transposed); transposed cases apply the op to x.transpose(0, -1).
CASES = {
    "dim0": (0, False),
    "dim1": (1, False),
    "dim2": (2, False),
    "dim_neg1": (-1, False),
    "dim_neg2": (-2, False),
    "dim_neg3": (-3, False),
    "transposed_dim0": (0, True),
    "transposed_dim_neg1": (-1, True),
}
OPS = {"softmax": F.softmax, "log_softmax": F.log_softmax}


def cases():
    i = 0
    for op, f in OPS.items():
        for name, (dim, transposed) in CASES.items():
            i += 1
            params = {"op": op, "dim": dim, "transposed": transposed}

            def make(dtype, i=i, f=f, dim=dim, transposed=transposed):
                # Scaled by 3 so rows are far from uniform and the largest logit dominates.
                inputs = {"x": randn((3, 4, 5), 100 * i + 1, dtype) * 3}
                fn = lambda x: f(x.transpose(0, -1) if transposed else x, dim=dim)
                return forward_backward(fn, inputs, ["x"], 100 * i)

            yield from both_dtypes(f"{op}_{name}", params, make)
