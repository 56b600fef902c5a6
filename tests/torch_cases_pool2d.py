"""PyTorch references for max_pool2d, avg_pool2d and adaptive_avg_pool2d (tests/test_pool2d.cpp):
the ResNet stem and VGG max pools, odd and rectangular shapes, dilation, count_include_pad, and the
ceil_mode edges (a last window that hangs past the input, past the padding, or would start in the
right padding and is dropped)."""
import torch.nn.functional as F

from torch_common import both_dtypes, forward_backward, randn

# name: (N, C, H, W, kernel, stride, padding, dilation, ceil_mode)
MAX = {
    "max_resnet_stem": (2, 3, 16, 14, (3, 3), (2, 2), (1, 1), (1, 1), False),
    "max_resnet_stem_odd": (2, 3, 17, 15, (3, 3), (2, 2), (1, 1), (1, 1), False),
    "max_vgg": (2, 4, 8, 10, (2, 2), (2, 2), (0, 0), (1, 1), False),
    "max_vgg_odd": (1, 3, 9, 7, (2, 2), (2, 2), (0, 0), (1, 1), False),
    "max_vgg_odd_ceil": (1, 3, 9, 7, (2, 2), (2, 2), (0, 0), (1, 1), True),
    "max_ceil_pad": (2, 2, 6, 8, (3, 3), (2, 2), (1, 1), (1, 1), True),
    "max_ceil_drops_window_in_pad": (2, 2, 5, 7, (2, 2), (2, 2), (1, 1), (1, 1), True),
    "max_dilation": (2, 2, 11, 9, (3, 3), (2, 1), (1, 0), (2, 1), False),
    "max_dilation_ceil": (1, 2, 10, 9, (2, 3), (3, 2), (1, 1), (2, 2), True),
    "max_rect_kernel": (2, 3, 10, 7, (3, 2), (2, 1), (1, 1), (1, 1), True),
}

# name: (N, C, H, W, kernel, stride, padding, ceil_mode, count_include_pad)
AVG = {
    "avg_2x2": (2, 3, 8, 6, (2, 2), (2, 2), (0, 0), False, True),
    "avg_pad_include": (2, 3, 7, 9, (3, 3), (2, 2), (1, 1), False, True),
    "avg_pad_exclude": (2, 3, 7, 9, (3, 3), (2, 2), (1, 1), False, False),
    "avg_ceil_past_pad_include": (2, 2, 5, 6, (3, 3), (2, 2), (1, 1), True, True),
    "avg_ceil_past_pad_exclude": (2, 2, 5, 6, (3, 3), (2, 2), (1, 1), True, False),
    "avg_ceil_no_pad": (1, 3, 7, 5, (2, 2), (2, 2), (0, 0), True, True),
    "avg_ceil_stride3": (2, 2, 8, 7, (3, 3), (3, 3), (0, 0), True, True),
    "avg_ceil_drops_window_in_pad": (2, 2, 5, 7, (2, 2), (2, 2), (1, 1), True, True),
    "avg_rect_exclude_ceil": (2, 3, 9, 8, (3, 2), (2, 1), (1, 0), True, False),
    "avg_rect_include": (2, 3, 9, 8, (2, 3), (1, 2), (1, 1), False, True),
}

# name: (N, C, H, W, output size)
ADAPTIVE = {
    "adaptive_7x5_to_3x2": (2, 3, 7, 5, (3, 2)),
    "adaptive_5x7_to_2x3": (2, 2, 5, 7, (2, 3)),
    "adaptive_larger": (2, 2, 3, 2, (5, 4)),
    "adaptive_mixed": (1, 3, 9, 4, (4, 6)),
    "adaptive_global": (2, 4, 7, 7, (1, 1)),
    "adaptive_identity": (1, 2, 4, 6, (4, 6)),
}


def pooled(name, i, params, shape, fn):
    def make(dtype):
        return forward_backward(fn, {"x": randn(shape, 100 * i + 1, dtype)}, ["x"], 100 * i)

    return both_dtypes(name, params, make)


def cases():
    i = 0
    for name, (N, C, H, W, k, s, p, d, ceil) in MAX.items():
        params = {"op": "max", "kernel": k, "stride": s, "padding": p, "dilation": d, "ceil_mode": ceil}
        fn = lambda x, k=k, s=s, p=p, d=d, ceil=ceil: F.max_pool2d(x, k, s, p, d, ceil_mode=ceil)
        yield from pooled(name, i, params, (N, C, H, W), fn)
        i += 1
    for name, (N, C, H, W, k, s, p, ceil, inc) in AVG.items():
        params = {"op": "avg", "kernel": k, "stride": s, "padding": p, "ceil_mode": ceil, "count_include_pad": inc}
        fn = lambda x, k=k, s=s, p=p, ceil=ceil, inc=inc: F.avg_pool2d(x, k, s, p, ceil, inc)
        yield from pooled(name, i, params, (N, C, H, W), fn)
        i += 1
    for name, (N, C, H, W, out) in ADAPTIVE.items():
        params = {"op": "adaptive_avg", "output_size": out}
        yield from pooled(name, i, params, (N, C, H, W), lambda x, out=out: F.adaptive_avg_pool2d(x, out))
        i += 1
