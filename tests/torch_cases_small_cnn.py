"""PyTorch reference for a small CNN, conv-bn-relu-maxpool-linear + cross-entropy (tests/test_small_cnn.cpp):
the loss and every parameter gradient of one training step, and the running statistics after it."""
import torch
import torch.nn.functional as F

from torch_common import randn


def small_cnn(x, p, running_mean, running_var):
    h = F.conv2d(x, p["conv_w"], None, stride=1, padding=1)  # no bias before batch norm, as in ResNet
    h = F.batch_norm(h, running_mean, running_var, p["bn_w"], p["bn_b"], training=True, momentum=0.1, eps=1e-5)
    h = F.max_pool2d(F.relu(h), kernel_size=2, stride=2)
    return F.linear(h.flatten(1), p["fc_w"], p["fc_b"])


def cases():
    for dtype, tag in ((torch.float32, "f32"), (torch.float64, "f64")):
        x = randn((6, 3, 9, 7), 1, dtype)
        target = torch.tensor([0, 3, 1, 2, 3, 0])
        shapes = {"conv_w": (5, 3, 3, 3), "bn_w": (5,), "bn_b": (5,), "fc_w": (4, 5 * 4 * 3), "fc_b": (4,)}
        params = {k: (randn(s, 10 + i, dtype) * 0.3).requires_grad_() for i, (k, s) in enumerate(shapes.items())}
        running_mean, running_var = torch.zeros(5, dtype=dtype), torch.ones(5, dtype=dtype)
        logits = small_cnn(x, params, running_mean, running_var)
        loss = F.cross_entropy(logits, target, label_smoothing=0.1)
        loss.backward()
        tensors = {"x": x, "target": target, "logits": logits.detach(), "loss": loss.detach(),
                   "running_mean": running_mean, "running_var": running_var}
        for k, v in params.items():
            tensors[k] = v.detach()
            tensors["d" + k] = v.grad
        yield f"small_cnn_{tag}", {"dtype": tag}, tensors
