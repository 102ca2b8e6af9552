"""Times the Python peers of icmbench side by side, in process, on the inputs icmbench's
criterion benches use: pyiqa 0.1.16 (PSNR, SSIM, MS-SSIM, GMSD, FSIM, NIQE, BRISQUE, LPIPS,
DISTS),
piq 0.8.0 (pixel-domain VIF), basicsr 1.4.2 (PSNR and SSIM with crop_border and
test_y_channel, from its sdist), the official lpips 0.1.4, pycocotools 2.0.11 and faster-coco-eval 1.8.0 (COCO bbox evaluation of
cocoapi's 100-image val2014 sample) and bjontegaard 1.3.0 (BD-rate, pchip), beside
icmbench's criterion medians for the same measures; with --icmbench, whole processes both
ways (eval-map, LPIPS and BRISQUE on five images, and an end-to-end JPEG job done with
compressai 1.2.8's bench codec and pyiqa against `icmbench run`).

Each measure: one warm-up call, then N timed calls (time.perf_counter), N chosen so that the
measure takes about TARGET_S seconds; the median and the minimum are reported. Torch runs
on THREADS threads.

Nothing is downloaded: every weight file pyiqa or torchvision would fetch is replaced by a
locally made stand-in of the real shape (see `offline_torch`), so the IQA values are
meaningless and not checked; only the times count. Run through run.sh (which provides the
pinned packages), or directly with a Python that has them:

    python3 benches/peers/peers.py [--json] [--quick] [--only TEXT] [--criterion DIR] [--icmbench BIN]
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
PACKAGES = ["torch", "torchvision", "pyiqa", "piq", "lpips", "pycocotools", "faster-coco-eval",
            "bjontegaard", "compressai", "numpy", "scipy", "pillow"]
STAND_IN_NOTE = "stand-in weights: value not checked, time only"
HUB_ENV = "ICMBENCH_PEERS_HUB"
WHOLE_REPS = 3  # repetitions of each whole-process measure (the end-to-end job: 1)
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
    hub = os.environ.get(HUB_ENV)
    if not hub:
        # The whole-process children (--child) get this directory through the environment:
        # they find the stand-ins already written, as a user finds downloaded weights.
        hub = tempfile.mkdtemp(prefix="icmbench-peers-hub-")
        atexit.register(shutil.rmtree, hub, ignore_errors=True)
        os.environ[HUB_ENV] = hub
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


def torchvision_stand_in(net):
    """Puts a randomly initialised torchvision `net` ("alexnet" or "vgg16") where torchvision
    looks for its ImageNet weights (pyiqa's LPIPS and DISTS always ask for them). Only the
    convolutions are used; the unused classifier tensors are saved as one value broadcast to
    their shape, which keeps the file small (it loads as a stride-0 tensor and copies into
    the parameter)."""
    torch = offline_torch()
    from torchvision import models

    weights = {"alexnet": models.AlexNet_Weights, "vgg16": models.VGG16_Weights}[net].IMAGENET1K_V1
    path = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(weights.url))
    if os.path.exists(path):
        return
    state = getattr(models, net)(weights=None).state_dict()
    for k, v in state.items():
        if k.startswith("classifier."):
            state[k] = torch.zeros(()).expand(v.shape)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(state, path)


def write_dists_weights(path):
    """pyiqa's DISTS weights file: alpha and beta [1, 1475, 1, 1] drawn as DISTS initialises
    them (normal, mean 0.1, sd 0.01)."""
    torch = offline_torch()
    g = torch.Generator().manual_seed(0)
    torch.save({k: 0.1 + 0.01 * torch.randn(1, 1475, 1, 1, generator=g) for k in ("alpha", "beta")}, path)


# ---------------------------------------------------------------- peers
# Each setup function imports and prepares a peer and returns (function to time, note).


def pyiqa_stand_ins(name):
    """Writes the stand-in weights pyiqa's metric `name` would download; returns the note
    for its row."""
    if name == "niqe":
        from pyiqa.archs.niqe_arch import default_model_urls
        pyiqa_stand_in(default_model_urls["url"], write_niqe_params)
        return STAND_IN_NOTE + " (real 96x96 block pipeline, 36-feature MVG)"
    if name == "brisque":
        from pyiqa.archs.brisque_arch import default_model_urls
        pyiqa_stand_in(default_model_urls["url"], write_brisque_svm)
        return STAND_IN_NOTE + " (random SVR, 774 support vectors x 36)"
    if name == "lpips":
        from pyiqa.archs.lpips_arch import default_model_urls
        pyiqa_stand_in(default_model_urls["0.1_alex"], write_lpips_linear)
        torchvision_stand_in("alexnet")
        return STAND_IN_NOTE + " (random AlexNet, lpips' bundled linear layers)"
    if name == "dists":
        from pyiqa.archs.dists_arch import default_model_urls
        pyiqa_stand_in(default_model_urls["url"], write_dists_weights)
        torchvision_stand_in("vgg16")
        return STAND_IN_NOTE + " (random VGG16 and alpha, beta)"
    return ""


def pyiqa_metric(name):
    def setup():
        torch = offline_torch()
        ref, dist = tensors()
        note = pyiqa_stand_ins(name)
        import pyiqa

        metric = pyiqa.create_metric(name, device=torch.device("cpu"))
        if metric.metric_mode == "NR":
            return (lambda: metric(dist)), note
        return (lambda: metric(dist, ref)), note

    return setup


def exported_random(kind):
    """pyiqa's CLIP-IQA, TOPIQ or MANIQA network with the random weights icmbench's tests use
    (tools/export/*.py build them without downloading): the same architecture and work as a
    real checkpoint."""
    def setup():
        torch = offline_torch()
        ref, dist = tensors()
        sys.path.insert(0, str(ROOT / "tools/export"))
        if kind == "clipiqa":
            import clipiqa

            net, fr, note = clipiqa.clipiqa("random"), False, "tools/export/clipiqa.py random"
        elif kind == "maniqa":
            import maniqa

            net, fr, note = maniqa.maniqa("random"), False, "tools/export/maniqa.py random"
        else:
            import topiq

            (net, fr), note = topiq.cfanet("random-" + kind), f"tools/export/topiq.py random-{kind}"

        def run():
            with torch.no_grad():
                return net(dist, ref) if fr else net(dist)

        return run, f"random weights ({note}): time only"

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


def piq_vifp():
    """piq 0.8.0's vif_p(distorted, reference) on the float32 pair in [0, 1] (no weights)."""
    offline_torch()
    from piq import vif_p

    ref, dist = tensors()
    return (lambda: vif_p(dist, ref, data_range=1.0)), ""


@functools.cache
def basicsr_metrics():
    """basicsr 1.4.2's metrics.psnr_ssim, loaded from its unpacked sdist ($ICMBENCH_PEERS_BASICSR,
    set by run.sh) as scripts/make-basicsr-fixture.py loads it (the package __init__ skipped)."""
    import importlib.util

    src = os.environ.get("ICMBENCH_PEERS_BASICSR")
    if not src:
        raise RuntimeError("ICMBENCH_PEERS_BASICSR is not set (run through benches/peers/run.sh)")
    spec = importlib.util.spec_from_file_location("make_basicsr_fixture", ROOT / "scripts/make-basicsr-fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_basicsr(src)


def basicsr(function, crop_border, test_y_channel):
    """basicsr's calculate_psnr / calculate_ssim on the pair as BGR uint8 HWC arrays, as
    BasicSR's test scripts call them."""
    def setup():
        import numpy as np

        fn = getattr(basicsr_metrics(), function)
        ref, dist = (np.ascontiguousarray(np.asarray(im)[:, :, ::-1]) for im in image_pair())
        return (lambda: fn(dist, ref, crop_border, test_y_channel=test_y_channel)), ""

    return setup


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


# Goals (peer median / icmbench median) of issue 19; every other row's goal is parity of
# speed (1x).
GOALS = {"NIQE 768x512": 5.0, "BRISQUE 768x512": 3.0, ("LPIPS-Alex 768x512", "lpips LPIPS(net='alex')"): 2.0}


def goal(measure, peer):
    return GOALS.get((measure, peer), GOALS.get(measure, 1.0))


def measures():
    """(measure, peer, setup, icmbench's criterion benchmark id or None) for every row."""
    images, dets = coco_sizes()
    rows = [
        ("PSNR 768x512", "pyiqa psnr", pyiqa_metric("psnr"), "metric_768x512/psnr-rgb"),
        ("SSIM 768x512", "pyiqa ssim", pyiqa_metric("ssim"), "metric_768x512/ssim-grey"),
        ("MS-SSIM 768x512", "pyiqa ms_ssim", pyiqa_metric("ms_ssim"), "metric_768x512/ms-ssim-rgb"),
        ("GMSD 768x512", "pyiqa gmsd", pyiqa_metric("gmsd"), "metric_768x512/gmsd"),
        ("FSIMc 768x512", "pyiqa fsim", pyiqa_metric("fsim"), "metric_768x512/fsim"),
        ("VIF pixel 768x512", "piq vif_p", piq_vifp, "metric_768x512/vifp"),
        ("PSNR-Y crop 4 768x512", "basicsr calculate_psnr", basicsr("calculate_psnr", 4, True), "metric_768x512/psnr-y-crop4"),
        ("SSIM-Y crop 4 768x512", "basicsr calculate_ssim", basicsr("calculate_ssim", 4, True), "metric_768x512/ssim-y-crop4"),
        ("PSNR-RGB crop 4 768x512", "basicsr calculate_psnr", basicsr("calculate_psnr", 4, False), "metric_768x512/psnr-rgb-crop4"),
        ("SSIM-RGB crop 4 768x512", "basicsr calculate_ssim", basicsr("calculate_ssim", 4, False), "metric_768x512/ssim-rgb-crop4"),
        ("NIQE 768x512", "pyiqa niqe", pyiqa_metric("niqe"), "metric_768x512/niqe"),
        ("BRISQUE 768x512", "pyiqa brisque", pyiqa_metric("brisque"), "metric_768x512/brisque"),
        ("LPIPS-Alex 768x512", "lpips LPIPS(net='alex')", lpips_official, "metric_768x512/lpips-alex"),
        ("LPIPS-Alex 768x512", "pyiqa lpips", pyiqa_metric("lpips"), "metric_768x512/lpips-alex"),
        ("DISTS 768x512", "pyiqa dists", pyiqa_metric("dists"), "metric_768x512/dists"),
        ("VIF wavelet 768x512", "pyiqa vif", pyiqa_metric("vif"), "metric_768x512/vif"),
        ("CLIP-IQA 768x512", "pyiqa CLIPIQA", exported_random("clipiqa"), "exported_768x512/clipiqa"),
        ("TOPIQ NR 768x512", "pyiqa CFANet", exported_random("nr"), "exported_768x512/topiq-nr"),
        ("TOPIQ FR 768x512", "pyiqa CFANet", exported_random("fr"), "exported_768x512/topiq-fr"),
        ("MANIQA 768x512", "pyiqa MANIQA", exported_random("maniqa"), "exported_768x512/maniqa"),
    ]
    for peer in ("pycocotools", "faster-coco-eval"):
        rows.append((f"COCO load gt+dt json ({images} images)", peer, coco_load(peer), None))
    for peer in ("pycocotools", "faster-coco-eval"):
        rows.append((f"COCO bbox eval+accumulate+summarize ({images} images, {dets} dets)", peer, coco_eval(peer),
                     "eval_map_val2014_100/bbox_evaluate_only"))
    # icmbench's BD benchmark is the six-point curve (T3), BD-rate and BD-metric together.
    rows.append(("BD-rate pchip (T1)", "bjontegaard bd_rate", bd_rate("T1"), None))
    rows.append(("BD-rate pchip (T3)", "bjontegaard bd_rate", bd_rate("T3"), "bd_rate_and_metric/pchip"))
    return rows


def criterion_median_ms(criterion_dir, bench_id):
    """The median of icmbench's criterion benchmark `bench_id` (its latest run) in ms, or
    None when it has not been run."""
    if criterion_dir is None or bench_id is None:
        return None
    try:
        est = json.loads((Path(criterion_dir) / bench_id / "new/estimates.json").read_text())
    except (OSError, ValueError):
        return None
    return est["median"]["point_estimate"] / 1e6


# ---------------------------------------------------------------- whole processes
# The same jobs run as a user would: one command, start-up, model loading and file reading
# included. Peers run as `peers.py --child ...` with the stand-ins written beforehand (a user
# has downloaded weights in a cache).


def child(args):
    """Runs one whole-process peer job (called in a fresh interpreter): `kind` and files."""
    kind, files = args[0], args[1:]
    if kind in ("pycocotools", "faster-coco-eval"):
        coco, cocoeval = coco_api(kind)
        gt = coco(files[0])
        ev = cocoeval(gt, gt.loadRes(files[1]), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
        return
    torch = offline_torch()
    import numpy as np
    from PIL import Image

    pyiqa_stand_ins(kind)
    import pyiqa

    metric = pyiqa.create_metric(kind, device=torch.device("cpu"))
    load = lambda f: torch.from_numpy(np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    for f in files:
        ref, _, dist = f.partition(":")
        value = metric(load(dist)) if metric.metric_mode == "NR" else metric(load(dist), load(ref))
        print(kind, f, float(value))


def e2e_compressai(args):
    """The end-to-end job the CompressAI way, in this interpreter: compressai's bench JPEG
    codec (Pillow) at each quality with its own PSNR and MS-SSIM (pytorch_msssim), and
    pyiqa's LPIPS on the reconstruction; one JSON line per image and quality."""
    torch = offline_torch()
    import numpy as np
    from compressai.utils.bench.codecs import JPEG

    pyiqa_stand_ins("lpips")
    import pyiqa

    lpips = pyiqa.create_metric("lpips", device=torch.device("cpu"))
    tensor = lambda im: torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    qualities, images = [int(q) for q in args[0].split(",")], args[1:]
    codec = JPEG(argparse.Namespace())
    for f in images:
        ref = tensor(codec._load_img(f))
        for q in qualities:
            info, rec = codec.run(f, q, metrics=["psnr-rgb", "ms-ssim-rgb"], return_rec=True)
            info["lpips"] = float(lpips(tensor(rec.convert("RGB")), ref))
            print(json.dumps({"image": os.path.basename(f), "quality": q, **info}))


GNU_TIME = "/usr/bin/time"


def timed_process(argvs):
    """Runs the commands one after the other: (wall seconds of all, peak RSS in MiB of the
    largest or None, error text or None). Each command runs under GNU time, which reports
    its peak RSS: this process's own rusage cannot, since a child forked from it starts with
    its (large) peak. Without GNU time (Debian package `time`) the peak is None."""
    import subprocess

    start, peak = time.perf_counter(), 0.0
    with tempfile.NamedTemporaryFile("r", prefix="icmbench-peers-rss-") as rss:
        for argv in argvs:
            wrap = [GNU_TIME, "-f", "%M", "-o", rss.name] if os.access(GNU_TIME, os.X_OK) else []
            proc = subprocess.run([*wrap, *argv], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if proc.returncode != 0:
                err = proc.stderr.decode(errors="replace").strip()[-200:]
                return None, None, f"{Path(argv[0]).name} exited {proc.returncode}: {err}"
            if wrap:
                rss.seek(0)
                peak = max(peak, int(rss.read().split()[-1]) / 1024)
    return time.perf_counter() - start, peak or None, None


def whole_items(icmbench, work, quick):
    """(measure, peer label, peer commands, icmbench commands, repetitions, goal)."""
    from PIL import Image

    py = [sys.executable, str(Path(__file__).resolve())]
    samples = sorted((ROOT / "datasets/samples").glob("*.png"))
    # Five pairs: each bundled photo (but the last) and its Pillow JPEG q50 copy, as PNG.
    pairs = []
    for f in samples[:5]:
        dist = work / f"{f.stem}_q50.png"
        buf = io.BytesIO()
        Image.open(f).convert("RGB").save(buf, format="JPEG", quality=50)
        Image.open(buf).convert("RGB").save(dist)
        pairs.append((str(f), str(dist)))
    score = lambda metric, ref, dist: [icmbench, "score", "--metric", metric, *(["--ref", ref] if ref else []), "--dist", dist]
    qualities = [10, 20, 35, 50, 75, 90]
    config = work / "e2e.toml"
    config.write_text(
        f'output = "{work / "e2e-out"}"\nmetrics = ["psnr-rgb", "ms-ssim-rgb", "lpips-alex"]\n'
        f'[[datasets]]\nname = "samples"\npath = "{ROOT / "datasets/samples"}"\n'
        f'[[codecs]]\nkind = "jpeg"\nqualities = {qualities}\n'
    )
    e2e = f"{len(samples)} photos x JPEG at {len(qualities)} qualities x PSNR, MS-SSIM, LPIPS"
    reps = 1 if quick else WHOLE_REPS
    items = [
        (f"eval-map, {coco_sizes()[0]} images (load+eval+summarize)", peer,
         [[*py, "--child", peer, str(COCO_GT), str(COCO_DT)]],
         [[icmbench, "eval-map", "--gt", str(COCO_GT), "--dt", str(COCO_DT)]], reps, 1.0)
        for peer in ("pycocotools", "faster-coco-eval")
    ]
    items.append(("LPIPS-Alex on 5 pairs (icmbench: 5 `score` processes)", "pyiqa lpips",
                  [[*py, "--child", "lpips", *(f"{r}:{d}" for r, d in pairs)]],
                  [score("lpips-alex", r, d) for r, d in pairs], reps, 1.0))
    items.append(("BRISQUE on 5 images (icmbench: 5 `score` processes)", "pyiqa brisque",
                  [[*py, "--child", "brisque", *(f":{d}" for _, d in pairs)]],
                  [score("brisque", None, d) for _, d in pairs], reps, 3.0))
    items.append((f"{e2e} (icmbench run --jobs {THREADS})", "compressai bench JPEG + pyiqa lpips",
                  [[*py, "--e2e", ",".join(map(str, qualities)), *map(str, samples)]],
                  [["rm", "-rf", str(work / "e2e-out")], [icmbench, "run", str(config), "--jobs", str(THREADS), "--quiet"]],
                  1, 1.0))
    return items


def run_whole(item, quick):
    measure, peer, peer_cmds, ours_cmds, reps, goal_x = item
    print(f"timing whole process: {measure} / {peer}", file=sys.stderr, flush=True)
    row = {"measure": measure, "peer": peer, "goal": goal_x, "reps": reps, "note": ""}
    for side, cmds in (("peer", peer_cmds), ("icmbench", ours_cmds)):
        times, peak, err = [], None, None
        for _ in range(reps):
            t, p, err = timed_process(cmds)
            if err:
                break
            times.append(t)
            peak = max(peak or 0.0, p) if p else peak
        row[f"{side}_median_ms"] = statistics.median(times) * 1e3 if times and not err else None
        row[f"{side}_min_ms"] = min(times) * 1e3 if times and not err else None
        row[f"{side}_peak_mib"] = peak if not err else None
        if err:
            row["note"] += f"{side}: {err} "
    return row


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


def run_measure(measure, peer, setup, bench_id, quick, criterion_dir):
    """One row; any failure (import, missing file, crash) becomes the row's note."""
    print(f"timing {measure} / {peer}", file=sys.stderr, flush=True)
    row = {"measure": measure, "peer": peer, "median_ms": None, "min_ms": None, "reps": 0, "note": "",
           "icmbench_bench": bench_id, "icmbench_median_ms": criterion_median_ms(criterion_dir, bench_id),
           "goal": goal(measure, peer)}
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


def ratio(peer_ms, ours_ms):
    """`peer / icmbench` as text (how many times faster icmbench is), or '-'."""
    return f"{peer_ms / ours_ms:.3g}x" if peer_ms and ours_ms else "-"


def verdict(peer_ms, ours_ms, goal_x):
    if not (peer_ms and ours_ms):
        return "-"
    return f">= {goal_x:g}x: " + ("met" if peer_ms / ours_ms >= goal_x else "NOT met")


def markdown(info, rows, whole):
    v = info["versions"]
    lines = [
        f"Peers, {info['date_utc']}: {info['cpu']}, {info['cores']} cores, Python {info['python']}, "
        f"torch {v['torch']} ({info['torch_threads']} threads), "
        + ", ".join(f"{p} {v[p] or 'not installed'}" for p in PACKAGES if p != "torch"),
        f"icmbench: criterion medians from {info['criterion_dir'] or '(not given)'}"
        + (f"; whole processes with {info['icmbench']}" if info.get("icmbench") else ""),
        "",
        "In process, per item (ratio = peer median / icmbench median):",
        "",
        "| measure | peer | median | min | repetitions | icmbench (criterion median) | ratio | goal | note |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        note = r["note"].replace("|", "\\|")  # an error text must not split the row
        lines.append(
            f"| {r['measure']} | {r['peer']} | {fmt(r['median_ms'])} | {fmt(r['min_ms'])} | {r['reps']} | "
            f"{fmt(r['icmbench_median_ms'])} | {ratio(r['median_ms'], r['icmbench_median_ms'])} | "
            f"{verdict(r['median_ms'], r['icmbench_median_ms'], r['goal'])} | {note} |"
        )
    lines += ["", "Stand-in weights (no downloads): the NIQE, BRISQUE, LPIPS and DISTS values are not checked, times only."]
    if whole:
        lines += [
            "",
            "Whole processes (start-up, model loading and file reading included; wall time, peak RSS):",
            "",
            "| job | peer | peer median | peer min | peer peak | icmbench median | icmbench min | icmbench peak | ratio | goal | repetitions | note |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|",
        ]
        mib = lambda m: f"{m:.0f} MiB" if m else "-"
        for r in whole:
            lines.append(
                f"| {r['measure']} | {r['peer']} | {fmt(r['peer_median_ms'])} | {fmt(r['peer_min_ms'])} | "
                f"{mib(r['peer_peak_mib'])} | {fmt(r['icmbench_median_ms'])} | {fmt(r['icmbench_min_ms'])} | "
                f"{mib(r['icmbench_peak_mib'])} | {ratio(r['peer_median_ms'], r['icmbench_median_ms'])} | "
                f"{verdict(r['peer_median_ms'], r['icmbench_median_ms'], r['goal'])} | {r['reps']} | {r['note'].strip()} |"
            )
    return "\n".join(lines)


def default_criterion_dir():
    """Where `cargo bench` writes criterion's results: $CARGO_TARGET_DIR/criterion, else
    the workspace's target/criterion."""
    target = os.environ.get("CARGO_TARGET_DIR") or str(ROOT / "target")
    return str(Path(target) / "criterion")


def main():
    if len(sys.argv) > 2 and sys.argv[1] in ("--child", "--e2e"):
        warnings.simplefilter("ignore")
        return child(sys.argv[2:]) if sys.argv[1] == "--child" else e2e_compressai(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a Markdown table")
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_REPS} repetitions per measure (a smoke test)")
    ap.add_argument("--criterion", default=default_criterion_dir(),
                    help="criterion's output folder, for icmbench's in-process times (default: %(default)s)")
    ap.add_argument("--icmbench", help="the icmbench binary: adds the whole-process table")
    ap.add_argument("--only", metavar="TEXT", help="only the rows whose measure contains TEXT (case-insensitive)")
    args = ap.parse_args()
    # torchvision's and lpips' deprecation warnings (the `pretrained` argument) and
    # bjontegaard's extrapolation warnings: noise here, they do not change the times.
    warnings.simplefilter("ignore")
    info = machine()
    info["criterion_dir"] = args.criterion if Path(args.criterion).is_dir() else None
    info["icmbench"] = args.icmbench
    chosen = [r for r in measures() if not args.only or args.only.lower() in r[0].lower()]
    rows = [run_measure(m, p, s, b, args.quick, info["criterion_dir"]) for m, p, s, b in chosen]
    whole = []
    if args.icmbench:
        offline_torch()  # the children share this hub directory and its stand-ins
        for name in ("lpips", "brisque"):
            pyiqa_stand_ins(name)
        with tempfile.TemporaryDirectory(prefix="icmbench-peers-whole-") as work:
            whole = [run_whole(item, args.quick) for item in whole_items(args.icmbench, Path(work), args.quick)]
    if args.json:
        print(json.dumps({**info, "quick": args.quick, "rows": rows, "whole_process": whole}, indent=1))
    else:
        print(markdown(info, rows, whole))


if __name__ == "__main__":
    main()
