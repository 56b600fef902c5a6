"""PyTorch references for the reductions (tests/test_reduce.cpp): sum and mean over all dimensions and
over dimension lists (negative entries, keepdim true and false, a transposed input), max over all
elements, max and argmax along one dimension (values, int64 indices) and sum_to (torch's sum_to_size).

params: op; dims (null: the overload without dims); keepdim; transpose: the C++ test passes
x.transpose(0, 2) (PyTorch: x.transpose(0, 2)), so `dx` has x's stored shape; shape for sum_to.
Inputs are standard normal, so max sees no ties."""
import torch

from torch_common import both_dtypes, forward_backward, randn

# name: (dims, keepdim, transpose), for sum and mean on x [3, 4, 5]
DIMS = {
    "all": (None, False, False),
    "d1": ([1], False, False),
    "d1_keep": ([1], True, False),
    "d0_d2": ([0, 2], False, False),
    "d0_d2_keep": ([0, 2], True, False),
    "dneg1": ([-1], False, False),
    "dneg3_dneg1_keep": ([-3, -1], True, False),
    "d2_d0_d1": ([2, 0, 1], False, False),
    "transposed_d0": ([0], False, True),
    "transposed_d1_d2_keep": ([1, 2], True, True),
}

# name: (dim, keepdim, transpose), for max and argmax on x [3, 4, 5]
MAX_DIMS = {
    "d0": (0, False, False),
    "d1": (1, False, False),
    "d1_keep": (1, True, False),
    "dneg1": (-1, False, False),
    "d2_keep": (2, True, False),
    "transposed_d1": (1, False, True),
}

# name: (x shape, target shape)
SUM_TO = {
    "lead_and_inner": ((2, 3, 4), (3, 1)),
    "lead_only": ((2, 3, 4), (4,)),
    "keep_middle": ((2, 3, 4), (1, 3, 1)),
    "all_to_1": ((3, 5), (1,)),
    "same": ((2, 3, 4), (2, 3, 4)),
}


def view(x, transpose):
    return x.transpose(0, 2) if transpose else x


def sum_mean_cases(seed):
    for op, fn in (("sum", torch.sum), ("mean", torch.mean)):
        for name, (dims, keepdim, transpose) in DIMS.items():
            seed += 10
            params = {"op": op, "dims": dims, "keepdim": keepdim, "transpose": transpose}

            def make(dtype, seed=seed, fn=fn, dims=dims, keepdim=keepdim, transpose=transpose):
                f = (lambda x: fn(view(x, transpose))) if dims is None else (
                    lambda x: fn(view(x, transpose), dim=dims, keepdim=keepdim))
                return forward_backward(f, {"x": randn((3, 4, 5), seed + 1, dtype)}, ["x"], seed)

            yield from both_dtypes(f"{op}_{name}", params, make)


def max_cases(seed):
    params = {"op": "max_all", "dims": None, "keepdim": False, "transpose": False}
    make = lambda dtype: forward_backward(lambda x: torch.max(x), {"x": randn((4, 7), seed + 1, dtype)}, ["x"], seed)
    yield from both_dtypes("max_all", params, make)
    for name, (dim, keepdim, transpose) in MAX_DIMS.items():
        seed += 10
        params = {"op": "max_dim", "dim": dim, "keepdim": keepdim, "transpose": transpose}

        def make(dtype, seed=seed, dim=dim, keepdim=keepdim, transpose=transpose):
            x = randn((3, 4, 5), seed + 1, dtype)
            out = forward_backward(lambda x: torch.max(view(x, transpose), dim, keepdim).values, {"x": x}, ["x"], seed)
            out["indices"] = torch.max(view(x, transpose), dim, keepdim).indices
            out["argmax"] = torch.argmax(view(x, transpose), dim, keepdim)
            return out

        yield from both_dtypes(f"max_{name}", params, make)


def sum_to_cases(seed):
    for name, (shape, target) in SUM_TO.items():
        seed += 10
        params = {"op": "sum_to", "shape": target}

        def make(dtype, seed=seed, shape=shape, target=target):
            return forward_backward(lambda x: x.sum_to_size(target), {"x": randn(shape, seed + 1, dtype)}, ["x"], seed)

        yield from both_dtypes(f"sum_to_{name}", params, make)


def cases():
    yield from sum_mean_cases(5000)
    yield from max_cases(6000)
    yield from sum_to_cases(7000)
