"""Grad-CAM references (tests/test_gradcam.cpp): PyTorch's autograd on the same converted weights.

Grad-CAM as Selvaraju et al. define it, computed the way the usual PyTorch implementations do: a forward hook
keeps the target layer's output A (retain_grad), backward from the one-hot class scores y_c (before
softmax) gives dy_c/dA, alpha_k = its mean over the h x w cells, map = ReLU(sum_k alpha_k A_k).

- resnet18_<layer>: resnet18 with 7 classes, seeded weights and randomised batch-norm statistics (converted
  with weights/convert.py to gradcam_resnet18.safetensors), two 128 x 128 images, classes (top class of
  image 0, class 5 for image 1); target layers layer4 (the default) in float32 and layer3 in float64 (see
  below why not float32).
- vgg11_bn: the models family's eval_vgg11_bn weights (same seed, so the same tensors), two 112 x 112 images,
  target features.27 (the ReLU of the last convolution, skinnet's default for VGG).
"""
import os

import torch
import torch.nn.functional as F

from torch_cases_models import convert_pth, save_pth, seeded_model
from torch_common import randn


def grad_cam(model, layer, x, classes):
    kept = {}

    def hook(module, inputs, output):
        output.retain_grad()
        kept["A"] = output

    handle = dict(model.named_modules())[layer].register_forward_hook(hook)
    logits = model(x)
    handle.remove()
    one_hot = torch.zeros_like(logits)
    one_hot[torch.arange(len(classes)), torch.tensor(classes)] = 1
    logits.backward(one_hot)
    a = kept["A"]
    alpha = a.grad.mean(dim=(2, 3), keepdim=True)
    return logits.detach(), F.relu((alpha * a).sum(dim=1)).detach()


def cases(out_dir):
    torch.set_num_threads(2)
    model = seeded_model("resnet18", 300, num_classes=7).eval()
    pth = save_pth(model.state_dict(), out_dir, "resnet18")
    weights = convert_pth(pth, "resnet18", out_dir, "gradcam_resnet18.safetensors")
    os.remove(pth)
    x = randn((2, 3, 128, 128), 301, torch.float32)
    with torch.no_grad():
        top = int(model(x)[0].argmax())
    logits, maps = grad_cam(model, "layer4", x, [top, 5])
    yield "resnet18_layer4", {"arch": "resnet18", "weights": weights, "layer": "layer4", "classes": [top, 5]}, \
        {"x": x, "logits": logits, "maps": maps}
    # Through layer4's ReLUs the float32 gradient is discontinuous: a pre-activation within rounding error of
    # zero flips between two correct float32 runs (skinnet's fused and unfused models differ by 0.15% on this
    # map because one such ReLU flips). The layer3 map is therefore compared in float64, where it is exact.
    logits, maps = grad_cam(model.double(), "layer3", x.double(), [top, 5])
    yield "resnet18_layer3_f64", {"arch": "resnet18", "weights": weights, "layer": "layer3", "classes": [top, 5]}, \
        {"x": x.double(), "logits": logits, "maps": maps}

    vgg = seeded_model("vgg11_bn", 102).eval()  # tests/torch_cases_models.py: eval_vgg11_bn is seed 100 + 2
    for m in vgg.modules():
        if isinstance(m, torch.nn.ReLU):
            m.inplace = False  # the hook's retained output must not be overwritten
    x = randn((2, 3, 112, 112), 303, torch.float32)
    logits, maps = grad_cam(vgg, "features.27", x, [7, 900])
    yield "vgg11_bn", {"arch": "vgg11_bn", "weights": "eval_vgg11_bn.safetensors", "layer": "features.27",
                       "classes": [7, 900]}, {"x": x, "logits": logits, "maps": maps}
