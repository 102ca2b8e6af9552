"""Times the Python peers of icmbench side by side, in process, on the inputs icmbench's
criterion benches use: pyiqa 0.1.16 (PSNR, SSIM, MS-SSIM, NIQE, BRISQUE, LPIPS), the
official lpips 0.1.4, pycocotools 2.0.11 and faster-coco-eval 1.8.0 (COCO bbox evaluation of
cocoapi's 100-image val2014 sample) and bjontegaard 1.3.0 (BD-rate, pchip).

Each measure: one warm-up call, then N timed calls (time.perf_counter), N chosen so that the
measure takes about TARGET_S seconds; the median and the minimum are reported. Torch runs
on THREADS threads.

Nothing is downloaded: every weight file pyiqa or torchvision would fetch is replaced by a
locally made stand-in of the real shape (see `offline_torch`), so the IQA values are
meaningless and not checked; only the times count. Run through run.sh (which provides the
pinned packages), or directly with a Python that has them:

    python3 benches/peers/peers.py [--json] [--quick]
"""
import argparse
import atexit
import contextlib
import datetime
import functools
import io
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from urllib.parse import urlparse

THREADS = 2
# Numerical libraries read these when first imported (below, lazily): the same thread
# count as torch, so that no peer gets more cores than another.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, str(THREADS))

ROOT = Path(__file__).resolve().parents[2]
TARGET_S = 4.0  # wall time of one measure, warm-up excluded
MIN_REPS = 3
QUICK_REPS = 2
PACKAGES = ["torch", "torchvision", "pyiqa", "lpips", "pycocotools", "faster-coco-eval",
            "bjontegaard", "numpy", "scipy", "pillow"]
STAND_IN_NOTE = "stand-in weights: value not checked, time only"
COCO_DIR = ROOT / "tests/fixtures/coco"
COCO_GT = COCO_DIR / "instances_val2014_100.json"
COCO_DT = COCO_DIR / "instances_val2014_fakebbox100_results.json"


# ---------------------------------------------------------------- inputs


@functools.cache
def image_pair():
    """The 768x512 photo of icmbench's criterion benches and its JPEG (q50) round trip.

    icmbench resizes with the `image` crate's Lanczos3 and encodes with its own JPEG codec;
    PIL's Lanczos and libjpeg give slightly different pixels, which does not matter for
    timing (same size, same kind of content and distortion)."""
    from PIL import Image

    ref = Image.open(ROOT / "datasets/samples/motorcycle_left.png").convert("RGB")
    ref = ref.resize((768, 512), Image.LANCZOS)
    buf = io.BytesIO()
    ref.save(buf, format="JPEG", quality=50)
    buf.seek(0)
    return ref, Image.open(buf).convert("RGB")


@functools.cache
def tensors():
    """The pair as float32 1x3x512x768 tensors in [0, 1] (reference, distorted)."""
    import numpy as np

    torch = offline_torch()
    return tuple(
        torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()
        for im in image_pair()
    )


# ---------------------------------------------------------------- no downloads


@functools.cache
def offline_torch():
    """Imports torch on THREADS threads with its hub directory (where torchvision and pyiqa
    look for downloaded weights before downloading) moved to a fresh temporary directory,
    so that only the stand-ins written there are ever found. Must run before pyiqa is
    imported: pyiqa reads the hub directory at import."""
    import torch

    torch.set_num_threads(THREADS)
    hub = tempfile.mkdtemp(prefix="icmbench-peers-hub-")
    atexit.register(shutil.rmtree, hub, ignore_errors=True)
    torch.hub.set_dir(hub)
    return torch


def pyiqa_stand_in(url, write):
    """Writes a stand-in, with `write(path)`, for the file pyiqa's load_file_from_url would
    download from `url`: it returns a cached file of that name without downloading."""
    offline_torch()
    from pyiqa.utils.download_util import DEFAULT_CACHE_DIR

    os.makedirs(DEFAULT_CACHE_DIR, exist_ok=True)
    path = os.path.join(DEFAULT_CACHE_DIR, os.path.basename(urlparse(url).path))
    if not os.path.exists(path):
        write(path)


def write_niqe_params(path):
    """NIQE's pristine model with the real shapes: mu 1x36, a 36x36 covariance (random,
    symmetric positive definite)."""
    import numpy as np
    import scipy.io

    rng = np.random.default_rng(0)
    a = rng.standard_normal((36, 36))
    scipy.io.savemat(path, {"mu_prisparam": rng.standard_normal((1, 36)), "cov_prisparam": a @ a.T / 36 + np.eye(36)})


def write_brisque_svm(path):
    """BRISQUE's SVR as pyiqa loads it, (sv_coef, sv), with the size of the official LIBSVM
    model (774 support vectors of 36 features), random values."""
    torch = offline_torch()
    g = torch.Generator().manual_seed(0)
    sv_coef = torch.randn(774, generator=g, dtype=torch.float64)
    sv = torch.rand(774, 36, generator=g, dtype=torch.float64) * 2 - 1  # scaled features lie in [-1, 1]
    torch.save((sv_coef, sv), path)


def write_lpips_linear(path):
    """pyiqa's LPIPS linear layers: the lpips package's bundled v0.1 AlexNet layers (the
    same keys, lin0..lin4)."""
    import lpips

    shutil.copyfile(os.path.join(os.path.dirname(lpips.__file__), "weights/v0.1/alex.pth"), path)


def torchvision_alexnet_stand_in():
    """Puts a randomly initialised AlexNet where torchvision looks for the ImageNet weights
    (pyiqa's LPIPS always asks for them). Only its convolutions are used by LPIPS; the
    unused classifier tensors are saved as one value broadcast to their shape, which keeps
    the file small (it loads as a stride-0 tensor and copies into the parameter)."""
    torch = offline_torch()
    from torchvision.models import AlexNet_Weights, alexnet

    path = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(AlexNet_Weights.IMAGENET1K_V1.url))
    if os.path.exists(path):
        return
    state = alexnet(weights=None).state_dict()
    for k, v in state.items():
        if k.startswith("classifier."):
            state[k] = torch.zeros(()).expand(v.shape)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(state, path)


# ---------------------------------------------------------------- peers
# Each setup function imports and prepares a peer and returns (function to time, note).


def pyiqa_metric(name):
    def setup():
        torch = offline_torch()
        ref, dist = tensors()
        note = ""
        if name == "niqe":
            from pyiqa.archs.niqe_arch import default_model_urls
            pyiqa_stand_in(default_model_urls["url"], write_niqe_params)
            note = STAND_IN_NOTE + " (real 96x96 block pipeline, 36-feature MVG)"
        elif name == "brisque":
            from pyiqa.archs.brisque_arch import default_model_urls
            pyiqa_stand_in(default_model_urls["url"], write_brisque_svm)
            note = STAND_IN_NOTE + " (random SVR, 774 support vectors x 36)"
        elif name == "lpips":
            from pyiqa.archs.lpips_arch import default_model_urls
            pyiqa_stand_in(default_model_urls["0.1_alex"], write_lpips_linear)
            torchvision_alexnet_stand_in()
            note = STAND_IN_NOTE + " (random AlexNet, lpips' bundled linear layers)"
        import pyiqa

        metric = pyiqa.create_metric(name, device=torch.device("cpu"))
        if metric.metric_mode == "NR":
            return (lambda: metric(dist)), note
        return (lambda: metric(dist, ref)), note

    return setup


def lpips_official():
    torch = offline_torch()
    import lpips

    # pnet_rand: a random AlexNet instead of torchvision's ImageNet weights (a download);
    # the linear layers are the package's bundled ones. Same network, same time.
    model = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False).eval()
    ref, dist = (2 * t - 1 for t in tensors())  # lpips takes [-1, 1]

    def run():
        with torch.no_grad():
            return model(ref, dist)

    return run, STAND_IN_NOTE + " (random AlexNet, bundled linear layers)"


def coco_api(peer):
    """(COCO class, COCOeval class) of pycocotools or faster-coco-eval."""
    if peer == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
        return COCO, COCOeval
    from faster_coco_eval import COCO, COCOeval_faster
    return COCO, COCOeval_faster


def coco_load(peer):
    def setup():
        coco, _ = coco_api(peer)
        return (lambda: coco(str(COCO_GT)).loadRes(str(COCO_DT))), ""

    return setup


def coco_eval(peer):
    """COCOeval(gt, dt, 'bbox') + evaluate + accumulate + summarize on annotations loaded
    once beforehand (as scripts/make-coco-fixture.py times pycocotools)."""
    def setup():
        coco, cocoeval = coco_api(peer)
        gt = coco(str(COCO_GT))
        dt = gt.loadRes(str(COCO_DT))

        def run():
            ev = cocoeval(gt, dt, "bbox")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            return ev.stats

        return run, f"AP {run()[0]:.4f}"

    return setup


def bd_rate(case):
    def setup():
        import bjontegaard as bd

        c = json.loads((ROOT / "tests/fixtures/bjontegaard_reference.json").read_text())["cases"][case]
        curves = c["rate_anchor"], c["metric_anchor"], c["rate_test"], c["metric_test"]
        n = len(c["rate_anchor"])
        return (lambda: bd.bd_rate(*curves, method="pchip")), f"example_usage.py case {case}, {n} points per curve"

    return setup


def coco_sizes():
    """(images, detections) of the COCO fixture."""
    images = len(json.loads(COCO_GT.read_text())["images"])
    return images, len(json.loads(COCO_DT.read_text()))


def measures():
    """(measure, peer, setup) for every row of the table."""
    images, dets = coco_sizes()
    rows = [
        ("PSNR 768x512", "pyiqa psnr", pyiqa_metric("psnr")),
        ("SSIM 768x512", "pyiqa ssim", pyiqa_metric("ssim")),
        ("MS-SSIM 768x512", "pyiqa ms_ssim", pyiqa_metric("ms_ssim")),
        ("NIQE 768x512", "pyiqa niqe", pyiqa_metric("niqe")),
        ("BRISQUE 768x512", "pyiqa brisque", pyiqa_metric("brisque")),
        ("LPIPS-Alex 768x512", "lpips LPIPS(net='alex')", lpips_official),
        ("LPIPS-Alex 768x512", "pyiqa lpips", pyiqa_metric("lpips")),
    ]
    for peer in ("pycocotools", "faster-coco-eval"):
        rows.append((f"COCO load gt+dt json ({images} images)", peer, coco_load(peer)))
    for peer in ("pycocotools", "faster-coco-eval"):
        rows.append((f"COCO bbox eval+accumulate+summarize ({images} images, {dets} dets)", peer, coco_eval(peer)))
    for case in ("T1", "T3"):
        rows.append((f"BD-rate pchip ({case})", "bjontegaard bd_rate", bd_rate(case)))
    return rows


# ---------------------------------------------------------------- timing and output


def time_calls(fn, quick):
    """Warm-up call, then (median, min) in seconds over the repetitions, and their count."""
    fn()
    if quick:
        reps = QUICK_REPS
    else:
        start = time.perf_counter()
        fn()
        reps = max(MIN_REPS, round(TARGET_S / (time.perf_counter() - start)))
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), reps


def run_measure(measure, peer, setup, quick):
    """One row; any failure (import, missing file, crash) becomes the row's note."""
    print(f"timing {measure} / {peer}", file=sys.stderr, flush=True)
    row = {"measure": measure, "peer": peer, "median_ms": None, "min_ms": None, "reps": 0, "note": ""}
    try:
        # Peers print progress and COCO summaries to stdout, which must stay clean for
        # --json; the same sink for every peer, so the cost is the same.
        with contextlib.redirect_stdout(io.StringIO()):
            fn, row["note"] = setup()
            median, best, row["reps"] = time_calls(fn, quick)
        row["median_ms"], row["min_ms"] = median * 1e3, best * 1e3
    except Exception as e:  # noqa: BLE001 - reported in the row, not fatal
        row["note"] = f"error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
    return row


def machine():
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = version(p)
        except PackageNotFoundError:
            versions[p] = None
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "torch_threads": THREADS,
        "python": platform.python_version(),
        "versions": versions,
        "input": "datasets/samples/motorcycle_left.png, PIL Lanczos to 768x512, distorted = PIL JPEG q50",
    }


def fmt(ms):
    """A duration with 3 significant digits in µs, ms or s."""
    if ms is None:
        return "-"
    if ms < 1:
        return f"{ms * 1e3:.3g} µs"
    if ms < 1e3:
        return f"{ms:.3g} ms"
    return f"{ms / 1e3:.3g} s"


def markdown(info, rows):
    v = info["versions"]
    lines = [
        f"Peers, {info['date_utc']}: {info['cpu']}, {info['cores']} cores, Python {info['python']}, "
        f"torch {v['torch']} ({info['torch_threads']} threads), "
        + ", ".join(f"{p} {v[p] or 'not installed'}" for p in PACKAGES if p != "torch"),
        "",
        "| measure | peer | median | min | repetitions | note |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        note = r["note"].replace("|", "\\|")  # an error text must not split the row
        lines.append(f"| {r['measure']} | {r['peer']} | {fmt(r['median_ms'])} | {fmt(r['min_ms'])} | {r['reps']} | {note} |")
    lines += ["", "Stand-in weights (no downloads): the NIQE, BRISQUE and LPIPS values are not checked, times only."]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a Markdown table")
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_REPS} repetitions per measure (a smoke test)")
    args = ap.parse_args()
    # torchvision's and lpips' deprecation warnings (the `pretrained` argument) and
    # bjontegaard's extrapolation warnings: noise here, they do not change the times.
    warnings.simplefilter("ignore")
    info = machine()
    rows = [run_measure(m, p, s, args.quick) for m, p, s in measures()]
    if args.json:
        print(json.dumps({**info, "quick": args.quick, "rows": rows}, indent=1))
    else:
        print(markdown(info, rows))


if __name__ == "__main__":
    main()
