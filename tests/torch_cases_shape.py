"""PyTorch references for cat, flatten, the differentiable views and copies (tests/test_shape.cpp), and the
deterministic cases of dropout (tests/test_dropout.cpp: p=0 and eval mode; the random mask cannot match
PyTorch's generator).

Every case but cat has one input x; with "transposed" the op applies to x.transpose(0, -1), a
non-contiguous view, so reshape must copy and view must work out strides. apply() is mirrored by
apply_view() in tests/test_shape.cpp."""
import torch
import torch.nn.functional as F

from torch_common import both_dtypes, forward_backward, randn

DTYPES = {"f32": torch.float32, "f64": torch.float64}

# name: (op, x shape, params)
CASES = {
    "reshape_infer": ("reshape", (3, 4, 5), {"shape": [5, -1, 2]}),
    "reshape_transposed_copy": ("reshape", (3, 4, 5), {"shape": [-1, 12], "transposed": True}),
    "view_merge": ("view", (3, 4, 5), {"shape": [12, 5]}),
    "view_transposed_split": ("view", (3, 4, 5), {"shape": [5, 2, 2, 3], "transposed": True}),
    "permute": ("permute", (3, 4, 5), {"order": [2, 0, 1]}),
    "permute_negative": ("permute", (3, 4, 5), {"order": [-1, -3, -2], "transposed": True}),
    "transpose_0_2": ("transpose", (3, 4, 5), {"dim0": 0, "dim1": 2}),
    "transpose_neg": ("transpose", (3, 4, 5), {"dim0": -1, "dim1": 1}),
    "slice_step2_negstart": ("slice", (3, 4, 5), {"dim": 1, "start": -3, "end": 4, "step": 2}),
    "slice_step3": ("slice", (3, 4, 5), {"dim": 2, "start": 0, "end": 5, "step": 3}),
    "slice_negend": ("slice", (3, 4, 5), {"dim": -1, "start": 1, "end": -1, "step": 1}),
    "slice_clamped": ("slice", (3, 4, 5), {"dim": 0, "start": -2, "end": 10, "step": 1, "transposed": True}),
    "select_neg": ("select", (3, 4, 5), {"dim": 1, "index": -1}),
    "select_last_dim": ("select", (3, 4, 5), {"dim": -1, "index": 2, "transposed": True}),
    "unsqueeze_0": ("unsqueeze", (3, 4, 5), {"dim": 0}),
    "unsqueeze_neg1": ("unsqueeze", (3, 4, 5), {"dim": -1}),
    "unsqueeze_mid": ("unsqueeze", (3, 4, 5), {"dim": 2, "transposed": True}),
    "squeeze_mid": ("squeeze", (3, 1, 5), {"dim": 1}),
    "squeeze_neg": ("squeeze", (3, 1, 5), {"dim": -2}),
    "squeeze_noop": ("squeeze", (3, 1, 5), {"dim": 0}),
    "expand_lead": ("expand", (3, 1, 5), {"shape": [2, 3, 4, 5]}),
    "expand_keep": ("expand", (1, 4, 1), {"shape": [3, -1, 5]}),
    "contiguous_copy": ("contiguous", (3, 4, 5), {"transposed": True}),
    "contiguous_noop": ("contiguous", (3, 4, 5), {}),
    "clone": ("clone", (3, 4, 5), {}),
    "clone_transposed": ("clone", (3, 4, 5), {"transposed": True}),
    "to_f64": ("to", (3, 4, 5), {"to": "f64"}),
    "to_f32": ("to", (3, 4, 5), {"to": "f32", "transposed": True}),
    "flatten_default": ("flatten", (2, 3, 4, 5), {"start_dim": 1, "end_dim": -1}),
    "flatten_front": ("flatten", (2, 3, 4, 5), {"start_dim": 0, "end_dim": 1}),
    "flatten_transposed": ("flatten", (2, 3, 4, 5), {"start_dim": -3, "end_dim": -2, "transposed": True}),
    "dropout_p0": ("dropout", (3, 4, 5), {"p": 0.0, "training": True}),
    "dropout_eval": ("dropout", (3, 4, 5), {"p": 0.5, "training": False}),
}

# name: (dim, shapes of a, b, c); NCHW like Inception's branches, different extents along dim.
CAT_CASES = {
    "cat_dim0": (0, [(1, 3, 4, 5), (2, 3, 4, 5), (3, 3, 4, 5)]),
    "cat_channels": (1, [(2, 2, 4, 5), (2, 3, 4, 5), (2, 1, 4, 5)]),
    "cat_last": (-1, [(2, 3, 4, 3), (2, 3, 4, 1), (2, 3, 4, 2)]),
}


def apply(op, p, x):
    if p.get("transposed"):
        x = x.transpose(0, -1)
    if op in ("reshape", "view", "expand"):
        return getattr(x, op)(p["shape"])
    if op == "permute":
        return x.permute(p["order"])
    if op == "transpose":
        return x.transpose(p["dim0"], p["dim1"])
    if op == "slice":
        index = [slice(None)] * x.dim()
        index[p["dim"]] = slice(p["start"], p["end"], p["step"])
        return x[tuple(index)]
    if op == "select":
        return x.select(p["dim"], p["index"])
    if op in ("unsqueeze", "squeeze"):
        return getattr(x, op)(p["dim"])
    if op in ("contiguous", "clone"):
        return getattr(x, op)()
    if op == "to":
        return x.to(DTYPES[p["to"]])
    if op == "flatten":
        return torch.flatten(x, p["start_dim"], p["end_dim"])
    if op == "dropout":
        return F.dropout(x, p["p"], training=p["training"])
    raise ValueError(op)


def cases():
    for i, (name, (op, shape, p)) in enumerate(CASES.items()):
        params = dict({"transposed": False}, op=op, **p)

        def make(dtype, i=i, op=op, shape=shape, params=params):
            inputs = {"x": randn(shape, 100 * i + 1, dtype)}
            return forward_backward(lambda x: apply(op, params, x), inputs, ["x"], 100 * i)

        yield from both_dtypes(name, params, make)
    for i, (name, (dim, shapes)) in enumerate(CAT_CASES.items(), start=len(CASES)):
        params = {"op": "cat", "dim": dim}

        def make(dtype, i=i, dim=dim, shapes=shapes):
            inputs = {k: randn(s, 100 * i + j, dtype) for j, (k, s) in enumerate(zip("abc", shapes))}
            return forward_backward(lambda a, b, c: torch.cat([a, b, c], dim), inputs, ["a", "b", "c"], 100 * i)

        yield from both_dtypes(name, params, make)
