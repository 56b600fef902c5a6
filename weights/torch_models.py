"""PyTorch definitions of the networks (and flavours) torchvision lacks, with skinnet's state-dict keys.

They serve weights/convert.py (a file's keys and shapes are checked against them, as torchvision's models
are for torchvision's files) and the reference generators in tests/ (they are the PyTorch oracle the C++
models are compared with). build(arch, flavour, num_classes) makes any of them; parameters and buffers
are registered in the order of the contract (docs: the state-dict order is torchvision's/timm's).

- BatchNorm2dNoScale: Keras' BatchNormalization(scale=False), used by keras_applications' conv2d_bn in
  inception_v3.py and inception_resnet_v2.py: gamma is fixed at 1, so the state is bias (beta),
  running_mean, running_var, num_batches_tracked: PyTorch's BatchNorm2d without its weight.
- Inception-v3, flavour "torchvision": torchvision.models.Inception3 itself.
  Flavour "keras" (inception_v3_keras, after keras_applications/inception_v3.py, InceptionV3 and
  conv2d_bn): torchvision's module names and order, but every conv2d_bn's batch norm has no scale (eps
  1e-3, Keras' default), the 3x3/1 average pools in the mixed blocks are AveragePooling2D(padding='same'),
  which averages over the cells inside the map only (count_include_pad=False), no auxiliary classifier,
  and the head is GlobalAveragePooling2D + Dense 'predictions' (fc). Keras builds the branches in the
  same order as torchvision registers them (mixed0..mixed10 = Mixed_5b..Mixed_7c; e.g. mixed4's
  branch7x7 is 1x7 then 7x1, branch7x7dbl 7x1, 1x7, 7x1, 1x7, as torchvision's InceptionC).
- Inception-ResNet-v2 (InceptionResNetV2), after timm/models/inception_resnet_v2.py (InceptionResnetV2,
  Mixed_5b, Block35, Mixed_6a, Block17, Mixed_7a, Block8; ConvNormAct = conv without bias, batch norm eps
  1e-3, ReLU): stem, mixed_5b, repeat (10 x Block35, residual scale 0.17), mixed_6a, repeat_1 (20 x
  Block17, 0.10), mixed_7a, repeat_2 (9 x Block8, 0.20), block8 (scale 1, no ReLU), conv2d_7b, global
  average pool, dropout (0 by default), classif. Each block's residual up-projection `conv2d` is a 1x1
  convolution with a bias and no batch norm; mixed_5b's average pool excludes padding. Flavour "keras"
  (keras_applications/inception_resnet_v2.py, InceptionResNetV2, inception_resnet_block, conv2d_bn) is
  the same graph with conv2d_bn's BatchNormalization(scale=False).
- ResNetV1 (resnet50_v1/101_v1/152_v1), after keras_applications/resnet_common.py (ResNet, stack1, block1)
  and the older keras_applications/resnet50.py (ResNet50, conv_block, identity_block): bottlenecks whose
  first block in stages 2-4 strides on its FIRST 1x1 convolution and on the 1x1 shortcut (torchvision's
  v1.5 strides on the 3x3), every convolution has a bias (Conv2D's default), batch norm eps 1.001e-5
  (resnet_common; resnet50.py used Keras' default 1e-3), stem ZeroPadding2D(3) + 7x7/2 valid conv, max
  pool after ZeroPadding2D(1). Keys are torchvision's resnet50 names plus the convolutions' biases.

- DenseNet (densenet121/161/169/201), flavour "torchvision": torchvision.models.DenseNet itself. Flavour
  "keras" (keras_applications/densenet.py and keras/src/applications/densenet.py: DenseNet, dense_block,
  conv_block, transition_block; DenseNet121/169/201 only, Keras has no 161) is the same graph with every
  BatchNormalization's epsilon 1.001e-5 (and Keras' momentum): the stem's ZeroPadding2D(3) + valid 7x7/2
  convolution and ZeroPadding2D(1) + valid 3x3/2 max pool after the ReLU are torchvision's padded ones, each
  conv_block is BN, ReLU, 1x1 (4 x 32), BN, ReLU, 3x3 'same' (32) concatenated after its input, as
  torchvision's _DenseLayer, and each transition is BN, ReLU, 1x1 (half the channels), 2x2/2 average pool.
- EfficientNet (efficientnet_b0..b7), flavour "torchvision": torchvision's EfficientNet (V1 configurations,
  batch norm eps 1e-5 for b0-b4 and 1e-3, momentum 0.01 for b5-b7, as its builders), with dropout and
  stochastic depth settable. Flavour "keras" (keras_applications/efficientnet.py and
  keras/src/applications/efficientnet.py: EfficientNet, block) has the same modules, channels (round_filters
  = _make_divisible), depths (round_repeats), squeeze-and-excitation (max(1, filters_in // 4), swish, sigmoid),
  dropout and drop-connect rates, but every BatchNormalization keeps Keras' default epsilon 1e-3 (all
  variants) and momentum, and the stem convolution and the stride-2 depthwise convolutions are
  ZeroPadding2D(correct_pad(x, k)) + 'valid' rather than torchvision's symmetric k//2: correct_pad pads
  (k//2 - 1 + H%2, k//2) in H (and alike in W) when the input size is known when the model is built (an
  input_shape given, or include_top=True at the default size), which is exactly TensorFlow's 'SAME' padding
  and what the ImageNet weights were trained with, and (k//2 - 1, k//2) whatever the size when it is not
  (include_top=False without input_shape). Both agree whenever the map entering a stride-2 convolution has
  even size (every stride-2 layer of b0 at 224 px, and any input that is a multiple of 32); keras_pad
  chooses: "same" (default) or "fixed". Keras' Rescaling/Normalization input layers are preprocessing
  (weights/convert.py carries them into the metadata), not part of this network.

Keras counts "momentum" the other way round: BatchNormalization(momentum=0.99) keeps 0.99 of the running
statistic, which is PyTorch's momentum 0.01, so the Keras-derived models default to 0.01.
Initialisation is PyTorch's default; no_init() skips it where only keys and shapes are wanted.
"""
import contextlib
import math
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

KERAS_BN_MOMENTUM = 0.01  # Keras' BatchNormalization(momentum=0.99) in PyTorch's convention
RESNET_V1_LAYERS = {"resnet50_v1": [3, 4, 6, 3], "resnet101_v1": [3, 4, 23, 3], "resnet152_v1": [3, 8, 36, 3]}
# torchvision's DenseNet configurations: growth rate, layers per dense block, stem channels
DENSENET_CFGS = {"densenet121": (32, (6, 12, 24, 16), 64), "densenet161": (48, (6, 12, 36, 24), 96),
                 "densenet169": (32, (6, 12, 32, 32), 64), "densenet201": (32, (6, 12, 48, 32), 64)}
# torchvision's EfficientNet builders: width multiplier, depth multiplier, dropout before the classifier
# (Keras' EfficientNetB0..B7 use the same coefficients and dropout rates)
EFFICIENTNET_CFGS = {"efficientnet_b0": (1.0, 1.0, 0.2), "efficientnet_b1": (1.0, 1.1, 0.2),
                     "efficientnet_b2": (1.1, 1.2, 0.3), "efficientnet_b3": (1.2, 1.4, 0.3),
                     "efficientnet_b4": (1.4, 1.8, 0.4), "efficientnet_b5": (1.6, 2.2, 0.4),
                     "efficientnet_b6": (1.8, 2.6, 0.5), "efficientnet_b7": (2.0, 3.1, 0.5)}
KERAS_DENSENET_EPS = 1.001e-5  # densenet.py's BatchNormalization(epsilon=1.001e-5)
KERAS_EFFICIENTNET_EPS = 1e-3  # efficientnet.py keeps BatchNormalization's default epsilon
# The architectures torchvision lacks (weights/convert.py's NOTEBOOK_ARCHS)
ARCHS = ["inception_v3", "inception_resnet_v2"] + list(RESNET_V1_LAYERS)
FLAVOURS = {"inception_v3": ("torchvision", "keras"), "inception_resnet_v2": ("timm", "keras"),
            **{arch: ("keras",) for arch in RESNET_V1_LAYERS},
            **{arch: ("torchvision",) if arch == "densenet161" else ("torchvision", "keras") for arch in DENSENET_CFGS},
            **{arch: ("torchvision", "keras") for arch in EFFICIENTNET_CFGS}}


class BatchNorm2dNoScale(nn.Module):
    """Batch norm with a shift but no scale: y = (x - mean) / sqrt(var + eps) + bias (Keras' scale=False).

    Training mode normalises with the batch statistics and updates the running ones exactly as
    nn.BatchNorm2d does (F.batch_norm with weight None).
    """

    def __init__(self, num_features, eps=1e-3, momentum=0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def reset_running_stats(self):
        self.running_mean.zero_()
        self.running_var.fill_(1)
        self.num_batches_tracked.zero_()

    def forward(self, x):
        factor = 0.0
        if self.training:
            self.num_batches_tracked.add_(1)
            # momentum None: a cumulative average of the batch statistics, as in nn.BatchNorm2d
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        return F.batch_norm(x, self.running_mean, self.running_var, None, self.bias, self.training, factor, self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class ConvBN(nn.Module):
    """Convolution without bias -> batch norm -> ReLU: torchvision's BasicConv2d, timm's ConvNormAct and
    Keras' conv2d_bn all have this shape and these keys (conv.weight, bn.*)."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0, scale=True, eps=1e-3, momentum=0.1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps, momentum) if scale else BatchNorm2dNoScale(cout, eps, momentum)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def _avg3(x, include_pad):
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=include_pad)


# --- Inception-v3, Keras flavour (module names and order of torchvision's inception.py) ---------------

class _InceptionA(nn.Module):  # mixed0..2 / Mixed_5b..5d
    def __init__(self, unit, cin, pool_features, include_pad):
        super().__init__()
        self.include_pad = include_pad
        self.branch1x1 = unit(cin, 64, 1)
        self.branch5x5_1 = unit(cin, 48, 1)
        self.branch5x5_2 = unit(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = unit(cin, 64, 1)
        self.branch3x3dbl_2 = unit(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = unit(96, 96, 3, padding=1)
        self.branch_pool = unit(cin, pool_features, 1)

    def forward(self, x):
        return torch.cat([self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          self.branch_pool(_avg3(x, self.include_pad))], 1)


class _InceptionB(nn.Module):  # mixed3 / Mixed_6a
    def __init__(self, unit, cin):
        super().__init__()
        self.branch3x3 = unit(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = unit(cin, 64, 1)
        self.branch3x3dbl_2 = unit(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = unit(96, 96, 3, stride=2)

    def forward(self, x):
        return torch.cat([self.branch3x3(x), self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          F.max_pool2d(x, 3, stride=2)], 1)


class _InceptionC(nn.Module):  # mixed4..7 / Mixed_6b..6e
    def __init__(self, unit, cin, c7, include_pad):
        super().__init__()
        self.include_pad = include_pad
        self.branch1x1 = unit(cin, 192, 1)
        self.branch7x7_1 = unit(cin, c7, 1)
        self.branch7x7_2 = unit(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = unit(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = unit(cin, c7, 1)
        self.branch7x7dbl_2 = unit(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = unit(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = unit(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = unit(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = unit(cin, 192, 1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for m in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                  self.branch7x7dbl_5):
            d = m(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_avg3(x, self.include_pad))], 1)


class _InceptionD(nn.Module):  # mixed8 / Mixed_7a
    def __init__(self, unit, cin):
        super().__init__()
        self.branch3x3_1 = unit(cin, 192, 1)
        self.branch3x3_2 = unit(192, 320, 3, stride=2)
        self.branch7x7x3_1 = unit(cin, 192, 1)
        self.branch7x7x3_2 = unit(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = unit(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = unit(192, 192, 3, stride=2)

    def forward(self, x):
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, 3, stride=2)], 1)


class _InceptionE(nn.Module):  # mixed9, mixed10 / Mixed_7b, 7c
    def __init__(self, unit, cin, include_pad):
        super().__init__()
        self.include_pad = include_pad
        self.branch1x1 = unit(cin, 320, 1)
        self.branch3x3_1 = unit(cin, 384, 1)
        self.branch3x3_2a = unit(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = unit(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = unit(cin, 448, 1)
        self.branch3x3dbl_2 = unit(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = unit(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = unit(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = unit(cin, 192, 1)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        return torch.cat([self.branch1x1(x), self.branch3x3_2a(b3), self.branch3x3_2b(b3),
                          self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d),
                          self.branch_pool(_avg3(x, self.include_pad))], 1)


class InceptionV3Keras(nn.Module):
    """Keras' InceptionV3 under torchvision's names (see the module docstring).

    pool_count_include_pad and bn_scale exist so that the wiring can be checked against torchvision's
    Inception3 (True, True gives its computation without the auxiliary classifier); Keras is False, False.
    """

    def __init__(self, num_classes=1000, dropout=0.5, pool_count_include_pad=False, bn_scale=False,
                 bn_momentum=KERAS_BN_MOMENTUM):
        super().__init__()
        unit = partial(ConvBN, scale=bn_scale, eps=1e-3, momentum=bn_momentum)
        pad = pool_count_include_pad
        self.Conv2d_1a_3x3 = unit(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = unit(32, 32, 3)
        self.Conv2d_2b_3x3 = unit(32, 64, 3, padding=1)
        self.maxpool1 = nn.MaxPool2d(3, stride=2)
        self.Conv2d_3b_1x1 = unit(64, 80, 1)
        self.Conv2d_4a_3x3 = unit(80, 192, 3)
        self.maxpool2 = nn.MaxPool2d(3, stride=2)
        self.Mixed_5b = _InceptionA(unit, 192, 32, pad)
        self.Mixed_5c = _InceptionA(unit, 256, 64, pad)
        self.Mixed_5d = _InceptionA(unit, 288, 64, pad)
        self.Mixed_6a = _InceptionB(unit, 288)
        self.Mixed_6b = _InceptionC(unit, 768, 128, pad)
        self.Mixed_6c = _InceptionC(unit, 768, 160, pad)
        self.Mixed_6d = _InceptionC(unit, 768, 160, pad)
        self.Mixed_6e = _InceptionC(unit, 768, 192, pad)
        self.Mixed_7a = _InceptionD(unit, 768)
        self.Mixed_7b = _InceptionE(unit, 1280, pad)
        self.Mixed_7c = _InceptionE(unit, 2048, pad)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)  # Keras has none; active only in training
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x):
        for name, m in self.named_children():
            if name == "avgpool":
                break
            x = m(x)
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


def inception_v3_keras(num_classes=1000, dropout=0.5):
    return InceptionV3Keras(num_classes, dropout)


# --- Inception-ResNet-v2 (timm's names) ----------------------------------------------------------------

class _Mixed5b(nn.Module):
    def __init__(self, unit):
        super().__init__()
        self.branch0 = unit(192, 96, 1)
        self.branch1 = nn.Sequential(unit(192, 48, 1), unit(48, 64, 5, padding=2))
        self.branch2 = nn.Sequential(unit(192, 64, 1), unit(64, 96, 3, padding=1), unit(96, 96, 3, padding=1))
        self.branch3 = nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False), unit(192, 64, 1))

    def forward(self, x):
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class _Block35(nn.Module):
    def __init__(self, unit, scale):
        super().__init__()
        self.scale = scale
        self.branch0 = unit(320, 32, 1)
        self.branch1 = nn.Sequential(unit(320, 32, 1), unit(32, 32, 3, padding=1))
        self.branch2 = nn.Sequential(unit(320, 32, 1), unit(32, 48, 3, padding=1), unit(48, 64, 3, padding=1))
        self.conv2d = nn.Conv2d(128, 320, 1)

    def forward(self, x):
        r = self.conv2d(torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1))
        return F.relu(x + self.scale * r)


class _Mixed6a(nn.Module):
    def __init__(self, unit):
        super().__init__()
        self.branch0 = unit(320, 384, 3, stride=2)
        self.branch1 = nn.Sequential(unit(320, 256, 1), unit(256, 256, 3, padding=1), unit(256, 384, 3, stride=2))
        self.branch2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)


class _Block17(nn.Module):
    def __init__(self, unit, scale):
        super().__init__()
        self.scale = scale
        self.branch0 = unit(1088, 192, 1)
        self.branch1 = nn.Sequential(unit(1088, 128, 1), unit(128, 160, (1, 7), padding=(0, 3)),
                                     unit(160, 192, (7, 1), padding=(3, 0)))
        self.conv2d = nn.Conv2d(384, 1088, 1)

    def forward(self, x):
        r = self.conv2d(torch.cat([self.branch0(x), self.branch1(x)], 1))
        return F.relu(x + self.scale * r)


class _Mixed7a(nn.Module):
    def __init__(self, unit):
        super().__init__()
        self.branch0 = nn.Sequential(unit(1088, 256, 1), unit(256, 384, 3, stride=2))
        self.branch1 = nn.Sequential(unit(1088, 256, 1), unit(256, 288, 3, stride=2))
        self.branch2 = nn.Sequential(unit(1088, 256, 1), unit(256, 288, 3, padding=1), unit(288, 320, 3, stride=2))
        self.branch3 = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class _Block8(nn.Module):
    def __init__(self, unit, scale, relu=True):
        super().__init__()
        self.scale, self.relu = scale, relu
        self.branch0 = unit(2080, 192, 1)
        self.branch1 = nn.Sequential(unit(2080, 192, 1), unit(192, 224, (1, 3), padding=(0, 1)),
                                     unit(224, 256, (3, 1), padding=(1, 0)))
        self.conv2d = nn.Conv2d(448, 2080, 1)

    def forward(self, x):
        y = x + self.scale * self.conv2d(torch.cat([self.branch0(x), self.branch1(x)], 1))
        return F.relu(y) if self.relu else y


class InceptionResNetV2(nn.Module):
    """Inception-ResNet-v2 with timm's keys; flavour "timm" (scaled batch norm, momentum 0.1) or "keras"
    (batch norm without scale, momentum 0.01). Input at least 75x75 (Keras' min_size)."""

    def __init__(self, num_classes=1000, flavour="timm", dropout=0.0):
        super().__init__()
        if flavour not in FLAVOURS["inception_resnet_v2"]:
            raise ValueError(f"inception_resnet_v2: unknown flavour '{flavour}' (timm or keras)")
        keras = flavour == "keras"
        unit = partial(ConvBN, scale=not keras, eps=1e-3, momentum=KERAS_BN_MOMENTUM if keras else 0.1)
        self.conv2d_1a = unit(3, 32, 3, stride=2)
        self.conv2d_2a = unit(32, 32, 3)
        self.conv2d_2b = unit(32, 64, 3, padding=1)
        self.maxpool_3a = nn.MaxPool2d(3, stride=2)
        self.conv2d_3b = unit(64, 80, 1)
        self.conv2d_4a = unit(80, 192, 3)
        self.maxpool_5a = nn.MaxPool2d(3, stride=2)
        self.mixed_5b = _Mixed5b(unit)
        self.repeat = nn.Sequential(*[_Block35(unit, 0.17) for _ in range(10)])
        self.mixed_6a = _Mixed6a(unit)
        self.repeat_1 = nn.Sequential(*[_Block17(unit, 0.10) for _ in range(20)])
        self.mixed_7a = _Mixed7a(unit)
        self.repeat_2 = nn.Sequential(*[_Block8(unit, 0.20) for _ in range(9)])
        self.block8 = _Block8(unit, 1.0, relu=False)
        self.conv2d_7b = unit(2080, 1536, 1)
        self.head_drop = nn.Dropout(dropout)
        self.classif = nn.Linear(1536, num_classes)

    def forward(self, x):
        for name, m in self.named_children():
            if name == "head_drop":
                break
            x = m(x)
        return self.classif(self.head_drop(x.mean((2, 3))))


# --- ResNet v1 (Keras) ------------------------------------------------------------------------------------

class _BottleneckV1(nn.Module):
    """block1 of resnet_common.py: 1x1 (stride s) -> 3x3 -> 1x1 x4, shortcut 1x1 (stride s) where shapes change."""

    def __init__(self, cin, planes, stride, bn):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, stride)
        self.bn1 = bn(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1)
        self.bn2 = bn(planes)
        self.conv3 = nn.Conv2d(planes, 4 * planes, 1)
        self.bn3 = bn(4 * planes)
        self.downsample = None
        if stride != 1 or cin != 4 * planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, 4 * planes, 1, stride), bn(4 * planes))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNetV1(nn.Module):
    """Keras' ResNet50/101/152 (v1) under torchvision's resnet names plus convolution biases."""

    def __init__(self, layers, num_classes=1000, bn_eps=1.001e-5, bn_momentum=KERAS_BN_MOMENTUM):
        super().__init__()
        bn = partial(nn.BatchNorm2d, eps=bn_eps, momentum=bn_momentum)
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3)  # ZeroPadding2D(3) + valid 7x7/2
        self.bn1 = bn(64)
        # ZeroPadding2D(1) + valid 3x3/2 max pool: after the ReLU every input is >= 0, so zero padding gives
        # the same maxima as PyTorch's implicit -inf padding.
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
            stage = []
            for b in range(blocks):
                stage.append(_BottleneckV1(cin, planes, 2 if b == 0 and i > 0 else 1, bn))
                cin = 4 * planes
            setattr(self, f"layer{i + 1}", nn.Sequential(*stage))
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x.mean((2, 3)))


def resnet50_v1(num_classes=1000, bn_eps=1.001e-5):
    return ResNetV1(RESNET_V1_LAYERS["resnet50_v1"], num_classes, bn_eps)


def resnet101_v1(num_classes=1000, bn_eps=1.001e-5):
    return ResNetV1(RESNET_V1_LAYERS["resnet101_v1"], num_classes, bn_eps)


def resnet152_v1(num_classes=1000, bn_eps=1.001e-5):
    return ResNetV1(RESNET_V1_LAYERS["resnet152_v1"], num_classes, bn_eps)


# --- DenseNet and EfficientNet (torchvision's, and Keras' flavour) -------------------------------------------

def densenet(arch, flavour="torchvision", num_classes=1000, drop_rate=0.0, bn_eps=None, bn_momentum=None):
    """torchvision's DenseNet; flavour "keras": batch norm eps 1.001e-5 and momentum 0.01 (bn_eps and
    bn_momentum override either)."""
    growth, blocks, stem = DENSENET_CFGS[arch]
    model = torchvision.models.DenseNet(growth, blocks, stem, num_classes=num_classes, drop_rate=drop_rate)
    keras = flavour == "keras"
    eps = bn_eps if bn_eps is not None else (KERAS_DENSENET_EPS if keras else 1e-5)
    momentum = bn_momentum if bn_momentum is not None else (KERAS_BN_MOMENTUM if keras else 0.1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eps, m.momentum = eps, momentum
    return model


def keras_pad(size, kernel, stride, rule="same"):
    """(before, after) zero padding of one spatial dimension of a Keras EfficientNet stride-2 convolution.

    "same": correct_pad with the input size known, (k//2 - 1 + size % 2, k//2) for stride 2, which is
    TensorFlow's 'SAME': total max((ceil(size/s) - 1) s + k - size, 0), the smaller half before.
    "fixed": correct_pad when the size is unknown at build time: (k//2 - 1, k//2) whatever the size."""
    if rule == "fixed":
        return kernel // 2 - 1, kernel // 2
    if rule != "same":
        raise ValueError(f"keras_pad: unknown rule '{rule}' (same or fixed)")
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Conv2dKerasPad(nn.Conv2d):
    """A strided convolution padded as Keras' EfficientNet pads it, ZeroPadding2D(correct_pad) + 'valid'
    (keras_pad), instead of PyTorch's symmetric padding. Same parameters (weight, bias) as nn.Conv2d."""

    def __init__(self, conv, rule="same"):
        super().__init__(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, 0, conv.dilation,
                         conv.groups, conv.bias is not None)
        self.weight = conv.weight
        if conv.bias is not None:
            self.bias = conv.bias
        self.rule = rule

    def forward(self, x):
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        left, right = keras_pad(x.shape[-1], kw, sw, self.rule)
        top, bottom = keras_pad(x.shape[-2], kh, sh, self.rule)
        return F.conv2d(F.pad(x, (left, right, top, bottom)), self.weight, self.bias, self.stride, 0, self.dilation,
                        self.groups)

    def extra_repr(self):
        return super().extra_repr() + f", keras_pad={self.rule}"


def efficientnet(arch, flavour="torchvision", num_classes=1000, dropout=None, stochastic_depth_prob=0.2,
                 bn_eps=None, bn_momentum=None, keras_pad="same"):
    """torchvision's EfficientNet-B0..B7 (dropout None: the variant's own); flavour "keras": batch norm eps
    1e-3 and momentum 0.01 for every variant, strided convolutions padded as Keras pads them (keras_pad)."""
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf

    width, depth, default_dropout = EFFICIENTNET_CFGS[arch]
    setting, last_channel = _efficientnet_conf(arch, width_mult=width, depth_mult=depth)
    keras = flavour == "keras"
    large = arch in ("efficientnet_b5", "efficientnet_b6", "efficientnet_b7")  # torchvision's b5-b7 builders
    eps = bn_eps if bn_eps is not None else (KERAS_EFFICIENTNET_EPS if keras or large else 1e-5)
    momentum = bn_momentum if bn_momentum is not None else (KERAS_BN_MOMENTUM if keras or large else 0.1)
    model = EfficientNet(setting, default_dropout if dropout is None else dropout, stochastic_depth_prob,
                         num_classes, partial(nn.BatchNorm2d, eps=eps, momentum=momentum), last_channel)
    if keras:
        strided = [name for name, m in model.named_modules() if isinstance(m, nn.Conv2d) and m.stride != (1, 1)]
        for name in strided:
            parent, _, child = name.rpartition(".")
            owner = model.get_submodule(parent)
            owner._modules[child] = Conv2dKerasPad(owner._modules[child], keras_pad)
    return model


# --- construction ----------------------------------------------------------------------------------------

def default_flavour(arch):
    return FLAVOURS[arch][0]


def build(arch, flavour=None, num_classes=1000, **kw):
    """The model for `arch` and `flavour` (None: the first of FLAVOURS[arch]).

    kw: inception_v3 torchvision: aux_logits (True), transform_input (False), dropout (0.5); keras:
    dropout (0.5). inception_resnet_v2: dropout (0.0). resnet*_v1: bn_eps (1.001e-5), bn_momentum (0.01).
    densenet*: drop_rate (0.0), bn_eps, bn_momentum. efficientnet_b*: dropout (the variant's),
    stochastic_depth_prob (0.2), bn_eps, bn_momentum, keras_pad ("same"; keras flavour only).
    """
    if arch not in FLAVOURS:
        raise ValueError(f"torch_models: unknown architecture '{arch}'; known: {', '.join(FLAVOURS)}")
    flavour = flavour or default_flavour(arch)
    if flavour not in FLAVOURS[arch]:
        raise ValueError(f"torch_models: {arch} has no flavour '{flavour}' (known: {', '.join(FLAVOURS[arch])})")
    if arch == "inception_v3" and flavour == "torchvision":
        return torchvision.models.Inception3(num_classes=num_classes, aux_logits=kw.get("aux_logits", True),
                                             transform_input=kw.get("transform_input", False), init_weights=False,
                                             dropout=kw.get("dropout", 0.5))
    if arch == "inception_v3":
        return inception_v3_keras(num_classes, kw.get("dropout", 0.5))
    if arch == "inception_resnet_v2":
        return InceptionResNetV2(num_classes, flavour, kw.get("dropout", 0.0))
    if arch in DENSENET_CFGS:
        return densenet(arch, flavour, num_classes, **kw)
    if arch in EFFICIENTNET_CFGS:
        return efficientnet(arch, flavour, num_classes, **kw)
    return ResNetV1(RESNET_V1_LAYERS[arch], num_classes, kw.get("bn_eps", 1.001e-5),
                    kw.get("bn_momentum", KERAS_BN_MOMENTUM))


@contextlib.contextmanager
def no_init():
    """Skips torch.nn.init's initialisers (slow for large models) where only keys and shapes are wanted."""
    names = ("kaiming_normal_", "kaiming_uniform_", "normal_", "uniform_", "constant_", "zeros_", "ones_",
             "trunc_normal_")
    saved = {name: getattr(nn.init, name) for name in names}
    for name in names:
        setattr(nn.init, name, lambda t, *a, **k: t)
    try:
        yield
    finally:
        for name, f in saved.items():
            setattr(nn.init, name, f)


def state_shapes(arch, flavour=None, num_classes=1000, **kw):
    """Key -> shape of build(arch, flavour, num_classes, **kw), in state-dict order, without initialising."""
    with no_init():
        model = build(arch, flavour, num_classes, **kw)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}
