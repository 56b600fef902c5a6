"""Image references (tests/test_image.cpp): files in several formats and channel layouts with the RGB8
pixels stb_image must give, PIL's bilinear resize (what torchvision uses on PIL images) of a test image,
and torchvision's logits for an image that needs no resizing, for `skinnet predict`."""
import os

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image

import torch_cases_models


def smooth_image(h, w, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([127 + 100 * np.sin(x / (5 + c) + y / (7 + 2 * c) + c) for c in range(3)], axis=-1)
    img += rng.normal(0, 12, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def cases(out_dir):
    rgb = smooth_image(37, 53, 1)
    grey = rgb[:, :, 1]
    alpha = (np.arange(37 * 53) % 256).astype(np.uint8).reshape(37, 53)
    files = {
        "rgb.png": (Image.fromarray(rgb), rgb),
        "rgb.bmp": (Image.fromarray(rgb), rgb),
        "grey.png": (Image.fromarray(grey), np.repeat(grey[:, :, None], 3, axis=2)),
        "grey_alpha.png": (Image.fromarray(np.stack([grey, alpha], axis=2), "LA"), np.repeat(grey[:, :, None], 3, axis=2)),
        "rgba.png": (Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), rgb),
    }
    for name, (img, expected) in files.items():
        img.save(os.path.join(out_dir, name))
        yield f"decode_{name.replace('.', '_')}", {"file": name}, {"rgb": torch.from_numpy(expected.copy())}
    # 16-bit grey PNG: stb_image keeps the high byte.
    grey16 = (grey.astype(np.uint16) << 8) | alpha.astype(np.uint16)
    Image.fromarray(grey16.astype(np.int32), "I").save(os.path.join(out_dir, "grey16.png"), bits=16)
    reread = np.array(Image.open(os.path.join(out_dir, "grey16.png")))
    expected = np.repeat((reread >> 8).astype(np.uint8)[:, :, None], 3, axis=2)
    yield "decode_grey16_png", {"file": "grey16.png"}, {"rgb": torch.from_numpy(expected.copy())}

    for h, w in ((20, 30), (37, 17), (80, 100), (36, 53)):
        resized = np.array(Image.fromarray(rgb).resize((w, h), Image.BILINEAR))
        yield f"resize_{h}x{w}", {"height": h, "width": w}, {"src": torch.from_numpy(rgb.copy()),
                                                              "pil": torch.from_numpy(resized)}

    # 256x320: the shorter side is already 256, so Resize(256) is the identity and both sides crop alike.
    img = smooth_image(256, 320, 2)
    Image.fromarray(img).save(os.path.join(out_dir, "predict.png"))
    model = torch_cases_models.seeded_model("resnet18", 100).eval()
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406],
                                                                                [0.229, 0.224, 0.225])])
    x = tf(Image.open(os.path.join(out_dir, "predict.png")).convert("RGB"))[None]
    with torch.no_grad():
        logits = model(x)[0]
    yield "predict_resnet18", {"file": "predict.png", "weights": "eval_resnet18.safetensors"}, {"logits": logits, "x": x[0]}
