"""Transform references (tests/test_transforms.cpp): torchvision 0.14's functional transforms on PIL images,
which is what a torchvision training script applies: crops, flips, quarter turns, resized crops, rotate and
affine (bilinear, constant fill), and the four ColorJitter adjustments, on seeded non-square images."""
import numpy as np
import torch
import torchvision.transforms.functional as F
from PIL import Image
from torchvision.transforms import InterpolationMode

from torch_cases_image import smooth_image

BILINEAR = InterpolationMode.BILINEAR


def case(name, params, src, out):
    return name, params, {"src": torch.from_numpy(np.ascontiguousarray(src)),
                          "out": torch.from_numpy(np.ascontiguousarray(np.array(out)))}


def cases():
    smooth = smooth_image(37, 53, 3)
    noise = np.random.default_rng(5).integers(0, 256, (96, 128, 3), dtype=np.uint8)  # 12288 random colours
    # every combination of a few levels per channel: greys, ties for the maximum (PIL's R-then-G order), extremes
    levels = np.array([0, 1, 2, 127, 128, 254, 255], dtype=np.uint8)
    levels = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(7, 49, 3)
    pil = Image.fromarray(smooth)

    for top, left, h, w in ((0, 0, 37, 53), (5, 11, 20, 7), (36, 52, 1, 1)):
        yield case(f"crop_{top}_{left}_{h}_{w}", {"op": "crop", "top": top, "left": left, "height": h, "width": w},
                   smooth, F.crop(pil, top, left, h, w))
    yield case("hflip", {"op": "hflip"}, smooth, F.hflip(pil))
    yield case("vflip", {"op": "vflip"}, smooth, F.vflip(pil))
    for k in (-1, 1, 2, 3, 5):
        yield case(f"rot90_{k}".replace("-", "m"), {"op": "rot90", "k": k}, smooth, torch.rot90(torch.from_numpy(smooth), k, [0, 1]).numpy())
    for top, left, h, w, oh, ow in ((3, 4, 30, 40, 24, 24), (0, 0, 37, 53, 64, 48), (10, 20, 9, 5, 31, 17)):
        out = F.resized_crop(pil, top, left, h, w, [oh, ow], BILINEAR)
        yield case(f"resized_crop_{top}_{left}_{h}_{w}_{oh}x{ow}",
                   {"op": "resized_crop", "top": top, "left": left, "height": h, "width": w, "out_height": oh,
                    "out_width": ow}, smooth, out)

    for angle in (30.0, -45.0, 7.5, 90.0, 180.0, -123.4, 270.0):
        for fill in (0, 200):
            out = F.rotate(pil, angle, BILINEAR, fill=fill)
            yield case(f"rotate_{angle}_{fill}".replace("-", "m").replace(".", "p"),
                       {"op": "rotate", "degrees": angle, "fill": fill}, smooth, out)
    square = Image.fromarray(smooth[:37, :37])
    for angle in (90.0, 270.0, 45.0):
        yield case(f"rotate_square_{angle}".replace(".", "p"), {"op": "rotate", "degrees": angle, "fill": 0},
                   smooth[:37, :37], F.rotate(square, angle, BILINEAR, fill=0))

    # (angle counter-clockwise, tx, ty, scale, shear x, shear y); F.affine's angle is clockwise.
    for i, (deg, tx, ty, scale, shx, shy) in enumerate((
            (0.0, 0.0, 0.0, 1.0, 0.0, 0.0), (25.0, 0.0, 0.0, 1.0, 0.0, 0.0), (0.0, 5.0, -3.0, 1.0, 0.0, 0.0),
            (0.0, 2.5, 1.25, 1.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.3, 0.0, 0.0), (0.0, 0.0, 0.0, 0.7, 0.0, 0.0),
            (0.0, 0.0, 0.0, 1.0, 15.0, 0.0), (0.0, 0.0, 0.0, 1.0, -10.0, 12.0),
            (-33.0, 4.0, 7.0, 0.85, 20.0, 0.0), (140.0, -6.5, 3.0, 1.15, -8.0, 5.0))):
        out = F.affine(pil, angle=-deg, translate=[tx, ty], scale=scale, shear=[shx, shy], interpolation=BILINEAR,
                       fill=0)
        yield case(f"affine_{i}", {"op": "affine", "degrees": deg, "tx": tx, "ty": ty, "scale": scale,
                                   "shear_x": shx, "shear_y": shy, "fill": 0}, smooth, out)

    for src_name, src in (("smooth", smooth), ("noise", noise), ("levels", levels)):
        img = Image.fromarray(src)
        for f in (0.0, 0.5, 1.0, 1.7):
            yield case(f"brightness_{src_name}_{f}".replace(".", "p"), {"op": "brightness", "factor": f}, src,
                       F.adjust_brightness(img, f))
        for f in (0.0, 0.3, 1.0, 2.5):
            yield case(f"contrast_{src_name}_{f}".replace(".", "p"), {"op": "contrast", "factor": f}, src,
                       F.adjust_contrast(img, f))
        for f in (0.0, 0.6, 1.0, 3.0):
            yield case(f"saturation_{src_name}_{f}".replace(".", "p"), {"op": "saturation", "factor": f}, src,
                       F.adjust_saturation(img, f))
        for h in (-0.5, -0.25, -0.01, 0.0, 0.1, 0.37, 0.5):
            yield case(f"hue_{src_name}_{h}".replace(".", "p").replace("-", "m"), {"op": "hue", "factor": h}, src,
                       F.adjust_hue(img, h))
