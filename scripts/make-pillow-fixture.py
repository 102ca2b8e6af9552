"""Writes tests/fixtures/pillow.json: Pillow's JPEG and WebP byte counts and PSNR on bundled photos.

CompressAI's published JPEG curves were made with Pillow (`Image.save(..., "JPEG", quality=q)`),
so icmbench's JPEG codec is checked against Pillow here. Needs numpy and Pillow
(`pip install numpy pillow`); run from the repository root:

    python3 scripts/make-pillow-fixture.py
"""
import io
import json

import numpy as np
import PIL
from PIL import Image, features

out = {
    "_about": "images: Image.open(sample).convert('RGB').save(buf, 'JPEG', quality=q) with Pillow's defaults "
    "(4:2:0, baseline, standard Huffman tables), decoded again by Pillow; psnr_rgb = 10 log10(255^2 / MSE) "
    "over all pixels and channels in float64. webp: the same with save(buf, 'WEBP', quality=q) (lossy, method 4).",
    "command": "python3 scripts/make-pillow-fixture.py",
    "pillow": PIL.__version__,
    "libjpeg_turbo": features.version("libjpeg_turbo"),
    "libwebp": features.version("webp"),
    "images": {},
    "webp": {},
}
for name in ["astronaut.png", "coffee.png", "chelsea.png"]:
    src = Image.open("datasets/samples/" + name).convert("RGB")
    a = np.asarray(src).astype(np.float64)
    rows = []
    for q in [5, 25, 50, 75, 95]:
        buf = io.BytesIO()
        src.save(buf, "JPEG", quality=q)
        data = buf.getvalue()
        d = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(np.float64)
        psnr = 10 * np.log10(255.0**2 / ((a - d) ** 2).mean())
        rows.append({"quality": q, "bytes": len(data), "psnr_rgb": round(float(psnr), 6)})
    out["images"][name] = rows
    rows = []
    for q in [0, 25, 50, 75, 95]:
        buf = io.BytesIO()
        src.save(buf, "WEBP", quality=q)
        data = buf.getvalue()
        d = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(np.float64)
        psnr = 10 * np.log10(255.0**2 / ((a - d) ** 2).mean())
        rows.append({"quality": q, "bytes": len(data), "psnr_rgb": round(float(psnr), 6)})
    out["webp"][name] = rows
with open("tests/fixtures/pillow.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
