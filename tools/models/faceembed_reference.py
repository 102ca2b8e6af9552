"""Reference face embeddings and similarities of the `faceres-embedding` model
(tools/models/build_faceembed.py) with ONNX Runtime, for the Rust face-similarity parity tests
(tests/fixtures/faceembed_reference.json).

The crop is @vladmandic/human 3.0.4's (src/face/blazeface.ts, facemeshutil.ts, facemesh.ts,
faceres.ts), in numpy: the face box (x, y, w, h, source pixels, as the `blazeface` detector
gives it) enlarged 1.4x about its centre (enlargeBox), made square with side max(w, h) and
corners rounded with JS Math.round (squarifyBox: floor(v + 0.5)); cut with TensorFlow's
crop_and_resize semantics (cutAndResize: box normalised by the image height/width, sample
y = y1n * (H - 1) + i * (y2n - y1n) * (H - 1) / (192 - 1), same for x, bilinear between
floor and ceil, 0 where the sample is outside the image) to 192x192 (the face mesh input
size), then resized to 224x224 as tf.image.resizeBilinear without align_corners or half-pixel
centres (source = i * 192 / 224, bilinear between floor and min(floor + 1, 191)). Values stay
0..255 (Human divides by 255 in cutAndResize and multiplies by 255 in faceres enhance()); RGB;
NCHW float32; input `input`, output `embedding` [1, 1024].

Similarity is Human's src/face/match.ts similarity() with its defaults (order 2, multiplier 25,
min 0.2, max 0.8): dist = 25 * sum((a - b)^2); 1 if dist == 0, else
clamp((1 - sqrt(dist) / 100 - 0.2) / (0.8 - 0.2), 0, 1).

JPEG versions of an image are Pillow's (Image.save(format="JPEG", quality=Q), Pillow's
defaults otherwise: 4:2:0 subsampling, baseline, no optimize) decoded again by Pillow.

Needs numpy, Pillow and onnxruntime (PyPI).

    python3 tools/models/faceembed_reference.py faceres_embedding.onnx SAMPLES_DIR [--json OUT] [--save-input DIR]

--save-input writes each preprocessed tensor (for build_faceembed.py --check).
"""
import argparse
import hashlib
import io
import json
import math
import os

import numpy as np
from PIL import Image

SIZE = 224
MESH = 192
SCALE = 1.4
FACES = {
    # name: (image, box x, y, w, h in source pixels: the `blazeface` detections of
    # tests/fixtures/blazeface_reference.json, rounded to 0.1 px)
    "astronaut": ("astronaut.png", [171.4, 73.4, 106.4, 106.4]),
    "chelsea_cat": ("chelsea.png", [70.7, 74.4, 222.3, 147.9]),
}
QUALITIES = [10, 90]


def js_round(v):
    return math.floor(v + 0.5)


def human_box(box):
    """enlargeBox(1.4) then squarifyBox: [x1, y1, x2, y2] in source pixels (whole numbers)."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    w, h = SCALE * w, SCALE * h
    half = max(w, h) / 2
    return [js_round(cx - half), js_round(cy - half), js_round(cx + half), js_round(cy + half)]


def crop_and_resize(img, box, size):
    """tf.image.crop_and_resize (bilinear, extrapolation 0) of one HWC float image; box is
    [x1, y1, x2, y2] in pixels, normalised by the image width and height as Human does."""
    hgt, wid = img.shape[:2]
    y1n, x1n, y2n, x2n = box[1] / hgt, box[0] / wid, box[3] / hgt, box[2] / wid
    out = np.zeros((size, size, img.shape[2]), np.float64)
    ys = y1n * (hgt - 1) + np.arange(size) * (y2n - y1n) * (hgt - 1) / (size - 1)
    xs = x1n * (wid - 1) + np.arange(size) * (x2n - x1n) * (wid - 1) / (size - 1)
    for i, sy in enumerate(ys):
        if sy < 0 or sy > hgt - 1:
            continue
        top, bot = math.floor(sy), math.ceil(sy)
        fy = sy - top
        for j, sx in enumerate(xs):
            if sx < 0 or sx > wid - 1:
                continue
            left, right = math.floor(sx), math.ceil(sx)
            fx = sx - left
            t = img[top, left] + (img[top, right] - img[top, left]) * fx
            b = img[bot, left] + (img[bot, right] - img[bot, left]) * fx
            out[i, j] = t + (b - t) * fy
    return out


def resize_bilinear(img, size):
    """tf.image.resizeBilinear(alignCorners = false, halfPixelCenters = false), HWC."""
    hin, win = img.shape[:2]
    out = np.zeros((size, size, img.shape[2]), np.float64)
    for i in range(size):
        sy = i * hin / size
        y0 = max(0, math.floor(sy))
        y1 = min(hin - 1, math.ceil(sy))
        fy = sy - y0
        for j in range(size):
            sx = j * win / size
            x0 = max(0, math.floor(sx))
            x1 = min(win - 1, math.ceil(sx))
            fx = sx - x0
            t = img[y0, x0] + (img[y0, x1] - img[y0, x0]) * fx
            b = img[y1, x0] + (img[y1, x1] - img[y1, x0]) * fx
            out[i, j] = t + (b - t) * fy
    return out


def preprocess(rgb, box):
    crop = crop_and_resize(rgb.astype(np.float64), human_box(box), MESH)
    face = resize_bilinear(crop, SIZE)
    return face.astype(np.float32).transpose(2, 0, 1)[None]


def synthetic():
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    return np.stack([(5 * x + 3 * y + 7 * c) % 256 for c in range(3)]).astype(np.float32)[None]


def similarity(a, b, order=2, multiplier=25, lo=0.2, hi=0.8):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    dist = multiplier * float(np.sum((a - b) ** 2))
    if dist == 0:
        return 1.0
    root = math.sqrt(dist) if order == 2 else dist ** (1 / order)
    return max(min((1 - root / 100 - lo) / (hi - lo), 1.0), 0.0)


def jpeg(img, quality):
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), len(buf.getvalue())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("samples")
    ap.add_argument("--json")
    ap.add_argument("--save-input", help="write each preprocessed tensor as DIR/NAME.npy")
    args = ap.parse_args()
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])

    def embed(x, name=None):
        if args.save_input and name:
            np.save(os.path.join(args.save_input, name + ".npy"), x)
        return sess.run(["embedding"], {"input": x})[0][0].astype(np.float64)

    emb = {}
    sizes = {}
    for name, (file, box) in FACES.items():
        img = Image.open(os.path.join(args.samples, file)).convert("RGB")
        emb[name] = embed(preprocess(np.asarray(img), box), name)
        if name == "astronaut":
            for q in QUALITIES:
                dec, n = jpeg(img, q)
                sizes[q] = n
                emb[f"astronaut_q{q}"] = embed(preprocess(np.asarray(dec), box), f"astronaut_q{q}")
    ref = emb["astronaut"]
    sims = {}
    for other in [f"astronaut_q{q}" for q in QUALITIES] + ["chelsea_cat"]:
        d = emb[other]
        sims[f"astronaut vs {other}"] = {
            "similarity": round(similarity(ref, d), 6),
            "unclamped": round((1 - math.sqrt(25 * float(np.sum((ref - d) ** 2))) / 100 - 0.2) / 0.6, 6),
            "distance": round(25 * float(np.sum((ref - d) ** 2)), 4),
            "cosine": round(float(ref @ d / (np.linalg.norm(ref) * np.linalg.norm(d))), 6),
        }
    syn = embed(synthetic(), "synthetic")
    for k, v in sims.items():
        print(f"{k}: similarity {v['similarity']:.6f}, distance {v['distance']:.4f}, cosine {v['cosine']:.6f}")
    nz = [[int(i), round(float(syn[i]), 6)] for i in np.flatnonzero(syn)[:8]]
    print("synthetic first 8:", np.round(syn[:8], 6).tolist(), "L2", round(float(np.linalg.norm(syn)), 6), "nonzero", int(np.count_nonzero(syn)), nz)
    for name, e in emb.items():
        print(f"{name}: L2 {np.linalg.norm(e):.6f} first 4 {np.round(e[:4], 6).tolist()}")
    if args.json:
        with open(args.model, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        out = {
            "model_sha256": sha,
            "crops": {name: {"image": f, "box_xywh": b, "human_box_x1y1x2y2": human_box(b)} for name, (f, b) in FACES.items()},
            "jpeg_bytes": {f"astronaut_q{q}": sizes[q] for q in QUALITIES},
            "embeddings": {name: {"l2": round(float(np.linalg.norm(e)), 6), "first8": np.round(e[:8], 6).tolist()} for name, e in emb.items()},
            "similarities": sims,
            "synthetic": {"first8": np.round(syn[:8], 6).tolist(), "l2": round(float(np.linalg.norm(syn)), 6), "nonzero": int(np.count_nonzero(syn)), "first8_nonzero_index_value": nz, "sum": round(float(syn.sum()), 6)},
        }
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
