"""Writes tests/fixtures/segm/: three tiny constant ONNX instance-segmentation graphs (one per
output layout icmbench decodes), two small PNG images, a COCO ground truth, each graph's COCO
results (boxes and compressed-RLE masks) decoded in numpy by the rules below, and
reference.json with pycocotools' bbox and segm COCOeval statistics on those very result files.

Graphs (opset 17, float32 input `images` [1, 3, 64, 64]; the input is consumed as
ReduceMean(images) * 0 added to the outputs, which are otherwise constants; 3 classes mapped to
COCO ids by `category_ids` = [1, 3, 18], person, car, dog):
  yolov8seg.onnx     `output0` [1, 4+3+8, 6] (cx, cy, w, h in input pixels, 3 class scores,
                     8 mask coefficients) and `output1` [1, 8, 16, 16] prototypes; letterbox.
  maskrcnn_roi.onnx  mmdeploy end2end layout: `dets` [1, N, 5] (x1, y1, x2, y2, score in input
                     pixels), `labels` [1, N] int64, `masks` [1, N, 14, 14] RoI probabilities;
                     stretch.
  maskrcnn_full.onnx torchvision export layout: `boxes` [N, 4], `labels` [N] int64, `scores`
                     [N], `masks` [N, 1, 64, 64] probabilities over the input; stretch.

Decoding (every step in float32 as a Rust f32 implementation computes it, one rounding per
operation, no fused multiply-add, unless float64 is said):
  placement  letterbox: r = min(W/W0, H/H0), nw = round(W0*r), nh = round(H0*r) (half away
             from zero, at least 1), left = (W - nw) div 2, top = (H - nh) div 2, so
             sx = sy = r, px = left, py = top; stretch: sx = W/W0, sy = H/H0, px = py = 0.
  boxes      source x = (u - px) / sx in f32, widened to f64, clamped to [0, W0] (y: [0, H0]);
             COCO bbox [x1, y1, x2 - x1, y2 - y1] in f64; score = the f32 score widened.
  yolov8seg  xyxy = (cx - w/2, cy - h/2, cx + w/2, cy + h/2); every (candidate, class) with
             score > 0.25 (multi-label), sorted by score descending then class ascending
             (stable, candidates in column order), top 3000, class-aware greedy NMS (drop if
             IoU > 0.6 with a kept box of the same class; IoU on input-pixel xyxy in f32),
             at most 100. Mask: logits = sum_k c_k * proto_k accumulated k = 0..7 in f32;
             source pixel (x, y) has its centre at u = (x + 0.5) * sx + px, grid coordinate
             gx = u * (16 / W) - 0.5 (likewise y); bilinear with indices clamped to the grid
             (interpolate, align_corners=False); in the mask iff logit > 0 and
             x1 <= x < x2 and y1 <= y < y2 for the f64 source box (ultralytics'
             process_mask_native with the upsampling done as sampling at pixel centres).
  roi masks  (maskrcnn_roi) for the f64 source box (x0, y0, x1, y1): bw = f32(x1 - x0),
             gx = (x + 0.5 - f32(x0)) / bw * M - 0.5; bilinear with zeros outside the M x M grid
             (grid_sample, padding zeros, align_corners=False: mmdet's / detectron2's
             _do_paste_mask); in the mask iff > 0.5; only x in [max(floor(x0) - 1, 0),
             min(ceil(x1) + 1, W0)) and y likewise are evaluated.
  full masks (maskrcnn_full) the W x H map sampled at (u - 0.5, v - 0.5) (scale 64 / W = 1),
             clamped bilinear, > 0.5, no box crop.
  Mask R-CNN detections: score > 0.05, in the graph's order, at most 100, no NMS;
             category id = category_ids[label].
  masks are encoded with pycocotools.mask.encode (Fortran-ordered uint8 H0 x W0).
The same decoding in float64 gives the same boxes and masks, every sampled value is at least
7e-5 from its threshold, and several yolov8seg boxes have integer edges bounding mask pixels
(the x1 <= x < x2 crop is exercised). Checked once against torch 2.15 / torchvision 0.29 (not
needed here): grid_sample / interpolate at the same pixel centres, mmdet's _do_paste_mask (with
> 0.5 or >= 0.5) and ultralytics' process_mask_native on img2 (no letterbox padding) give the
same masks; on img1 ultralytics' integer crop of the padded proto rows differs by 5-101 pixels
a mask, and torchvision's legacy paste (expand_masks(padding=1), int64 boxes, interpolate) by
11-40 pixels a mask: those are not the rules here.

Needs numpy, onnx, onnxruntime, pycocotools and pillow (PyPI); run from the repository root:

    python3 -m venv /tmp/segm-venv
    /tmp/segm-venv/bin/pip install numpy onnx onnxruntime pycocotools pillow
    /tmp/segm-venv/bin/python scripts/make-segm-fixture.py
"""

import contextlib
import io
import json
import os
import platform
from importlib.metadata import version

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

D = "tests/fixtures/segm/"
COMMAND = "python3 scripts/make-segm-fixture.py"
NET = 64  # network input width = height
CATEGORY_IDS = [1, 3, 18]
CATEGORIES = [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}, {"id": 18, "name": "dog"}]
IMAGES = {1: ("img1.png", 96, 64), 2: ("img2.png", 80, 80)}  # id: (file, W0, H0)
F = np.float32


# ---------------------------------------------------------------- images


def make_image(w, h, seed):
    """Smooth gradients and a few flat rectangles: deterministic, compresses well."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([(x * 255) // max(w - 1, 1), (y * 255) // max(h - 1, 1), ((x + y) * 3 + 40 * seed) % 256], -1)
    rng = np.random.RandomState(seed)
    for _ in range(4):
        x0, y0 = rng.randint(0, w - 16), rng.randint(0, h - 16)
        img[y0 : y0 + rng.randint(6, 16), x0 : x0 + rng.randint(6, 16)] = rng.randint(0, 256, 3)
    return img.astype(np.uint8)


# ---------------------------------------------------------------- graph constants


def gauss(gx, gy, cx, cy, sx, sy):
    return np.exp(-0.5 * (((gx - cx) / sx) ** 2 + ((gy - cy) / sy) ** 2))


def yolo_constants():
    """output0 [1, 15, 6] and output1 [1, 8, 16, 16]."""
    # Columns: cx, cy, w, h (input pixels), scores (person, car, dog), coefficient set.
    cands = [
        (20.0, 32.0, 18.0, 40.0, (0.92, 0.0, 0.02), 0),  # person
        (21.0, 33.0, 18.0, 36.0, (0.81, 0.0, 0.0), 0),  # same person, IoU 0.81: NMS drops it
        (46.0, 46.0, 28.0, 16.0, (0.0, 0.85, 0.30), 1),  # car, and a dog (multi-label) on it
        (46.0, 16.0, 22.0, 16.0, (0.01, 0.0, 0.70), 2),  # dog
        (54.0, 30.0, 8.0, 8.0, (0.20, 0.0, 0.0), 0),  # person below the 0.25 threshold
        (12.0, 52.0, 18.0, 14.0, (0.0, 0.45, 0.0), 3),  # car, crosses the letterbox bottom in img1
    ]
    coeff_sets = [
        # bias, x ramp, y ramp, person blob, car blob, dog blob, waves, corner blob
        [-0.60, 0.0, 0.08, 1.0, 0.0, 0.0, 0.06, 0.0],
        [-0.70, 0.1, 0.0, 0.0, 1.2, 0.0, -0.08, 0.0],
        [-0.60, 0.0, 0.05, 0.0, 0.0, 1.1, 0.10, 0.0],
        [-0.55, -0.05, 0.0, 0.0, 0.0, 0.0, 0.08, 1.0],
    ]
    n = len(cands)
    out0 = np.zeros((1, 4 + 3 + 8, n), F)
    for i, (cx, cy, w, h, scores, k) in enumerate(cands):
        out0[0, 0:4, i] = (cx, cy, w, h)
        out0[0, 4:7, i] = scores
        out0[0, 7:15, i] = coeff_sets[k]
    gy, gx = np.mgrid[0:16, 0:16].astype(np.float64)
    protos = np.stack(
        [
            np.ones((16, 16)),
            (gx - 7.5) / 7.5,
            (gy - 7.5) / 7.5,
            gauss(gx, gy, 4.5, 7.5, 2.0, 4.6),  # person (input 20, 32)
            gauss(gx, gy, 11.0, 11.0, 3.6, 2.0),  # car (46, 46)
            gauss(gx, gy, 11.0, 3.5, 2.8, 2.2),  # dog (46, 16)
            np.cos(gx * 0.8) * np.sin(gy * 0.6 + 0.3),
            gauss(gx, gy, 2.5, 12.5, 2.4, 1.8),  # small car (12, 52)
        ]
    )
    return out0, protos[None].astype(F)


def roi_constants():
    """dets [1, N, 5], labels [1, N], masks [1, N, 14, 14]."""
    rows = [  # x1, y1, x2, y2, score, label, mask ellipse (cx, cy, semi-axes in mask cells, rotation)
        (11.0, 12.0, 29.0, 52.0, 0.95, 0, (6.5, 6.5, 6.6, 7.0, 0.0)),  # person
        (32.5, 38.0, 60.0, 54.25, 0.88, 1, (6.5, 6.6, 7.0, 5.8, 0.1)),  # car
        (35.0, 8.0, 57.0, 24.0, 0.66, 2, (6.8, 6.3, 6.0, 5.0, -0.2)),  # dog
        (40.0, 28.0, 62.0, 62.0, 0.35, 0, (6.0, 7.5, 3.5, 6.0, 0.2)),  # person (false positive)
        (0.0, 0.0, 10.0, 10.0, 0.03, 2, (6.5, 6.5, 4.0, 4.0, 0.0)),  # below 0.05: dropped
        (2.0, 44.0, 21.5, 61.0, 0.52, 1, (6.5, 6.5, 6.0, 5.0, 0.0)),  # car
    ]
    n, m = len(rows), 14
    dets = np.zeros((1, n, 5), F)
    labels = np.zeros((1, n), np.int64)
    masks = np.zeros((1, n, m, m), F)
    gy, gx = np.mgrid[0:m, 0:m].astype(np.float64)
    for i, (x1, y1, x2, y2, s, lab, (cx, cy, sx, sy, rot)) in enumerate(rows):
        dets[0, i] = (x1, y1, x2, y2, s)
        labels[0, i] = lab
        dx, dy = gx - cx, gy - cy
        ux, uy = dx * np.cos(rot) + dy * np.sin(rot), -dx * np.sin(rot) + dy * np.cos(rot)
        masks[0, i] = 0.98 / (1.0 + np.exp(-5.0 * (1.0 - (ux / sx) ** 2 - (uy / sy) ** 2)))
    return dets, labels, masks


def full_constants():
    """boxes [N, 4], labels [N], scores [N], masks [N, 1, 64, 64]."""
    rows = [  # x1, y1, x2, y2, score, label, ellipses (cx, cy, semi-axes) in input pixels
        (12.0, 10.0, 30.0, 50.0, 0.9, 0, [(21.0, 20.0, 6.0, 7.0), (21.0, 36.0, 8.0, 13.0)]),  # person
        (30.0, 36.0, 63.5, 56.0, 0.8, 1, [(46.0, 47.0, 15.0, 7.0), (40.0, 42.0, 6.0, 4.0)]),  # car
        (36.0, 6.0, 58.0, 26.0, 0.6, 2, [(47.0, 16.0, 10.0, 8.0)]),  # dog
        (0.0, 0.0, 20.0, 20.0, 0.04, 1, [(10.0, 10.0, 5.0, 5.0)]),  # below 0.05: dropped
        (2.0, 40.0, 20.0, 60.0, 0.3, 2, [(11.0, 50.0, 7.0, 7.0)]),  # dog (false positive)
    ]
    n = len(rows)
    boxes = np.zeros((n, 4), F)
    labels = np.zeros((n,), np.int64)
    scores = np.zeros((n,), F)
    masks = np.zeros((n, 1, NET, NET), F)
    vy, vx = np.mgrid[0:NET, 0:NET].astype(np.float64) + 0.5
    for i, (x1, y1, x2, y2, s, lab, blobs) in enumerate(rows):
        boxes[i] = (x1, y1, x2, y2)
        scores[i] = s
        labels[i] = lab
        r2 = np.min([((vx - cx) / ax) ** 2 + ((vy - cy) / ay) ** 2 for cx, cy, ax, ay in blobs], axis=0)
        masks[i, 0] = 0.98 / (1.0 + np.exp(-4.0 * (1.0 - np.minimum(r2, 20.0))))
    return boxes, labels, scores, masks


# ---------------------------------------------------------------- ONNX


def constant_graph(name, outputs):
    """A graph whose outputs are the given constants plus 0 * ReduceMean(images)."""
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Cast", ["nothing"], ["nothing_i64"], to=TensorProto.INT64),
    ]
    inits = [numpy_helper.from_array(np.zeros((), F), "zero")]
    outs = []
    for out_name, value in outputs:
        inits.append(numpy_helper.from_array(value, out_name + "_value"))
        zero = "nothing_i64" if value.dtype == np.int64 else "nothing"
        nodes.append(helper.make_node("Add", [out_name + "_value", zero], [out_name]))
        elem = TensorProto.INT64 if value.dtype == np.int64 else TensorProto.FLOAT
        outs.append(helper.make_tensor_value_info(out_name, elem, list(value.shape)))
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, NET, NET])], outs, inits
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="icmbench scripts/make-segm-fixture.py"
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


# ---------------------------------------------------------------- decoding (float32 rules)


def placement(kind, w0, h0):
    """(sx, sy, px, py) as f32."""
    if kind == "stretch":
        return F(NET) / F(w0), F(NET) / F(h0), F(0), F(0)
    r = min(F(NET) / F(w0), F(NET) / F(h0))

    def round_half_away(v):  # Rust's f32::round for v >= 0, exact on the f32 value
        v = float(v)
        return int(np.floor(v)) + (1 if v - np.floor(v) >= 0.5 else 0)

    nw, nh = max(round_half_away(F(w0) * r), 1), max(round_half_away(F(h0) * r), 1)
    return r, r, F((NET - nw) // 2), F((NET - nh) // 2)


def source_box(xyxy, pl, w0, h0):
    sx, sy, px, py = pl
    x1, y1, x2, y2 = (F(v) for v in xyxy)
    return [
        min(max(float((x1 - px) / sx), 0.0), float(w0)),
        min(max(float((y1 - py) / sy), 0.0), float(h0)),
        min(max(float((x2 - px) / sx), 0.0), float(w0)),
        min(max(float((y2 - py) / sy), 0.0), float(h0)),
    ]


def centres(n, scale, pad, grid_scale):
    """Grid coordinate of the centres of source pixels 0..n-1: ((i + 0.5) * s + p) * g - 0.5."""
    i = np.arange(n).astype(F)
    return ((i + F(0.5)) * scale + pad) * grid_scale - F(0.5)


def sample_clamped(grid, gx, gy):
    """Bilinear, indices clamped (border replicate); gx [W0], gy [H0] -> [H0, W0], f32."""
    h, w = grid.shape

    def axis(g, n):
        g = np.maximum(g, F(0))
        i0 = np.minimum(np.floor(g).astype(np.int64), n - 1)
        i1 = np.minimum(i0 + 1, n - 1)
        f = (g - i0.astype(F)).astype(F)
        return i0, i1, np.where(i0 == i1, F(0), f).astype(F)

    x0, x1, fx = axis(gx, w)
    y0, y1, fy = axis(gy, h)
    fx, fy = fx[None, :], fy[:, None]
    top = grid[y0][:, x0] * (F(1) - fx) + grid[y0][:, x1] * fx
    bottom = grid[y1][:, x0] * (F(1) - fx) + grid[y1][:, x1] * fx
    out = top * (F(1) - fy) + bottom * fy
    assert out.dtype == F
    return out


def sample_zeros(grid, gx, gy):
    """Bilinear with zeros outside the grid; gx [nx], gy [ny] -> [ny, nx], f32."""
    h, w = grid.shape
    x0, y0 = np.floor(gx), np.floor(gy)
    fx, fy = (gx - x0)[None, :], (gy - y0)[:, None]

    def at(xs, ys):
        xi, yi = xs.astype(np.int64), ys.astype(np.int64)
        ok = (xs >= 0) & (xs < w)
        oky = (ys >= 0) & (ys < h)
        v = grid[np.clip(yi, 0, h - 1)][:, np.clip(xi, 0, w - 1)]
        return np.where(oky[:, None] & ok[None, :], v, F(0)).astype(F)

    top = at(x0, y0) * (F(1) - fx) + at(x0 + F(1), y0) * fx
    bottom = at(x0, y0 + F(1)) * (F(1) - fx) + at(x0 + F(1), y0 + F(1)) * fx
    out = top * (F(1) - fy) + bottom * fy
    assert out.dtype == F
    return out


def iou_f32(a, b):
    iw = max(min(a[2], b[2]) - max(a[0], b[0]), F(0))
    ih = max(min(a[3], b[3]) - max(a[1], b[1]), F(0))
    inter = iw * ih

    def area(r):
        return max(r[2] - r[0], F(0)) * max(r[3] - r[1], F(0))

    union = area(a) + area(b) - inter
    return F(0) if union <= 0 else inter / union


def decode_yolov8seg(out0, protos, w0, h0, pl):
    """[(source box, score f32, class, mask)]."""
    d, p = out0[0], protos[0]
    classes, m = 3, p.shape[0]
    cands = []  # (xyxy f32, score, class, anchor)
    for i in range(d.shape[1]):
        cx, cy, w, h = d[0:4, i]
        xyxy = (cx - w / F(2), cy - h / F(2), cx + w / F(2), cy + h / F(2))
        for c in range(classes):
            s = d[4 + c, i]
            if s > F(0.25):
                cands.append((xyxy, s, c, i))
    cands.sort(key=lambda t: (-float(t[1]), t[2]))  # stable: ties keep anchor order
    cands = cands[:3000]
    kept = []
    for c in cands:
        if len(kept) >= 100:
            break
        if all(k[2] != c[2] or iou_f32(k[0], c[0]) <= F(0.6) for k in kept):
            kept.append(c)
    sx, sy, px, py = pl
    mh, mw = p.shape[1:]
    gx = centres(w0, sx, px, F(mw) / F(NET))
    gy = centres(h0, sy, py, F(mh) / F(NET))
    out = []
    for xyxy, s, c, i in kept:
        box = source_box(xyxy, pl, w0, h0)
        logits = np.zeros((mh, mw), F)
        for k in range(m):
            logits = logits + d[4 + classes + k, i] * p[k]
        assert logits.dtype == F
        xs, ys = np.arange(w0, dtype=np.float64), np.arange(h0, dtype=np.float64)
        crop = ((ys >= box[1]) & (ys < box[3]))[:, None] & ((xs >= box[0]) & (xs < box[2]))[None, :]
        out.append((box, s, c, (sample_clamped(logits, gx, gy) > F(0)) & crop))
    return out


def roi_paste(prob, box, w0, h0):
    """mmdet's _do_paste_mask for one M x M mask and an f64 source box, thresholded > 0.5."""
    mask = np.zeros((h0, w0), bool)
    m = prob.shape[0]
    bw, bh = F(box[2] - box[0]), F(box[3] - box[1])
    if bw <= 0 or bh <= 0:
        return mask, None
    x0, y0 = F(box[0]), F(box[1])
    xa, xb = max(int(np.floor(box[0] - 1.0)), 0), min(int(np.ceil(box[2] + 1.0)), w0)
    ya, yb = max(int(np.floor(box[1] - 1.0)), 0), min(int(np.ceil(box[3] + 1.0)), h0)
    if xa >= xb or ya >= yb:
        return mask, None
    gx = (np.arange(xa, xb).astype(F) + F(0.5) - x0) / bw * F(m) - F(0.5)
    gy = (np.arange(ya, yb).astype(F) + F(0.5) - y0) / bh * F(m) - F(0.5)
    v = sample_zeros(prob, gx, gy)
    mask[ya:yb, xa:xb] = v > F(0.5)
    return mask, v


def decode_boxes_masks(boxes, scores, labels, masks, frame, w0, h0, pl):
    out = []
    sx, sy, px, py = pl
    for i in range(len(labels)):
        s = scores[i]
        if s <= F(0.05) or len(out) >= 100:
            continue
        box = source_box(boxes[i], pl, w0, h0)
        if frame == "roi":
            binary = roi_paste(masks[i], box, w0, h0)[0]
        else:
            mh, mw = masks[i].shape
            gx = centres(w0, sx, px, F(mw) / F(NET))
            gy = centres(h0, sy, py, F(mh) / F(NET))
            binary = sample_clamped(masks[i], gx, gy) > F(0.5)
        out.append((box, s, int(labels[i]), binary))
    return out


def rle(binary):
    r = mask_utils.encode(np.asfortranarray(binary.astype(np.uint8)))
    return {"size": [int(r["size"][0]), int(r["size"][1])], "counts": r["counts"].decode("ascii")}


# ---------------------------------------------------------------- ground truth


def ellipse(cx, cy, rx, ry, n=24, rot=0.0):
    t = np.arange(n) * 2 * np.pi / n
    x = cx + rx * np.cos(t) * np.cos(rot) - ry * np.sin(t) * np.sin(rot)
    y = cy + rx * np.cos(t) * np.sin(rot) + ry * np.sin(t) * np.cos(rot)
    return [round(float(v), 2) for xy in zip(x, y) for v in xy]


# image id: [(category id, polygon)]
GT_OBJECTS = {
    1: [
        (1, ellipse(30.0, 36.0, 13.5, 26.0)),  # person (medium: area > 32²)
        (3, [48.0, 40.0, 90.0, 40.0, 92.0, 52.0, 84.0, 58.0, 52.0, 58.0, 47.0, 50.0]),  # car
        (18, ellipse(69.0, 14.0, 15.0, 9.0, rot=0.2)),  # dog
        (18, ellipse(10.0, 8.0, 6.0, 5.0)),  # dog nobody finds
    ],
    2: [
        (1, ellipse(27.0, 40.0, 10.0, 22.0)),  # person
        (3, [44.0, 48.0, 74.0, 50.0, 74.0, 66.0, 42.0, 66.0]),  # car
        (18, ellipse(57.0, 21.0, 12.0, 9.0)),  # dog
        (3, [4.0, 58.0, 24.0, 58.0, 24.0, 74.0, 4.0, 74.0]),  # small car
    ],
}


def ground_truth():
    images, anns = [], []
    for iid, (name, w, h) in IMAGES.items():
        images.append({"id": iid, "file_name": name, "width": w, "height": h})
        for cat, poly in GT_OBJECTS[iid]:
            r = mask_utils.merge(mask_utils.frPyObjects([poly], h, w))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": iid,
                    "category_id": cat,
                    "segmentation": [poly],
                    "area": float(mask_utils.area(r)),
                    "bbox": [float(v) for v in mask_utils.toBbox(r)],
                    "iscrowd": 0,
                }
            )
    return {"images": images, "annotations": anns, "categories": CATEGORIES}


def evaluate(results_path, iou_type):
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(D + "gt.json")
        ev = COCOeval(gt, gt.loadRes(results_path), iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(v) for v in ev.stats]


# ---------------------------------------------------------------- main


def main():
    os.makedirs(D, exist_ok=True)
    pixels = {}
    for iid, (name, w, h) in IMAGES.items():
        img = make_image(w, h, iid)
        Image.fromarray(img).save(D + name)
        pixels[iid] = np.asarray(Image.open(D + name).convert("RGB"))

    out0, protos = yolo_constants()
    dets, roi_labels, roi_masks = roi_constants()
    fboxes, flabels, fscores, fmasks = full_constants()
    graphs = {  # name: (resize, outputs, decoding settings as icmbench's detector spec spells them)
        "yolov8seg": (
            "letterbox",
            [("output0", out0), ("output1", protos)],
            {
                "family": {"kind": "yolov8-seg", "output": "output0", "protos": "output1", "coefficients": 8},
                "score_threshold": 0.25,
                "iou_threshold": 0.6,
                "pre_nms_top_k": 3000,
                "max_detections": 100,
            },
        ),
        "maskrcnn_roi": (
            "stretch",
            [("dets", dets), ("labels", roi_labels), ("masks", roi_masks)],
            {
                "family": {
                    "kind": "boxes-masks",
                    "boxes": "dets",
                    "labels": "labels",
                    "masks": "masks",
                    "masks_frame": "roi",
                },
                "score_threshold": 0.05,
                "max_detections": 100,
            },
        ),
        "maskrcnn_full": (
            "stretch",
            [("boxes", fboxes), ("labels", flabels), ("scores", fscores), ("masks", fmasks)],
            {
                "family": {
                    "kind": "boxes-masks",
                    "boxes": "boxes",
                    "scores": "scores",
                    "labels": "labels",
                    "masks": "masks",
                    "masks_frame": "input",
                },
                "score_threshold": 0.05,
                "max_detections": 100,
            },
        ),
    }
    with open(D + "gt.json", "w") as fh:
        json.dump(ground_truth(), fh)
        fh.write("\n")

    ref = {
        "_about": __doc__.split("\n\n")[0].replace("\n", " "),
        "recipe": COMMAND
        + f" (python {platform.python_version()}, numpy {np.__version__}, onnx {version('onnx')}, "
        + f"onnxruntime {ort.__version__}, pycocotools {version('pycocotools')}, pillow {version('pillow')})",
        "graphs": {},
    }
    for gname, (resize, outputs, settings) in graphs.items():
        model = constant_graph(gname, outputs)
        path = D + gname + ".onnx"
        onnx.save(model, path)
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        results, mask_pixels = [], {}
        for iid, (_, w0, h0) in IMAGES.items():
            x = np.asarray(Image.fromarray(pixels[iid]).resize((NET, NET), Image.BILINEAR), F)
            got = sess.run([n for n, _ in outputs], {"images": (x / 255).transpose(2, 0, 1)[None].copy()})
            for (oname, want), g in zip(outputs, got):
                assert g.dtype == want.dtype and g.shape == want.shape and np.array_equal(g, want), (gname, oname)
            pl = placement(resize, w0, h0)
            if gname == "yolov8seg":
                found = decode_yolov8seg(out0, protos, w0, h0, pl)
            elif gname == "maskrcnn_roi":
                found = decode_boxes_masks(
                    dets[0, :, :4], dets[0, :, 4], roi_labels[0], roi_masks[0], "roi", w0, h0, pl
                )
            else:
                found = decode_boxes_masks(fboxes, fscores, flabels, fmasks[:, 0], "input", w0, h0, pl)
            mask_pixels[str(iid)] = []
            for box, score, cls, binary in found:
                results.append(
                    {
                        "image_id": iid,
                        "category_id": CATEGORY_IDS[cls],
                        "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                        "score": float(score),
                        "segmentation": rle(binary),
                    }
                )
                mask_pixels[str(iid)].append(int(binary.sum()))
        rpath = D + f"results_{gname}.json"
        with open(rpath, "w") as fh:
            json.dump(results, fh)
            fh.write("\n")
        entry = {
            "onnx": gname + ".onnx",
            "results": f"results_{gname}.json",
            "input": "images",
            "size": [NET, NET],
            "resize": resize,
            "outputs": [n for n, _ in outputs],
            "category_ids": CATEGORY_IDS,
            **settings,
            "stats_bbox": evaluate(rpath, "bbox"),
            "stats_segm": evaluate(rpath, "segm"),
            "mask_pixels": mask_pixels,
        }
        ref["graphs"][gname] = entry
        print(gname, f"bbox AP {entry['stats_bbox'][0]:.4f} segm AP {entry['stats_segm'][0]:.4f}", mask_pixels)
    with open(D + "reference.json", "w") as fh:
        json.dump(ref, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
