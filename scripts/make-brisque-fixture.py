"""Writes tests/fixtures/brisque_reference.json: BRISQUE on pyiqa's calibration images by a
line-by-line numpy port of the official MATLAB release (brisquescore.m, brisque_feature.m,
estimateggdparam.m, estimateaggdparam.m; MATLAB's filter2 = zero-padded correlation,
circshift = numpy.roll, imresize(., 0.5) = bicubic with antialiasing, ported below), with
the release's model read from brisque_live.json (tools/models/extract_brisque.py), next to
the official values from pyiqa's results_official.csv and pyiqa's own.

results_official.csv (pyiqa's repository, ResultsCalibra/results_official.csv; it is not in
the wheel) is read from the path in $PYIQA_RESULTS_OFFICIAL; without it the official column
is left empty.

Where I = mu mathematically (a constant window, a linear ramp), I - mu is rounding noise
in floating point, and its sign decides on which side of the AGGD fits a pixel counts, so
on images with flat areas the release's score depends on the arithmetic. The port is
therefore evaluated three ways: port_exact (|I - mu| < 1e-8 taken as the 0 it is: what
icmbench computes), port_f64 and port_f32 (the formula as written, float64 and float32).

Needs numpy, scipy and Pillow; run from the repository root after `make models` and
scripts/fetch-test-fixtures.sh:

    python3 scripts/make-brisque-fixture.py
"""
import csv
import json
import os

import numpy as np
import PIL
import scipy
from PIL import Image
from scipy.ndimage import correlate
from scipy.special import gamma as G

IMAGES = ["I03", "I04", "I06", "I08", "I19"]
models = os.environ.get("ICMBENCH_MODELS", "third_party/models")
model = json.load(open(os.path.join(models, "brisque_live.json")))
sv, coef = np.array(model["sv"]), np.array(model["sv_coef"])
lo, hi = np.array(model["range_min"]), np.array(model["range_max"])


def cubic(x):
    ax = np.abs(x)
    return (1.5 * ax**3 - 2.5 * ax**2 + 1) * (ax <= 1) + (-0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))


def contributions(n):
    """MATLAB imresize's weights and indices for scale 0.5 along an axis of length n."""
    scale, width = 0.5, 8.0
    u = np.arange(1, int(np.ceil(n * scale)) + 1) / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    ind = left[:, None] + np.arange(int(np.ceil(width)) + 2)[None, :]
    w = scale * cubic(scale * (u[:, None] - ind))
    w = w / w.sum(1, keepdims=True)
    aux = np.concatenate([np.arange(n), np.arange(n - 1, -1, -1)])
    ind = aux[np.mod(ind.astype(int) - 1, 2 * n)]
    keep = np.any(w != 0, 0)
    return w[:, keep], ind[:, keep]


def imresize_half(a):
    wr, ir = contributions(a.shape[0])
    a = (a[ir] * wr[:, :, None]).sum(1)
    wc, ic = contributions(a.shape[1])
    return (a[:, ic] * wc[None]).sum(2)


GAM = np.arange(0.2, 10 + 1e-9, 0.001)


def ggd(x):
    r = G(1 / GAM) * G(3 / GAM) / G(2 / GAM) ** 2
    s2 = np.mean(x**2)
    return GAM[np.argmin(np.abs(s2 / np.mean(np.abs(x)) ** 2 - r))], s2


def aggd(x):
    r = G(2 / GAM) ** 2 / (G(1 / GAM) * G(3 / GAM))
    ls, rs = np.sqrt(np.mean(x[x < 0] ** 2)), np.sqrt(np.mean(x[x > 0] ** 2))
    g = ls / rs
    rh = np.mean(np.abs(x)) ** 2 / np.mean(x**2)
    rhn = rh * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    return GAM[np.argmin((r - rhn) ** 2)], ls, rs


def features(img, exact):
    x = np.arange(7) - 3
    win = np.exp(-(x[None] ** 2 + x[:, None] ** 2) / (2 * (7 / 6) ** 2))
    win = (win / win.sum()).astype(img.dtype)
    mu = correlate(img, win, mode="constant")
    sigma = np.sqrt(np.abs(correlate(img * img, win, mode="constant") - mu * mu))
    num = img - mu
    if exact:
        num[np.abs(num) < 1e-8] = 0
    d = num / (sigma + 1)
    a, s2 = ggd(d)
    f = [a, s2]
    for shift in [(0, 1), (1, 0), (1, 1), (-1, 1)]:
        a, ls, rs = aggd(d * np.roll(d, shift, axis=(0, 1)))
        f += [a, (rs - ls) * (G(2 / a) / G(1 / a)) * np.sqrt(G(1 / a) / G(3 / a)), ls * ls, rs * rs]
    return f


def score(grey, dtype, exact=False):
    img = grey.astype(dtype)
    f = np.array(features(img, exact) + features(imresize_half(grey).astype(dtype), exact), dtype=np.float64)
    x = -1 + 2 * (f - lo) / (hi - lo)
    return float(np.exp(-model["gamma"] * ((sv - x) ** 2).sum(1)) @ coef - model["rho"])


official = {}
if os.environ.get("PYIQA_RESULTS_OFFICIAL"):
    with open(os.environ["PYIQA_RESULTS_OFFICIAL"]) as fh:
        for row in csv.reader(fh):
            if row[0] == "brisque":
                official = {name: float(v) for name, v in zip(IMAGES, row[1:])}
out = {
    "_about": "BRISQUE (LIVE release model) on third_party/iqa-calib/dist_dir. port_exact: numpy port of the MATLAB release, float64, I - mu below 1e-8 set to 0; "
    "port_f64/port_f32: the port with the formula as written in float64/float32. official: results_official.csv row 'brisque'. pyiqa: pyiqa 0.1.16 ResultsCalibra/pyiqa_ours.csv row 'brisque'.",
    "command": "python3 scripts/make-brisque-fixture.py",
    "numpy": np.__version__,
    "scipy": scipy.__version__,
    "pillow": PIL.__version__,
    "official": official,
    "pyiqa": {"I03": 94.6452, "I04": -0.1082, "I06": 1.0759, "I08": 5.1423, "I19": 66.8381},
    "port_exact": {},
    "port_f64": {},
    "port_f32": {},
    "flat_fraction": {},
}
for name in IMAGES:
    rgb = np.asarray(Image.open(f"third_party/iqa-calib/dist_dir/{name}.bmp").convert("RGB")).astype(np.float64)
    grey = np.round(rgb @ np.array([0.298936021293775, 0.587043074451121, 0.114020904255103]))
    out["port_exact"][name] = score(grey, np.float64, exact=True)
    out["port_f64"][name] = score(grey, np.float64)
    out["port_f32"][name] = score(grey, np.float32)
    x = np.arange(7) - 3
    win = np.exp(-(x[None] ** 2 + x[:, None] ** 2) / (2 * (7 / 6) ** 2))
    win /= win.sum()
    mu = correlate(grey, win, mode="constant")
    sigma = np.sqrt(np.abs(correlate(grey * grey, win, mode="constant") - mu * mu))
    out["flat_fraction"][name] = round(float((sigma < 0.5).mean()), 4)
with open("tests/fixtures/brisque_reference.json", "w") as fh:
    json.dump(out, fh, indent=1)
    fh.write("\n")
print(json.dumps(out, indent=1))
