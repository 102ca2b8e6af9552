"""Writes tests/fixtures/kmac_reference.json: reference multiply-accumulate counts of Conv,
ConvTranspose, MatMul and Gemm (no bias, nothing else) in five committed graphs.

`macs_by_op` is a hand formula over ONNX shape inference (onnx.shape_inference with the
input dims fixed, data_prop=True; tensors it leaves unresolved take their shape from
onnx.reference.ReferenceEvaluator), ONNX Runtime nowhere involved:
    Conv          N*Cout*Hout*Wout * (Cin/group)*kH*kW    = |Y| * prod(W.shape[1:])
    ConvTranspose N*Cin*Hin*Win * (Cout/group)*kH*kW      = |X| * prod(W.shape[1:])
    MatMul        batch*M*N * K                           = |Y| * A.shape[-1]
    Gemm          M*N * K                                 = |Y| * |A| / Y.shape[0]
The same formulas over onnxruntime's profiling JSON (ORT_DISABLE_ALL, CPU, prepacking off)
are asserted to give the same counts. `onnx_tool` holds the independent PyPI profiler's sum
over the same op types; its convention differs: +|Y| for a bias input, and ConvTranspose
as |Y| * prod(W.shape[1:]) (output volume, not input volume). kmac_per_px divides by the
H*W of the image (for g_s the output image). Run from the repository root:

    pip install onnx==1.23.2 onnxruntime==1.31.1 onnx-tool==1.0.1 numpy==2.4.6
    python3 scripts/make-kmac-fixture.py
"""
import json
import tempfile
from collections import Counter

import numpy as np
import onnx
import onnx_tool
import onnxruntime as ort
from importlib.metadata import version
from onnx.reference import ReferenceEvaluator

OPS = ("Conv", "ConvTranspose", "MatMul", "Gemm")
# path, image side ("in": input image, "out": output image); input shape below
GRAPHS = [("models/demo-codec/q1/g_a.onnx", "in"), ("models/demo-codec/q1/g_s.onnx", "out"),
          ("models/demo-denoiser/denoiser.onnx", "in"),
          ("tests/fixtures/learned-ctx/tcm-reduced/g_a.onnx", "in"),
          ("tests/fixtures/segm/yolov8seg.onnx", "in")]


def macs(op, ins, out):
    """MACs of one node from its input shapes (data, weight, ...) and output shape."""
    if op == "Conv":
        return int(np.prod(out)) * int(np.prod(ins[1][1:]))
    if op == "ConvTranspose":
        return int(np.prod(ins[0])) * int(np.prod(ins[1][1:]))
    if op == "MatMul":
        return int(np.prod(out)) * ins[0][-1]
    return int(np.prod(out)) * int(np.prod(ins[0])) // out[0]  # Gemm, any transA


def hand(path, feeds):
    m = onnx.load(path)
    for i in m.graph.input:
        if i.name in feeds:
            for d, v in zip(i.type.tensor_type.shape.dim, feeds[i.name].shape):
                d.Clear()
                d.dim_value = v
    m = onnx.shape_inference.infer_shapes(m, strict_mode=True, data_prop=True)
    sh = {t.name: list(t.dims) for t in m.graph.initializer}
    for vi in list(m.graph.input) + list(m.graph.value_info) + list(m.graph.output):
        dims = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
        if vi.type.tensor_type.HasField("shape") and None not in dims:
            sh[vi.name] = dims
    nodes = [n for n in m.graph.node if n.op_type in OPS]
    names = [x for n in nodes for x in [*n.input[:2], n.output[0]]]
    missing = sorted({x for x in names if x not in sh})
    if missing:  # fill the gaps, and check the shapes inference did give
        for x, v in zip(names, ReferenceEvaluator(m).run(names, feeds)):
            assert sh.setdefault(x, list(v.shape)) == list(v.shape), x
    by_op = Counter({op: 0 for op in OPS})
    for n in nodes:
        by_op[n.op_type] += macs(n.op_type, [sh[x] for x in n.input[:2]], sh[n.output[0]])
    return dict(by_op), len(missing)


def from_ort_profile(path, feeds):
    so = ort.SessionOptions()
    so.enable_profiling = True
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.add_session_config_entry("session.disable_prepacking", "1")  # else weights lack shapes
    so.profile_file_prefix = tempfile.mkdtemp() + "/ort"
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    sess.run(None, feeds)
    by_op = Counter({op: 0 for op in OPS})
    for e in json.load(open(sess.end_profiling())):
        a = e["args"]
        if e["cat"] == "Node" and e["name"].endswith("_kernel_time") and a["op_name"] in OPS:
            ins = [next(iter(t.values())) for t in a["input_type_shape"]]
            by_op[a["op_name"]] += macs(a["op_name"], ins, next(iter(a["output_type_shape"][0].values())))
    return dict(by_op)


def onnx_tool_macs(path, feeds):
    g = onnx_tool.Model(path).graph
    g.graph_reorder_nodes()
    g.shape_infer(feeds)
    g.profile()
    return sum(int(n.macs[0]) for n in g.nodemap.values() if n.op_type in OPS)


def image(shape):
    return np.random.default_rng(0).random(shape, dtype=np.float32)


out = {
    "_about": "MACs (multiply-accumulates) of Conv, ConvTranspose, MatMul, Gemm, bias excluded; "
    "formulas in the script's docstring. onnx_tool.macs_total: onnx-tool's count of the same op "
    "types (adds |Y| per biased node; ConvTranspose = |Y|*prod(W[1:])).",
    "command": "python3 scripts/make-kmac-fixture.py",
    "versions": {p: version(p) for p in ("onnx", "onnxruntime", "onnx-tool", "numpy")},
    "graphs": {},
}
latent = ort.InferenceSession(GRAPHS[0][0], providers=["CPUExecutionProvider"]).run(
    None, {"x": image((1, 3, 64, 96))})[0].shape  # g_s's input: g_a's output on 1x3x64x96
for path, side in GRAPHS:
    inp = onnx.load(path).graph.input[0]
    fixed = [d.dim_value for d in inp.type.tensor_type.shape.dim]
    shape = latent if "g_s" in path else fixed if all(fixed) else (1, 3, 64, 96)
    feeds = {inp.name: image(shape)}
    by_op, from_ref = hand(path, feeds)
    assert from_ort_profile(path, feeds) == by_op, path
    outs = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)
    pixels = int(np.prod((shape if side == "in" else outs[0].shape)[-2:]))
    total = sum(by_op.values())
    out["graphs"][path] = {
        "path": path, "input_shape": {inp.name: list(shape)}, "pixels": pixels,
        "macs_by_op": by_op, "macs_total": total, "kmac_per_px": total / pixels / 1000,
        "tensor_shapes_from_reference_evaluator": from_ref,
        "onnx_tool": {"version": version("onnx-tool"), "macs_total": onnx_tool_macs(path, feeds)},
    }
with open("tests/fixtures/kmac_reference.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
