"""Extracts NIQE's pristine-model parameters from the PyPI sdist `basicsr==1.4.2`
(Apache-2.0; `basicsr/metrics/niqe_pris_params.npz`, the official NIQE MATLAB release's
`modelparameters.mat` values: mu 1x36, cov 36x36, and the 7x7 Gaussian window) into JSON.
Only numpy is needed.

    python3 tools/models/extract_niqe.py basicsr-1.4.2.tar.gz niqe_pris_params.json
"""
import io
import json
import sys
import tarfile

import numpy as np

with tarfile.open(sys.argv[1]) as tar:
    member = next(m for m in tar.getmembers() if m.name.endswith("basicsr/metrics/niqe_pris_params.npz"))
    data = np.load(io.BytesIO(tar.extractfile(member).read()))
    out = {
        "source": "basicsr==1.4.2 basicsr/metrics/niqe_pris_params.npz",
        "mu_pris_param": [float(v) for v in data["mu_pris_param"].ravel()],
        "cov_pris_param": [[float(v) for v in row] for row in data["cov_pris_param"]],
        "gaussian_window": [[float(v) for v in row] for row in data["gaussian_window"]],
    }
with open(sys.argv[2], "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
