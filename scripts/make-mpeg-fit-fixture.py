"""Writes tests/fixtures/mpeg_fit_reference.json: reference values for MPEG's monotone cubic
curve fit (H. Wang et al., "Improvements of the BD-Rate Metrics Using Monotonic Curve-Fitting
Methods", PCS 2024; CompressAI-Vision scripts/metrics/cubic_polynomial.py and curve_fitting.py,
restated below) and for Bjontegaard deltas of the `bjontegaard` package on the fitted and on the
raw (non-monotone) curves.

The fit, for one curve with rates in ascending order: x = log10(rate), y = metric in percent
(NaN -> 0). Only when y is not strictly increasing, minimise sum((b0 x^3 + b1 x^2 + b2 x + b3 - y)^2)
with scipy's SLSQP from b = (1, 1, 1, 1) subject to f'(x_i) >= 0 and f''(x_i) <= 0 at every point,
f(x_first) >= M_MIN and f(x_last) <= M_MAX; if SLSQP reports success the fitted values replace y.
Each fit is checked against the exact optimum of the same problem found by enumerating active sets
(every subset of at most 4 constraints, solving the equality-constrained least squares through
its KKT system, keeping the best feasible point). SLSQP stops short of that optimum by up to ~6e-3
in the fitted values here, and where it stops depends on the scipy version.

Run from the repository root (versions used: bjontegaard 1.3.0, scipy 1.17.1, numpy 2.4.6):

    pip install bjontegaard==1.3.0 matplotlib scipy numpy
    python3 scripts/make-mpeg-fit-fixture.py
"""
import itertools
import json
import math
import warnings

import bjontegaard as bd
import numpy as np
import scipy
from scipy.optimize import minimize

M_MIN, M_MAX = 0.0, 100.0
NAN = float("nan")  # written as null in the JSON

# name: (anchor rates, anchor metric, test rates, test metric); rates in kbps, ascending
CASES = {
    "dip_middle": ([120, 210, 380, 700, 1300, 2400], [48.2, 55.1, 53.9, 60.4, 63.0, 64.1],
                   [100, 180, 330, 610, 1150, 2100], [49.0, 55.8, 58.7, 58.1, 63.5, 64.6]),
    "plateau": ([150, 260, 450, 800, 1450, 2600], [40.5, 47.3, 52.0, 52.0, 56.2, 57.8],
                [130, 240, 410, 760, 1390, 2500], [41.2, 48.0, 52.9, 55.6, 55.6, 58.3]),
    "saturation": ([200, 350, 600, 1050, 1900, 3400], [90.1, 94.6, 97.0, 99.0, 99.5, 99.4],
                   [180, 320, 560, 990, 1800, 3200], [91.15, 95.35, 97.55, 99.05, 99.7, 99.35]),
    "non_monotone_start": ([90, 160, 300, 550, 1000, 1800], [30.9, 30.25, 38.7, 43.9, 47.15, 48.7],
                           [80, 150, 280, 520, 950, 1700], [29.7, 33.95, 33.2, 42.65, 46.7, 48.9]),
    "monotone": ([100, 200, 400, 800, 1600, 3200], [35.2, 43.7, 50.0, 55.15, 58.5, 59.85],
                 [90, 180, 360, 720, 1450, 2900], [36.1, 44.0, 50.9, 55.8, 58.9, 60.2]),
    "upper_bound_active": ([200, 360, 650, 1150, 2100, 3800], [80.0, 91.0, 97.5, 100.0, 100.0, 100.0],
                           [180, 330, 600, 1100, 2000, 3600], [81.35, 91.95, 98.15, 99.9, 99.85, 99.85]),
    "lower_bound_active": ([60, 110, 200, 370, 680, 1250], [NAN, 0.0, 0.6, 4.8, 11.5, 19.0],
                           [50, 95, 180, 340, 640, 1200], [0.0, 0.2, 1.5, 6.2, 13.0, 20.5]),
    "strongly_concave": ([100, 180, 330, 600, 1100, 2000], [11.8, 41.15, 55.45, 60.2, 59.75, 60.9],
                         [90, 170, 310, 570, 1050, 1900], [15.0, 44.0, 57.0, 60.5, 61.2, 61.0]),
    "four_and_five_points": ([150, 400, 1100, 3000], [42.0, 51.5, 50.9, 58.0],
                             [140, 300, 700, 1500, 3200], [43.1, 49.8, 54.0, 53.6, 58.9]),
}


def nan0(metric):
    return [0.0 if math.isnan(m) else m for m in metric]


def constraints(x):
    """Rows g and offsets h of the constraints g . b >= h: f'(x_i) >= 0, -f''(x_i) >= 0 for every i,
    f(x_first) >= M_MIN, M_MAX - f(x_last) >= 0 (the reference's order)."""
    g = [[3 * t * t, 2 * t, 1, 0] for t in x] + [[-6 * t, -2, 0, 0] for t in x]
    g += [[x[0] ** 3, x[0] ** 2, x[0], 1], [-x[-1] ** 3, -x[-1] ** 2, -x[-1], -1]]
    return np.array(g, float), np.array([0.0] * (2 * len(x)) + [M_MIN, -M_MAX])


def fit_slsqp(x, y):
    v = np.vander(x, 4)
    g, h = constraints(x)
    return minimize(lambda b: np.sum((v @ b - y) ** 2), x0=np.ones(4), method="SLSQP",
                    constraints=[dict(type="ineq", fun=lambda b, r=r, c=c: r @ b - c) for r, c in zip(g, h)])


def fit_exact(x, y):
    """Exact optimum: best feasible solution over all active sets of at most 4 constraints."""
    v = np.vander(x, 4)
    g, h = constraints(x)
    best = None
    for k in range(5):
        for s in itertools.combinations(range(len(g)), k):
            gs = g[list(s)]
            if np.linalg.matrix_rank(gs) < k:
                continue
            kkt = np.block([[2 * v.T @ v, -gs.T], [gs, np.zeros((k, k))]])
            b = np.linalg.solve(kkt, np.concatenate([2 * v.T @ y, h[list(s)]]))[:4]
            if np.all(g @ b - h >= -1e-9 * (1 + np.abs(h))):
                obj = float(np.sum((v @ b - y) ** 2))
                if best is None or obj < best[1]:
                    best = (b, obj)
    return best


def curve(rate, metric):
    x = np.log10(rate)
    y = np.array(nan0(metric))
    res = fit_slsqp(x, y)
    b_exact, obj_exact = fit_exact(x, y)
    f, f_exact = np.vander(x, 4) @ res.x, np.vander(x, 4) @ b_exact
    increasing = all(a < b for a, b in zip(y, y[1:]))
    return {
        "rate": rate, "metric": [None if math.isnan(m) else m for m in metric],
        "fitted": not increasing, "success": bool(res.success), "message": res.message,
        "coef": res.x.tolist(), "fitted_metric": f.tolist(), "objective": float(res.fun),
        "exact_coef": b_exact.tolist(), "exact_fitted_metric": f_exact.tolist(), "exact_objective": obj_exact,
        "slsqp_vs_exact_max_abs": float(np.max(np.abs(f - f_exact))),
        "metric_used": (f if res.success and not increasing else y).tolist(),
        "metric_used_fit_all": (f if res.success else y).tolist(),
        "metric_used_exact": (y if increasing else f_exact).tolist(),
    }


def bd_call(fn, ra, ma, rt, mt, method):
    """Value, or the exception's type and message; warnings are collected."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            v = fn(ra, ma, rt, mt, method=method, require_matching_points=False)
        except Exception as e:  # noqa: BLE001
            return {"error": f"{type(e).__name__}: {e}"}
    return {"value": float(v), "warnings": [str(x.message) for x in w]}


out = {
    "_about": "Rates ascending (kbps); metric in percent, null = NaN (taken as 0). 'fitted': the "
    "CompressAI-Vision non_mono_only rule (metric not strictly increasing); the SLSQP fit (coef, "
    "fitted_metric, objective) and the exact optimum (exact_*) are given for every curve. metric_used = "
    "fitted_metric if fitted and success, else metric; metric_used_exact = exact_fitted_metric if fitted, "
    "else metric; metric_used_fit_all = fitted_metric for every curve (non_mono_only=False, as "
    "gen_mpeg_cttc_csv.py does in VCM mode). SLSQP stops short of the optimum and its iterates depend on "
    "the scipy version (1.15's Fortran SLSQP and 1.16+'s C port differ by up to ~6e-4 here): the exact "
    "fields are the version-free target; slsqp_vs_exact_max_abs = max |fitted_metric - "
    "exact_fitted_metric|. bd_rate_* (percent) and bd_metric_* (metric units) are bjontegaard.bd_rate / "
    "bd_psnr with require_matching_points=False, default min_overlap, on the metric_used* curves "
    "(pchip_fitted, pchip_exact_fitted, pchip_fit_all) or on the raw metric (NaN->0) with cubic, pchip, "
    "akima: {value, warnings} or {error} = the exception the package raised.",
    "command": "python3 scripts/make-mpeg-fit-fixture.py",
    "versions": {"bjontegaard": bd.__version__, "scipy": scipy.__version__, "numpy": np.__version__},
    "m_min": M_MIN, "m_max": M_MAX,
    "cases": {},
}
for name, (ra, ma, rt, mt) in CASES.items():
    a, t = curve(ra, ma), curve(rt, mt)
    case = {"anchor": a, "test": t}
    for key, used in (("fitted", "metric_used"), ("exact_fitted", "metric_used_exact"),
                      ("fit_all", "metric_used_fit_all")):
        for fn, what in ((bd.bd_rate, "bd_rate"), (bd.bd_psnr, "bd_metric")):
            case[f"{what}_pchip_{key}"] = bd_call(fn, ra, a[used], rt, t[used], "pchip")
    raw_a, raw_t = nan0(ma), nan0(mt)
    for method in ("cubic", "pchip", "akima"):
        for fn, what in ((bd.bd_rate, "bd_rate"), (bd.bd_psnr, "bd_metric")):
            case[f"{what}_{method}_raw"] = bd_call(fn, ra, raw_a, rt, raw_t, method)
    out["cases"][name] = case
    print(f"{name}: slsqp vs exact {a['slsqp_vs_exact_max_abs']:.2e} {t['slsqp_vs_exact_max_abs']:.2e}, "
          f"success {a['success']} {t['success']}, fitted {a['fitted']} {t['fitted']}")

with open("tests/fixtures/mpeg_fit_reference.json", "w") as f:
    json.dump(out, f, indent=1, allow_nan=False)
    f.write("\n")
