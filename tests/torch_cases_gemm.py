"""PyTorch references for matmul and linear (tests/test_gemm.cpp).

matmul operands may be stored transposed (`ta`/`tb`: the stored tensor is the operand's transpose, used
through .transpose(-1, -2), which skinnet hands to GEMM as a transposed operand) and wider than used
(`pad_a`/`pad_b` extra columns, sliced off, so the leading dimension exceeds the row length). The
gradients are those of the stored tensors, zero in the sliced-off columns."""
import torch.nn.functional as F

from torch_common import both_dtypes, forward_backward, randn

# name: (B or None, M, K, N, ta, tb, pad_a, pad_b)
MATMUL = {
    "plain": (None, 5, 7, 3, False, False, 0, 0),
    "a_transposed": (None, 6, 4, 9, True, False, 0, 0),
    "b_transposed": (None, 3, 8, 5, False, True, 0, 0),
    "both_transposed": (None, 7, 5, 6, True, True, 0, 0),
    "sliced_ld": (None, 4, 6, 5, False, False, 3, 2),
    "sliced_transposed": (None, 5, 3, 4, True, True, 2, 3),
    "row_vector": (None, 1, 8, 5, False, True, 0, 0),
    "column_out": (None, 6, 4, 1, True, False, 0, 0),
    "outer_product": (None, 4, 1, 3, False, False, 0, 0),
    "blas_blocks": (None, 33, 65, 17, False, True, 0, 0),
    "batched": (3, 4, 6, 5, False, False, 0, 0),
    "batched_transposed": (2, 5, 3, 7, True, True, 0, 0),
    "batched_sliced": (2, 3, 4, 6, True, False, 1, 2),
}

# name: (x shape, out_features, bias)
LINEAR = {
    "linear_2d": ((7, 5), 3, True),
    "linear_no_bias": ((4, 6), 5, False),
    "linear_3d": ((2, 4, 6), 5, True),
    "linear_3d_no_bias": ((3, 2, 8), 4, False),
    "linear_single": ((1, 9), 1, True),
    "linear_wide": ((16, 64), 48, True),
}


def operand(stored, trans, used):
    """The operand a test uses: the first `used` columns of the stored tensor, transposed if `trans`."""
    t = stored[..., :used]
    return t.transpose(-1, -2) if trans else t


def matmul_cases():
    for i, (name, (B, M, K, N, ta, tb, pad_a, pad_b)) in enumerate(MATMUL.items()):
        params = {"op": "matmul", "ta": ta, "tb": tb, "a_cols": M if ta else K, "b_cols": K if tb else N}
        lead = () if B is None else (B,)
        a_shape = lead + ((K, M + pad_a) if ta else (M, K + pad_a))
        b_shape = lead + ((N, K + pad_b) if tb else (K, N + pad_b))

        def make(dtype, i=i, a_shape=a_shape, b_shape=b_shape, params=params):
            inputs = {"a": randn(a_shape, 100 * i + 1, dtype), "b": randn(b_shape, 100 * i + 2, dtype)}
            fn = lambda a, b: operand(a, params["ta"], params["a_cols"]) @ operand(b, params["tb"], params["b_cols"])
            return forward_backward(fn, inputs, ["a", "b"], 100 * i)

        yield from both_dtypes(name, params, make)


def linear_cases():
    for i, (name, (x_shape, out, bias)) in enumerate(LINEAR.items(), start=len(MATMUL)):
        params = {"op": "linear", "bias": bias}

        def make(dtype, i=i, x_shape=x_shape, out=out, bias=bias):
            inputs = {"x": randn(x_shape, 100 * i + 1, dtype), "w": randn((out, x_shape[-1]), 100 * i + 2, dtype)}
            names = ["x", "w"]
            if bias:
                inputs["b"] = randn((out,), 100 * i + 3, dtype)
                names.append("b")
            return forward_backward(lambda x, w, b=None: F.linear(x, w, b), inputs, names, 100 * i)

        yield from both_dtypes(name, params, make)


def cases():
    yield from matmul_cases()
    yield from linear_cases()
