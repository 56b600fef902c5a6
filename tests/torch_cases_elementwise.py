"""PyTorch references for the elementwise ops (tests/test_elementwise.cpp, tests/test_elementwise_unary.cpp):
binary ops with broadcasting on either side, against a 0-dim tensor and through a transposed view; the
scalar ops; the unary ops. Inputs are moved off kinks and singularities: divisors, log/sqrt/rdiv inputs
and pow bases are positive and at least 0.5; relu inputs are at least 0.1 away from 0.

params: op; for binary ops a_shape/b_shape as generated; transpose_a: the C++ test passes a.transpose(0, 1)
(PyTorch: a.t()), so `a` is stored transposed and `da` has its stored shape; scalar for scalar ops."""
import torch

from torch_common import both_dtypes, forward_backward, randn

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": torch.pow,
}

# name: (a shape, b shape, transpose a); shapes as stored, so a transposed `a` of [5, 3] reads as [3, 5].
BINARY_SHAPES = {
    "same": ((3, 5), (3, 5), False),
    "b_broadcast": ((2, 3, 4), (3, 1), False),
    "a_broadcast": ((3, 1), (2, 3, 4), False),
    "both_broadcast": ((4, 1, 5), (3, 1), False),
    "b_0dim": ((2, 3), (), False),
    "a_transposed": ((5, 3), (1, 5), True),
}

# name: (op, scalar, positive input)
SCALAR = {
    "add_scalar": ("add_scalar", 2.5, False),
    "sub_scalar": ("sub_scalar", -1.75, False),
    "rsub": ("rsub", 3.0, False),
    "mul_scalar": ("mul_scalar", -0.6, False),
    "div_scalar": ("div_scalar", 3.0, False),
    "rdiv": ("rdiv", -2.0, True),
    "pow_scalar_2": ("pow_scalar", 2.0, False),
    "pow_scalar_3": ("pow_scalar", 3.0, False),
    "pow_scalar_half": ("pow_scalar", 0.5, True),
    "pow_scalar_neg": ("pow_scalar", -1.5, True),
    "pow_scalar_0": ("pow_scalar", 0.0, False),
}
SCALAR_FN = {
    "add_scalar": lambda x, s: x + s,
    "sub_scalar": lambda x, s: x - s,
    "rsub": lambda x, s: s - x,
    "mul_scalar": lambda x, s: x * s,
    "div_scalar": lambda x, s: x / s,
    "rdiv": lambda x, s: s / x,
    "pow_scalar": lambda x, s: torch.pow(x, s),
}

# name: (function, input domain)
UNARY = {
    "neg": (torch.neg, "any"),
    "exp": (torch.exp, "any"),
    "log": (torch.log, "positive"),
    "sqrt": (torch.sqrt, "positive"),
    "relu": (torch.relu, "off_zero"),
    "sigmoid": (torch.sigmoid, "wide"),
    "tanh": (torch.tanh, "wide"),
    "silu": (torch.nn.functional.silu, "wide"),
}


def draw(shape, seed, dtype, domain):
    x = randn(shape, seed, torch.float64)
    if domain == "positive":
        x = x.abs() + 0.5
    elif domain == "off_zero":
        x = x + 0.1 * torch.sign(x)
    elif domain == "wide":
        x = 3 * x
    return x.to(dtype)


def binary_cases(seed):
    for op, fn in BINARY.items():
        for shape_name, (a_shape, b_shape, transpose_a) in BINARY_SHAPES.items():
            seed += 10
            params = {"op": op, "transpose_a": transpose_a}

            def make(dtype, seed=seed, op=op, fn=fn, a_shape=a_shape, b_shape=b_shape, transpose_a=transpose_a):
                a = draw(a_shape, seed + 1, dtype, "positive" if op == "pow" else "any")
                b = draw(b_shape, seed + 2, dtype, "positive" if op == "div" else "any")
                f = (lambda a, b: fn(a.t(), b)) if transpose_a else (lambda a, b: fn(a, b))
                return forward_backward(f, {"a": a, "b": b}, ["a", "b"], seed)

            yield from both_dtypes(f"{op}_{shape_name}", params, make)


def scalar_cases(seed):
    for name, (op, s, positive) in SCALAR.items():
        for transpose in (False, True):
            seed += 10
            params = {"op": op, "scalar": s, "transpose_a": transpose}

            def make(dtype, seed=seed, op=op, s=s, positive=positive, transpose=transpose):
                a = draw((4, 7) if transpose else (3, 4, 5), seed + 1, dtype, "positive" if positive else "any")
                f = (lambda a: SCALAR_FN[op](a.t(), s)) if transpose else (lambda a: SCALAR_FN[op](a, s))
                return forward_backward(f, {"a": a}, ["a"], seed)

            yield from both_dtypes(f"{name}{'_transposed' if transpose else ''}", params, make)


def unary_cases(seed):
    for op, (fn, domain) in UNARY.items():
        for transpose in (False, True):
            seed += 10
            params = {"op": op, "transpose_a": transpose}

            def make(dtype, seed=seed, fn=fn, domain=domain, transpose=transpose):
                a = draw((6, 5) if transpose else (3, 7, 2), seed + 1, dtype, domain)
                f = (lambda a: fn(a.t())) if transpose else (lambda a: fn(a))
                return forward_backward(f, {"a": a}, ["a"], seed)

            yield from both_dtypes(f"{op}{'_transposed' if transpose else ''}", params, make)


def cases():
    yield from binary_cases(1000)
    yield from scalar_cases(2000)
    yield from unary_cases(3000)
