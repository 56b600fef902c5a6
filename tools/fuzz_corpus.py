#!/usr/bin/python3
"""Seed corpora for `make fuzz`: small valid inputs the fuzzers mutate from.

    /usr/bin/python3 tools/fuzz_corpus.py OUT_DIR

OUT_DIR/image: images in every format and channel layout the loader accepts (JPEG baseline and
progressive, PNG grey/grey+alpha/RGB/RGBA/16-bit/palette, BMP, GIF), small so mutations run fast.
OUT_DIR/csv: CSV files in each dataset's layout plus quoting edge cases.
Generated, never committed."""
import os
import sys

import numpy as np
from PIL import Image


def images(out):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:23, 0:31]
    rgb = np.stack([(x * 8 + c * 40) % 256 for c in range(3)], axis=-1).astype(np.uint8)
    rgb = np.clip(rgb.astype(int) + rng.integers(-20, 20, rgb.shape), 0, 255).astype(np.uint8)
    grey = rgb[:, :, 0]
    alpha = ((x + y) * 5 % 256).astype(np.uint8)
    Image.fromarray(rgb).save(os.path.join(out, "rgb.jpg"), quality=80)
    Image.fromarray(rgb).save(os.path.join(out, "progressive.jpg"), quality=60, progressive=True)
    Image.fromarray(grey).save(os.path.join(out, "grey.jpg"))
    Image.fromarray(rgb).save(os.path.join(out, "rgb.png"))
    Image.fromarray(grey).save(os.path.join(out, "grey.png"))
    Image.fromarray(np.stack([grey, alpha], 2), "LA").save(os.path.join(out, "grey_alpha.png"))
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(os.path.join(out, "rgba.png"))
    Image.fromarray(grey.astype(np.int32) * 250, "I").save(os.path.join(out, "grey16.png"), bits=16)
    Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE, colors=16).save(os.path.join(out, "palette.png"))
    Image.fromarray(rgb).save(os.path.join(out, "rgb.bmp"))
    Image.fromarray(rgb).convert("P").save(os.path.join(out, "rgb.gif"))


CSVS = {
    "ham10000.csv": "lesion_id,image_id,dx,dx_type,age,sex,localization,dataset\n"
                    "HAM_0000118,ISIC_0027419,bkl,histo,80.0,male,scalp,vidir_modern\n"
                    "HAM_0000118,ISIC_0025030,bkl,histo,80.0,male,scalp,vidir_modern\n",
    "isic2018.csv": "image,MEL,NV,BCC,AKIEC,BKL,DF,VASC\nISIC_0024306,0.0,1.0,0.0,0.0,0.0,0.0,0.0\r\n",
    "isic2016.csv": "ISIC_0000000,benign\nISIC_0000002,malignant\n",
    "quoted.csv": 'a,"b ""quoted""",c\n"1,2","line\nbreak",""\n',
    "bom.csv": "\ufeffimage_id,label,split\nx,NV,train\n",
}


def csvs(out):
    for name, text in CSVS.items():
        with open(os.path.join(out, name), "w", encoding="utf-8", newline="") as f:
            f.write(text)


def main():
    root = sys.argv[1]
    for kind, write in (("image", images), ("csv", csvs)):
        os.makedirs(os.path.join(root, kind), exist_ok=True)
        write(os.path.join(root, kind))


if __name__ == "__main__":
    main()
