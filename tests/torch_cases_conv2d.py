"""PyTorch references for conv2d (tests/test_conv2d.cpp): odd, rectangular shapes covering stride,
padding, dilation, rectangular kernels, 1x1 kernels and a missing bias; grouped and depthwise convolutions
(EfficientNet's 3x3 and 5x5, stride 1 and 2, depth multiplier 2)."""
import torch
import torch.nn.functional as F

from torch_common import both_dtypes, forward_backward, randn

# name: (N, C, H, W, K, R, S, stride, padding, dilation, bias[, groups])
CASES = {
    "basic_3x3": (2, 3, 7, 9, 4, 3, 3, (1, 1), (1, 1), (1, 1), True),
    "stride2_pad1": (2, 3, 9, 6, 5, 3, 3, (2, 2), (1, 1), (1, 1), True),
    "rect_kernel_mixed": (3, 2, 8, 11, 3, 2, 3, (2, 1), (0, 1), (1, 2), False),
    "dilation2_pad2": (1, 4, 9, 7, 2, 3, 3, (1, 1), (2, 2), (2, 2), True),
    "pointwise": (2, 5, 6, 7, 3, 1, 1, (1, 1), (0, 0), (1, 1), True),
    "pointwise_stride2": (2, 5, 7, 6, 4, 1, 1, (2, 2), (0, 0), (1, 1), False),
    "stem_7x7_s2": (2, 3, 17, 15, 4, 7, 7, (2, 2), (3, 3), (1, 1), False),
    "grouped_3": (2, 6, 7, 8, 9, 3, 3, (1, 1), (1, 1), (1, 1), True, 3),
    "grouped_2_s2": (2, 4, 9, 7, 6, 3, 2, (2, 1), (1, 0), (1, 1), False, 2),
    "depthwise_3x3": (2, 5, 9, 11, 5, 3, 3, (1, 1), (1, 1), (1, 1), True, 5),
    "depthwise_5x5_s2": (2, 4, 12, 13, 4, 5, 5, (2, 2), (2, 2), (1, 1), False, 4),
    "depthwise_mult2_dil2": (2, 3, 9, 8, 6, 3, 3, (1, 1), (2, 2), (2, 2), True, 3),
}


def cases():
    for i, (name, spec) in enumerate(CASES.items()):
        N, C, H, W, K, R, S, stride, padding, dilation, bias = spec[:11]
        groups = spec[11] if len(spec) > 11 else 1
        params = {"stride": stride, "padding": padding, "dilation": dilation, "bias": bias, "groups": groups}

        def make(dtype, i=i, N=N, C=C, H=H, W=W, K=K, R=R, S=S, stride=stride, padding=padding,
                 dilation=dilation, bias=bias, groups=groups):
            inputs = {"x": randn((N, C, H, W), 100 * i + 1, dtype),
                      "w": randn((K, C // groups, R, S), 100 * i + 2, dtype)}
            names = ["x", "w"]
            if bias:
                inputs["b"] = randn((K,), 100 * i + 3, dtype)
                names.append("b")
            fn = lambda x, w, b=None: F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation,
                                               groups=groups)
            return forward_backward(fn, inputs, names, 100 * i)

        yield from both_dtypes(name, params, make)
