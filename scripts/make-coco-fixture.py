"""Writes tests/fixtures/coco_reference.json: pycocotools' 12 COCOeval summary statistics on
cocoapi's test data (committed in tests/fixtures/coco with cocoapi's BSD licence): instances_val2014_100.json with the fake bbox and segm
results, and the 3-image gt_dataset.json / dt_dataset.json (bbox), plus the time pycocotools
takes (evaluate + accumulate + summarize, best of 5) for the speed comparison.

Needs pycocotools (PyPI) and numpy; run from the repository root:

    python3 scripts/make-coco-fixture.py
"""
import contextlib
import io
import json
import time
from importlib.metadata import version

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

D = "tests/fixtures/coco/"
CASES = {
    "val2014_100_bbox": ("instances_val2014_100.json", "instances_val2014_fakebbox100_results.json", "bbox"),
    "val2014_100_segm": ("instances_val2014_100.json", "instances_val2014_fakesegm100_results.json", "segm"),
    "three_images_bbox": ("gt_dataset.json", "dt_dataset.json", "bbox"),
}


def evaluate(gt, dt, iou):
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(D + gt)
        coco_dt = coco_gt.loadRes(D + dt)
        start = time.perf_counter()
        ev = COCOeval(coco_gt, coco_dt, iou)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        return [float(v) for v in ev.stats], time.perf_counter() - start


out = {
    "_about": __doc__.split("\n\n")[0].replace("\n", " "),
    "command": "python3 scripts/make-coco-fixture.py",
    "pycocotools": version("pycocotools"),
    "numpy": np.__version__,
    "cases": {},
}
for name, (gt, dt, iou) in CASES.items():
    stats, _ = evaluate(gt, dt, iou)
    seconds = min(evaluate(gt, dt, iou)[1] for _ in range(5))
    out["cases"][name] = {"gt": gt, "dt": dt, "iou_type": iou, "stats": stats, "pycocotools_seconds": seconds}
    print(name, stats, f"{seconds * 1e3:.1f} ms")
with open("tests/fixtures/coco_reference.json", "w") as fh:
    json.dump(out, fh, indent=1)
    fh.write("\n")
