"""Helpers for the tests/torch_cases_*.py reference generators."""
import torch


def randn(shape, seed, dtype):
    """Seeded standard-normal tensor, independent of any other draw."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)


def forward_backward(fn, inputs, differentiable, seed):
    """Runs y = fn(**inputs), then y.backward(dy) with a seeded dy.

    Returns the inputs, `y`, `dy` and `d<name>` for each name in `differentiable`: everything a C++ test
    needs to repeat the computation and compare each result.
    """
    leaves = {k: (v.clone().requires_grad_(True) if k in differentiable else v) for k, v in inputs.items()}
    y = fn(**leaves)
    dy = randn(y.shape, seed + 1000003, y.dtype)
    y.backward(dy)
    out = dict(inputs)
    out["y"] = y.detach()
    out["dy"] = dy
    for k in differentiable:
        out["d" + k] = leaves[k].grad
    return out


def both_dtypes(name, params, make):
    """Yields the case in float32 and float64: make(dtype) -> tensors."""
    for dtype, tag in ((torch.float32, "f32"), (torch.float64, "f64")):
        yield f"{name}_{tag}", dict(params, dtype=tag), make(dtype)
